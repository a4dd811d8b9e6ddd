-- Work items (features, tracks, spikes) broadcast to the `broadcasts` room.
CREATE TABLE features (
    id TEXT PRIMARY KEY NOT NULL,
    title TEXT NOT NULL,
    status TEXT NOT NULL,
    description TEXT NOT NULL,
    tags TEXT NOT NULL,
    priority TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX idx_features_updated ON features(updated_at);

CREATE TABLE feature_links (
    id INTEGER PRIMARY KEY NOT NULL,
    feature_id TEXT NOT NULL REFERENCES features(id),
    linked_feature_id TEXT NOT NULL,
    link_type TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX idx_feature_links_feature ON feature_links(feature_id);

CREATE TABLE feature_comments (
    id INTEGER PRIMARY KEY NOT NULL,
    feature_id TEXT NOT NULL REFERENCES features(id),
    comment_text TEXT NOT NULL,
    author TEXT,
    created_at BIGINT NOT NULL
);
CREATE INDEX idx_feature_comments_feature ON feature_comments(feature_id);

CREATE TABLE tracks (
    id TEXT PRIMARY KEY NOT NULL,
    title TEXT NOT NULL,
    description TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE spikes (
    id TEXT PRIMARY KEY NOT NULL,
    title TEXT NOT NULL,
    findings TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
