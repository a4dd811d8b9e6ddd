//! A session's agent activity over HTTP: messages (and the seed-004 alias),
//! token usage, the todo list and tool calls.

use super::extract::{Body, Items};
use super::{written, AppState};
use crate::db::{activity as q, sessions as sq};
use crate::domain::activity::{AddMessage, AddUsage, SaveToolCall, TodoInput};
use crate::domain::Command;
use crate::error::{AppError, AppResult};
use crate::types::MessageRole;
use crate::validate::page_limit;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

/// `{prompt}` (a user message) or `{role?, content}`.
#[derive(Deserialize)]
pub struct MessageBody {
    prompt: Option<String>,
    role: Option<MessageRole>,
    content: Option<String>,
}

impl MessageBody {
    /// The message for `session_id`; 400 unless exactly one of `prompt`
    /// and `content` is given.
    pub fn into_message(self, session_id: String) -> AppResult<AddMessage> {
        let content = match (self.prompt, self.content) {
            (Some(text), None) | (None, Some(text)) => text,
            _ => {
                return Err(AppError::BadRequest(
                    "expected {\"prompt\"} or {\"role\", \"content\"}".into(),
                ))
            }
        };
        Ok(AddMessage {
            session_id,
            role: self.role.unwrap_or(MessageRole::User),
            content,
        })
    }
}

/// `POST /api/sessions/{id}/messages` → 201 + `message_created`.
#[utoipa::path(
    post, path = "/api/sessions/{id}/messages", tag = "activity",
    params(("id" = String, Path, description = "The session"), super::openapi::WriteHeaders),
    request_body = super::openapi::schemas::MessageInput,
    responses(
        (status = 201, description = "Added, with `message_created`", body = super::openapi::schemas::Written<super::openapi::schemas::Message>),
        super::openapi::errors::ResourceWriteErrors,
    )
)]
pub async fn add_message(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
    body: Body<MessageBody>,
) -> AppResult<HttpResponse> {
    let command = Command::AddMessage(body.0.into_message(id.into_inner())?);
    Ok(written(state.execute(&req, command).await?))
}

/// `GET /api/sessions/{id}/messages` query.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MessagesQuery {
    /// Only messages with a larger id (default 0).
    after: Option<i64>,
    /// At most this many (default 100, clamped to 1–1000).
    limit: Option<i64>,
}

/// `GET /api/sessions/{id}/messages?after=&limit=`: oldest first.
#[utoipa::path(
    get, path = "/api/sessions/{id}/messages", tag = "activity",
    params(("id" = String, Path, description = "The session"), MessagesQuery),
    responses(
        (status = 200, description = "Messages with `id > after`, oldest first", body = Vec<super::openapi::schemas::Message>),
        super::openapi::errors::ResourceReadErrors,
    )
)]
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
    let limit = page_limit(query.limit);
    let rows = state
        .read(move |c| {
            if sq::find(c, &id)?.is_none() {
                return Err(AppError::not_found("session", &id));
            }
            Ok(q::messages(c, &id, after, limit)?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(rows))
}

#[utoipa::path(
    get, path = "/api/sessions/{id}/token-usage", tag = "activity",
    params(("id" = String, Path, description = "The session"), MessagesQuery),
    responses(
        (status = 200, description = "Usage reports with `id > after`, oldest first", body = Vec<super::openapi::schemas::Usage>),
        super::openapi::errors::ResourceReadErrors,
    )
)]
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
    let limit = page_limit(query.limit);
    let rows = state
        .read(move |c| Ok(q::usage(c, &id, after, limit)?))
        .await?;
    Ok(HttpResponse::Ok().json(rows))
}

/// `POST /api/sessions/{id}/token-usage` → 201 + `token_usage`, `session_updated`.
#[utoipa::path(
    post, path = "/api/sessions/{id}/token-usage", tag = "activity",
    params(("id" = String, Path, description = "The session"), super::openapi::WriteHeaders),
    request_body = AddUsage,
    responses(
        (status = 201, description = "Recorded, with `token_usage` and `session_updated` (new totals)", body = super::openapi::schemas::Written<super::openapi::schemas::Usage>),
        super::openapi::errors::ResourceWriteErrors,
    )
)]
pub async fn add_usage(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
    body: Body<AddUsage>,
) -> AppResult<HttpResponse> {
    let session_id = id.into_inner();
    let command = Command::AddUsage(AddUsage {
        session_id,
        ..body.0
    });
    Ok(written(state.execute(&req, command).await?))
}

/// `PUT /api/sessions/{id}/todos` `[{content, status, active_form?}]` → 200 + `todos_updated`.
#[utoipa::path(
    put, path = "/api/sessions/{id}/todos", tag = "activity",
    params(("id" = String, Path, description = "The session"), super::openapi::WriteHeaders),
    request_body(content = Vec<TodoInput>, description = "The whole list, at most 500 todos"),
    responses(
        (status = 200, description = "Replaced, with `todos_updated`", body = super::openapi::schemas::Written<super::openapi::schemas::Todos>),
        super::openapi::errors::ResourceWriteErrors,
    )
)]
pub async fn replace_todos(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
    body: Items<TodoInput>,
) -> AppResult<HttpResponse> {
    let command = Command::ReplaceTodos {
        session_id: id.into_inner(),
        todos: body.0,
    };
    Ok(written(state.execute(&req, command).await?))
}

/// `POST /api/sessions/{id}/tool-calls`: 201 for a new call, 200 for a new state
/// or an exact repeat (which emits nothing).
#[utoipa::path(
    post, path = "/api/sessions/{id}/tool-calls", tag = "activity",
    params(("id" = String, Path, description = "The session"), super::openapi::WriteHeaders),
    request_body = SaveToolCall,
    responses(
        (status = 201, description = "A new call, with `tool_call_created`", body = super::openapi::schemas::Written<super::openapi::schemas::ToolCall>),
        (status = 200, description = "A new state (`tool_call_updated`), or an exact repeat (no event)", body = super::openapi::schemas::Written<super::openapi::schemas::ToolCall>),
        super::openapi::errors::ResourceWriteErrors,
    )
)]
pub async fn save_tool_call(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
    body: Body<SaveToolCall>,
) -> AppResult<HttpResponse> {
    let session_id = id.into_inner();
    let command = Command::SaveToolCall(SaveToolCall {
        session_id,
        ..body.0
    });
    Ok(written(state.execute(&req, command).await?))
}
