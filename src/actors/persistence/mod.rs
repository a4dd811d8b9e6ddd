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
//!
//! This file holds the actor, its messages and their handlers; how one
//! group is cut off the queue, run, counted and told is `group.rs`.

mod group;
#[cfg(test)]
mod tests;

use crate::actors::registry;
use crate::auth::Auth;
use crate::db::{DbConn, DbManager};
use crate::domain::{Command, CommandCtx, Outcome};
use crate::error::{AppError, AppResult};
use crate::stats::Stats;
use crate::time::now_ms;
use actix::prelude::*;
use futures::channel::oneshot;
use group::{count_group, deliver, run_group, take_group, Group};
use std::sync::Arc;
use std::time::Instant;

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
    /// Told what each group committed, in commit order, to fan it out (only
    /// what it has a live room or a socket for).
    registry: registry::Handle,
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
        registry: registry::Handle,
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
