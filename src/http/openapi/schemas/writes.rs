//! What a write answers besides its resource: the deliveries it made, what a
//! delete names, a generic publish.

use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

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

/// `POST /api/rooms/{room}/events`.
#[derive(Serialize, ToSchema)]
pub struct Published {
    /// The room.
    pub room: String,
    /// The event type.
    pub event_type: String,
}
