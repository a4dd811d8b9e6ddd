//! SQL for the event log: a group's events, their deliveries (each taking
//! its room's next seq) and its rooms' heads, written at the group's end in
//! as few statements as the backends allow; a room's deliveries for replay;
//! pruning.
//!
//! Every statement of the write path is prepared once per connection and
//! then only re-bound (diesel's statement cache; see [`statements`]).

use super::models::{EventRow, NewEvent};
use super::schema::{deliveries::dsl as d, events::dsl as e, rooms::dsl as r};

mod statements;
use super::DbConn;
use crate::types::{Delivery, Event, RoomName};
use diesel::prelude::*;
use serde_json::value::RawValue;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// An event and the rooms it was delivered to, as committed.
#[derive(Debug, Clone)]
pub struct Committed {
    /// The event.
    pub event: Arc<Event>,
    /// One delivery per room, each with its seq.
    pub deliveries: Vec<Arc<Delivery>>,
}

/// An event a command emitted, not yet written: [`deliver`] writes it (and
/// gives it its id) with the rest of its group.
#[derive(Debug)]
pub struct Appended {
    /// The event; its `id` is set when it is written.
    pub event: Event,
    /// The rooms it goes to, in order.
    pub rooms: Vec<RoomName>,
}

impl Clone for Appended {
    fn clone(&self) -> Self {
        Appended {
            event: self.event.copy(),
            rooms: self.rooms.clone(),
        }
    }
}

/// Writes a group's events, in order, then gives each its deliveries: each
/// room takes as many seqs as the group delivers to it with **one** upsert,
/// rooms in name order, then the deliveries go in as multi-row inserts.
/// Locking rooms in one global order at the end of each group means two
/// nodes' groups never wait for each other's room rows in a cycle (no
/// deadlock), and each room row is locked only from the end of the group to
/// its commit. With `retention > 0`, deliveries older than the newest
/// `retention` of each room are pruned in the same transaction (events stay:
/// the audit trail).
pub fn deliver(
    conn: &mut DbConn,
    appended: Vec<Appended>,
    retention: u64,
) -> QueryResult<Vec<Committed>> {
    let ids = statements::insert_events(conn, &appended)?;
    let appended: Vec<(Arc<Event>, Vec<RoomName>)> = appended
        .into_iter()
        .zip(ids)
        .map(|(mut a, id)| {
            a.event.id = id;
            (Arc::new(a.event), a.rooms)
        })
        .collect();
    let mut wanted: BTreeMap<&RoomName, i64> = BTreeMap::new();
    for room in appended.iter().flat_map(|(_, rooms)| rooms) {
        *wanted.entry(room).or_default() += 1;
    }
    // The first seq each room hands out in this group.
    let mut next: HashMap<&RoomName, i64> = HashMap::with_capacity(wanted.len());
    for (room, n) in &wanted {
        let last = statements::take_seqs(conn, room.as_str(), *n)?;
        next.insert(*room, last - n + 1);
    }
    let mut committed = Vec::with_capacity(appended.len());
    let mut rows: Vec<statements::DeliveryRow<'_>> = Vec::with_capacity(appended.len());
    for (event, rooms) in &appended {
        let mut deliveries = Vec::with_capacity(rooms.len());
        for room in rooms {
            let seq = next.get_mut(room).map_or(0, |s| {
                *s += 1;
                *s - 1
            });
            rows.push((room.as_str(), seq, event.id));
            deliveries.push(Delivery::new(room.clone(), seq, event.clone()));
        }
        committed.push(Committed {
            event: event.clone(),
            deliveries,
        });
    }
    statements::insert_deliveries(conn, &rows)?;
    if retention > 0 {
        for (room, first) in &next {
            let last = first - 1;
            if last > retention as i64 {
                diesel::delete(
                    d::deliveries
                        .filter(d::room.eq(room.as_str()))
                        .filter(d::seq.le(last - retention as i64)),
                )
                .execute(conn)?;
            }
        }
    }
    Ok(committed)
}

/// Writes `new` and delivers it at once (outside a group: the CLI, tests).
pub fn append(
    conn: &mut DbConn,
    new: &NewEvent,
    rooms: &[RoomName],
    retention: u64,
) -> QueryResult<Committed> {
    let payload = RawValue::from_string(new.payload.clone())
        .map_err(|err| diesel::result::Error::SerializationError(Box::new(err)))?;
    let event = Event {
        id: 0,
        event_type: new.event_type.clone(),
        resource_type: new.resource_type.clone(),
        resource_id: new.resource_id.clone(),
        agent_id: new.agent_id.clone(),
        origin_session_id: new.origin_session_id.clone(),
        payload,
        priority: new.priority,
        created_at: new.created_at,
    };
    let appended = Appended {
        event,
        rooms: rooms.to_vec(),
    };
    let mut committed = deliver(conn, vec![appended], retention)?;
    committed
        .pop()
        .ok_or(diesel::result::Error::RollbackTransaction)
}

