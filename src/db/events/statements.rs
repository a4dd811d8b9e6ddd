//! The write path's statements, each prepared once per connection and then
//! only re-bound: diesel caches a statement by its Rust type when the type
//! says its SQL never changes. Its own multi-row insert is cached only when
//! the values own their data (a copy of every payload), and its `ON
//! CONFLICT … DO UPDATE` never is, so these are query types of their own:
//! multi-row inserts cut into a few fixed sizes (one type, and one prepared
//! statement, per size) that borrow the rows, and the room upsert.

use super::Appended;
use crate::db::DbConn;
use diesel::backend::Backend;
use diesel::prelude::*;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::serialize::ToSql;
use diesel::sql_types::{BigInt, Bool, HasSqlType, Nullable, Text};

/// The sizes multi-row inserts are cut into, largest first: each size is one
/// statement prepared once per connection, and `n` rows take `n / 64` of
/// the largest plus one statement per bit set in `n % 64` (a group of 3 is
/// two statements, of 7 three). Each statement costs a step, and on SQLite
/// a `RETURNING` also fills a temporary table, so fewer is cheaper.
macro_rules! by_chunk {
    ($n:expr, $run:ident, $($arg:expr),*) => {
        match $n {
            n if n >= 64 => $run::<64>($($arg),*),
            n if n >= 32 => $run::<32>($($arg),*),
            n if n >= 16 => $run::<16>($($arg),*),
            n if n >= 8 => $run::<8>($($arg),*),
            n if n >= 4 => $run::<4>($($arg),*),
            n if n >= 2 => $run::<2>($($arg),*),
            _ => $run::<1>($($arg),*),
        }
    };
}

/// One delivery row: room, seq, event id.
pub(super) type DeliveryRow<'a> = (&'a str, i64, i64);

/// Writes the events in order; returns their ids in the same order. Ids
/// come from a sequence (PostgreSQL) or are the next rowids (SQLite), handed
/// out in the order the rows are inserted, so sorting one statement's
/// `RETURNING` ids restores the order of its rows.
pub(super) fn insert_events(conn: &mut DbConn, appended: &[Appended]) -> QueryResult<Vec<i64>> {
    let mut ids = Vec::with_capacity(appended.len());
    let mut rest = appended;
    while !rest.is_empty() {
        let (head, tail) = by_chunk!(rest.len(), events_chunk, conn, rest)?;
        ids.extend(head);
        rest = tail;
    }
    Ok(ids)
}

/// Inserts the first `N` of `rows`; returns their ids and the rest.
fn events_chunk<'r, const N: usize>(
    conn: &mut DbConn,
    rows: &'r [Appended],
) -> QueryResult<(Vec<i64>, &'r [Appended])> {
    let (head, tail) = rows.split_at(N);
    let insert = InsertEvents::<N>(head);
    let mut ids: Vec<i64> = match conn {
        DbConn::Sqlite(c) => insert.get_results(c)?,
        DbConn::Pg(c) => insert.get_results(c)?,
    };
    ids.sort_unstable();
    Ok((ids, tail))
}

/// Writes the deliveries, in the chunks of [`by_chunk`].
pub(super) fn insert_deliveries(conn: &mut DbConn, rows: &[DeliveryRow<'_>]) -> QueryResult<()> {
    let mut rest = rows;
    while !rest.is_empty() {
        let n = by_chunk!(rest.len(), deliveries_chunk, conn, rest)?;
        rest = &rest[n..];
    }
    Ok(())
}

/// Inserts the first `N` of `rows`; returns `N`.
fn deliveries_chunk<const N: usize>(
    conn: &mut DbConn,
    rows: &[DeliveryRow<'_>],
) -> QueryResult<usize> {
    InsertDeliveries::<N>(rows).run(conn)
}

/// `INSERT INTO events … VALUES` the first `N` rows `… RETURNING id`. A
/// query type of its own, not diesel's insert: diesel caches a multi-row
/// insert only when its values own their data (`'static`), which would copy
/// every payload once more; this borrows them and is still prepared once
/// per connection for each `N`.
struct InsertEvents<'a, const N: usize>(&'a [Appended]);

impl<const N: usize> QueryId for InsertEvents<'_, N> {
    type QueryId = InsertEvents<'static, N>;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl<const N: usize> Query for InsertEvents<'_, N> {
    type SqlType = BigInt;
}

impl<C, const N: usize> RunQueryDsl<C> for InsertEvents<'_, N> {}

impl<DB, const N: usize> QueryFragment<DB> for InsertEvents<'_, N>
where
    DB: Backend + HasSqlType<Text> + HasSqlType<BigInt> + HasSqlType<Bool>,
    str: ToSql<Text, DB>,
    i64: ToSql<BigInt, DB>,
    bool: ToSql<Bool, DB>,
    Option<String>: ToSql<Nullable<Text>, DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        out.push_sql(
            "INSERT INTO events (event_type, resource_type, resource_id, agent_id, \
             origin_session_id, payload, priority, created_at) VALUES ",
        );
        for (i, row) in self.0.iter().take(N).enumerate() {
            let ev = &row.event;
            out.push_sql(if i == 0 { "(" } else { ", (" });
            out.push_bind_param::<Text, str>(&ev.event_type)?;
            out.push_sql(", ");
            out.push_bind_param::<Text, str>(&ev.resource_type)?;
            out.push_sql(", ");
            out.push_bind_param::<Text, str>(&ev.resource_id)?;
            out.push_sql(", ");
            out.push_bind_param::<Nullable<Text>, Option<String>>(&ev.agent_id)?;
            out.push_sql(", ");
            out.push_bind_param::<Nullable<Text>, Option<String>>(&ev.origin_session_id)?;
            out.push_sql(", ");
            out.push_bind_param::<Text, str>(ev.payload.get())?;
            out.push_sql(", ");
            out.push_bind_param::<Bool, bool>(&ev.priority)?;
            out.push_sql(", ");
            out.push_bind_param::<BigInt, i64>(&ev.created_at)?;
            out.push_sql(")");
        }
        out.push_sql(" RETURNING id");
        Ok(())
    }
}

