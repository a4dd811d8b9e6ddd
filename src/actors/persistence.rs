//! The persistence actor: this node's only writer. Commands are applied in arrival
//! order; while one transaction runs, the next commands queue and go into the
//! next transaction together (group commit). Each command that may write
//! before it fails runs in its own savepoint, so one failing command does
//! not undo the others; a publish checks everything first and writes
//! nothing itself, so it needs none. The group's events, deliveries and
//! room heads are written together at its end. Callers get
//! their answer only after commit, and the registry is told after commit, in
//! commit order. On a PostgreSQL database shared by several nodes, each
//! group that changed something also queues one wake-up for the other nodes
//! (`actors::cluster`), inside its transaction.
//!
//! The actor runs alone on an arbiter (thread) of its own and does its
//! transactions there, synchronously, blocking that thread on purpose: STYLE
//! §4 says database work runs on blocking threads, and this arbiter *is*
//! that thread. Handing each group to a thread pool and back was measured
//! slower (15.0k against 21k writes/s, docs/BENCHMARKS.md): the hand-offs
//! cost more than the commit. Nothing else runs on this arbiter, so nothing
//! waits behind a commit but the next group. Its mailbox is the queue. An `Execute` only queues the command
//! and, if none is pending, schedules a `RunGroup` to itself; actix handles
//! every message waiting in the mailbox before such a self-notification, so
//! each group holds everything that arrived while the previous one committed.
//!
//! Other nodes may write to the same PostgreSQL database at the same time
//! (docs/cluster.md, "Several writers"). The group runs at READ COMMITTED, so
//! a command that waited for another node's lock sees that node's commit. A
//! command the database picked as a deadlock victim is rolled back alone (its
//! savepoint) and runs again in the next group, after this group released
//! the locks that closed the cycle.

use crate::actors::cluster::Wake;
use crate::actors::registry::{self, Registry};
use crate::auth::Auth;
use crate::db::{cluster, idempotency, DbConn, DbManager};
use crate::domain::idempotency as keyed;
use crate::domain::{self, Command, CommandCtx, Outcome};
use crate::error::{AppError, AppResult};
use crate::stats::Stats;
use crate::time::now_ms;
use actix::prelude::*;
use diesel::connection::SimpleConnection;
use diesel::Connection;
use futures::channel::oneshot;
use std::sync::Arc;
use std::time::Instant;

/// Most commands in one transaction; more wait for the next one.
const MAX_GROUP: usize = 512;
/// Most events in one transaction (two full batches of 1,000 ten times
/// over): a group's rows, answers and fan-out are held in memory at once.
const MAX_GROUP_EVENTS: usize = 20_000;
/// Most payload bytes in one transaction (the first command always fits).
const MAX_GROUP_BYTES: usize = 64 * 1024 * 1024;
/// How often a group also forgets every expired idempotency answer.
const SWEEP_EVERY_MS: i64 = 60_000;
/// How many groups a command may be tried in before a deadlock with other
/// writers is answered 503. Each try after the first follows a commit that
/// released this node's locks, so a second failure is already rare.
const MAX_TRIES: u32 = 5;

/// The single writer. Start it with `start_in_arbiter` on an arbiter of its own.
pub struct Persistence {
    /// Opens the writer's connection, again after a failure.
    manager: DbManager,
    /// The writer's own connection; `None` after a failure, reopened on demand.
    conn: Option<DbConn>,
    /// Told what each group committed, in commit order, to fan it out.
    registry: Addr<Registry>,
    /// `events.retention_per_room`: deliveries kept per room; older ones are
    /// pruned in the group that passes the mark.
    retention: u64,
    /// This node's id when it shares a PostgreSQL database with others:
    /// each group that changed something also queues one wake-up for them.
    cluster_node: Option<String>,
    /// `http.idempotency_ttl_s`, in ms: stored answers older are forgotten.
    idempotency_ttl_ms: i64,
    /// When expired idempotency answers were last swept (unix ms).
    swept_at: i64,
    /// Commands (and drains) waiting for the next group, in arrival order.
    queue: Vec<Job>,
    /// A `RunGroup` is on its way.
    scheduled: bool,
    /// Commit durations, group sizes, events committed (`/metrics`).
    stats: Arc<Stats>,
    /// The token cache, which forgets a token that ended before the write
    /// that ended it is answered.
    auth: Arc<Auth>,
}

