//! Carrying out what the room's state decided: frames into the connections'
//! outboxes (a refused push goes back to the state as an input), reads on
//! blocking threads (their results go back as inputs), timers, evictions.
//! Effects run in the order the state gave them, each input's effects
//! before the next message is handled.

use super::state::{Budget, Effect, Read, RoomState, Timer};
use super::{blocking, reads, Room};
use crate::actors::client::RoomEvicted;
use crate::actors::registry;
use crate::db::events;
use crate::domain::snapshot;
use crate::error::AppError;
use actix::prelude::*;
use std::time::{Duration, Instant};

impl Room {
    /// Carries out effects in order. What a refused push, a measured
    /// outbox or a fired timer makes the state answer is carried out at
    /// once, before the rest: an evicted connection gets nothing more.
    pub(super) fn carry_out(&mut self, effects: Vec<Effect>, ctx: &mut Context<Self>) {
        for effect in effects {
            self.carry_out_one(effect, ctx);
        }
    }

    fn carry_out_one(&mut self, effect: Effect, ctx: &mut Context<Self>) {
        match effect {
            Effect::Push { conn, frames } => {
                let Some(link) = self.links.get(&conn) else {
                    return;
                };
                for frame in frames.iter() {
                    if let Err(error) = link.outbox.push(frame.clone()) {
                        let more = self.state.push_failed(conn, error);
                        return self.carry_out(more, ctx);
                    }
                }
            }
            Effect::Text { conn, text } => {
                let Some(link) = self.links.get(&conn) else {
                    return;
                };
                if let Err(error) = link.outbox.push_text(&text) {
                    let more = self.state.push_failed(conn, error);
                    self.carry_out(more, ctx);
                }
            }
            Effect::Close { conn, code, reason } => {
                if let Some(link) = self.links.get(&conn) {
                    link.outbox.close(code, reason);
                }
            }
            Effect::Evicted {
                conn,
                connection_join,
                slow,
            } => {
                if let Some(link) = self.links.get(&conn) {
                    link.conn.do_send(RoomEvicted {
                        room: self.state.name().clone(),
                        slow,
                        generation: connection_join,
                    });
                }
            }
            Effect::Forget { conn } => {
                self.links.remove(&conn);
            }
            Effect::Measure { conn } => {
                let Some(link) = self.links.get(&conn) else {
                    return;
                };
                let budget = Budget {
                    room_left: link.outbox.room_left(),
                    empty: link.outbox.queued_bytes() == 0,
                };
                let more = self.state.drained(conn, budget, Instant::now());
                self.carry_out(more, ctx);
            }
            Effect::Read(read) => self.start_read(read, ctx),
            Effect::Schedule { after, what } => self.schedule(after, what, ctx),
            Effect::Cancel(what) => {
                if let Some(handle) = self.timers.remove(&what) {
                    ctx.cancel_future(handle);
                }
            }
            Effect::Idle { joins } => self.registry.do_send(registry::RoomIdle {
                room: self.state.name().clone(),
                joins,
            }),
        }
    }

    /// Hands `what` to the state after `after`. Only the latest timer of a
    /// kind can be cancelled (the state cancels only the batching window's,
    /// of which there is one at a time).
    fn schedule(&mut self, after: Duration, what: Timer, ctx: &mut Context<Self>) {
        let handle = ctx.run_later(after, move |act, ctx| {
            act.timers.remove(&what);
            let effects = act.state.timer(what);
            act.carry_out(effects, ctx);
        });
        self.timers.insert(what, handle);
    }

    /// Starts a read on a blocking thread; its result returns to the
    /// state's input of the same name.
    fn start_read(&mut self, read: Read, ctx: &mut Context<Self>) {
        let pool = self.env.pool.clone();
        let room = self.state.name().clone();
        match read {
            Read::Head { unfence } => self.read(
                ctx,
                move || Ok(reads::read_start(&mut *pool.get()?, &room)?),
                move |state, result| state.head_read(unfence, result),
            ),
            Read::Gap { from } => self.read(
                ctx,
                move || Ok(reads::read_gap(&mut *pool.get()?, &room, from)?),
                RoomState::gap_read,
            ),
            Read::Replay(page) => self.read(
                ctx,
                move || {
                    Ok(events::replay(
                        &mut *pool.get()?,
                        &room,
                        page.from,
                        page.page,
                    )?)
                },
                move |state, result| state.replay_read(page, result),
            ),
            Read::Snapshot {
                conn,
                catch_up,
                identity,
            } => self.read(
                ctx,
                move || Ok(snapshot::read(&mut *pool.get()?, &room, &identity)?),
                move |state, result| state.snapshot_read(conn, catch_up, result),
            ),
            Read::Recheck(joiner) => self.read(
                ctx,
                move || Ok(reads::read_start(&mut *pool.get()?, &room)?.1),
                move |state, result| state.rechecked(*joiner, result),
            ),
        }
    }

    /// Runs `read` off the actor's thread, then gives its result to `answer`
    /// and carries out what the state answers.
    fn read<T: Send + 'static>(
        &mut self,
        ctx: &mut Context<Self>,
        read: impl FnOnce() -> Result<T, AppError> + Send + 'static,
        answer: impl FnOnce(&mut RoomState, Result<T, AppError>) -> Vec<Effect> + 'static,
    ) {
        ctx.spawn(
            blocking(read)
                .into_actor(self)
                .map(move |result, act, ctx| {
                    let effects = answer(&mut act.state, result);
                    act.carry_out(effects, ctx);
                }),
        );
    }
}
