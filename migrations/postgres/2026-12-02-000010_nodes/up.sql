-- The herald nodes sharing this database (DESIGN §9): each writes its row
-- every cluster.heartbeat_ms; a row not refreshed for cluster.node_timeout_ms
-- belongs to a node that is gone.
CREATE TABLE nodes (
    id TEXT PRIMARY KEY NOT NULL,
    connections BIGINT NOT NULL,
    started_at BIGINT NOT NULL,
    seen_at BIGINT NOT NULL
);
