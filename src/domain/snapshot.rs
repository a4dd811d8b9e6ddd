//! Snapshots handed to a fresh subscriber, read together with the room's last
//! seq in one consistent read transaction, so "snapshot at seq N" is exact.
//! A snapshot holds only what its reader may read: a project's `sessions`
//! leave out the private sessions the reader has no access to.

use super::collaborators::Collaborator;
use super::work::{Spike, Track};
use crate::access::Identity;
use crate::db::activity::{Message, Todo, ToolCall};
use crate::db::models::{Project, Session};
use crate::db::work::{self, Feature};
use crate::db::{access, activity, events, projects, read_tx, sessions, DbConn};
use crate::types::{RoomKind, RoomName};
use diesel::QueryResult;
use serde::Serialize;
use serde_json::Value;

/// The session room's snapshot.
#[derive(Serialize, utoipa::ToSchema)]
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

/// A project room's snapshot.
#[derive(Serialize)]
struct ProjectSnapshot {
    /// The project.
    project: Project,
    /// Its sessions the reader may read.
    sessions: Vec<Session>,
}

/// The `broadcasts` room's snapshot.
#[derive(Serialize)]
struct BroadcastsSnapshot {
    /// The most recently updated features.
    features: Vec<Feature>,
    /// The most recently updated tracks.
    tracks: Vec<Track>,
    /// The most recently updated spikes.
    spikes: Vec<Spike>,
}

/// A snapshot as the JSON the `subscribed` frame carries; a failure (a bug:
/// these types always serialise) fails the read.
fn json(snapshot: &impl Serialize) -> QueryResult<Value> {
    serde_json::to_value(snapshot).map_err(|e| diesel::result::Error::SerializationError(e.into()))
}

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
fn session(conn: &mut DbConn, session: Session) -> QueryResult<Value> {
    let collaborators = access::collaborators(conn, &session.id)?
        .into_iter()
        .map(|(c, u)| Collaborator::new(c, u))
        .collect();
    json(&SessionSnapshot {
        collaborators,
        todos: activity::todos(conn, &session.id)?,
        tool_calls: activity::latest_tool_calls(conn, &session.id, SNAPSHOT_TOOL_CALLS)?,
        messages: activity::latest_messages(conn, &session.id, SNAPSHOT_MESSAGES)?,
        session,
    })
}

/// The snapshot alone (used by `GET /api/sessions/{id}` too). The caller
/// checked that `who` may read the room.
pub fn of(conn: &mut DbConn, room: &RoomName, who: &Identity) -> QueryResult<Option<Value>> {
    Ok(match room.kind() {
        RoomKind::Session(id) => match sessions::find(conn, id)? {
            Some(s) => Some(session(conn, s)?),
            None => None,
        },
        RoomKind::Project(id) => match projects::find(conn, id)? {
            Some(project) => {
                let all = sessions::list(conn, Some(id), None)?;
                let sessions = readable(conn, all, who)?;
                Some(json(&ProjectSnapshot { project, sessions })?)
            }
            None => None,
        },
        RoomKind::Broadcasts => {
            let (features, tracks, spikes) = work::latest(conn, SNAPSHOT_WORK_ITEMS)?;
            Some(json(&BroadcastsSnapshot {
                features,
                tracks: tracks.into_iter().map(Track::from).collect(),
                spikes: spikes.into_iter().map(Spike::from).collect(),
            })?)
        }
        RoomKind::Free => None,
    })
}

/// The sessions of `list` that `who` may read.
pub fn readable(
    conn: &mut DbConn,
    list: Vec<Session>,
    who: &Identity,
) -> QueryResult<Vec<Session>> {
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
