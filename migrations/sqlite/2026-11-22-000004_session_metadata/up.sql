-- Agent metadata shown with every session: which agent, which model, which project.
ALTER TABLE sessions ADD COLUMN agent_id TEXT;
ALTER TABLE sessions ADD COLUMN model_id TEXT;
ALTER TABLE sessions ADD COLUMN project_name TEXT NOT NULL DEFAULT '';
UPDATE sessions SET project_name = (SELECT name FROM projects WHERE projects.id = sessions.project_id);
