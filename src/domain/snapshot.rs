//! Snapshots handed to a fresh subscriber, read together with the room's last
//! seq in one consistent read transaction, so "snapshot at seq N" is exact.

use crate::db::work::{self, NoteKind};
use crate::db::{activity, events, projects, read_tx, sessions, DbConn};
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

/// Tool calls and messages a session snapshot carries (the newest).
const SNAPSHOT_TOOL_CALLS: i64 = 100;
const SNAPSHOT_MESSAGES: i64 = 50;
/// Features, tracks and spikes the `broadcasts` snapshot carries (most recently updated).
const SNAPSHOT_WORK_ITEMS: i64 = 200;

/// `{session, collaborators, todos, tool_calls, messages}`. Collaborators
/// arrive with access control; until then the list is empty.
fn session(conn: &mut DbConn, s: &crate::db::models::Session) -> QueryResult<Value> {
    let todos: Vec<Value> = activity::todos(conn, &s.id)?
        .iter()
        .map(|t| t.to_json())
        .collect();
    let calls: Vec<Value> = activity::latest_tool_calls(conn, &s.id, SNAPSHOT_TOOL_CALLS)?
        .iter()
        .map(|c| c.to_json())
        .collect();
    let messages: Vec<Value> = activity::latest_messages(conn, &s.id, SNAPSHOT_MESSAGES)?
        .iter()
        .map(|m| m.to_json())
        .collect();
    Ok(json!({
        "session": s.to_json(),
        "collaborators": [],
        "todos": todos,
        "tool_calls": calls,
        "messages": messages,
    }))
}

/// The snapshot alone (used by `GET /api/sessions/{id}` too).
pub fn of(conn: &mut DbConn, room: &RoomName) -> QueryResult<Option<Value>> {
    Ok(match room.kind() {
        RoomKind::Session(id) => match sessions::find(conn, id)? {
            Some(s) => Some(session(conn, &s)?),
            None => None,
        },
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
        RoomKind::Broadcasts => {
            let (features, tracks, spikes) = work::latest(conn, SNAPSHOT_WORK_ITEMS)?;
            let features: Vec<Value> = features.iter().map(|f| f.to_json()).collect();
            let tracks: Vec<Value> = tracks.iter().map(|t| t.to_json(NoteKind::Track)).collect();
            let spikes: Vec<Value> = spikes.iter().map(|s| s.to_json(NoteKind::Spike)).collect();
            Some(json!({"features": features, "tracks": tracks, "spikes": spikes}))
        }
        RoomKind::Free => None,
    })
}
