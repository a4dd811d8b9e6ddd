//! SQL for a session's agent activity: messages, token usage, todos and tool
//! calls, with their rows. Each row is also its wire shape (derived
//! `Serialize`, like [`super::models`]).

use super::models::Session;
use super::schema::{messages::dsl as m, sessions::dsl as s, todos::dsl as t};
use super::schema::{token_usage::dsl as u, tool_calls::dsl as tc};
use super::DbConn;
use crate::time::serialize_rfc3339;
use crate::types::{MessageRole, TodoStatus, ToolState};
use diesel::prelude::*;
use serde::{Serialize, Serializer};
use serde_json::Value;

/// A message of a session (also the `message_created` payload).
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = super::schema::messages)]
pub struct Message {
    /// Primary key.
    pub id: i64,
    /// The session.
    pub session_id: String,
    /// `user` | `assistant` | `system`.
    pub role: MessageRole,
    /// The text.
    pub content: String,
    /// Created (unix milliseconds).
    #[serde(serialize_with = "serialize_rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: i64,
}

/// One token-usage report (also the `token_usage` payload).
#[derive(
    Debug, Clone, PartialEq, Queryable, Selectable, Insertable, Serialize, utoipa::ToSchema,
)]
#[diesel(table_name = super::schema::token_usage)]
pub struct Usage {
    /// Primary key (ignored on insert).
    #[diesel(skip_insertion)]
    pub id: i64,
    /// The session.
    pub session_id: String,
    /// Input tokens.
    pub input_tokens: i64,
    /// Output tokens.
    pub output_tokens: i64,
    /// Cache-read input tokens.
    pub cache_read_input_tokens: i64,
    /// Cache-creation input tokens.
    pub cache_creation_input_tokens: i64,
    /// The model, when reported.
    pub model: Option<String>,
    /// Reported (unix milliseconds).
    #[serde(serialize_with = "serialize_rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: i64,
}

/// One entry of a session's todo list; on the wire without its session and
/// position (a list is sent whole, in order).
#[derive(
    Debug, Clone, PartialEq, Queryable, Selectable, Insertable, Serialize, utoipa::ToSchema,
)]
#[diesel(table_name = super::schema::todos)]
pub struct Todo {
    /// The session.
    #[serde(skip)]
    pub session_id: String,
    /// Place in the list, from 0.
    #[serde(skip)]
    pub position: i32,
    /// What to do.
    pub content: String,
    /// `pending` | `in_progress` | `completed`.
    pub status: TodoStatus,
    /// The present-tense form shown while in progress.
    pub active_form: Option<String>,
}

/// A tool call of a session (also the `tool_call_*` payload); its input and
/// output are stored as JSON text and sent as the JSON they hold.
#[derive(
    Debug,
    Clone,
    PartialEq,
    Queryable,
    Selectable,
    Insertable,
    AsChangeset,
    Serialize,
    utoipa::ToSchema,
)]
#[diesel(table_name = super::schema::tool_calls)]
pub struct ToolCall {
    /// The session.
    pub session_id: String,
    /// The agent's id for the call; unique within the session.
    pub tool_call_id: String,
    /// The tool.
    pub tool_name: String,
    /// `input-available` | `output-available`.
    pub state: ToolState,
    /// The tool's input, any JSON (stored as its text).
    #[serde(serialize_with = "json_text")]
    #[schema(value_type = Value)]
    pub input: String,
    /// The tool's output, any JSON, once available (stored as its text).
    #[serde(serialize_with = "json_text_opt")]
    #[schema(value_type = Option<Value>)]
    pub output: Option<String>,
    /// Created (unix milliseconds).
    #[serde(serialize_with = "serialize_rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: i64,
    /// Last changed (unix milliseconds).
    #[serde(serialize_with = "serialize_rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: i64,
}

/// Stored JSON text as the JSON it holds; text that does not parse (herald
/// never stores such) is sent as `null`.
fn json_text<S: Serializer>(text: &str, s: S) -> Result<S::Ok, S::Error> {
    serde_json::from_str::<Value>(text)
        .unwrap_or(Value::Null)
        .serialize(s)
}

/// [`json_text`] for a column that may be `NULL`.
fn json_text_opt<S: Serializer>(text: &Option<String>, s: S) -> Result<S::Ok, S::Error> {
    match text {
        Some(text) => json_text(text, s),
        None => s.serialize_none(),
    }
}

/// Appends a message.
pub fn insert_message(
    conn: &mut DbConn,
    session_id: &str,
    role: MessageRole,
    content: &str,
    now: i64,
) -> QueryResult<Message> {
    let id: i64 = diesel::insert_into(m::messages)
        .values((
            m::session_id.eq(session_id),
            m::role.eq(role),
            m::content.eq(content),
            m::created_at.eq(now),
        ))
        .returning(m::id)
        .get_result(conn)?;
    Ok(Message {
        id,
        session_id: session_id.into(),
        role,
        content: content.into(),
        created_at: now,
    })
}