/// `INSERT INTO deliveries … VALUES` the first `N` rows, prepared once per
/// connection for each `N` (see [`InsertEvents`]).
struct InsertDeliveries<'r, 'a, const N: usize>(&'r [DeliveryRow<'a>]);

impl<const N: usize> InsertDeliveries<'_, '_, N> {
    /// Runs it; returns how many rows it wrote.
    fn run(self, conn: &mut DbConn) -> QueryResult<usize> {
        match conn {
            DbConn::Sqlite(c) => self.execute(c),
            DbConn::Pg(c) => self.execute(c),
        }
    }
}

impl<const N: usize> QueryId for InsertDeliveries<'_, '_, N> {
    type QueryId = InsertDeliveries<'static, 'static, N>;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl<C, const N: usize> RunQueryDsl<C> for InsertDeliveries<'_, '_, N> {}

impl<DB, const N: usize> QueryFragment<DB> for InsertDeliveries<'_, '_, N>
where
    DB: Backend + HasSqlType<Text> + HasSqlType<BigInt>,
    str: ToSql<Text, DB>,
    i64: ToSql<BigInt, DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        out.push_sql("INSERT INTO deliveries (room, seq, event_id) VALUES ");
        for (i, (room, seq, id)) in self.0.iter().take(N).enumerate() {
            out.push_sql(if i == 0 { "(" } else { ", (" });
            out.push_bind_param::<Text, str>(room)?;
            out.push_sql(", ");
            out.push_bind_param::<BigInt, i64>(seq)?;
            out.push_sql(", ");
            out.push_bind_param::<BigInt, i64>(id)?;
            out.push_sql(")");
        }
        Ok(())
    }
}

/// Takes a room's next `n` seqs (from 1 for a new room) in one upsert and
/// returns the last. The room's row stays locked until commit, so with
/// several writers (other nodes on one PostgreSQL) seqs are still gapless
/// and in commit order; a room two writers create at once gets its row from
/// the first, and the second waits for that commit and takes the next seqs
/// (rather than failing on the key). Written out as a query type because
/// diesel never caches its own `ON CONFLICT … DO UPDATE`; this text never
/// changes, so it is prepared once per connection (the same SQL runs on
/// both backends).
#[derive(Debug, Clone, Copy)]
struct TakeSeqs<'a> {
    room: &'a str,
    n: i64,
}

/// Runs [`TakeSeqs`]: the last of the room's `n` new seqs.
pub(super) fn take_seqs(conn: &mut DbConn, room: &str, n: i64) -> QueryResult<i64> {
    let query = TakeSeqs { room, n };
    match conn {
        DbConn::Sqlite(c) => query.get_result(c),
        DbConn::Pg(c) => query.get_result(c),
    }
}

impl QueryId for TakeSeqs<'_> {
    type QueryId = TakeSeqs<'static>;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl Query for TakeSeqs<'_> {
    type SqlType = BigInt;
}

impl<C> RunQueryDsl<C> for TakeSeqs<'_> {}

impl<DB> QueryFragment<DB> for TakeSeqs<'_>
where
    DB: Backend + HasSqlType<Text> + HasSqlType<BigInt>,
    str: ToSql<Text, DB>,
    i64: ToSql<BigInt, DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        out.push_sql("INSERT INTO rooms (name, last_seq) VALUES (");
        out.push_bind_param::<Text, str>(self.room)?;
        out.push_sql(", ");
        out.push_bind_param::<BigInt, i64>(&self.n)?;
        out.push_sql(
            ") ON CONFLICT (name) DO UPDATE SET last_seq = rooms.last_seq + excluded.last_seq \
             RETURNING last_seq",
        );
        Ok(())
    }
}
