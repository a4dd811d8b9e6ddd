-- Agent activity of a session: messages, token usage, todos, tool calls.
CREATE TABLE messages (
    id INTEGER PRIMARY KEY NOT NULL,
    session_id TEXT NOT NULL REFERENCES sessions(id),
    role TEXT NOT NULL,
    content TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX idx_messages_session ON messages(session_id, id);

CREATE TABLE token_usage (
    id INTEGER PRIMARY KEY NOT NULL,
    session_id TEXT NOT NULL REFERENCES sessions(id),
    input_tokens BIGINT NOT NULL,
    output_tokens BIGINT NOT NULL,
    cache_read_input_tokens BIGINT NOT NULL,
    cache_creation_input_tokens BIGINT NOT NULL,
    model TEXT,
    created_at BIGINT NOT NULL
);
CREATE INDEX idx_token_usage_session ON token_usage(session_id, created_at);

-- The current todo list of a session, replaced whole.
CREATE TABLE todos (
    session_id TEXT NOT NULL REFERENCES sessions(id),
    position INTEGER NOT NULL,
    content TEXT NOT NULL,
    status TEXT NOT NULL,
    active_form TEXT,
    PRIMARY KEY (session_id, position)
);

-- One row per tool call; input and output are JSON text.
CREATE TABLE tool_calls (
    session_id TEXT NOT NULL REFERENCES sessions(id),
    tool_call_id TEXT NOT NULL,
    tool_name TEXT NOT NULL,
    state TEXT NOT NULL,
    input TEXT NOT NULL,
    output TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (session_id, tool_call_id)
);
CREATE INDEX idx_tool_calls_session ON tool_calls(session_id, created_at);
