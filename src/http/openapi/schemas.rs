//! The JSON shapes herald answers with, as OpenAPI schemas; schemathesis
//! (`tests/openapi.rs`) checks every answer of a live herald against them.
//! The resources are their wire types themselves, re-exported here under
//! their schema names (rows in `db::`, shapes that are not rows in
//! `domain::`). The types defined here are the shapes with no type of their
//! own elsewhere: answers built in the handlers, and request bodies read
//! differently from how they are documented (a message, a track, a spike).
//! Timestamps are RFC 3339 UTC with milliseconds (`2026-11-22T12:00:00.123Z`).

use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

/// `{"status":"ok"}` / `{"status":"ready"}`.
#[derive(Serialize, ToSchema)]
pub struct Status {
    /// `ok` (`/healthz`) or `ready` (`/readyz`).
    pub status: String,
}

/// One room with live connections.
#[derive(Serialize, ToSchema)]
pub struct RoomConnections {
    /// The room.
    pub room: String,
    /// Connections subscribed to it on this node.
    pub connections: i64,
}

/// A live node.
#[derive(Serialize, ToSchema)]
pub struct NodeInfo {
    /// Its `cluster.node_id`.
    pub id: String,
    /// Its connections, as it last reported them.
    pub connections: i64,
    /// Its last heartbeat.
    #[schema(format = DateTime)]
    pub seen_at: String,
}

/// The cluster listener.
#[derive(Serialize, ToSchema)]
pub struct ClusterInfo {
    /// The LISTEN connection is up (always `false` on SQLite).
    pub listening: bool,
    /// Notifications received since start.
    pub notifications_received: i64,
}

/// `GET /api/stats`.
#[derive(Serialize, ToSchema)]
pub struct Stats {
    /// This node's id.
    pub node: String,
    /// The live nodes (this one alone on SQLite).
    pub nodes: Vec<NodeInfo>,
    /// The cluster listener.
    pub cluster: ClusterInfo,
    /// This node's connections, every dialect.
    pub connections: i64,
    /// Rooms with at least one connection.
    pub rooms: Vec<RoomConnections>,
    /// Events in the log.
    pub events_total: i64,
    /// Seconds since start.
    pub uptime_s: i64,
}

/// One delivery a write made: the event and its place in a room.
#[derive(Serialize, ToSchema)]
pub struct EventRef {
    /// Global event id.
    pub id: i64,
    /// The room it went to.
    pub room: String,
    /// Its seq in that room.
    pub seq: i64,
    /// What happened.
    pub event_type: String,
}

/// A write's answer: the resource's fields and the deliveries it made.
#[derive(Serialize, ToSchema)]
pub struct Written<T: ToSchema + Serialize> {
    /// The resource.
    #[serde(flatten)]
    pub resource: T,
    /// One entry per delivery, in commit order.
    pub events: Vec<EventRef>,
}

