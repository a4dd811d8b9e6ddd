//! The rules: which command writes what and emits which events. Each command
//! runs inside the persistence actor's transaction; the domain never decides
//! when or to whom events go out (that is the actors' job).

pub mod activity;
pub mod collaborators;
pub mod hooks;
pub mod idempotency;
pub mod projects;
pub mod rooms;
pub mod sessions;
pub mod snapshot;
mod tx;
pub mod users;
pub mod work;

use crate::access::{Identity, SessionAccess};
use crate::db::events::{self, Appended, Committed};
use crate::db::DbConn;
use crate::error::{AppError, AppResult};
use serde_json::{Map, Value};
use std::sync::Arc;
pub use tx::Tx;

/// The default of `events.max_payload_bytes`: the largest event payload
/// (its JSON text), on every route.
pub const MAX_PAYLOAD_BYTES: usize = 256 * 1024;

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
    /// `POST /api/rooms/events:batch`: up to [`rooms::MAX_BATCH`] events,
    /// all or none.
    PublishBatch(Vec<rooms::Publish>),
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
    /// `POST /api/users` (and `herald users add`).
    CreateUser(users::NewUser),
    /// `DELETE /api/users/{id}`: the user and its token go.
    DeleteUser {
        /// User id.
        id: String,
    },
    /// `POST /api/users/{id}/token`: a new token replaces the old one.
    ReplaceToken {
        /// User id.
        id: String,
        /// SHA-256 of the new token.
        token_hash: String,
    },
    /// `/api/sessions/{id}/collaborators…`
    Collaborators(collaborators::CollaboratorCommand),
}

/// Who writes and when; recorded on the events.
#[derive(Debug, Clone)]
pub struct CommandCtx {
    /// Who asks; every rule is checked against it inside the transaction.
    pub caller: Arc<Identity>,
    /// Commit-batch time, unix milliseconds (set by the persistence actor).
    pub now: i64,
    /// `X-Agent-ID`.
    pub agent_id: Option<String>,
    /// `X-Session-ID`.
    pub origin_session_id: Option<String>,
    /// Deliveries kept per room (`events.retention_per_room`).
    pub retention: u64,
    /// `Idempotency-Key` and the request's fingerprint, if the write has one.
    pub idempotency: Option<Arc<idempotency::IdempotencyKey>>,
    /// Largest event payload in bytes (`events.max_payload_bytes`).
    pub max_payload_bytes: usize,
    /// A keyed write's rate-limit tokens, taken once the key proves new
    /// (a replay costs none).
    pub rate: Option<crate::auth::Deferred>,
}

impl Default for CommandCtx {
    /// The local admin (auth off), no headers.
    fn default() -> Self {
        CommandCtx {
            caller: Identity::local_admin(),
            now: 0,
            agent_id: None,
            origin_session_id: None,
            retention: 0,
            idempotency: None,
            max_payload_bytes: MAX_PAYLOAD_BYTES,
            rate: None,
        }
    }
}

/// What a committed command produced.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    /// 201 when something was created, else 200.
    pub created: bool,
    /// The resource's fields, at the top level of the HTTP answer.
    pub body: Map<String, Value>,
    /// The events with their deliveries, in the order they were appended
    /// (filled once the group's seqs are taken: [`deliver`]).
    pub committed: Vec<Committed>,
    /// The events the command emitted, written with their deliveries at
    /// the end of its group ([`deliver`] empties this into `committed`).
    pub appended: Vec<Appended>,
    /// Sessions whose access changed, as of the command's last event: rooms
    /// apply them (revocation, redaction) in commit order with the events.
    pub access: Vec<Arc<SessionAccess>>,
    /// Users whose token this command ended (their sockets close with 4001).
    pub ended_tokens: Vec<String>,
    /// The stored first answer of a keyed write, given again: `body`
    /// already holds its events and nothing was written.
    pub replayed: bool,
}

/// Writes the events of `outcomes` (one group's, in commit order) and gives
/// them their deliveries: each room takes its seqs once for the whole group
/// ([`events::deliver`]).
pub fn deliver(
    conn: &mut DbConn,
    outcomes: &mut [&mut Outcome],
    retention: u64,
) -> diesel::QueryResult<()> {
    let counts: Vec<usize> = outcomes.iter().map(|o| o.appended.len()).collect();
    let appended: Vec<Appended> = outcomes
        .iter_mut()
        .flat_map(|o| std::mem::take(&mut o.appended))
        .collect();
    if appended.is_empty() {
        return Ok(());
    }
    let mut committed = events::deliver(conn, appended, retention)?.into_iter();
    for (outcome, n) in outcomes.iter_mut().zip(counts) {
        outcome.committed = committed.by_ref().take(n).collect();
    }
    Ok(())
}

