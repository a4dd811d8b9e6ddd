//! A session's agent activity over HTTP: messages (and the seed-004 alias),
//! token usage, the todo list and tool calls.

use super::extract::{Body, Items};
use super::{written, AppState};
use crate::db::{activity as q, sessions as sq};
use crate::domain::activity::{AddMessage, AddUsage, SaveToolCall, TodoInput};
use crate::domain::Command;
use crate::error::{AppError, AppResult};
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::Value;

/// Default and largest page of `GET /api/sessions/{id}/messages`.
const DEFAULT_LIMIT: i64 = 100;
const MAX_LIMIT: i64 = 1000;

/// `{prompt}` (a user message) or `{role?, content}`.
#[derive(Deserialize)]
pub struct MessageBody {
    prompt: Option<String>,
    role: Option<String>,
    content: Option<String>,
}

/// `POST /api/sessions/{id}/messages` → 201 + `message_created`.
pub async fn add_message(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
    body: Body<MessageBody>,
) -> AppResult<HttpResponse> {
    let MessageBody {
        prompt,
        role,
        content,
    } = body.0;
    let (role, content) = match (prompt, content) {
        (Some(prompt), None) => (role.unwrap_or_else(|| "user".into()), prompt),
        (None, Some(content)) => (role.unwrap_or_else(|| "user".into()), content),
        _ => {
            return Err(AppError::BadRequest(
                "expected {\"prompt\"} or {\"role\", \"content\"}".into(),
            ))
        }
    };
    let command = Command::AddMessage(AddMessage {
        session_id: id.into_inner(),
        role,
        content,
    });
    Ok(written(state.execute(&req, command).await?))
}

/// `GET /api/sessions/{id}/messages` query.
#[derive(Deserialize)]
pub struct MessagesQuery {
    after: Option<i64>,
    limit: Option<i64>,
}

/// `GET /api/sessions/{id}/messages?after=&limit=`: oldest first.
pub async fn messages(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
    query: web::Query<MessagesQuery>,
) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    let who = state.caller(&req).await?;
    state.check_read(&who, &id).await?;
    let after = query.after.unwrap_or(0);
    let limit = query.limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT);
    let rows = state
        .read(move |c| {
            if sq::find(c, &id)?.is_none() {
                return Err(AppError::not_found("session", &id));
            }
            Ok(q::messages(c, &id, after, limit)?)
        })
        .await?;
    let body: Vec<Value> = rows.iter().map(|m| m.to_json()).collect();
    Ok(HttpResponse::Ok().json(body))
}

/// `GET /api/sessions/{id}/token-usage?after=&limit=`: the session's usage
/// reports with `id > after`, oldest first (the token chart).
pub async fn usage(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
    query: web::Query<MessagesQuery>,
) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    let who = state.caller(&req).await?;
    state.check_read(&who, &id).await?;
    let after = query.after.unwrap_or(0);
    let limit = query.limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT);
    let rows = state
        .read(move |c| Ok(q::usage(c, &id, after, limit)?))
        .await?;
    let body: Vec<Value> = rows.iter().map(|u| u.to_json()).collect();
    Ok(HttpResponse::Ok().json(body))
}

/// `POST /api/sessions/{id}/token-usage` body.
#[derive(Deserialize)]
pub struct UsageBody {
    input_tokens: i64,
    output_tokens: i64,
    #[serde(default)]
    cache_read_input_tokens: i64,
    #[serde(default)]
    cache_creation_input_tokens: i64,
    #[serde(default)]
    model: Option<String>,
}

/// `POST /api/sessions/{id}/token-usage` → 201 + `token_usage`, `session_updated`.
pub async fn add_usage(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
    body: Body<UsageBody>,
) -> AppResult<HttpResponse> {
    let b = body.0;
    let command = Command::AddUsage(AddUsage {
        session_id: id.into_inner(),
        input_tokens: b.input_tokens,
        output_tokens: b.output_tokens,
        cache_read_input_tokens: b.cache_read_input_tokens,
        cache_creation_input_tokens: b.cache_creation_input_tokens,
        model: b.model,
    });
    Ok(written(state.execute(&req, command).await?))
}

/// One todo of `PUT /api/sessions/{id}/todos`.
#[derive(Deserialize)]
pub struct TodoBody {
    content: String,
    status: String,
    #[serde(default, alias = "activeForm")]
    active_form: Option<String>,
}

/// `PUT /api/sessions/{id}/todos` `[{content, status, active_form?}]` → 200 + `todos_updated`.
pub async fn replace_todos(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
    body: Items<TodoBody>,
) -> AppResult<HttpResponse> {
    let todos = body
        .0
        .into_iter()
        .map(|t| TodoInput {
            content: t.content,
            status: t.status,
            active_form: t.active_form,
        })
        .collect();
    let command = Command::ReplaceTodos {
        session_id: id.into_inner(),
        todos,
    };
    Ok(written(state.execute(&req, command).await?))
}

/// `POST /api/sessions/{id}/tool-calls` body (`name` is accepted for `tool_name`).
#[derive(Deserialize)]
pub struct ToolCallBody {
    tool_call_id: String,
    #[serde(alias = "name")]
    tool_name: String,
    state: String,
    input: Value,
    #[serde(default)]
    output: Option<Value>,
}

/// `POST /api/sessions/{id}/tool-calls`: 201 for a new call, 200 for a new state
/// or an exact repeat (which emits nothing).
pub async fn save_tool_call(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
    body: Body<ToolCallBody>,
) -> AppResult<HttpResponse> {
    let b = body.0;
    let command = Command::SaveToolCall(SaveToolCall {
        session_id: id.into_inner(),
        tool_call_id: b.tool_call_id,
        tool_name: b.tool_name,
        state: b.state,
        input: b.input,
        output: b.output,
    });
    Ok(written(state.execute(&req, command).await?))
}
