//! The rules: which command writes what and emits which events. Each command
//! runs inside the persistence actor's transaction; the domain never decides
//! when or to whom events go out (that is the actors' job).

pub mod activity;
pub mod hooks;
pub mod projects;
pub mod rooms;
pub mod sessions;
pub mod snapshot;
pub mod work;

use crate::db::events::{self, Committed};
use crate::db::models::NewEvent;
use crate::db::DbConn;
use crate::error::{AppError, AppResult};
use crate::types::RoomName;
use serde_json::{Map, Value};

/// Longest project name or session title, in characters.
pub const MAX_NAME_CHARS: usize = 200;
/// Largest event payload accepted through the generic route, in bytes.
pub const MAX_PAYLOAD_BYTES: usize = 256 * 1024;

/// Event types flushed at once, never held by the batching window.
const PRIORITY_EVENTS: &[&str] = &[
    "session_created",
    "status_changed",
    "todos_updated",
    "collaborator_added",
    "collaborator_updated",
    "collaborator_removed",
    "visibility_changed",
];

/// A write, as the HTTP layer hands it to the persistence actor.
#[derive(Debug, Clone)]
pub enum Command {
    /// `POST /api/projects`
    CreateProject(projects::Create),
    /// `PATCH /api/projects/{id}`
    UpdateProject(projects::Update),
    /// `DELETE /api/projects/{id}` (and its sessions)
    DeleteProject {
        /// Project id.
        id: String,
    },
    /// `POST /api/projects/{id}/sessions`
    CreateSession(sessions::Create),
    /// `PATCH /api/sessions/{id}`
    UpdateSession(sessions::Update),
    /// `DELETE /api/sessions/{id}`
    DeleteSession {
        /// Session id.
        id: String,
    },
    /// `POST /api/rooms/{room}/events`
    Publish(rooms::Publish),
    /// `POST /api/sessions/{id}/messages`
    AddMessage(activity::AddMessage),
    /// `POST /api/sessions/{id}/token-usage`
    AddUsage(activity::AddUsage),
    /// `PUT /api/sessions/{id}/todos`
    ReplaceTodos {
        /// Session id.
        session_id: String,
        /// The whole new list.
        todos: Vec<activity::TodoInput>,
    },
    /// `POST /api/sessions/{id}/tool-calls`
    SaveToolCall(activity::SaveToolCall),
    /// `POST /api/hooks`
    Hook(Box<hooks::Hook>),
    /// `/api/broadcast/…` work items.
    Work(work::WorkCommand),
}

/// Who writes and when; recorded on the events.
#[derive(Debug, Clone, Default)]
pub struct CommandCtx {
    /// Commit-batch time, unix milliseconds (set by the persistence actor).
    pub now: i64,
    /// `X-Agent-ID`.
    pub agent_id: Option<String>,
    /// `X-Session-ID`.
    pub origin_session_id: Option<String>,
    /// Deliveries kept per room (`events.retention_per_room`).
    pub retention: u64,
}

/// What a committed command produced.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    /// 201 when something was created, else 200.
    pub created: bool,
    /// The resource's fields, at the top level of the HTTP answer.
    pub body: Map<String, Value>,
    /// The events, in the order they were appended.
    pub committed: Vec<Committed>,
}

/// A command's view of the open transaction.
pub struct Tx<'a> {
    /// The writer's connection, inside the transaction.
    pub conn: &'a mut DbConn,
    /// Who and when.
    pub ctx: &'a CommandCtx,
    committed: Vec<Committed>,
}

impl Tx<'_> {
    /// Appends an event delivered to `rooms`.
    pub fn emit(
        &mut self,
        event_type: &str,
        resource: (&str, &str),
        payload: &Value,
        rooms: &[RoomName],
        priority: bool,
    ) -> AppResult<()> {
        self.emit_text(event_type, resource, payload.to_string(), rooms, priority)
    }

    /// [`Tx::emit`] with a payload that is already JSON text (an object).
    pub fn emit_text(
        &mut self,
        event_type: &str,
        resource: (&str, &str),
        payload: String,
        rooms: &[RoomName],
        priority: bool,
    ) -> AppResult<()> {
        let new = NewEvent {
            event_type: event_type.to_string(),
            resource_type: resource.0.to_string(),
            resource_id: resource.1.to_string(),
            agent_id: self.ctx.agent_id.clone(),
            origin_session_id: self.ctx.origin_session_id.clone(),
            payload,
            priority: priority || PRIORITY_EVENTS.contains(&event_type),
            created_at: self.ctx.now,
        };
        let committed = events::append(self.conn, &new, rooms, self.ctx.retention)?;
        self.committed.push(committed);
        Ok(())
    }
}

/// Applies one command. The caller runs it in a (nested) transaction, so an
/// error leaves nothing half-written.
pub fn apply(conn: &mut DbConn, ctx: &CommandCtx, command: &Command) -> AppResult<Outcome> {
    let mut tx = Tx {
        conn,
        ctx,
        committed: Vec::new(),
    };
    let (created, body) = match command {
        Command::CreateProject(c) => (true, projects::create(&mut tx, c)?),
        Command::UpdateProject(u) => (false, projects::update(&mut tx, u)?),
        Command::DeleteProject { id } => (false, projects::delete(&mut tx, id)?),
        Command::CreateSession(c) => (true, sessions::create(&mut tx, c)?),
        Command::UpdateSession(u) => (false, sessions::update(&mut tx, u)?),
        Command::DeleteSession { id } => (false, sessions::delete(&mut tx, id)?),
        Command::Publish(p) => (true, rooms::publish(&mut tx, p)?),
        Command::AddMessage(a) => (true, activity::add_message(&mut tx, a)?),
        Command::AddUsage(a) => (true, activity::add_usage(&mut tx, a)?),
        Command::ReplaceTodos { session_id, todos } => {
            (false, activity::replace_todos(&mut tx, session_id, todos)?)
        }
        Command::SaveToolCall(a) => activity::save_tool_call(&mut tx, a)?,
        Command::Hook(h) => (false, hooks::apply(&mut tx, h)?),
        Command::Work(w) => work::apply(&mut tx, w)?,
    };
    Ok(Outcome {
        created,
        body: into_map(body),
        committed: tx.committed,
    })
}

/// Checks a name or title: at most [`MAX_NAME_CHARS`] characters.
pub fn check_name(field: &str, value: &str, allow_empty: bool) -> AppResult<()> {
    if !allow_empty && value.trim().is_empty() {
        return Err(AppError::Validation(format!("{field} must not be empty")));
    }
    if value.chars().count() > MAX_NAME_CHARS {
        return Err(AppError::Validation(format!(
            "{field} must be at most {MAX_NAME_CHARS} characters"
        )));
    }
    Ok(())
}

fn into_map(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        other => {
            let mut map = Map::new();
            map.insert("value".into(), other);
            map
        }
    }
}