/// One entry of the queue.
enum Job {
    /// A write, for the next group.
    Run(Box<Pending>),
    /// Answered once everything queued before it has committed.
    Drain(oneshot::Sender<()>),
}

/// A queued write and where its answer goes.
struct Pending {
    /// The write.
    command: Command,
    /// Who writes (the group sets `now` and `retention`).
    ctx: CommandCtx,
    /// Answered after commit.
    reply: oneshot::Sender<AppResult<Outcome>>,
    /// Groups this command already failed in as a deadlock victim.
    tries: u32,
}

impl Persistence {
    /// A writer on `manager`'s database that reports commits to `registry`
    /// (and, with `cluster_node`, to the other nodes) and ended tokens to `auth`.
    pub fn new(
        manager: DbManager,
        registry: Addr<Registry>,
        retention: u64,
        cluster_node: Option<String>,
        idempotency_ttl_s: u64,
        stats: Arc<Stats>,
        auth: Arc<Auth>,
    ) -> Self {
        Persistence {
            manager,
            conn: None,
            registry,
            retention,
            cluster_node,
            idempotency_ttl_ms: (idempotency_ttl_s as i64).saturating_mul(1000),
            swept_at: now_ms(),
            queue: Vec::new(),
            scheduled: false,
            stats,
            auth,
        }
    }

    fn enqueue(&mut self, job: Job, ctx: &mut Context<Self>) {
        self.queue.push(job);
        if !self.scheduled {
            self.scheduled = true;
            ctx.notify(RunGroup);
        }
    }

    /// Commits the next group and answers it.
    fn run_next(&mut self, ctx: &mut Context<Self>) {
        let (runs, drained, rest) = take_group(std::mem::take(&mut self.queue));
        let mut again = Vec::new();
        if !runs.is_empty() {
            let now = now_ms();
            let sweep = now - self.swept_at >= SWEEP_EVERY_MS;
            if sweep {
                self.swept_at = now;
            }
            let group = Group {
                commands: &runs,
                retention: self.retention,
                cluster_node: self.cluster_node.as_deref(),
                idempotency_ttl_ms: self.idempotency_ttl_ms,
                sweep,
            };
            let started = Instant::now();
            let (kept, results) = run_group(self.conn.take(), &self.manager, group);
            count_group(&self.stats, kept.is_some(), &results, started);
            self.conn = kept;
            let mut answered = Vec::with_capacity(runs.len());
            for (mut pending, result) in runs.into_iter().zip(results) {
                match result {
                    Err(AppError::Contended(why)) if pending.tries + 1 < MAX_TRIES => {
                        log::debug!("write deferred to the next group: {why}");
                        pending.tries += 1;
                        again.push(Job::Run(Box::new(pending)));
                    }
                    result => answered.push((result, pending.reply)),
                }
            }
            deliver(&self.registry, &self.auth, answered);
        }
        if again.is_empty() {
            for done in drained {
                let _ = done.send(());
            }
        } else {
            // A drain waits for the deferred commands too.
            again.extend(drained.into_iter().map(Job::Drain));
        }
        again.extend(rest);
        self.queue = again;
        if !self.queue.is_empty() {
            self.scheduled = true;
            ctx.notify(RunGroup);
        }
    }
}

