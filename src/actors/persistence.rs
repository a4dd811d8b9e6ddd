//! The persistence actor: the only writer. Commands are applied in arrival
//! order; while one transaction runs, the next commands queue and go into the
//! next transaction together (group commit). Each command runs in its own
//! savepoint, so one failing command does not undo the others. Callers get
//! their answer only after commit, and the registry is told after commit, in
//! commit order.
//!
//! The actor owns one writer thread and is the only way to reach it. The
//! thread takes everything queued the moment the previous commit is done, so
//! under load it never waits for a round trip through the async runtime.

use crate::actors::registry::{self, Registry};
use crate::db::{DbConn, DbManager};
use crate::domain::{self, Command, CommandCtx, Outcome};
use crate::error::{AppError, AppResult};
use crate::time::now_ms;
use actix::prelude::*;
use diesel::Connection;
use futures::channel::oneshot;
use std::sync::mpsc;

/// Most commands in one transaction; more wait for the next one.
const MAX_GROUP: usize = 512;

/// The single writer.
pub struct Persistence {
    manager: DbManager,
    registry: Addr<Registry>,
    retention: u64,
    /// The writer thread's queue; `None` before start and after stop.
    jobs: Option<mpsc::Sender<Job>>,
}

enum Job {
    Run(Pending),
    Drain(oneshot::Sender<()>),
}

struct Pending {
    command: Command,
    ctx: CommandCtx,
    reply: oneshot::Sender<AppResult<Outcome>>,
}

impl Persistence {
    /// A writer on `manager`'s database that reports commits to `registry`.
    pub fn new(manager: DbManager, registry: Addr<Registry>, retention: u64) -> Self {
        Persistence {
            manager,
            registry,
            retention,
            jobs: None,
        }
    }

    fn submit(&self, job: Job) {
        let refused = match &self.jobs {
            Some(jobs) => jobs.send(job).err().map(|e| e.0),
            None => Some(job),
        };
        if let Some(Job::Run(pending)) = refused {
            let _ = pending
                .reply
                .send(Err(AppError::Unavailable("writer stopped".into())));
        }
    }
}

/// The writer thread: group, commit, notify, answer; until the actor stops.
fn writer_loop(
    jobs: mpsc::Receiver<Job>,
    manager: DbManager,
    registry: Addr<Registry>,
    retention: u64,
) {
    let mut conn = None;
    while let Ok(first) = jobs.recv() {
        let mut group = Vec::new();
        let mut drained = Vec::new();
        let mut job = Some(first);
        while let Some(next) = job.take() {
            match next {
                Job::Run(pending) => group.push(pending),
                Job::Drain(done) => drained.push(done),
            }
            if group.len() < MAX_GROUP {
                job = jobs.try_recv().ok();
            }
        }
        if !group.is_empty() {
            let (commands, replies): (Vec<_>, Vec<_>) = group
                .into_iter()
                .map(|p| ((p.command, p.ctx), p.reply))
                .unzip();
            let (kept, results) = run_group(conn.take(), &manager, commands, retention);
            conn = kept;
            deliver(&registry, results, replies);
        }
        for done in drained {
            let _ = done.send(());
        }
    }
}

/// Tells the registry what committed, then answers the callers.
fn deliver(
    registry: &Addr<Registry>,
    results: Vec<AppResult<Outcome>>,
    replies: Vec<oneshot::Sender<AppResult<Outcome>>>,
) {
    let committed: Vec<_> = results
        .iter()
        .filter_map(|r| r.as_ref().ok())
        .flat_map(|o| o.committed.iter().cloned())
        .collect();
    if !committed.is_empty() {
        registry.do_send(registry::Committed { events: committed });
    }
    for (result, reply) in results.into_iter().zip(replies) {
        let _ = reply.send(result);
    }
}

/// Runs one group in one transaction. Returns the
/// connection (if still usable) and one result per command.
fn run_group(
    conn: Option<DbConn>,
    manager: &DbManager,
    commands: Vec<(Command, CommandCtx)>,
    retention: u64,
) -> (Option<DbConn>, Vec<AppResult<Outcome>>) {
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
        Ok(commands
            .into_iter()
            .map(|(command, mut ctx)| {
                ctx.now = now;
                ctx.retention = retention;
                c.transaction(|c| domain::apply(c, &ctx, &command))
            })
            .collect::<Vec<_>>())
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

    fn started(&mut self, ctx: &mut Context<Self>) {
        let (tx, rx) = mpsc::channel();
        let (manager, registry) = (self.manager.clone(), self.registry.clone());
        let retention = self.retention;
        let spawned = std::thread::Builder::new()
            .name("herald-writer".into())
            .spawn(move || writer_loop(rx, manager, registry, retention));
        match spawned {
            Ok(_) => self.jobs = Some(tx),
            Err(err) => {
                log::error!("cannot start the writer thread: {err}");
                ctx.stop();
            }
        }
    }

    fn stopped(&mut self, _: &mut Context<Self>) {
        // Dropping the queue ends the thread once it has committed what it holds.
        self.jobs = None;
    }
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

impl Handler<Execute> for Persistence {
    type Result = ResponseFuture<AppResult<Outcome>>;

    fn handle(&mut self, msg: Execute, _: &mut Context<Self>) -> Self::Result {
        let (tx, rx) = oneshot::channel();
        self.submit(Job::Run(Pending {
            command: msg.command,
            ctx: msg.ctx,
            reply: tx,
        }));
        Box::pin(async move {
            rx.await
                .unwrap_or_else(|_| Err(AppError::Internal("writer dropped the command".into())))
        })
    }
}

impl Handler<Drain> for Persistence {
    type Result = ResponseFuture<()>;

    fn handle(&mut self, _: Drain, _: &mut Context<Self>) -> Self::Result {
        let (tx, rx) = oneshot::channel();
        self.submit(Job::Drain(tx));
        Box::pin(async move {
            let _ = rx.await;
        })
    }
}
