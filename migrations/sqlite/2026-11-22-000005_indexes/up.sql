-- Sessions listed by status alone (GET /api/sessions?status=).
CREATE INDEX idx_sessions_status ON sessions(status, created_at);
-- Sessions of a project with a status (GET /api/sessions?project_id=&status=).
CREATE INDEX idx_sessions_project_status ON sessions(project_id, status, created_at);
-- The work-item audit trail (GET /api/broadcast/events) reads the event log
-- itself, which retention never prunes. Partial indexes: only work-item events
-- pay for them.
CREATE INDEX idx_events_work_items ON events(id) WHERE resource_type IN ('feature', 'track', 'spike');
CREATE INDEX idx_events_work_item_resource ON events(resource_id, id) WHERE resource_type IN ('feature', 'track', 'spike');
-- Snapshots of the broadcasts room: the most recently updated tracks and spikes.
CREATE INDEX idx_tracks_updated ON tracks(updated_at);
CREATE INDEX idx_spikes_updated ON spikes(updated_at);
-- Projects listed oldest first (GET /api/projects).
CREATE INDEX idx_projects_created ON projects(created_at, id);
