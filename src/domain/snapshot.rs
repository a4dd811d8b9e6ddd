//! Snapshots handed to a fresh subscriber, read together with the room's last
//! seq in one consistent read transaction, so "snapshot at seq N" is exact.
//! A snapshot holds only what its reader may read: a project's `sessions`
//! leave out the private sessions the reader has no access to.

use crate::access::Identity;
use crate::db::work::{self, NoteKind};
use crate::db::{access, activity, events, projects, read_tx, sessions, DbConn};
use crate::types::{RoomKind, RoomName};
use diesel::QueryResult;
use serde_json::{json, Value};

/// A room's snapshot (or `None` when its resource does not exist yet, or for
/// free rooms) and the last seq it reflects.
/// `None` when `who` may not read the room as of this read (access ended
/// after the join was let in): nothing newer than the revocation leaks.
pub fn read(
    conn: &mut DbConn,
    room: &RoomName,
    who: &Identity,
) -> QueryResult<Option<(Option<Value>, i64)>> {
    read_tx(conn, |c| {
        if let RoomKind::Session(id) = room.kind() {
            let facts = access::session_access(c, id)?;
            if facts.is_some_and(|a| !a.can_read(who)) {
                return Ok(None);
            }
        }
        let seq = events::last_seq(c, room.as_str())?;
        Ok(Some((of(c, room, who)?, seq)))
    })
}

/// Tool calls and messages a session snapshot carries (the newest).
const SNAPSHOT_TOOL_CALLS: i64 = 100;
const SNAPSHOT_MESSAGES: i64 = 50;
/// Features, tracks and spikes the `broadcasts` snapshot carries (most recently updated).
const SNAPSHOT_WORK_ITEMS: i64 = 200;

/// `{session, collaborators, todos, tool_calls, messages}`.
fn session(conn: &mut DbConn, s: &crate::db::models::Session) -> QueryResult<Value> {
    let collaborators: Vec<Value> = access::collaborators(conn, &s.id)?
        .iter()
        .map(|(c, u)| c.to_json(u.as_ref()))
        .collect();
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
        "collaborators": collaborators,
        "todos": todos,
        "tool_calls": calls,
        "messages": messages,
    }))
}

/// The snapshot alone (used by `GET /api/sessions/{id}` too). The caller
/// checked that `who` may read the room.
pub fn of(conn: &mut DbConn, room: &RoomName, who: &Identity) -> QueryResult<Option<Value>> {
    Ok(match room.kind() {
        RoomKind::Session(id) => match sessions::find(conn, id)? {
            Some(s) => Some(session(conn, &s)?),
            None => None,
        },
        RoomKind::Project(id) => match projects::find(conn, id)? {
            Some(p) => {
                let all = sessions::list(conn, Some(id), None)?;
                let list: Vec<Value> = readable(conn, all, who)?
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

/// The sessions of `list` that `who` may read.
pub fn readable(
    conn: &mut DbConn,
    list: Vec<crate::db::models::Session>,
    who: &Identity,
) -> QueryResult<Vec<crate::db::models::Session>> {
    if who.admin {
        return Ok(list);
    }
    // One query for every session's collaborators, not one per session.
    let facts = access::access_of(conn, &list)?;
    Ok(list
        .into_iter()
        .zip(facts)
        .filter(|(_, a)| a.can_read(who))
        .map(|(s, _)| s)
        .collect())
}
