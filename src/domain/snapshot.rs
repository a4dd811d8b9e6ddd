//! Snapshots handed to a fresh subscriber, read together with the room's last
//! seq in one consistent read transaction, so "snapshot at seq N" is exact.

use crate::db::{events, projects, read_tx, sessions, DbConn};
use crate::types::{RoomKind, RoomName};
use diesel::QueryResult;
use serde_json::{json, Value};

/// A room's snapshot (or `None` when its resource does not exist yet, or for
/// free rooms) and the last seq it reflects.
pub fn read(conn: &mut DbConn, room: &RoomName) -> QueryResult<(Option<Value>, i64)> {
    read_tx(conn, |c| {
        let seq = events::last_seq(c, room.as_str())?;
        Ok((of(c, room)?, seq))
    })
}

/// The snapshot alone (used by `GET /api/sessions/{id}` too).
pub fn of(conn: &mut DbConn, room: &RoomName) -> QueryResult<Option<Value>> {
    Ok(match room.kind() {
        RoomKind::Session(id) => sessions::find(conn, id)?.map(|s| {
            // Agent activity (todos, tool calls, messages) and collaborators
            // are added to this shape by their own modules as they exist.
            json!({
                "session": s.to_json(),
                "collaborators": [],
                "todos": [],
                "tool_calls": [],
                "messages": [],
            })
        }),
        RoomKind::Project(id) => match projects::find(conn, id)? {
            Some(p) => {
                let list: Vec<Value> = sessions::list(conn, Some(id), None)?
                    .iter()
                    .map(|s| s.to_json())
                    .collect();
                Some(json!({"project": p.to_json(), "sessions": list}))
            }
            None => None,
        },
        RoomKind::Broadcasts => Some(json!({"features": [], "tracks": [], "spikes": []})),
        RoomKind::Free => None,
    })
}
