//! Generic publish: any JSON object to any valid room.

use super::{Tx, MAX_PAYLOAD_BYTES};
use crate::error::{AppError, AppResult};
use crate::types::RoomName;
use serde_json::{json, Value};

/// Longest event type name.
pub const MAX_EVENT_TYPE: usize = 64;

/// `POST /api/rooms/{room}/events` after shape checks.
#[derive(Debug, Clone)]
pub struct Publish {
    /// The room.
    pub room: RoomName,
    /// Event type: 1-64 of `A-Z a-z 0-9 _ . : -`.
    pub event_type: String,
    /// Must be a JSON object.
    pub payload: Value,
    /// Flush at once.
    pub priority: bool,
}

/// Checks the values, then appends the event to the room.
pub fn publish(tx: &mut Tx<'_>, p: &Publish) -> AppResult<Value> {
    let type_ok = !p.event_type.is_empty()
        && p.event_type.len() <= MAX_EVENT_TYPE
        && p.event_type
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b':' | b'-'));
    if !type_ok {
        return Err(AppError::Validation(format!(
            "event_type must be 1-{MAX_EVENT_TYPE} characters of A-Z a-z 0-9 _ . : -"
        )));
    }
    if !p.payload.is_object() {
        return Err(AppError::Validation("payload must be a JSON object".into()));
    }
    if p.payload.to_string().len() > MAX_PAYLOAD_BYTES {
        return Err(AppError::Validation(format!(
            "payload must be at most {MAX_PAYLOAD_BYTES} bytes"
        )));
    }
    tx.emit(
        &p.event_type,
        ("room", p.room.as_str()),
        &p.payload,
        std::slice::from_ref(&p.room),
        p.priority,
    )?;
    Ok(json!({"room": p.room, "event_type": p.event_type}))
}
