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