/// Cuts the next group off the queue: its commands (at most [`MAX_GROUP`],
/// [`MAX_GROUP_EVENTS`] events and [`MAX_GROUP_BYTES`] of payloads, but
/// always the first), the drains queued among them, and the rest.
fn take_group(queue: Vec<Job>) -> (Vec<Pending>, Vec<oneshot::Sender<()>>, Vec<Job>) {
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
fn count_group(stats: &Stats, committed: bool, results: &[AppResult<Outcome>], started: Instant) {
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
fn deliver(
    registry: &Addr<Registry>,
    auth: &Auth,
    answered: Vec<(AppResult<Outcome>, oneshot::Sender<AppResult<Outcome>>)>,
) {
    let outcomes = || answered.iter().filter_map(|(r, _)| r.as_ref().ok());
    let committed: Vec<_> = outcomes()
        .flat_map(|o| o.committed.iter().cloned())
        .collect();
    let access: Vec<_> = outcomes().flat_map(|o| o.access.iter().cloned()).collect();
    let ended_tokens: Vec<_> = outcomes()
        .flat_map(|o| o.ended_tokens.iter().cloned())
        .collect();
    for user in &ended_tokens {
        auth.forget(user);
    }
    if !committed.is_empty() || !access.is_empty() || !ended_tokens.is_empty() {
        registry.do_send(registry::Committed {
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
struct Group<'a> {
    commands: &'a [Pending],
    retention: u64,
    cluster_node: Option<&'a str>,
    idempotency_ttl_ms: i64,
    /// Also forget every expired idempotency answer.
    sweep: bool,
}

/// Runs one group in one transaction. Returns the
/// connection (if still usable) and one result per command.
fn run_group(
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

impl Actor for Persistence {
    type Context = Context<Self>;
}

/// Run a command; answers after commit.
#[derive(Message)]
#[rtype(result = "AppResult<Outcome>")]
pub struct Execute {
    /// The write.
    pub command: Command,
    /// Who writes.
    pub ctx: CommandCtx,
}

/// Resolves once every command sent before it has committed (for shutdown).
#[derive(Message)]
#[rtype(result = "()")]
pub struct Drain;

/// Commit what is queued (sent by the actor to itself).
#[derive(Message)]
#[rtype(result = "()")]
struct RunGroup;

impl Handler<Execute> for Persistence {
    type Result = ResponseFuture<AppResult<Outcome>>;

    fn handle(&mut self, msg: Execute, ctx: &mut Context<Self>) -> Self::Result {
        let (tx, rx) = oneshot::channel();
        let pending = Pending {
            command: msg.command,
            ctx: msg.ctx,
            reply: tx,
            tries: 0,
        };
        self.enqueue(Job::Run(Box::new(pending)), ctx);
        Box::pin(async move {
            rx.await
                .unwrap_or_else(|_| Err(AppError::Internal("writer dropped the command".into())))
        })
    }
}

impl Handler<Drain> for Persistence {
    type Result = ResponseFuture<()>;

    fn handle(&mut self, _: Drain, ctx: &mut Context<Self>) -> Self::Result {
        let (tx, rx) = oneshot::channel();
        self.enqueue(Job::Drain(tx), ctx);
        Box::pin(async move {
            let _ = rx.await;
        })
    }
}

impl Handler<RunGroup> for Persistence {
    type Result = ();

    fn handle(&mut self, _: RunGroup, ctx: &mut Context<Self>) {
        self.scheduled = false;
        self.run_next(ctx);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::rooms::Publish;
    use crate::types::RoomName;

    fn batch(events: usize, payload: &str) -> Job {
        let item = Publish {
            room: RoomName::parse("a").expect("a room"),
            event_type: "t".into(),
            payload: serde_json::value::RawValue::from_string(payload.into()).expect("JSON"),
            priority: false,
        };
        let (reply, _) = oneshot::channel();
        Job::Run(Box::new(Pending {
            command: Command::PublishBatch(vec![item; events]),
            ctx: CommandCtx::default(),
            reply,
            tries: 0,
        }))
    }

    #[test]
    fn a_group_is_bounded_by_its_events_and_payload_bytes_not_only_commands() {
        let queue: Vec<Job> = (0..25).map(|_| batch(1000, "{}")).collect();
        let (runs, _, rest) = take_group(queue);
        assert_eq!((runs.len(), rest.len()), (20, 5));
        let (runs, _, rest) = take_group(rest);
        assert_eq!((runs.len(), rest.len()), (5, 0));

        let big = format!("{{\"p\":\"{}\"}}", "x".repeat(40 * 1024 * 1024));
        let queue = vec![batch(1, &big), batch(1, &big), batch(1, "{}")];
        let (runs, _, rest) = take_group(queue);
        assert_eq!((runs.len(), rest.len()), (1, 2), "bytes cut the group");
        let (runs, drained, rest) = take_group(rest);
        assert_eq!((runs.len(), drained.len(), rest.len()), (2, 0, 0));
    }

    #[test]
    fn drains_queued_among_the_commands_go_with_their_group() {
        let (done, _) = oneshot::channel();
        let queue = vec![batch(1, "{}"), Job::Drain(done), batch(1, "{}")];
        let (runs, drained, rest) = take_group(queue);
        assert_eq!((runs.len(), drained.len(), rest.len()), (2, 1, 0));
    }
}
