//! SQL for several nodes on one database: the `nodes` table (heartbeats),
//! the heads of rooms (what reconcile compares), the token hashes of users
//! with live sockets, and the commit's wake-up notification (PostgreSQL).

use super::schema::{nodes::dsl as n, rooms::dsl as r, users::dsl as u};
use super::DbConn;
use diesel::prelude::*;
use diesel::sql_types::Text;

/// The channel every node listens on and notifies.
pub const CHANNEL: &str = "herald";

/// One node's last report.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, serde::Serialize)]
pub struct NodeRow {
    /// The node's id.
    pub id: String,
    /// Its open sockets when it last reported.
    pub connections: i64,
    /// When it started, unix ms.
    pub started_at: i64,
    /// When it last reported, unix ms.
    pub seen_at: i64,
}

/// Writes (or refreshes) this node's row. Only this node writes its row,
/// so an update that finds none can insert without a race.
pub fn beat(conn: &mut DbConn, node: &NodeRow) -> QueryResult<()> {
    let updated = diesel::update(n::nodes.find(&node.id))
        .set((
            n::connections.eq(node.connections),
            n::seen_at.eq(node.seen_at),
        ))
        .execute(conn)?;
    if updated == 0 {
        diesel::insert_into(n::nodes)
            .values((
                n::id.eq(&node.id),
                n::connections.eq(node.connections),
                n::started_at.eq(node.started_at),
                n::seen_at.eq(node.seen_at),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// The nodes seen at or after `since` (unix ms), by id.
pub fn live(conn: &mut DbConn, since: i64) -> QueryResult<Vec<NodeRow>> {
    n::nodes
        .filter(n::seen_at.ge(since))
        .order(n::id.asc())
        .select((n::id, n::connections, n::started_at, n::seen_at))
        .load(conn)
}

/// Removes this node's row (on a clean stop) and rows of nodes gone long ago.
pub fn remove(conn: &mut DbConn, id: &str, gone_before: i64) -> QueryResult<()> {
    diesel::delete(n::nodes.filter(n::id.eq(id).or(n::seen_at.lt(gone_before)))).execute(conn)?;
    Ok(())
}

/// The last seq of each named room that has one.
pub fn heads(conn: &mut DbConn, rooms: &[&str]) -> QueryResult<Vec<(String, i64)>> {
    let mut found = Vec::with_capacity(rooms.len());
    // Bounded IN lists: a node may have many live rooms.
    for chunk in rooms.chunks(500) {
        found.extend(
            r::rooms
                .filter(r::name.eq_any(chunk))
                .select((r::name, r::last_seq))
                .load::<(String, i64)>(conn)?,
        );
    }
    Ok(found)
}

/// The token hash of each named user that still exists.
pub fn token_hashes(conn: &mut DbConn, users: &[&str]) -> QueryResult<Vec<(String, String)>> {
    let mut found = Vec::with_capacity(users.len());
    for chunk in users.chunks(500) {
        found.extend(
            u::users
                .filter(u::id.eq_any(chunk))
                .select((u::id, u::token_hash))
                .load::<(String, String)>(conn)?,
        );
    }
    Ok(found)
}

/// Queues `payload` on [`CHANNEL`]. Inside a transaction PostgreSQL delivers
/// it at commit, after the rows are visible, and never if it rolls back; on
/// SQLite (one node) there is nobody to tell.
pub fn notify(conn: &mut DbConn, payload: &str) -> QueryResult<()> {
    if let DbConn::Pg(pg) = conn {
        diesel::sql_query("SELECT pg_notify($1, $2)")
            .bind::<Text, _>(CHANNEL)
            .bind::<Text, _>(payload)
            .execute(pg)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::testing;

    #[test]
    fn nodes_beat_list_and_leave() {
        let (_d, mut c) = testing::sqlite();
        let mut a = NodeRow {
            id: "a".into(),
            connections: 3,
            started_at: 1,
            seen_at: 100,
        };
        beat(&mut c, &a).unwrap();
        beat(
            &mut c,
            &NodeRow {
                id: "b".into(),
                connections: 1,
                started_at: 1,
                seen_at: 50,
            },
        )
        .unwrap();
        a.connections = 4;
        a.seen_at = 200;
        beat(&mut c, &a).unwrap();
        assert_eq!(live(&mut c, 60).unwrap(), vec![a.clone()]);
        assert_eq!(live(&mut c, 0).unwrap().len(), 2);
        remove(&mut c, "a", 10).unwrap();
        let left: Vec<String> = live(&mut c, 0).unwrap().into_iter().map(|n| n.id).collect();
        assert_eq!(left, vec!["b".to_string()]);
        remove(&mut c, "x", 60).unwrap();
        assert!(live(&mut c, 0).unwrap().is_empty());
    }

    #[test]
    fn heads_name_only_rooms_that_exist() {
        use crate::db::events;
        use crate::types::RoomName;
        let (_d, mut c) = testing::sqlite();
        let a = RoomName::parse("a").unwrap();
        let new = crate::db::models::NewEvent {
            event_type: "t".into(),
            resource_type: "room".into(),
            resource_id: "x".into(),
            agent_id: None,
            origin_session_id: None,
            payload: "{}".into(),
            priority: false,
            created_at: 1,
        };
        events::append(&mut c, &new, std::slice::from_ref(&a), 0).unwrap();
        events::append(&mut c, &new, std::slice::from_ref(&a), 0).unwrap();
        assert_eq!(
            heads(&mut c, &["a", "nope"]).unwrap(),
            vec![("a".to_string(), 2)]
        );
    }
}
