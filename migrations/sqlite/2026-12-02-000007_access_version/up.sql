-- Access facts are versioned per session, in commit order: every change of
-- who may read a session (created, visibility, collaborators, deleted) takes
-- the next version under the session's row lock, in the same transaction.
-- Event ids cannot serve: with several nodes on one PostgreSQL they commit
-- out of order. A tombstone keeps the version its deletion took.
ALTER TABLE sessions ADD COLUMN access_version BIGINT NOT NULL DEFAULT 0;
ALTER TABLE deleted_sessions ADD COLUMN access_version BIGINT NOT NULL DEFAULT 0;
