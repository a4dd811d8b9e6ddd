//! Agent hooks (Claude Code's hook payloads, seed 000): one request describes
//! something the agent did; herald maps it onto the session (created on the
//! spot if unknown), its status, messages, tool calls and token totals.

use super::activity::{self, AddMessage, AddUsage, SaveToolCall};
use super::{projects, sessions, Tx};
use crate::db::models::{Project, Session};
use crate::db::{projects as pq, sessions as sq};
use crate::error::{AppError, AppResult};
use crate::types::{new_id, validate_id};
use serde_json::Value;

/// The hook events herald understands.
pub const EVENTS: &[&str] = &[
    "SessionStart",
    "UserPromptSubmit",
    "PreToolUse",
    "PostToolUse",
    "Notification",
    "Stop",
    "SessionEnd",
];
/// The `agent_id` of a session a hook creates when the writer sends no `X-Agent-ID`.
pub const HOOK_AGENT: &str = "claude-code";
/// The project of sessions whose hook names neither a project nor a folder.
pub const DEFAULT_PROJECT: &str = "default";
/// Most characters of a title taken from a prompt.
pub const PROMPT_TITLE_CHARS: usize = 80;

/// `POST /api/hooks`, shape-checked.
#[derive(Debug, Clone, Default)]
pub struct Hook {
    /// One of [`EVENTS`].
    pub event: String,
    /// The agent's session id.
    pub session_id: String,
    /// Project id to create the session in, if new.
    pub project_id: Option<String>,
    /// Working directory: its last part names the project otherwise.
    pub cwd: Option<String>,
    /// `UserPromptSubmit`: the prompt.
    pub prompt: Option<String>,
    /// `Pre/PostToolUse`: the tool.
    pub tool_name: Option<String>,
    /// `Pre/PostToolUse`: the call id.
    pub tool_use_id: Option<String>,
    /// `Pre/PostToolUse`: the input.
    pub tool_input: Option<Value>,
    /// `PostToolUse`: the output.
    pub tool_response: Option<Value>,
    /// Token usage reported with the hook.
    pub usage: Option<AddUsage>,
}

/// Applies a hook; answers the session as it is afterwards.
pub fn apply(tx: &mut Tx<'_>, h: &Hook) -> AppResult<Value> {
    if !EVENTS.contains(&h.event.as_str()) {
        return Err(AppError::Validation(format!(
            "hook_event_name must be one of {}",
            EVENTS.join(", ")
        )));
    }
    validate_id("session_id", &h.session_id)?;
    let session = ensure_session(tx, h)?;
    match h.event.as_str() {
        "SessionStart" => set(tx, &session, Some("active"), None)?,
        "UserPromptSubmit" => {
            // The first prompt names a session nobody has titled (it still
            // has the default), so the session list says what the agent was asked.
            let title = h
                .prompt
                .as_deref()
                .filter(|_| session.title == sessions::DEFAULT_TITLE)
                .and_then(prompt_title);
            change(tx, &session, Some("active"), Some(false), title)?;
            if let Some(prompt) = &h.prompt {
                let message = AddMessage {
                    session_id: session.id.clone(),
                    role: "user".into(),
                    content: prompt.clone(),
                };
                activity::add_message(tx, &message)?;
            }
        }
        "PreToolUse" => tool_call(tx, h, "input-available", None)?,
        "PostToolUse" => tool_call(tx, h, "output-available", h.tool_response.clone())?,
        "Notification" => set(tx, &session, None, Some(true))?,
        "Stop" => set(tx, &session, Some("idle"), Some(true))?,
        _ => set(tx, &session, Some("ended"), None)?,
    }
    if let Some(usage) = &h.usage {
        let usage = AddUsage {
            session_id: session.id.clone(),
            ..usage.clone()
        };
        activity::add_usage(tx, &usage)?;
    }
    let after = sq::find(tx.conn, &session.id)?.unwrap_or(session);
    Ok(after.to_json())
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
        id: h.session_id.clone(),
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
    status: Option<&str>,
    needs_attention: Option<bool>,
) -> AppResult<()> {
    change(tx, session, status, needs_attention, None)
}

/// Sets status, attention and/or the title in one `session_updated`,
/// emitting only when something changes.
fn change(
    tx: &mut Tx<'_>,
    session: &Session,
    status: Option<&str>,
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
        status: status.map(str::to_string),
        needs_attention,
        ..sessions::Update::default()
    };
    sessions::update(tx, &update).map(drop)
}

fn tool_call(tx: &mut Tx<'_>, h: &Hook, state: &str, output: Option<Value>) -> AppResult<()> {
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
        state: state.into(),
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
