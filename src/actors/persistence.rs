//! The persistence actor: the only writer. Commands are applied in arrival
//! order; while one transaction runs, the next commands queue and go into the
//! next transaction together (group commit). Each command runs in its own
//! savepoint, so one failing command does not undo the others. Callers get
//! their answer only after commit, and the registry is told after commit, in
//! commit order.

use crate::actors::registry::{self, Registry};
use crate::db::{DbConn, DbManager};
use crate::domain::{self, Command, CommandCtx, Outcome};
use crate::error::{AppError, AppResult};
use crate::time::now_ms;
use actix::prelude::*;
use diesel::Connection;
use futures::channel::oneshot;
use std::mem;

/// Most commands in one transaction; more wait for the next one.
const MAX_GROUP: usize = 512;

/// The single writer.
pub struct Persistence {
    manager: DbManager,
    /// The writer's own connection; `None` after a failure, reopened on demand.
    conn: Option<DbConn>,
    queue: Vec<Pending>,
    busy: bool,
    registry: Addr<Registry>,
    retention: u64,
    drained: Vec<oneshot::Sender<()>>,
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
            conn: None,
            queue: Vec::new(),
            busy: false,
            registry,
            retention,
            drained: Vec::new(),
        }
    }

    /// Starts the next group if none is running.
    fn kick(&mut self, ctx: &mut Context<Self>) {
        if self.busy {
            return;
        }
        if self.queue.is_empty() {
            for waiter in self.drained.drain(..) {
                let _ = waiter.send(());
            }
            return;
        }
        self.busy = true;
        let take = self.queue.len().min(MAX_GROUP);
        let group: Vec<Pending> = self.queue.drain(..take).collect();
        let conn = self.conn.take();
        let manager = self.manager.clone();
        let retention = self.retention;
        let work = actix_web::rt::task::spawn_blocking(move || {
            let (commands, replies): (Vec<_>, Vec<_>) = group
                .into_iter()
                .map(|p| ((p.command, p.ctx), p.reply))
                .unzip();
            let (conn, results) = run_group(conn, &manager, commands, retention);
            (conn, results, replies)
        });
        ctx.spawn(work.into_actor(self).map(|joined, act, ctx| {
            act.busy = false;
            match joined {
                Ok((conn, results, replies)) => {
                    act.conn = conn;
                    act.deliver(results, replies);
                }
                Err(err) => log::error!("writer task failed: {err}"),
            }
            act.kick(ctx);
        }));
    }

    /// Tells the registry what committed, then answers the callers.
    fn deliver(
        &self,
        results: Vec<AppResult<Outcome>>,
        replies: Vec<oneshot::Sender<AppResult<Outcome>>>,
    ) {
        let committed: Vec<_> = results
            .iter()
            .filter_map(|r| r.as_ref().ok())
            .flat_map(|o| o.committed.iter().cloned())
            .collect();
        if !committed.is_empty() {
            self.registry
                .do_send(registry::Committed { events: committed });
        }
        for (result, reply) in results.into_iter().zip(replies) {
            let _ = reply.send(result);
        }
    }
}

/// Runs one group in one transaction on a blocking thread. Returns the
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

/// Resolves once every queued command has committed (for shutdown).
#[derive(Message)]
#[rtype(result = "()")]
pub struct Drain;

impl Handler<Execute> for Persistence {
    type Result = ResponseFuture<AppResult<Outcome>>;

    fn handle(&mut self, msg: Execute, ctx: &mut Context<Self>) -> Self::Result {
        let (tx, rx) = oneshot::channel();
        self.queue.push(Pending {
            command: msg.command,
            ctx: msg.ctx,
            reply: tx,
        });
        self.kick(ctx);
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
        self.drained.push(tx);
        self.kick(ctx);
        Box::pin(async move {
            let _ = rx.await;
        })
    }
}

/// Clears the queue on stop so no caller waits forever.
impl Drop for Persistence {
    fn drop(&mut self) {
        for pending in mem::take(&mut self.queue) {
            let _ = pending
                .reply
                .send(Err(AppError::Unavailable("server shutting down".into())));
        }
    }
}
