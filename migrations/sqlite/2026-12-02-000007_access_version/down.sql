ALTER TABLE deleted_sessions DROP COLUMN access_version;
ALTER TABLE sessions DROP COLUMN access_version;
