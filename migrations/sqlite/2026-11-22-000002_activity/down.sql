DROP TABLE tool_calls;
DROP TABLE todos;
DROP TABLE token_usage;
DROP TABLE messages;
