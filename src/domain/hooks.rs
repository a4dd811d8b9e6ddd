//! Agent hooks (Claude Code's hook payloads, seed 000): one request describes
//! something the agent did; herald maps it onto the session (created on the
//! spot if unknown), its status, messages, tool calls and token totals.

use super::activity::{self, AddMessage, AddUsage, SaveToolCall};
use super::{projects, sessions, Tx};
use crate::db::models::{Project, Session};
use crate::db::{projects as pq, sessions as sq};
use crate::error::{AppError, AppResult};
use crate::types::{new_id, validate_id, HookEvent, MessageRole, SessionStatus, ToolState};
use serde::Deserialize;
use serde_json::Value;

/// The `agent_id` of a session a hook creates when the writer sends no `X-Agent-ID`.
pub const HOOK_AGENT: &str = "claude-code";
/// The project of sessions whose hook names neither a project nor a folder.
pub const DEFAULT_PROJECT: &str = "default";
/// Most characters of a title taken from a prompt.
pub const PROMPT_TITLE_CHARS: usize = 80;

/// A hook event as the agent posts it (`POST /api/hooks`). Fields herald
/// does not use (`hostname`, `timestamp`, `transcript_path`, …) are accepted
/// and ignored.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[schema(as = HookBody)]
pub struct Hook {
    /// Which hook fired.
    #[serde(rename = "hook_event_name")]
    pub event: HookEvent,
    /// The agent's session (created when unknown).
    #[schema(pattern = "^[A-Za-z0-9_.-]{1,100}$")]
    pub session_id: String,
    /// The project of a session the hook creates (created when unknown; a
    /// project id there, ignored for a session that exists).
    #[serde(default)]
    pub project_id: Option<String>,
    /// Without `project_id`, a new session goes to the project named after
    /// its last part.
    #[serde(default)]
    pub cwd: Option<String>,
    /// `UserPromptSubmit`: the prompt (1–100,000 characters there; other
    /// hooks ignore it).
    #[serde(default)]
    pub prompt: Option<String>,
    /// `PreToolUse` / `PostToolUse`: the tool (1–200 characters there;
    /// other hooks ignore it).
    #[serde(default)]
    pub tool_name: Option<String>,
    /// `PreToolUse` / `PostToolUse`: the call's id (1–200 characters there;
    /// other hooks ignore it).
    #[serde(default)]
    pub tool_use_id: Option<String>,
    /// The tool's input, any JSON.
    #[serde(default)]
    pub tool_input: Option<Value>,
    /// The tool's output, any JSON.
    #[serde(default)]
    pub tool_response: Option<Value>,
    /// Token usage to add to the session.
    #[serde(default)]
    pub usage: Option<AddUsage>,
}

/// Applies a hook; answers the session as it is afterwards.
pub fn apply(tx: &mut Tx<'_>, h: &Hook) -> AppResult<Value> {
    validate_id("session_id", &h.session_id)?;
    let session = ensure_session(tx, h)?;
    match h.event {
        HookEvent::SessionStart => set(tx, &session, Some(SessionStatus::Active), None)?,
        HookEvent::UserPromptSubmit => {
            // The first prompt names a session nobody has titled (it still
            // has the default), so the session list says what the agent was asked.
            let title = h
                .prompt
                .as_deref()
                .filter(|_| session.title == sessions::DEFAULT_TITLE)
                .and_then(prompt_title);
            change(
                tx,
                &session,
                Some(SessionStatus::Active),
                Some(false),
                title,
            )?;
            if let Some(prompt) = &h.prompt {
                let message = AddMessage {
                    session_id: session.id.clone(),
                    role: MessageRole::User,
                    content: prompt.clone(),
                };
                activity::add_message(tx, &message)?;
            }
        }
        HookEvent::PreToolUse => tool_call(tx, h, ToolState::InputAvailable, None)?,
        HookEvent::PostToolUse => {
            tool_call(tx, h, ToolState::OutputAvailable, h.tool_response.clone())?
        }
        HookEvent::Notification => set(tx, &session, None, Some(true))?,
        HookEvent::Stop => set(tx, &session, Some(SessionStatus::Idle), Some(true))?,
        HookEvent::SessionEnd => set(tx, &session, Some(SessionStatus::Ended), None)?,
    }
    if let Some(usage) = &h.usage {
        let usage = AddUsage {
            session_id: session.id.clone(),
            ..usage.clone()
        };
        activity::add_usage(tx, &usage)?;
    }
    let after = sq::find(tx.conn, &session.id)?.unwrap_or(session);
    Ok(serde_json::to_value(&after)?)
}

