//! One group of writes: cutting it off the queue, running it in one
//! transaction, counting it and telling the registry and the callers what
//! committed. The [`Persistence`](super::Persistence) actor decides when a
//! group runs; this module only how.

use super::{Job, Pending};
use crate::actors::cluster::Wake;
use crate::actors::registry;
use crate::auth::Auth;
use crate::db::{cluster, idempotency, DbConn, DbManager};
use crate::domain::idempotency as keyed;
use crate::domain::{self, CommandCtx, Outcome};
use crate::error::{AppError, AppResult};
use crate::stats::Stats;
use crate::time::now_ms;
use diesel::connection::SimpleConnection;
use diesel::Connection;
use futures::channel::oneshot;
use std::time::Instant;

/// Most commands in one transaction; more wait for the next one.
const MAX_GROUP: usize = 512;
/// Most events in one transaction (two full batches of 1,000 ten times
/// over): a group's rows, answers and fan-out are held in memory at once.
const MAX_GROUP_EVENTS: usize = 20_000;
/// Most payload bytes in one transaction (the first command always fits).
const MAX_GROUP_BYTES: usize = 64 * 1024 * 1024;

/// Cuts the next group off the queue: its commands (at most [`MAX_GROUP`],
/// [`MAX_GROUP_EVENTS`] events and [`MAX_GROUP_BYTES`] of payloads, but
/// always the first), the drains queued among them, and the rest.
pub(super) fn take_group(queue: Vec<Job>) -> (Vec<Pending>, Vec<oneshot::Sender<()>>, Vec<Job>) {
    let mut runs = Vec::new();
    let mut drained = Vec::new();
    let (mut events, mut bytes) = (0usize, 0usize);
    let mut rest = queue.into_iter().peekable();
    while let Some(job) = rest.peek() {
        if let Job::Run(pending) = job {
            let (e, b) = pending.command.weight();
            let full = runs.len() == MAX_GROUP
                || events + e > MAX_GROUP_EVENTS
                || bytes + b > MAX_GROUP_BYTES;
            if full && !runs.is_empty() {
                break;
            }
            events += e;
            bytes += b;
        }
        match rest.next() {
            Some(Job::Run(pending)) => runs.push(*pending),
            Some(Job::Drain(done)) => drained.push(done),
            None => break,
        }
    }
    (runs, drained, rest.collect())
}

/// Counts a group for `/metrics`: its size, duration and events, or its failure.
pub(super) fn count_group(
    stats: &Stats,
    committed: bool,
    results: &[AppResult<Outcome>],
    started: Instant,
) {
    let ok = || results.iter().filter_map(|r| r.as_ref().ok());
    if committed || ok().next().is_some() {
        let events = ok().map(|o| o.committed.len()).sum();
        let took = started.elapsed();
        stats.metrics().committed(results.len(), events, took);
    } else {
        stats.metrics().commit_failed();
    }
}

/// Tells the registry what committed, then answers the callers. A token
/// that ended is forgotten first, so that once its end is answered (a new
/// token, a deleted user) the old token is refused: the registry only closes
/// its sockets, later.
pub(super) fn deliver(
    registry: &registry::Handle,
    auth: &Auth,
    answered: Vec<(AppResult<Outcome>, oneshot::Sender<AppResult<Outcome>>)>,
) {
    let outcomes = || answered.iter().filter_map(|(r, _)| r.as_ref().ok());
    let access: Vec<_> = outcomes().flat_map(|o| o.access.iter().cloned()).collect();
    let ended_tokens: Vec<_> = outcomes()
        .flat_map(|o| o.ended_tokens.iter().cloned())
        .collect();
    for user in &ended_tokens {
        auth.forget(user);
    }
    // Rooms nobody has joined are not live: the registry would drop their
    // deliveries, so a group with nothing else for it does not wake it.
    let rooms = outcomes()
        .flat_map(|o| o.committed.iter())
        .flat_map(|c| c.deliveries.iter().map(|d| &d.room));
    let live = registry.live.any(rooms);
    if live || !access.is_empty() || !ended_tokens.is_empty() {
        let committed: Vec<_> = outcomes()
            .flat_map(|o| o.committed.iter().cloned())
            .collect();
        registry.addr.do_send(registry::Committed {
            events: committed,
            access,
            ended_tokens,
        });
    }
    for (result, reply) in answered {
        let _ = reply.send(result);
    }
}

/// One transaction's worth of work.
pub(super) struct Group<'a> {
    pub(super) commands: &'a [Pending],
    pub(super) retention: u64,
    pub(super) cluster_node: Option<&'a str>,
    pub(super) idempotency_ttl_ms: i64,
    /// Also forget every expired idempotency answer.
    pub(super) sweep: bool,
}

