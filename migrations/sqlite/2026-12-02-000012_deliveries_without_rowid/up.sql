-- Deliveries are found by their key alone, (room, seq): without a rowid the
-- table is that key's B-tree, so each delivery is one B-tree insert and each
-- commit writes one page fewer (before: the rowid table and its key index).
CREATE TABLE deliveries_by_key (
    room TEXT NOT NULL,
    seq BIGINT NOT NULL,
    event_id BIGINT NOT NULL REFERENCES events(id),
    PRIMARY KEY (room, seq)
) WITHOUT ROWID;
INSERT INTO deliveries_by_key (room, seq, event_id)
    SELECT room, seq, event_id FROM deliveries;
DROP TABLE deliveries;
ALTER TABLE deliveries_by_key RENAME TO deliveries;