/// The hook's session; an unknown one is created (`session_created`).
fn ensure_session(tx: &mut Tx<'_>, h: &Hook) -> AppResult<Session> {
    // Two nodes taking the first hook of one session: the second waits here,
    // then finds the session the first created.
    tx.lock("session", &h.session_id)?;
    if let Some(found) = sq::find(tx.conn, &h.session_id)? {
        tx.require_write(&found.id)?;
        return Ok(found);
    }
    let project = project_for(tx, h)?;
    let create = sessions::Create {
        project_id: project.id,
        id: Some(h.session_id.clone()),
        title: None,
        owner_id: None,
        // Hooks come from Claude Code unless the writer says otherwise.
        agent_id: Some(
            tx.ctx
                .agent_id
                .clone()
                .unwrap_or_else(|| HOOK_AGENT.to_string()),
        ),
    };
    sessions::create(tx, &create)?;
    sq::find(tx.conn, &h.session_id)?.ok_or_else(|| AppError::not_found("session", &h.session_id))
}

/// `project_id` (created if unknown), else the project named after the last
/// part of `cwd` (reused by name), else [`DEFAULT_PROJECT`].
fn project_for(tx: &mut Tx<'_>, h: &Hook) -> AppResult<Project> {
    if let Some(id) = &h.project_id {
        validate_id("project_id", id)?;
        return projects::ensure(tx, id, id);
    }
    let folder = h.cwd.as_deref().and_then(|cwd| {
        cwd.trim_end_matches(['/', '\\'])
            .rsplit(['/', '\\'])
            .next()
            .filter(|name| !name.is_empty())
    });
    match folder {
        Some(name) => {
            // Names are not keys: without the lock two nodes would each
            // create a project of this name.
            tx.lock("project-name", name)?;
            match pq::find_by_name(tx.conn, name)? {
                Some(found) => Ok(found),
                None => projects::ensure(tx, &new_id(), name),
            }
        }
        None => projects::ensure(tx, DEFAULT_PROJECT, DEFAULT_PROJECT),
    }
}

/// The title a prompt gives an untitled session: its first non-blank line,
/// trimmed, at most [`PROMPT_TITLE_CHARS`] characters (a longer line is cut
/// and ends with `…`); `None` for a blank prompt.
pub fn prompt_title(prompt: &str) -> Option<String> {
    let line = prompt.lines().map(str::trim).find(|l| !l.is_empty())?;
    if line.chars().count() <= PROMPT_TITLE_CHARS {
        return Some(line.to_string());
    }
    let cut: String = line.chars().take(PROMPT_TITLE_CHARS - 1).collect();
    Some(format!("{}…", cut.trim_end()))
}

/// Sets status and/or attention, emitting only when something changes.
fn set(
    tx: &mut Tx<'_>,
    session: &Session,
    status: Option<SessionStatus>,
    needs_attention: Option<bool>,
) -> AppResult<()> {
    change(tx, session, status, needs_attention, None)
}

/// Sets status, attention and/or the title in one `session_updated`,
/// emitting only when something changes.
fn change(
    tx: &mut Tx<'_>,
    session: &Session,
    status: Option<SessionStatus>,
    needs_attention: Option<bool>,
    title: Option<String>,
) -> AppResult<()> {
    let status = status.filter(|s| *s != session.status);
    let needs_attention = needs_attention.filter(|n| *n != session.needs_attention);
    if status.is_none() && needs_attention.is_none() && title.is_none() {
        return Ok(());
    }
    let update = sessions::Update {
        id: session.id.clone(),
        title,
        status,
        needs_attention,
        ..sessions::Update::default()
    };
    sessions::update(tx, &update).map(drop)
}

fn tool_call(tx: &mut Tx<'_>, h: &Hook, state: ToolState, output: Option<Value>) -> AppResult<()> {
    let (Some(id), Some(name)) = (&h.tool_use_id, &h.tool_name) else {
        return Err(AppError::Validation(format!(
            "{} needs tool_use_id and tool_name",
            h.event
        )));
    };
    let call = SaveToolCall {
        session_id: h.session_id.clone(),
        tool_call_id: id.clone(),
        tool_name: name.clone(),
        state,
        input: h.tool_input.clone().unwrap_or(Value::Null),
        output,
    };
    activity::save_tool_call(tx, &call).map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_prompt_title_is_its_first_non_blank_line_trimmed() {
        assert_eq!(
            prompt_title("\n  Fix the login bug  \nthen run the tests").as_deref(),
            Some("Fix the login bug")
        );
        assert_eq!(prompt_title(" \n\t\n"), None);
        assert_eq!(prompt_title("").as_deref(), None);
    }

    #[test]
    fn a_long_first_line_is_cut_to_80_characters_with_an_ellipsis() {
        let exact = "é".repeat(PROMPT_TITLE_CHARS);
        assert_eq!(prompt_title(&exact), Some(exact.clone()));
        let long = format!("{exact}x");
        let title = prompt_title(&long).unwrap();
        assert_eq!(title.chars().count(), PROMPT_TITLE_CHARS);
        assert!(title.ends_with('…'));
        assert!(long.starts_with(title.trim_end_matches('…')));
    }
}
