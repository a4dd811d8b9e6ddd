CREATE TABLE deliveries_with_rowid (
    room TEXT NOT NULL,
    seq BIGINT NOT NULL,
    event_id BIGINT NOT NULL REFERENCES events(id),
    PRIMARY KEY (room, seq)
);
INSERT INTO deliveries_with_rowid (room, seq, event_id)
    SELECT room, seq, event_id FROM deliveries;
DROP TABLE deliveries;
ALTER TABLE deliveries_with_rowid RENAME TO deliveries;
