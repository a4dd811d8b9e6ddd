//! The JSON shapes herald answers with, as OpenAPI schemas. Handlers build
//! these bodies with `to_json` (`db::models` and friends); these types only
//! describe them for the document, and schemathesis (`tests/openapi.rs`)
//! checks every answer of a live herald against them. Timestamps are RFC
//! 3339 UTC with milliseconds (`2026-11-22T12:00:00.123Z`).

use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

// Shapes by topic, re-exported so that every schema is `schemas::<Name>`;
// the resources (and the few shapes beside them) stay below.
mod bodies;
mod ops;
mod sockets;
mod users;
mod writes;

pub use bodies::{Label, MessageInput, SpikeBody, TrackBody};
pub use ops::{ClusterInfo, NodeInfo, RoomConnections, Stats, Status};
pub use sockets::{EngineIoError, Envelope};
pub use users::{Me, UserWithToken};
pub use writes::{Deleted, EventRef, Published, Written};

/// A project.
#[derive(Serialize, ToSchema)]
pub struct Project {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Created.
    #[schema(format = DateTime)]
    pub created_at: String,
    /// Last changed.
    #[schema(format = DateTime)]
    pub updated_at: String,
}

/// A session.
#[derive(Serialize, ToSchema)]
pub struct Session {
    /// Its id.
    pub id: String,
    /// Its project.
    pub project_id: String,
    /// Its project's name.
    pub project_name: String,
    /// Its title.
    pub title: String,
    /// `active`, `idle` or `ended`.
    pub status: String,
    /// The agent waits for a person.
    pub needs_attention: bool,
    /// `public` or `private`.
    pub visibility: String,
    /// The user who created it.
    pub owner_id: Option<String>,
    /// The creator's `X-Agent-ID`.
    pub agent_id: Option<String>,
    /// The model last reported with token usage.
    pub model_id: Option<String>,
    /// Input tokens so far.
    pub tokens_input: i64,
    /// Output tokens so far.
    pub tokens_output: i64,
    /// Input + output.
    pub tokens_total: i64,
    /// Cache-read tokens so far.
    pub tokens_cache_read: i64,
    /// Cache-creation tokens so far.
    pub tokens_cache_creation: i64,
    /// Created.
    #[schema(format = DateTime)]
    pub created_at: String,
    /// Last changed.
    #[schema(format = DateTime)]
    pub updated_at: String,
}

/// `POST /projects/{id}/sessions` (seed 004): the session, its id again as
/// `session_id`, and the deliveries.
#[derive(Serialize, ToSchema)]
pub struct AliasSession {
    /// The session.
    #[serde(flatten)]
    pub session: Session,
    /// The session's id (what seed 004's clients read).
    pub session_id: String,
    /// One entry per delivery.
    pub events: Vec<EventRef>,
}

/// A collaborator of a session.
#[derive(Serialize, ToSchema)]
pub struct Collaborator {
    /// Integer id, the same in REST and on the wire.
    pub id: i64,
    /// The session shared.
    pub session_id: String,
    /// The invited email (lower case).
    pub email: String,
    /// `owner`, `editor` or `viewer`.
    pub role: String,
    /// `invited` or `accepted`.
    pub status: String,
    /// The user with that email, once there is one.
    pub user_id: Option<String>,
    /// That user's name.
    pub name: Option<String>,
    /// Always null (seed 002's shape).
    pub image_url: Option<String>,
    /// Invited.
    #[schema(format = DateTime)]
    pub created_at: String,
    /// Accepted.
    #[schema(format = DateTime)]
    pub accepted_at: Option<String>,
}

/// A message of a session.
#[derive(Serialize, ToSchema)]
pub struct Message {
    /// Its id (increasing).
    pub id: i64,
    /// The session.
    pub session_id: String,
    /// `user`, `assistant` or `system`.
    pub role: String,
    /// The text.
    pub content: String,
    /// Created.
    #[schema(format = DateTime)]
    pub created_at: String,
}

/// A token-usage report.
#[derive(Serialize, ToSchema)]
pub struct Usage {
    /// Its id.
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
    /// The model, if reported.
    pub model: Option<String>,
    /// Reported.
    #[schema(format = DateTime)]
    pub created_at: String,
}

/// One todo.
#[derive(Serialize, ToSchema)]
pub struct Todo {
    /// What to do.
    pub content: String,
    /// `pending`, `in_progress` or `completed`.
    pub status: String,
    /// The present-tense form shown while in progress.
    pub active_form: Option<String>,
}

/// A session's whole todo list.
#[derive(Serialize, ToSchema)]
pub struct Todos {
    /// The session.
    pub session_id: String,
    /// The list, in order.
    pub todos: Vec<Todo>,
}

