DROP TABLE deleted_sessions;
DROP TABLE collaborators;
DROP TABLE users;
