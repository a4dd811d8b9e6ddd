DROP TABLE collaborators;
DROP TABLE users;
