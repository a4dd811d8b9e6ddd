//! Generic publish: any JSON object to any valid room.

use super::Tx;
use crate::access;
use crate::error::{AppError, AppResult};
use crate::types::{RoomKind, RoomName};
use crate::validate;
use serde_json::value::RawValue;
use serde_json::{json, Value};

/// Longest event type name.
pub const MAX_EVENT_TYPE: usize = 64;

/// Event types only herald emits, refused on the generic route (422) so a
/// publisher cannot forge them: the domain's events, the native frame types
/// a client switches on, and the names Socket.IO clients reserve.
pub const RESERVED_EVENT_TYPES: &[&str] = &[
    // Domain events.
    "project_created",
    "project_updated",
    "project_deleted",
    "session_created",
    "session_updated",
    "session_deleted",
    "status_changed",
    "visibility_changed",
    "message_created",
    "token_usage",
    "todos_updated",
    "tool_call_created",
    "tool_call_updated",
    "collaborator_added",
    "collaborator_updated",
    "collaborator_removed",
    "feature_created",
    "feature_updated",
    "feature_deleted",
    "link_added",
    "comment_added",
    "track_updated",
    "spike_updated",
    // Frames and events of the protocol.
    "welcome",
    "event",
    "batch-update",
    "subscribed",
    "unsubscribed",
    "subscribe",
    "unsubscribe",
    "error",
    "heartbeat",
    "ping",
    "pong",
    "redacted",
    "broadcast_event",
    // Reserved by Socket.IO clients.
    "connect",
    "connect_error",
    "disconnect",
    "disconnecting",
    "newListener",
    "removeListener",
];

/// `POST /api/rooms/{room}/events` after shape checks.
#[derive(Debug, Clone)]
pub struct Publish {
    /// The room.
    pub room: RoomName,
    /// Event type: 1-64 of `A-Z a-z 0-9 _ . : -`.
    pub event_type: String,
    /// Must be a JSON object; kept as the client's text, never re-encoded.
    pub payload: Box<RawValue>,
    /// Flush at once.
    pub priority: bool,
}

/// Most events in one `POST /api/rooms/events:batch`.
pub const MAX_BATCH: usize = 1000;

/// Checks the values, then appends the event to the room.
pub fn publish(tx: &mut Tx<'_>, p: &Publish) -> AppResult<Value> {
    check(p, tx.ctx.max_payload_bytes, "")?;
    check_access(tx, &p.room)?;
    append(tx, p)?;
    Ok(json!({"room": p.room, "event_type": p.event_type}))
}

/// `POST /api/rooms/events:batch`: checks every item (values, then the
/// caller's right to each room), then appends them all in order, so a bad
/// item refuses the whole batch before anything is written. An error names
/// its item (`events[3]: …`).
pub fn publish_batch(tx: &mut Tx<'_>, items: &[Publish]) -> AppResult<Value> {
    check_batch_len(items.len())?;
    let max = tx.ctx.max_payload_bytes;
    for (i, p) in items.iter().enumerate() {
        check(p, max, &format!("events[{i}]: "))?;
    }
    let mut checked: Vec<&RoomName> = Vec::new();
    for (i, p) in items.iter().enumerate() {
        if !checked.contains(&&p.room) {
            check_access(tx, &p.room).map_err(|e| match e {
                AppError::Forbidden(why) => AppError::Forbidden(format!("events[{i}]: {why}")),
                other => other,
            })?;
            checked.push(&p.room);
        }
    }
    for p in items {
        append(tx, p)?;
    }
    Ok(json!({"count": items.len()}))
}

/// 422 unless a batch of `n` events is 1 to [`MAX_BATCH`] long.
pub fn check_batch_len(n: usize) -> AppResult<()> {
    if n == 0 || n > MAX_BATCH {
        return Err(AppError::Validation(format!(
            "a batch holds 1-{MAX_BATCH} events, not {n}"
        )));
    }
    Ok(())
}

/// 422 unless the event type and payload are publishable; `at` prefixes the
/// message (the item of a batch).
fn check(p: &Publish, max: usize, at: &str) -> AppResult<()> {
    let type_ok = !p.event_type.is_empty()
        && p.event_type.len() <= MAX_EVENT_TYPE
        && p.event_type
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b':' | b'-'));
    if !type_ok {
        return Err(AppError::Validation(format!(
            "{at}event_type must be 1-{MAX_EVENT_TYPE} characters of A-Z a-z 0-9 _ . : -"
        )));
    }
    if RESERVED_EVENT_TYPES.contains(&p.event_type.as_str()) {
        return Err(AppError::Validation(format!(
            "{at}event_type {:?} is herald's own and cannot be published",
            p.event_type
        )));
    }
    // A RawValue is valid JSON with no surrounding white space.
    if !p.payload.get().starts_with('{') {
        return Err(AppError::Validation(format!(
            "{at}payload must be a JSON object"
        )));
    }
    if p.payload.get().len() > max {
        return Err(AppError::Validation(format!(
            "{at}payload must be at most {max} bytes (events.max_payload_bytes)"
        )));
    }
    if validate::json_depth(p.payload.get()) > validate::MAX_JSON_DEPTH {
        return Err(AppError::Validation(format!(
            "{at}payload must nest at most {} arrays and objects deep",
            validate::MAX_JSON_DEPTH
        )));
    }
    Ok(())
}

/// 403 unless the caller may publish to `room`.
fn check_access(tx: &mut Tx<'_>, room: &RoomName) -> AppResult<()> {
    let session = match room.kind() {
        RoomKind::Session(id) => crate::db::access::session_access(tx.conn, id)?,
        _ => None,
    };
    if access::may_publish(tx.caller(), room.kind(), session.as_ref()) {
        Ok(())
    } else {
        Err(AppError::Forbidden(format!(
            "you may not publish to {room}"
        )))
    }
}

/// Appends the (checked) event to its room.
fn append(tx: &mut Tx<'_>, p: &Publish) -> AppResult<()> {
    tx.emit_raw(
        &p.event_type,
        ("room", p.room.as_str()),
        p.payload.clone(),
        std::slice::from_ref(&p.room),
        p.priority,
    )
}