/// Runs one group in one transaction. Returns the
/// connection (if still usable) and one result per command.
pub(super) fn run_group(
    conn: Option<DbConn>,
    manager: &DbManager,
    group: Group<'_>,
) -> (Option<DbConn>, Vec<AppResult<Outcome>>) {
    let Group {
        commands,
        retention,
        cluster_node,
        idempotency_ttl_ms,
        sweep,
    } = group;
    let mut conn = match conn.map(Ok).unwrap_or_else(|| manager.connect()) {
        Ok(conn) => conn,
        Err(err) => {
            log::warn!("writer cannot connect: {err}");
            let e = AppError::Unavailable(format!("database unavailable: {err}"));
            return (None, commands.iter().map(|_| Err(e.clone())).collect());
        }
    };
    let count = commands.len();
    let now = now_ms();
    let outer = conn.transaction::<_, diesel::result::Error, _>(|c| {
        if let DbConn::Pg(pg) = c {
            // Whatever the database's default: a command that waited for
            // another node's lock must see what that node committed.
            pg.batch_execute("SET TRANSACTION ISOLATION LEVEL READ COMMITTED")?;
        }
        let expired_before = now.saturating_sub(idempotency_ttl_ms);
        if sweep {
            idempotency::expire(c, expired_before, None)?;
        }
        let mut results = Vec::with_capacity(commands.len());
        // Commands that repeat the key of an earlier command of this group.
        let mut repeats = Vec::new();
        for (i, pending) in commands.iter().enumerate() {
            let ctx = CommandCtx {
                now,
                retention,
                ..pending.ctx.clone()
            };
            let command = &pending.command;
            let tried = if ctx.idempotency.is_none() && !command.writes_before_it_can_fail() {
                // Nothing to undo if it fails: no savepoint (two statements
                // fewer per write on the hot path).
                keyed::apply_keyed(c, &ctx, command, expired_before)
            } else {
                c.transaction(|c| keyed::apply_keyed(c, &ctx, command, expired_before))
            };
            let result = match tried {
                Ok(outcome) => Ok(outcome),
                Err(keyed::KeyedError::App(err)) => Err(err),
                // Another node stored this key's answer first: answer with it.
                Err(keyed::KeyedError::Taken) => {
                    c.transaction(|c| keyed::answer_taken(c, &ctx, expired_before))
                }
                Err(keyed::KeyedError::InGroup) => {
                    repeats.push(i);
                    Ok(Outcome::default())
                }
            };
            results.push(result);
        }
        // Every room takes its seqs once, in name order, for the group.
        let mut done: Vec<&mut Outcome> = results
            .iter_mut()
            .enumerate()
            .filter(|(i, _)| !repeats.contains(i))
            .filter_map(|(_, r)| r.as_mut().ok())
            .collect();
        domain::deliver(c, &mut done, retention)?;
        for (i, (pending, result)) in commands.iter().zip(&results).enumerate() {
            if let Some(outcome) = result.as_ref().ok().filter(|_| !repeats.contains(&i)) {
                keyed::store_answer(c, &pending.ctx, outcome)
                    .map_err(|_| diesel::result::Error::RollbackTransaction)?;
            }
        }
        for i in repeats {
            results[i] = same_as_earlier(commands, &results, i);
        }
        if let Some(node) = cluster_node {
            // Inside the transaction: PostgreSQL sends it at commit, after
            // the rows are visible, and never for a group that rolled back,
            // so no crash can separate a commit from its wake-up.
            let ok = || results.iter().filter_map(|r| r.as_ref().ok());
            let wake = Wake::of_group(
                node,
                ok().flat_map(|o| o.committed.iter()),
                ok().flat_map(|o| o.access.iter()),
                ok().flat_map(|o| o.ended_tokens.iter()),
            );
            if let Some(wake) = wake {
                cluster::notify(c, &wake.encode())?;
            }
        }
        Ok(results)
    });
    match outer {
        Ok(results) => (Some(conn), results),
        Err(err) => {
            log::warn!("group commit failed: {err}");
            let e = AppError::Unavailable(format!("commit failed: {err}"));
            // The connection may be broken; open a new one next time.
            (None, vec![Err(e); count])
        }
    }
}

/// The answer of command `i`, which repeated the `Idempotency-Key` of an
/// earlier command of its group: that command's answer.
fn same_as_earlier(
    commands: &[Pending],
    results: &[AppResult<Outcome>],
    i: usize,
) -> AppResult<Outcome> {
    let key = |p: &Pending| {
        p.ctx
            .idempotency
            .as_ref()
            .map(|k| (p.ctx.caller.key().to_string(), k.key.clone()))
    };
    (0..i)
        .filter(|j| key(&commands[*j]) == key(&commands[i]))
        .find_map(|j| results[j].as_ref().ok().filter(|o| !o.replayed))
        .map(keyed::same_answer)
        .ok_or_else(|| AppError::Conflict("a write with this Idempotency-Key is in flight".into()))
}