/// What a delete names.
#[derive(Serialize, ToSchema)]
pub struct Deleted {
    /// The id of what was deleted.
    pub id: Value,
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

/// A native event envelope, or in a project room a redacted one (no
/// resource, no payload: `event_type` is `redacted`).
#[derive(Serialize, ToSchema)]
pub struct Envelope {
    /// Always `event`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The room.
    pub room: String,
    /// Its seq in the room.
    pub seq: i64,
    /// Global event id.
    pub id: i64,
    /// What happened (`redacted` when the reader may not see it).
    pub event_type: String,
    /// What kind of resource (absent when redacted).
    pub resource_type: Option<String>,
    /// Which resource (absent when redacted).
    pub resource_id: Option<String>,
    /// The writer's `X-Agent-ID`.
    pub agent_id: Option<String>,
    /// The writer's `X-Session-ID`.
    pub origin_session_id: Option<String>,
    /// The payload (absent when redacted).
    pub payload: Option<Value>,
    /// Committed.
    #[schema(format = DateTime)]
    pub ts: String,
}

/// `POST /api/rooms/{room}/events`.
#[derive(Serialize, ToSchema)]
pub struct Published {
    /// The room.
    pub room: String,
    /// The event type.
    pub event_type: String,
}

/// A user with its token (shown once).
#[derive(Serialize, ToSchema)]
pub struct UserWithToken {
    /// Its id.
    pub id: String,
    /// Its email.
    pub email: String,
    /// Its name.
    pub name: Option<String>,
    /// Whether it is an admin.
    pub admin: bool,
    /// Its bearer token: store it, herald keeps only a hash.
    pub token: String,
}

/// `GET /api/me`: `id` and `email` are null for the admin token and, with
/// auth off, for the local admin.
#[derive(Serialize, ToSchema)]
pub struct Me {
    /// The user's id.
    pub id: Option<String>,
    /// The user's email.
    pub email: Option<String>,
    /// The user's name.
    pub name: Option<String>,
    /// Whether the caller is an admin.
    pub admin: bool,
}

/// An Engine.IO refusal (`/socket.io/`): its own shape, not herald's error.
#[derive(Serialize, ToSchema)]
pub struct EngineIoError {
    /// Engine.IO's error code (0 unknown transport, 1 unknown session id,
    /// 3 bad request, 5 unsupported protocol version).
    pub code: i64,
    /// What was wrong.
    pub message: String,
}

pub use crate::access::Role as CollaboratorRole;
pub use crate::db::activity::{Message, Todo, ToolCall, Usage};
pub use crate::db::models::{Project, Session};
pub use crate::db::work::Feature;
pub use crate::domain::activity::Todos;
pub use crate::domain::collaborators::Collaborator;
pub use crate::domain::snapshot::SessionSnapshot;
pub use crate::domain::work::{Spike, Track};
pub use crate::history::Sample;
pub use crate::types::{HookEvent, MessageRole, SessionStatus, TodoStatus, ToolState, Visibility};

/// A work-item label (status, priority, tag, link type): 1–64 of letters,
/// digits, space, `_ - . :`.
#[derive(Serialize, ToSchema)]
#[schema(pattern = "^[A-Za-z0-9_.: -]{1,64}$")]
pub struct Label(String);

/// `POST /api/sessions/{id}/messages`: `{prompt, role?}` or `{content, role?}`
/// (not both; `role` defaults to `user`).
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum MessageInput {
    /// A prompt.
    Prompt {
        /// 1–100,000 characters.
        #[schema(min_length = 1, max_length = 100000)]
        prompt: String,
        /// Who wrote it.
        role: Option<MessageRole>,
    },
    /// A message.
    Content {
        /// 1–100,000 characters.
        #[schema(min_length = 1, max_length = 100000)]
        content: String,
        /// Who wrote it.
        role: Option<MessageRole>,
    },
}

/// `POST /api/broadcast/tracks/{id}`.
#[derive(Serialize, ToSchema)]
pub struct TrackBody {
    /// 1–200 characters, not blank.
    #[schema(min_length = 1, max_length = 200, pattern = "\\S")]
    pub title: String,
    /// Up to 100,000 characters (default empty).
    #[schema(max_length = 100000, nullable = false)]
    pub description: Option<String>,
}

/// `POST /api/broadcast/spikes/{id}`.
#[derive(Serialize, ToSchema)]
pub struct SpikeBody {
    /// 1–200 characters, not blank.
    #[schema(min_length = 1, max_length = 200, pattern = "\\S")]
    pub title: String,
    /// Up to 100,000 characters (default empty).
    #[schema(max_length = 100000, nullable = false)]
    pub findings: Option<String>,
}

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

/// `GET /api/stats/history`.
#[derive(Serialize, ToSchema)]
pub struct History {
    /// Time between samples.
    pub interval_ms: i64,
    /// The samples, oldest first.
    pub samples: Vec<Sample>,
}
