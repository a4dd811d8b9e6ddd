//! A session's agent activity: messages, token usage, todos and tool calls.
//! Each write goes to the session's room and its project's room.

use super::{sessions, Tx};
use crate::db::activity::{self as q, Todo, ToolCall, Usage};
use crate::db::models::Session;
use crate::db::sessions as sq;
use crate::error::{AppError, AppResult};
use crate::types::{MessageRole, TodoStatus, ToolState};
use crate::validate::text;
use serde::Deserialize;
use serde_json::Value;

/// Longest message, in characters.
pub const MAX_MESSAGE_CHARS: usize = 100_000;
/// Most todos in one list.
pub const MAX_TODOS: usize = 500;
/// Longest todo text, in characters.
pub const MAX_TODO_CHARS: usize = 2_000;
/// Longest tool name or tool call id.
pub const MAX_TOOL_ID: usize = 200;

/// `POST /api/sessions/{id}/messages`
#[derive(Debug, Clone)]
pub struct AddMessage {
    /// The session.
    pub session_id: String,
    /// Who wrote it.
    pub role: MessageRole,
    /// The text.
    pub content: String,
}

/// `POST /api/sessions/{id}/token-usage` body; a report that takes a
/// session's totals past 2⁶³−1 is 422.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[schema(as = UsageBody)]
pub struct AddUsage {
    /// The session (from the path, or the hook's).
    #[serde(skip)]
    pub session_id: String,
    /// Input tokens.
    #[schema(minimum = 0, maximum = 9223372036854775807_i64)]
    pub input_tokens: i64,
    /// Output tokens.
    #[schema(minimum = 0, maximum = 9223372036854775807_i64)]
    pub output_tokens: i64,
    /// Cache-read input tokens (default 0).
    #[serde(default)]
    #[schema(minimum = 0, maximum = 9223372036854775807_i64)]
    pub cache_read_input_tokens: i64,
    /// Cache-creation input tokens (default 0).
    #[serde(default)]
    #[schema(minimum = 0, maximum = 9223372036854775807_i64)]
    pub cache_creation_input_tokens: i64,
    /// The model: 1–200 characters.
    #[serde(default)]
    #[schema(min_length = 1, max_length = 200)]
    pub model: Option<String>,
}

/// One todo of `PUT /api/sessions/{id}/todos`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[schema(as = TodoBody)]
pub struct TodoInput {
    /// What to do: 1–2,000 characters.
    #[schema(min_length = 1, max_length = 2000)]
    pub content: String,
    /// `pending`, `in_progress` or `completed`.
    pub status: TodoStatus,
    /// The present-tense form (`activeForm` is accepted too): 1–2,000 characters.
    #[serde(default, alias = "activeForm")]
    #[schema(min_length = 1, max_length = 2000)]
    pub active_form: Option<String>,
}

/// `POST /api/sessions/{id}/tool-calls` body (`name` is accepted for `tool_name`).
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[schema(as = ToolCallBody)]
pub struct SaveToolCall {
    /// The session (from the path, or the hook's).
    #[serde(skip)]
    pub session_id: String,
    /// The agent's id for the call: 1–200 characters.
    #[schema(min_length = 1, max_length = 200)]
    pub tool_call_id: String,
    /// The tool (`name` is accepted too): 1–200 characters.
    #[serde(alias = "name")]
    #[schema(min_length = 1, max_length = 200)]
    pub tool_name: String,
    /// `input-available` or `output-available`.
    pub state: ToolState,
    /// The tool's input, any JSON.
    pub input: Value,
    /// The tool's output, any JSON.
    #[serde(default)]
    pub output: Option<Value>,
}

/// A session's whole todo list (also the `todos_updated` payload).
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Todos {
    /// The session.
    pub session_id: String,
    /// The list, in order.
    pub todos: Vec<Todo>,
}

/// The session written to; 404 if unknown, 403 unless the caller may write.
fn session(tx: &mut Tx<'_>, id: &str) -> AppResult<Session> {
    let found = sq::find(tx.conn, id)?.ok_or_else(|| AppError::not_found("session", id))?;
    tx.require_write(id)?;
    Ok(found)
}

/// Appends a message and emits `message_created`.
pub fn add_message(tx: &mut Tx<'_>, a: &AddMessage) -> AppResult<Value> {
    text("content", &a.content, MAX_MESSAGE_CHARS)?;
    let owner = session(tx, &a.session_id)?;
    let row = q::insert_message(tx.conn, &a.session_id, a.role, &a.content, tx.ctx.now)?;
    let body = serde_json::to_value(&row)?;
    let resource = ("session", a.session_id.as_str());
    tx.emit(
        "message_created",
        resource,
        &body,
        &sessions::rooms(&owner),
        false,
    )?;
    Ok(body)
}

