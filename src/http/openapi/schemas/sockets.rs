//! What sockets carry: the native event envelope (also what
//! `GET /api/rooms/{room}/events` lists), and Engine.IO's own refusal.

use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

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

/// An Engine.IO refusal (`/socket.io/`): its own shape, not herald's error.
#[derive(Serialize, ToSchema)]
pub struct EngineIoError {
    /// Engine.IO's error code (0 unknown transport, 1 unknown session id,
    /// 3 bad request, 5 unsupported protocol version).
    pub code: i64,
    /// What was wrong.
    pub message: String,
}