/// A tool call.
#[derive(Serialize, ToSchema)]
pub struct ToolCall {
    /// The session.
    pub session_id: String,
    /// The agent's id for the call.
    pub tool_call_id: String,
    /// The tool.
    pub tool_name: String,
    /// `input-available` or `output-available`.
    pub state: String,
    /// The tool's input, any JSON.
    pub input: Value,
    /// The tool's output, any JSON (null until available).
    pub output: Option<Value>,
    /// Created.
    #[schema(format = DateTime)]
    pub created_at: String,
    /// Last changed.
    #[schema(format = DateTime)]
    pub updated_at: String,
}

/// The session room's snapshot.
#[derive(Serialize, ToSchema)]
pub struct SessionSnapshot {
    /// The session.
    pub session: Session,
    /// Its collaborators, oldest first.
    pub collaborators: Vec<Collaborator>,
    /// Its todo list.
    pub todos: Vec<Todo>,
    /// The latest 100 tool calls.
    pub tool_calls: Vec<ToolCall>,
    /// The latest 50 messages.
    pub messages: Vec<Message>,
}

/// A feature (work item, seed 003).
#[derive(Serialize, ToSchema)]
pub struct Feature {
    /// Its id.
    pub id: String,
    /// Its title.
    pub title: String,
    /// Its status (`todo` by default).
    pub status: String,
    /// Its description.
    pub description: String,
    /// Its tags.
    pub tags: Vec<String>,
    /// Its priority.
    pub priority: Option<String>,
    /// Created.
    #[schema(format = DateTime)]
    pub created_at: String,
    /// Last changed.
    #[schema(format = DateTime)]
    pub updated_at: String,
}

/// A link between features.
#[derive(Serialize, ToSchema)]
pub struct Link {
    /// The feature linked from.
    pub feature_id: String,
    /// The feature linked to.
    pub linked_feature_id: String,
    /// The kind of link.
    pub link_type: String,
}

/// A comment on a feature.
#[derive(Serialize, ToSchema)]
pub struct Comment {
    /// The feature.
    pub feature_id: String,
    /// The text.
    pub comment_text: String,
    /// Its author (`X-Agent-ID` by default).
    pub author: Option<String>,
}

/// A track.
#[derive(Serialize, ToSchema)]
pub struct Track {
    /// Its id.
    pub id: String,
    /// Its title.
    pub title: String,
    /// Its description.
    pub description: String,
    /// Created.
    #[schema(format = DateTime)]
    pub created_at: String,
    /// Last changed.
    #[schema(format = DateTime)]
    pub updated_at: String,
}

/// A spike.
#[derive(Serialize, ToSchema)]
pub struct Spike {
    /// Its id.
    pub id: String,
    /// Its title.
    pub title: String,
    /// What it found.
    pub findings: String,
    /// Created.
    #[schema(format = DateTime)]
    pub created_at: String,
    /// Last changed.
    #[schema(format = DateTime)]
    pub updated_at: String,
}

/// One row of the `broadcasts` audit trail.
#[derive(Serialize, ToSchema)]
pub struct AuditRow {
    /// Global event id.
    pub event_id: i64,
    /// What happened.
    pub event_type: String,
    /// Which resource.
    pub resource_id: String,
    /// What kind of resource.
    pub resource_type: String,
    /// The writer's `X-Agent-ID`.
    pub agent_id: Option<String>,
    /// The writer's `X-Session-ID`.
    pub session_id: Option<String>,
    /// The event's payload.
    pub payload: Value,
    /// Committed.
    #[schema(format = DateTime)]
    pub timestamp: String,
}

pub use crate::access::Role as CollaboratorRole;
pub use crate::types::{HookEvent, MessageRole, SessionStatus, TodoStatus, ToolState, Visibility};

/// A `/socket.io/` refusal: Engine.IO's own, or herald's for a query
/// string that does not parse.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum SocketIoRefusal {
    /// Engine.IO's refusal.
    Engine(EngineIoError),
    /// herald's error body.
    Herald(super::errors::ErrorBody),
}

/// One sample of the counters (`GET /api/stats/history`).
#[derive(Serialize, ToSchema)]
pub struct Sample {
    /// When it was taken.
    #[schema(format = DateTime)]
    pub t: String,
    /// Connections then.
    pub connections: i64,
    /// Rooms with connections then.
    pub rooms: i64,
    /// Events in the log then.
    pub events_total: i64,
    /// Frames sent since start.
    pub frames_total: i64,
    /// Events per second over the last interval (null for the first sample).
    pub events_per_s: Option<f64>,
    /// Frames per second over the last interval.
    pub frames_per_s: f64,
}

/// `GET /api/stats/history`.
#[derive(Serialize, ToSchema)]
pub struct History {
    /// Time between samples.
    pub interval_ms: i64,
    /// The samples, oldest first.
    pub samples: Vec<Sample>,
}
