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
#[derive(Deserialize)]
pub struct HookBody {
    hook_event_name: String,
    session_id: String,
    #[serde(default)]
    project_id: Option<String>,
    #[serde(default)]
    cwd: Option<String>,
    #[serde(default)]
    prompt: Option<String>,
    #[serde(default)]
    tool_name: Option<String>,
    #[serde(default)]
    tool_use_id: Option<String>,
    #[serde(default)]
    tool_input: Option<Value>,
    #[serde(default)]
    tool_response: Option<Value>,
    #[serde(default)]
    usage: Option<UsageBody>,
}

/// `usage` of a hook.
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

/// `POST /api/hooks` → 200 with the session and the events the hook produced.
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
