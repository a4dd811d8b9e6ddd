DROP INDEX idx_projects_created;
DROP INDEX idx_spikes_updated;
DROP INDEX idx_tracks_updated;
DROP INDEX idx_events_work_item_resource;
DROP INDEX idx_events_work_items;
DROP INDEX idx_sessions_project_status;
DROP INDEX idx_sessions_status;
