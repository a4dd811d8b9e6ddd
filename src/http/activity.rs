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
#[utoipa::path(
    post, path = "/api/sessions/{id}/messages", tag = "activity",
    params(("id" = String, Path, description = "The session"), super::openapi::WriteHeaders),
    request_body = super::openapi::schemas::MessageInput,
    responses(
        (status = 201, description = "Added, with `message_created`", body = super::openapi::schemas::Written<super::openapi::schemas::Message>),
        (status = 400, response = super::openapi::errors::BadRequest),
        (status = 401, response = super::openapi::errors::Unauthorized),
        (status = 403, response = super::openapi::errors::Forbidden),
        (status = 404, response = super::openapi::errors::NotFound),
        (status = 409, response = super::openapi::errors::Conflict),
        (status = 413, response = super::openapi::errors::PayloadTooLarge),
        (status = 422, response = super::openapi::errors::Unprocessable),
        (status = 429, response = super::openapi::errors::RateLimited),
        (status = 503, response = super::openapi::errors::Unavailable),
    )
)]
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
        (status = 400, response = super::openapi::errors::BadRequest),
        (status = 401, response = super::openapi::errors::Unauthorized),
        (status = 403, response = super::openapi::errors::Forbidden),
        (status = 404, response = super::openapi::errors::NotFound),
        (status = 503, response = super::openapi::errors::Unavailable),
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

#[utoipa::path(
    get, path = "/api/sessions/{id}/token-usage", tag = "activity",
    params(("id" = String, Path, description = "The session"), MessagesQuery),
    responses(
        (status = 200, description = "Usage reports with `id > after`, oldest first", body = Vec<super::openapi::schemas::Usage>),
        (status = 400, response = super::openapi::errors::BadRequest),
        (status = 401, response = super::openapi::errors::Unauthorized),
        (status = 403, response = super::openapi::errors::Forbidden),
        (status = 404, response = super::openapi::errors::NotFound),
        (status = 503, response = super::openapi::errors::Unavailable),
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
    let limit = query.limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT);
    let rows = state
        .read(move |c| Ok(q::usage(c, &id, after, limit)?))
        .await?;
    let body: Vec<Value> = rows.iter().map(|u| u.to_json()).collect();
    Ok(HttpResponse::Ok().json(body))
}

/// `POST /api/sessions/{id}/token-usage` body; a report that takes a
/// session's totals past 2⁶³−1 is 422.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct UsageBody {
    /// Input tokens.
    #[schema(minimum = 0, maximum = 9223372036854775807_i64)]
    input_tokens: i64,
    /// Output tokens.
    #[schema(minimum = 0, maximum = 9223372036854775807_i64)]
    output_tokens: i64,
    /// Cache-read input tokens (default 0).
    #[serde(default)]
    #[schema(minimum = 0, maximum = 9223372036854775807_i64)]
    cache_read_input_tokens: i64,
    /// Cache-creation input tokens (default 0).
    #[serde(default)]
    #[schema(minimum = 0, maximum = 9223372036854775807_i64)]
    cache_creation_input_tokens: i64,
    /// The model: 1–200 characters.
    #[serde(default)]
    #[schema(min_length = 1, max_length = 200)]
    model: Option<String>,
}

