ALTER TABLE sessions DROP COLUMN project_name;
ALTER TABLE sessions DROP COLUMN model_id;
ALTER TABLE sessions DROP COLUMN agent_id;
