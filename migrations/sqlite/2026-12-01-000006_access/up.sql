-- Users and their (hashed) tokens; collaborators of sessions.
CREATE TABLE users (
    id TEXT PRIMARY KEY NOT NULL,
    email TEXT NOT NULL UNIQUE,
    name TEXT,
    admin BOOLEAN NOT NULL DEFAULT FALSE,
    -- SHA-256 of the token, hex; the token itself is never stored.
    token_hash TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL
);

CREATE TABLE collaborators (
    -- AUTOINCREMENT: an id is never handed out again, so a stale PATCH or
    -- DELETE cannot hit a newer collaborator (as with PostgreSQL's BIGSERIAL).
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    session_id TEXT NOT NULL REFERENCES sessions(id),
    -- Lower case; matched to users by email.
    email TEXT NOT NULL,
    role TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    accepted_at BIGINT,
    UNIQUE (session_id, email)
);

-- Deleted sessions: their history stays in the log, readable by admins only,
-- and their ids are never used again.
CREATE TABLE deleted_sessions (
    id TEXT PRIMARY KEY NOT NULL,
    project_id TEXT NOT NULL,
    deleted_at BIGINT NOT NULL
);
