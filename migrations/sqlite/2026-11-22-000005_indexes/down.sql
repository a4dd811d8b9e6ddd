DROP INDEX idx_sessions_project_status;
DROP INDEX idx_sessions_status;
