-- Sessions listed by status alone (GET /api/sessions?status=).
CREATE INDEX idx_sessions_status ON sessions(status, created_at);
-- Sessions of a project with a status (GET /api/sessions?project_id=&status=).
CREATE INDEX idx_sessions_project_status ON sessions(project_id, status, created_at);
