//! `POST /api/hooks`: agent hook events (seed 000). Fields herald does not
//! use (`hostname`, `timestamp`, `transcript_path`, …) are accepted and ignored.

use super::extract::Body;
use super::{written, AppState};
use crate::domain::activity::AddUsage;
use crate::domain::hooks::Hook;
use crate::domain::Command;
use crate::error::AppResult;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::Value;

/// A hook event as the agent posts it.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct HookBody {
    /// Which hook fired.
    #[schema(value_type = super::openapi::schemas::HookEvent)]
    hook_event_name: String,
    /// The agent's session (created when unknown).
    #[schema(pattern = "^[A-Za-z0-9_.-]{1,100}$")]
    session_id: String,
    /// The project of a session the hook creates (created when unknown; a
    /// project id there, ignored for a session that exists).
    #[serde(default)]
    project_id: Option<String>,
    /// Without `project_id`, a new session goes to the project named after
    /// its last part.
    #[serde(default)]
    cwd: Option<String>,
    /// `UserPromptSubmit`: the prompt (1–100,000 characters there; other
    /// hooks ignore it).
    #[serde(default)]
    prompt: Option<String>,
    /// `PreToolUse` / `PostToolUse`: the tool (1–200 characters there;
    /// other hooks ignore it).
    #[serde(default)]
    tool_name: Option<String>,
    /// `PreToolUse` / `PostToolUse`: the call's id (1–200 characters there;
    /// other hooks ignore it).
    #[serde(default)]
    tool_use_id: Option<String>,
    /// The tool's input, any JSON.
    #[serde(default)]
    tool_input: Option<Value>,
    /// The tool's output, any JSON.
    #[serde(default)]
    tool_response: Option<Value>,
    /// Token usage to add to the session.
    #[serde(default)]
    usage: Option<UsageBody>,
}

/// `usage` of a hook.
#[derive(Deserialize, utoipa::ToSchema)]
#[schema(as = HookUsage)]
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

/// `POST /api/hooks` → 200 with the session and the events the hook produced.
#[utoipa::path(
    post, path = "/api/hooks", tag = "activity",
    params(super::openapi::WriteHeaders),
    request_body = HookBody,
    responses(
        (status = 200, description = "The session after the hook, with the events it produced", body = super::openapi::schemas::Written<super::openapi::schemas::Session>),
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
pub async fn receive(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: Body<HookBody>,
) -> AppResult<HttpResponse> {
    let b = body.0;
    let hook = Hook {
        event: b.hook_event_name,
        session_id: b.session_id,
        project_id: b.project_id,
        cwd: b.cwd,
        prompt: b.prompt,
        tool_name: b.tool_name,
        tool_use_id: b.tool_use_id,
        tool_input: b.tool_input,
        tool_response: b.tool_response,
        usage: b.usage.map(|u| AddUsage {
            session_id: String::new(),
            input_tokens: u.input_tokens,
            output_tokens: u.output_tokens,
            cache_read_input_tokens: u.cache_read_input_tokens,
            cache_creation_input_tokens: u.cache_creation_input_tokens,
            model: u.model,
        }),
    };
    Ok(written(
        state.execute(&req, Command::Hook(Box::new(hook))).await?,
    ))
}