/// `POST /api/sessions/{id}/token-usage` → 201 + `token_usage`, `session_updated`.
#[utoipa::path(
    post, path = "/api/sessions/{id}/token-usage", tag = "activity",
    params(("id" = String, Path, description = "The session"), super::openapi::WriteHeaders),
    request_body = UsageBody,
    responses(
        (status = 201, description = "Recorded, with `token_usage` and `session_updated` (new totals)", body = super::openapi::schemas::Written<super::openapi::schemas::Usage>),
        (status = 400, response = super::openapi::errors::BadRequest),
        (status = 401, response = super::openapi::errors::Unauthorized),
        (status = 403, response = super::openapi::errors::Forbidden),
        (status = 404, response = super::openapi::errors::NotFound),
        (status = 409, response = super::openapi::errors::Conflict),
        (status = 413, response = super::openapi::errors::PayloadTooLarge),
        (status = 422, response = super::openapi::errors::Unprocessable),
        (status = 429, response = super::openapi::errors::RateLimited),
        (status = 503, response = super::openapi::errors::Unavailable),
    )
)]
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
#[derive(Deserialize, utoipa::ToSchema)]
pub struct TodoBody {
    /// What to do: 1–2,000 characters.
    #[schema(min_length = 1, max_length = 2000)]
    content: String,
    /// `pending`, `in_progress` or `completed`.
    #[schema(value_type = super::openapi::schemas::TodoStatus)]
    status: String,
    /// The present-tense form (`activeForm` is accepted too): 1–2,000 characters.
    #[serde(default, alias = "activeForm")]
    #[schema(min_length = 1, max_length = 2000)]
    active_form: Option<String>,
}

/// `PUT /api/sessions/{id}/todos` `[{content, status, active_form?}]` → 200 + `todos_updated`.
#[utoipa::path(
    put, path = "/api/sessions/{id}/todos", tag = "activity",
    params(("id" = String, Path, description = "The session"), super::openapi::WriteHeaders),
    request_body(content = Vec<TodoBody>, description = "The whole list, at most 500 todos"),
    responses(
        (status = 200, description = "Replaced, with `todos_updated`", body = super::openapi::schemas::Written<super::openapi::schemas::Todos>),
        (status = 400, response = super::openapi::errors::BadRequest),
        (status = 401, response = super::openapi::errors::Unauthorized),
        (status = 403, response = super::openapi::errors::Forbidden),
        (status = 404, response = super::openapi::errors::NotFound),
        (status = 409, response = super::openapi::errors::Conflict),
        (status = 413, response = super::openapi::errors::PayloadTooLarge),
        (status = 422, response = super::openapi::errors::Unprocessable),
        (status = 429, response = super::openapi::errors::RateLimited),
        (status = 503, response = super::openapi::errors::Unavailable),
    )
)]
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
#[derive(Deserialize, utoipa::ToSchema)]
pub struct ToolCallBody {
    /// The agent's id for the call: 1–200 characters.
    #[schema(min_length = 1, max_length = 200)]
    tool_call_id: String,
    /// The tool (`name` is accepted too): 1–200 characters.
    #[serde(alias = "name")]
    #[schema(min_length = 1, max_length = 200)]
    tool_name: String,
    /// `input-available` or `output-available`.
    #[schema(value_type = super::openapi::schemas::ToolState)]
    state: String,
    /// The tool's input, any JSON.
    input: Value,
    /// The tool's output, any JSON.
    #[serde(default)]
    output: Option<Value>,
}

/// `POST /api/sessions/{id}/tool-calls`: 201 for a new call, 200 for a new state
/// or an exact repeat (which emits nothing).
#[utoipa::path(
    post, path = "/api/sessions/{id}/tool-calls", tag = "activity",
    params(("id" = String, Path, description = "The session"), super::openapi::WriteHeaders),
    request_body = ToolCallBody,
    responses(
        (status = 201, description = "A new call, with `tool_call_created`", body = super::openapi::schemas::Written<super::openapi::schemas::ToolCall>),
        (status = 200, description = "A new state (`tool_call_updated`), or an exact repeat (no event)", body = super::openapi::schemas::Written<super::openapi::schemas::ToolCall>),
        (status = 400, response = super::openapi::errors::BadRequest),
        (status = 401, response = super::openapi::errors::Unauthorized),
        (status = 403, response = super::openapi::errors::Forbidden),
        (status = 404, response = super::openapi::errors::NotFound),
        (status = 409, response = super::openapi::errors::Conflict),
        (status = 413, response = super::openapi::errors::PayloadTooLarge),
        (status = 422, response = super::openapi::errors::Unprocessable),
        (status = 429, response = super::openapi::errors::RateLimited),
        (status = 503, response = super::openapi::errors::Unavailable),
    )
)]
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
