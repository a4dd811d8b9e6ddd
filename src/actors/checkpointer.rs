//! The checkpointer: copies SQLite's write-ahead log into the database file
//! every second, off the writer's path. Commits only append to the log; a
//! checkpoint (and its fsync) inside a commit would stall every writer behind
//! it. With PostgreSQL it is not started.

use crate::db::{self, Pool};
use actix::prelude::*;
use std::time::Duration;

/// How often the log is checkpointed.
const INTERVAL: Duration = Duration::from_secs(1);

/// Periodic `PRAGMA wal_checkpoint(PASSIVE)` on a pooled connection.
pub struct Checkpointer {
    pool: Pool,
    running: bool,
}

impl Checkpointer {
    /// A checkpointer using a connection of `pool`.
    pub fn new(pool: Pool) -> Self {
        Checkpointer {
            pool,
            running: false,
        }
    }

    fn tick(&mut self, ctx: &mut Context<Self>) {
        if self.running {
            return;
        }
        self.running = true;
        let pool = self.pool.clone();
        let work = actix_web::rt::task::spawn_blocking(move || {
            let mut conn = pool.get().map_err(|e| e.to_string())?;
            db::checkpoint(&mut conn, false).map_err(|e| e.to_string())
        });
        ctx.spawn(work.into_actor(self).map(|result, act, _| {
            act.running = false;
            match result {
                Ok(Ok(())) => {}
                Ok(Err(err)) => log::warn!("checkpoint failed: {err}"),
                Err(err) => log::warn!("checkpoint task failed: {err}"),
            }
        }));
    }
}

impl Actor for Checkpointer {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        ctx.run_interval(INTERVAL, |act, ctx| act.tick(ctx));
    }
}

/// Empties the log once more and stops (at shutdown, after the last commit).
#[derive(Message)]
#[rtype(result = "()")]
pub struct Finish;

impl Handler<Finish> for Checkpointer {
    type Result = ResponseFuture<()>;

    fn handle(&mut self, _: Finish, ctx: &mut Context<Self>) -> Self::Result {
        ctx.stop();
        let pool = self.pool.clone();
        Box::pin(async move {
            let done = actix_web::rt::task::spawn_blocking(move || {
                let mut conn = pool.get().map_err(|e| e.to_string())?;
                db::checkpoint(&mut conn, true).map_err(|e| e.to_string())
            })
            .await;
            if let Ok(Err(err)) = done {
                log::warn!("final checkpoint failed: {err}");
            }
        })
    }
}