impl Command {
    /// Whether the command may write rows before it can still fail, so that
    /// it needs a savepoint to undo them. Publishing checks everything first
    /// and writes nothing itself (its events are written at the group's
    /// end), so it runs without one; every other command writes as it goes.
    pub fn writes_before_it_can_fail(&self) -> bool {
        !matches!(self, Command::Publish(_) | Command::PublishBatch(_))
    }

    /// How many events it publishes at most, and the bytes of their
    /// client-given payloads: what a writer's group is bounded by, besides
    /// its count of commands. Other commands publish one or a few events of
    /// bounded size and count as one.
    pub fn weight(&self) -> (usize, usize) {
        match self {
            Command::Publish(p) => (1, p.payload.get().len()),
            Command::PublishBatch(items) => (
                items.len(),
                items.iter().map(|p| p.payload.get().len()).sum(),
            ),
            _ => (1, 0),
        }
    }
}

/// Applies one command and delivers its events at once: for writes outside
/// the persistence actor's groups (the CLI, tests).
pub fn apply_now(conn: &mut DbConn, ctx: &CommandCtx, command: &Command) -> AppResult<Outcome> {
    let mut outcome = apply(conn, ctx, command)?;
    deliver(conn, &mut [&mut outcome], ctx.retention)?;
    Ok(outcome)
}

/// Applies one command. The caller runs it in a (nested) transaction, so an
/// error leaves nothing half-written. Its events are written but not yet
/// delivered: the caller runs [`deliver`] for the whole group.
pub fn apply(conn: &mut DbConn, ctx: &CommandCtx, command: &Command) -> AppResult<Outcome> {
    let mut tx = Tx::new(conn, ctx);
    let (created, body) = match command {
        Command::CreateProject(c) => (true, projects::create(&mut tx, c)?),
        Command::UpdateProject(u) => (false, projects::update(&mut tx, u)?),
        Command::DeleteProject { id } => (false, projects::delete(&mut tx, id)?),
        Command::CreateSession(c) => (true, sessions::create(&mut tx, c)?),
        Command::UpdateSession(u) => (false, sessions::update(&mut tx, u)?),
        Command::DeleteSession { id } => (false, sessions::delete(&mut tx, id)?),
        Command::Publish(p) => (true, rooms::publish(&mut tx, p)?),
        Command::PublishBatch(items) => (true, rooms::publish_batch(&mut tx, items)?),
        Command::AddMessage(a) => (true, activity::add_message(&mut tx, a)?),
        Command::AddUsage(a) => (true, activity::add_usage(&mut tx, a)?),
        Command::ReplaceTodos { session_id, todos } => {
            (false, activity::replace_todos(&mut tx, session_id, todos)?)
        }
        Command::SaveToolCall(a) => activity::save_tool_call(&mut tx, a)?,
        Command::Hook(h) => (false, hooks::apply(&mut tx, h)?),
        Command::Work(w) => work::apply(&mut tx, w)?,
        Command::CreateUser(u) => (true, users::create(&mut tx, u)?),
        Command::DeleteUser { id } => (false, users::delete(&mut tx, id)?),
        Command::ReplaceToken { id, token_hash } => {
            (false, users::replace_token(&mut tx, id, token_hash)?)
        }
        Command::Collaborators(c) => collaborators::apply(&mut tx, c)?,
    };
    let access = tx.touched_access()?;
    Ok(Outcome {
        created,
        body: fields(body)?,
        committed: Vec::new(),
        appended: tx.committed,
        access,
        ended_tokens: tx.ended_tokens,
        replayed: false,
    })
}

/// The 403 of a session rule.
pub fn forbidden(action: &str, session_id: &str) -> AppError {
    AppError::Forbidden(format!("you may not {action} session {session_id}"))
}

/// A command's answer as the resource's fields. Bodies that are not objects
/// never reach a command (the edge answers 400, DESIGN §8), and every
/// command answers with a resource or a `json!` object: anything else is a
/// bug, refused loudly rather than wrapped.
fn fields(body: Value) -> AppResult<Map<String, Value>> {
    match body {
        Value::Object(map) => Ok(map),
        _ => Err(AppError::Internal(
            "a command answered with JSON that is not an object".into(),
        )),
    }
}
