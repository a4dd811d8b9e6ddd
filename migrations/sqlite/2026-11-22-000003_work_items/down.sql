DROP TABLE spikes;
DROP TABLE tracks;
DROP TABLE feature_comments;
DROP TABLE feature_links;
DROP TABLE features;
