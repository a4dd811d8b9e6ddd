DROP TABLE deliveries;
DROP TABLE rooms;
DROP TABLE events;
DROP TABLE sessions;
DROP TABLE projects;
