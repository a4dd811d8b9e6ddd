-- Core tables: projects, sessions, the event log and per-room sequences.
CREATE TABLE projects (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX idx_projects_name ON projects(name);

CREATE TABLE sessions (
    id TEXT PRIMARY KEY NOT NULL,
    project_id TEXT NOT NULL REFERENCES projects(id),
    title TEXT NOT NULL,
    status TEXT NOT NULL,
    needs_attention BOOLEAN NOT NULL DEFAULT FALSE,
    visibility TEXT NOT NULL,
    owner_id TEXT,
    tokens_input BIGINT NOT NULL DEFAULT 0,
    tokens_output BIGINT NOT NULL DEFAULT 0,
    tokens_total BIGINT NOT NULL DEFAULT 0,
    tokens_cache_read BIGINT NOT NULL DEFAULT 0,
    tokens_cache_creation BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX idx_sessions_project ON sessions(project_id, created_at);

-- The event log: the audit trail and the source of every replay.
CREATE TABLE events (
    id BIGSERIAL PRIMARY KEY,
    event_type TEXT NOT NULL,
    resource_type TEXT NOT NULL,
    resource_id TEXT NOT NULL,
    agent_id TEXT,
    origin_session_id TEXT,
    payload TEXT NOT NULL,
    priority BOOLEAN NOT NULL DEFAULT FALSE,
    created_at BIGINT NOT NULL
);

-- The last seq handed out in each room.
CREATE TABLE rooms (
    name TEXT PRIMARY KEY NOT NULL,
    last_seq BIGINT NOT NULL
);

-- One row per delivery of an event to a room, with that room's seq.
CREATE TABLE deliveries (
    room TEXT NOT NULL,
    seq BIGINT NOT NULL,
    event_id BIGINT NOT NULL REFERENCES events(id),
    PRIMARY KEY (room, seq)
);