/// Records token usage; emits `token_usage` and `session_updated` with the totals.
pub fn add_usage(tx: &mut Tx<'_>, a: &AddUsage) -> AppResult<Value> {
    let counts = [
        a.input_tokens,
        a.output_tokens,
        a.cache_read_input_tokens,
        a.cache_creation_input_tokens,
    ];
    if counts.iter().any(|n| *n < 0) {
        return Err(AppError::Validation(
            "token counts must be 0 or more".into(),
        ));
    }
    if let Some(model) = &a.model {
        text("model", model, MAX_TOOL_ID)?;
    }
    let before = session(tx, &a.session_id)?;
    check_totals(&before, a)?;
    let usage = Usage {
        id: 0,
        session_id: a.session_id.clone(),
        input_tokens: a.input_tokens,
        output_tokens: a.output_tokens,
        cache_read_input_tokens: a.cache_read_input_tokens,
        cache_creation_input_tokens: a.cache_creation_input_tokens,
        model: a.model.clone(),
        created_at: tx.ctx.now,
    };
    let (row, after) = q::add_usage(tx.conn, &usage)?;
    let rooms = sessions::rooms(&after);
    let resource = ("session", a.session_id.as_str());
    let body = serde_json::to_value(&row)?;
    tx.emit("token_usage", resource, &body, &rooms, false)?;
    tx.emit(
        "session_updated",
        resource,
        &serde_json::to_value(&after)?,
        &rooms,
        false,
    )?;
    Ok(body)
}

/// 422 when adding `a` would take one of the session's totals past
/// `i64::MAX` (the database would wrap, fail, or turn it into a float).
fn check_totals(s: &Session, a: &AddUsage) -> AppResult<()> {
    let total = a.input_tokens.checked_add(a.output_tokens);
    let sums = [
        s.tokens_input.checked_add(a.input_tokens),
        s.tokens_output.checked_add(a.output_tokens),
        total.and_then(|t| s.tokens_total.checked_add(t)),
        s.tokens_cache_read.checked_add(a.cache_read_input_tokens),
        s.tokens_cache_creation
            .checked_add(a.cache_creation_input_tokens),
    ];
    if sums.iter().any(Option::is_none) {
        return Err(AppError::Validation(format!(
            "token counts would take the session's totals past {}",
            i64::MAX
        )));
    }
    Ok(())
}

/// Replaces the todo list; emits `todos_updated {session_id, todos}` (priority).
pub fn replace_todos(tx: &mut Tx<'_>, session_id: &str, list: &[TodoInput]) -> AppResult<Value> {
    if list.len() > MAX_TODOS {
        return Err(AppError::Validation(format!("at most {MAX_TODOS} todos")));
    }
    for todo in list {
        text("content", &todo.content, MAX_TODO_CHARS)?;
        if let Some(form) = &todo.active_form {
            text("active_form", form, MAX_TODO_CHARS)?;
        }
    }
    let owner = session(tx, session_id)?;
    // Two nodes replacing the list at once would collide on its positions.
    tx.lock("todos", session_id)?;
    let rows: Vec<Todo> = list
        .iter()
        .enumerate()
        .map(|(i, t)| Todo {
            session_id: session_id.to_string(),
            position: i as i32,
            content: t.content.clone(),
            status: t.status,
            active_form: t.active_form.clone(),
        })
        .collect();
    q::replace_todos(tx.conn, session_id, &rows)?;
    let body = serde_json::to_value(Todos {
        session_id: session_id.to_string(),
        todos: rows,
    })?;
    let resource = ("session", session_id);
    tx.emit(
        "todos_updated",
        resource,
        &body,
        &sessions::rooms(&owner),
        false,
    )?;
    Ok(body)
}

/// Records a tool call: a new id emits `tool_call_created` (and is created),
/// a change emits `tool_call_updated`, an exact repeat emits nothing.
/// Returns whether it was created, and the stored call.
pub fn save_tool_call(tx: &mut Tx<'_>, a: &SaveToolCall) -> AppResult<(bool, Value)> {
    text("tool_call_id", &a.tool_call_id, MAX_TOOL_ID)?;
    text("tool_name", &a.tool_name, MAX_TOOL_ID)?;
    let owner = session(tx, &a.session_id)?;
    // The same call posted to two nodes: the second waits, then is a repeat.
    tx.lock("tool-call", &format!("{}/{}", a.session_id, a.tool_call_id))?;
    let before = q::tool_call(tx.conn, &a.session_id, &a.tool_call_id)?;
    // What is not sent is kept: a result without its input keeps the input.
    let input = match (&a.input, &before) {
        (Value::Null, Some(stored)) => stored.input.clone(),
        (input, _) => input.to_string(),
    };
    let output = match (&a.output, &before) {
        (None, Some(stored)) if a.state == stored.state => stored.output.clone(),
        (output, _) => output.as_ref().map(Value::to_string),
    };
    if let Some(stored) = &before {
        // A call never goes back from its result to its input: a late or
        // resent `input-available` after `output-available` is a repeat.
        let stale =
            stored.state == ToolState::OutputAvailable && a.state == ToolState::InputAvailable;
        let same = stored.tool_name == a.tool_name
            && stored.state == a.state
            && stored.input == input
            && stored.output == output;
        if stale || same {
            return Ok((false, serde_json::to_value(stored)?));
        }
    }
    let call = ToolCall {
        session_id: a.session_id.clone(),
        tool_call_id: a.tool_call_id.clone(),
        tool_name: a.tool_name.clone(),
        state: a.state,
        input,
        output,
        created_at: before.as_ref().map_or(tx.ctx.now, |b| b.created_at),
        updated_at: tx.ctx.now,
    };
    q::save_tool_call(tx.conn, &call, before.is_some())?;
    let body = serde_json::to_value(&call)?;
    let event = if before.is_some() {
        "tool_call_updated"
    } else {
        "tool_call_created"
    };
    let resource = ("session", a.session_id.as_str());
    tx.emit(event, resource, &body, &sessions::rooms(&owner), false)?;
    Ok((before.is_none(), body))
}
