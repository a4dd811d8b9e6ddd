-- Idempotent writes (DESIGN §10): the first answer to a keyed write, stored
-- in the write's own transaction, so a retry on any node gets it again.
CREATE TABLE idempotency_keys (
    caller TEXT NOT NULL,
    key TEXT NOT NULL,
    method TEXT NOT NULL,
    path TEXT NOT NULL,
    body_hash TEXT NOT NULL,
    created BOOLEAN NOT NULL,
    response TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (caller, key)
);
CREATE INDEX idx_idempotency_keys_created_at ON idempotency_keys (created_at);