/// The last seq handed out in a room (0 when it has none).
pub fn last_seq(conn: &mut DbConn, room: &str) -> QueryResult<i64> {
    Ok(r::rooms
        .find(room)
        .select(r::last_seq)
        .first(conn)
        .optional()?
        .unwrap_or(0))
}

/// A room's deliveries with `seq > since`, oldest first, at most `limit`.
pub fn replay(
    conn: &mut DbConn,
    room: &RoomName,
    since: i64,
    limit: i64,
) -> QueryResult<Vec<Arc<Delivery>>> {
    let rows: Vec<(i64, EventRow)> = d::deliveries
        .inner_join(e::events)
        .filter(d::room.eq(room.as_str()))
        .filter(d::seq.gt(since))
        .order(d::seq.asc())
        .limit(limit)
        .select((d::seq, EventRow::as_select()))
        .load(conn)?;
    rows.into_iter()
        .map(|(seq, row)| Ok(Delivery::new(room.clone(), seq, Arc::new(to_event(row)?))))
        .collect()
}

/// How many events the log holds. On SQLite that is the largest id: events
/// are never deleted and a rolled-back id is handed out again, so ids have no
/// gaps, and `max` reads one index entry where `count(*)` scans the table.
/// PostgreSQL sequences skip ids on rollback, so it counts.
pub fn count(conn: &mut DbConn) -> QueryResult<i64> {
    match conn {
        DbConn::Sqlite(_) => Ok(e::events
            .select(diesel::dsl::max(e::id))
            .first::<Option<i64>>(conn)?
            .unwrap_or(0)),
        DbConn::Pg(_) => e::events.count().get_result(conn),
    }
}

fn to_event(row: EventRow) -> QueryResult<Event> {
    let payload = RawValue::from_string(row.payload)
        .map_err(|err| diesel::result::Error::DeserializationError(Box::new(err)))?;
    Ok(Event {
        id: row.id,
        event_type: row.event_type,
        resource_type: row.resource_type,
        resource_id: row.resource_id,
        agent_id: row.agent_id,
        origin_session_id: row.origin_session_id,
        payload,
        priority: row.priority,
        created_at: row.created_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::testing;

    fn new_event(n: i64) -> NewEvent {
        NewEvent {
            event_type: "t".into(),
            resource_type: "room".into(),
            resource_id: "x".into(),
            agent_id: None,
            origin_session_id: None,
            payload: format!("{{\"n\":{n}}}"),
            priority: false,
            created_at: n,
        }
    }

    #[test]
    fn seqs_are_contiguous_per_room() {
        let (_d, mut c) = testing::sqlite();
        let a = RoomName::parse("a").unwrap();
        let b = RoomName::parse("b").unwrap();
        let first = append(&mut c, &new_event(1), &[a.clone(), b], 0).unwrap();
        let second = append(&mut c, &new_event(2), std::slice::from_ref(&a), 0).unwrap();
        let seqs: Vec<i64> = first.deliveries.iter().map(|d| d.seq).collect();
        assert_eq!(seqs, vec![1, 1]);
        assert_eq!(second.deliveries[0].seq, 2);
        assert!(second.event.id > first.event.id);
        assert_eq!(last_seq(&mut c, "a").unwrap(), 2);
        assert_eq!(last_seq(&mut c, "none").unwrap(), 0);
        let replayed = replay(&mut c, &a, 1, 100).unwrap();
        assert_eq!(replayed.len(), 1);
        assert_eq!(replayed[0].event.payload.get(), "{\"n\":2}");
    }

    #[test]
    fn count_matches_the_rows_after_a_rollback() {
        use diesel::Connection;
        let (_d, mut c) = testing::sqlite();
        let a = RoomName::parse("a").unwrap();
        append(&mut c, &new_event(1), std::slice::from_ref(&a), 0).unwrap();
        let rolled_back: QueryResult<()> = c.transaction(|c| {
            append(c, &new_event(2), std::slice::from_ref(&a), 0)?;
            Err(diesel::result::Error::RollbackTransaction)
        });
        assert!(rolled_back.is_err());
        let again = append(&mut c, &new_event(3), std::slice::from_ref(&a), 0).unwrap();
        assert_eq!(again.event.id, 2);
        assert_eq!(again.deliveries[0].seq, 2);
        let rows: i64 = e::events.count().get_result(&mut c).unwrap();
        assert_eq!(count(&mut c).unwrap(), rows);
    }

    #[test]
    fn retention_prunes_old_deliveries_but_keeps_events() {
        let (_d, mut c) = testing::sqlite();
        let a = RoomName::parse("a").unwrap();
        for n in 1..=5 {
            append(&mut c, &new_event(n), std::slice::from_ref(&a), 2).unwrap();
        }
        let seqs: Vec<i64> = replay(&mut c, &a, 0, 100)
            .unwrap()
            .iter()
            .map(|d| d.seq)
            .collect();
        assert_eq!(seqs, vec![4, 5]);
        assert_eq!(count(&mut c).unwrap(), 5);
    }
}
