//! The room's database reads, as plain functions on a connection: what
//! [`super::state::Read`] asks for. The actor runs them on blocking threads
//! and hands the results back to the state.

use super::state::REPLAY_PAGE;
use crate::access::SessionAccess;
use crate::db::{access as aq, events, read_tx, DbConn};
use crate::types::{Delivery, RoomKind, RoomName};
use diesel::QueryResult;
use std::sync::Arc;

/// The room's head and the access facts of its sessions, read together.
pub(super) fn read_start(
    conn: &mut DbConn,
    room: &RoomName,
) -> QueryResult<(i64, Vec<SessionAccess>)> {
    read_tx(conn, |c| {
        let seq = events::last_seq(c, room.as_str())?;
        Ok((seq, read_facts(c, room)?))
    })
}

/// The access facts of the sessions a room carries, inside the caller's
/// read transaction. Each fact carries its session's access version, read in
/// this snapshot: it compares with the facts later commits bring.
fn read_facts(c: &mut DbConn, room: &RoomName) -> QueryResult<Vec<SessionAccess>> {
    Ok(match room.kind() {
        RoomKind::Session(id) => aq::session_access(c, id)?.into_iter().collect(),
        RoomKind::Project(id) => aq::project_access(c, id)?,
        RoomKind::Broadcasts | RoomKind::Free => Vec::new(),
    })
}

/// A room's deliveries after `from` (at most [`REPLAY_PAGE`]) and the
/// access facts of its sessions, read together: facts at least as new as
/// the events, so a revocation committed before them (on any node) is
/// applied before they are sent.
pub(super) fn read_gap(
    conn: &mut DbConn,
    room: &RoomName,
    from: i64,
) -> QueryResult<(Vec<Arc<Delivery>>, Vec<SessionAccess>)> {
    read_tx(conn, |c| {
        let found = events::replay(c, room, from, REPLAY_PAGE)?;
        let book = match room.kind() {
            RoomKind::Session(_) | RoomKind::Project(_) if !found.is_empty() => {
                read_facts(c, room)?
            }
            _ => Vec::new(),
        };
        Ok((found, book))
    })
}