/// Messages with `id > after`, oldest first, at most `limit`.
pub fn messages(
    conn: &mut DbConn,
    session_id: &str,
    after: i64,
    limit: i64,
) -> QueryResult<Vec<Message>> {
    m::messages
        .filter(m::session_id.eq(session_id))
        .filter(m::id.gt(after))
        .order(m::id.asc())
        .limit(limit)
        .select(Message::as_select())
        .load(conn)
}

/// The newest `limit` messages, oldest first.
pub fn latest_messages(
    conn: &mut DbConn,
    session_id: &str,
    limit: i64,
) -> QueryResult<Vec<Message>> {
    let mut rows: Vec<Message> = m::messages
        .filter(m::session_id.eq(session_id))
        .order(m::id.desc())
        .limit(limit)
        .select(Message::as_select())
        .load(conn)?;
    rows.reverse();
    Ok(rows)
}

/// Usage reports with `id > after`, oldest first, at most `limit`.
pub fn usage(
    conn: &mut DbConn,
    session_id: &str,
    after: i64,
    limit: i64,
) -> QueryResult<Vec<Usage>> {
    u::token_usage
        .filter(u::session_id.eq(session_id))
        .filter(u::id.gt(after))
        .order(u::id.asc())
        .limit(limit)
        .select(Usage::as_select())
        .load(conn)
}

/// Records a usage report and adds it to the session's totals; returns both.
pub fn add_usage(conn: &mut DbConn, usage: &Usage) -> QueryResult<(Usage, Session)> {
    let id: i64 = diesel::insert_into(u::token_usage)
        .values(usage)
        .returning(u::id)
        .get_result(conn)?;
    diesel::update(s::sessions.find(&usage.session_id))
        .set((
            s::tokens_input.eq(s::tokens_input + usage.input_tokens),
            s::tokens_output.eq(s::tokens_output + usage.output_tokens),
            s::tokens_total.eq(s::tokens_total + (usage.input_tokens + usage.output_tokens)),
            s::tokens_cache_read.eq(s::tokens_cache_read + usage.cache_read_input_tokens),
            s::tokens_cache_creation
                .eq(s::tokens_cache_creation + usage.cache_creation_input_tokens),
            s::updated_at.eq(usage.created_at),
        ))
        .execute(conn)?;
    if let Some(model) = &usage.model {
        diesel::update(s::sessions.find(&usage.session_id))
            .set(s::model_id.eq(model))
            .execute(conn)?;
    }
    let session = s::sessions
        .find(&usage.session_id)
        .select(Session::as_select())
        .first(conn)?;
    Ok((
        Usage {
            id,
            ..usage.clone()
        },
        session,
    ))
}

/// Replaces a session's todo list.
pub fn replace_todos(conn: &mut DbConn, session_id: &str, list: &[Todo]) -> QueryResult<()> {
    diesel::delete(t::todos.filter(t::session_id.eq(session_id))).execute(conn)?;
    for todo in list {
        diesel::insert_into(t::todos).values(todo).execute(conn)?;
    }
    Ok(())
}

/// A session's todo list, in order.
pub fn todos(conn: &mut DbConn, session_id: &str) -> QueryResult<Vec<Todo>> {
    t::todos
        .filter(t::session_id.eq(session_id))
        .order(t::position.asc())
        .select(Todo::as_select())
        .load(conn)
}

/// One tool call, if recorded.
pub fn tool_call(conn: &mut DbConn, session_id: &str, id: &str) -> QueryResult<Option<ToolCall>> {
    tc::tool_calls
        .find((session_id, id))
        .select(ToolCall::as_select())
        .first(conn)
        .optional()
}

/// Inserts a tool call, or overwrites it.
pub fn save_tool_call(conn: &mut DbConn, call: &ToolCall, exists: bool) -> QueryResult<()> {
    if exists {
        diesel::update(tc::tool_calls.find((&call.session_id, &call.tool_call_id)))
            .set(call)
            .execute(conn)?;
    } else {
        diesel::insert_into(tc::tool_calls)
            .values(call)
            .execute(conn)?;
    }
    Ok(())
}

/// The newest `limit` tool calls, oldest first.
pub fn latest_tool_calls(
    conn: &mut DbConn,
    session_id: &str,
    limit: i64,
) -> QueryResult<Vec<ToolCall>> {
    let mut rows: Vec<ToolCall> = tc::tool_calls
        .filter(tc::session_id.eq(session_id))
        .order((tc::created_at.desc(), tc::tool_call_id.desc()))
        .limit(limit)
        .select(ToolCall::as_select())
        .load(conn)?;
    rows.reverse();
    Ok(rows)
}

/// Removes everything a session owns (before the session row itself).
pub fn delete_for_session(conn: &mut DbConn, session_id: &str) -> QueryResult<()> {
    diesel::delete(m::messages.filter(m::session_id.eq(session_id))).execute(conn)?;
    diesel::delete(u::token_usage.filter(u::session_id.eq(session_id))).execute(conn)?;
    diesel::delete(t::todos.filter(t::session_id.eq(session_id))).execute(conn)?;
    diesel::delete(tc::tool_calls.filter(tc::session_id.eq(session_id))).execute(conn)?;
    Ok(())
}
