//! The persistence actor: this node's only writer. Commands are applied in arrival
//! order; while one transaction runs, the next commands queue and go into the
//! next transaction together (group commit). Each command runs in its own
//! savepoint, so one failing command does not undo the others. Callers get
//! their answer only after commit, and the registry is told after commit, in
//! commit order. On a PostgreSQL database shared by several nodes, each
//! group that changed something also queues one wake-up for the other nodes
//! (`actors::cluster`), inside its transaction.
//!
//! The actor runs alone on an arbiter (thread) of its own and does its
//! transactions there, synchronously: it is the one place where blocking is
//! the point. Its mailbox is the queue. An `Execute` only queues the command
//! and, if none is pending, schedules a `RunGroup` to itself; actix handles
//! every message waiting in the mailbox before such a self-notification, so
//! each group holds everything that arrived while the previous one committed.

use crate::actors::cluster::Wake;
use crate::actors::registry::{self, Registry};
use crate::db::{cluster, DbConn, DbManager};
use crate::domain::{self, Command, CommandCtx, Outcome};
use crate::error::{AppError, AppResult};
use crate::time::now_ms;
use actix::prelude::*;
use diesel::Connection;
use futures::channel::oneshot;

/// Most commands in one transaction; more wait for the next one.
const MAX_GROUP: usize = 512;

/// The single writer. Start it with `start_in_arbiter` on an arbiter of its own.
pub struct Persistence {
    manager: DbManager,
    /// The writer's own connection; `None` after a failure, reopened on demand.
    conn: Option<DbConn>,
    registry: Addr<Registry>,
    retention: u64,
    /// This node's id when it shares a PostgreSQL database with others:
    /// each group that changed something also queues one wake-up for them.
    cluster_node: Option<String>,
    queue: Vec<Job>,
    /// A `RunGroup` is on its way.
    scheduled: bool,
}

enum Job {
    Run(Box<Pending>),
    Drain(oneshot::Sender<()>),
}

struct Pending {
    command: Command,
    ctx: CommandCtx,
    reply: oneshot::Sender<AppResult<Outcome>>,
}

impl Persistence {
    /// A writer on `manager`'s database that reports commits to `registry`
    /// (and, with `cluster_node`, to the other nodes).
    pub fn new(
        manager: DbManager,
        registry: Addr<Registry>,
        retention: u64,
        cluster_node: Option<String>,
    ) -> Self {
        Persistence {
            manager,
            conn: None,
            registry,
            retention,
            cluster_node,
            queue: Vec::new(),
            scheduled: false,
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
        let mut runs = Vec::new();
        let mut drained = Vec::new();
        let mut rest = std::mem::take(&mut self.queue).into_iter();
        for job in rest.by_ref() {
            match job {
                Job::Run(pending) => runs.push(*pending),
                Job::Drain(done) => drained.push(done),
            }
            if runs.len() == MAX_GROUP {
                break;
            }
        }
        self.queue = rest.collect();
        if !runs.is_empty() {
            let (commands, replies): (Vec<_>, Vec<_>) = runs
                .into_iter()
                .map(|p| ((p.command, p.ctx), p.reply))
                .unzip();
            let group = Group {
                commands,
                retention: self.retention,
                cluster_node: self.cluster_node.as_deref(),
            };
            let (kept, results) = run_group(self.conn.take(), &self.manager, group);
            self.conn = kept;
            deliver(&self.registry, results, replies);
        }
        for done in drained {
            let _ = done.send(());
        }
        if !self.queue.is_empty() {
            self.scheduled = true;
            ctx.notify(RunGroup);
        }
    }
}

/// Tells the registry what committed, then answers the callers.
fn deliver(
    registry: &Addr<Registry>,
    results: Vec<AppResult<Outcome>>,
    replies: Vec<oneshot::Sender<AppResult<Outcome>>>,
) {
    let outcomes = || results.iter().filter_map(|r| r.as_ref().ok());
    let committed: Vec<_> = outcomes()
        .flat_map(|o| o.committed.iter().cloned())
        .collect();
    let access: Vec<_> = outcomes().flat_map(|o| o.access.iter().cloned()).collect();
    let ended_tokens: Vec<_> = outcomes()
        .flat_map(|o| o.ended_tokens.iter().cloned())
        .collect();
    if !committed.is_empty() || !access.is_empty() || !ended_tokens.is_empty() {
        registry.do_send(registry::Committed {
            events: committed,
            access,
            ended_tokens,
        });
    }
    for (result, reply) in results.into_iter().zip(replies) {
        let _ = reply.send(result);
    }
}

/// One transaction's worth of work.
struct Group<'a> {
    commands: Vec<(Command, CommandCtx)>,
    retention: u64,
    cluster_node: Option<&'a str>,
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
        let results = commands
            .into_iter()
            .map(|(command, mut ctx)| {
                ctx.now = now;
                ctx.retention = retention;
                c.transaction(|c| domain::apply(c, &ctx, &command))
            })
            .collect::<Vec<_>>();
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
