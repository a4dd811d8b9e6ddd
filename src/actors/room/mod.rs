//! The room actor: one per live room. It owns a [`RoomState`] — the pure
//! state machine that decides who gets which events, when, and who is
//! evicted — feeds it the room's messages, read results, drained outboxes
//! and timers, and carries out the effects it answers with (`effects`):
//! frames into connection outboxes, reads on blocking threads, timers,
//! evictions. The actor decides nothing itself.
//!
//! `state` holds the state machine and its tests, `effects` how the actor
//! carries effects out, `reads` the database reads the state asks for.

mod effects;
mod reads;
pub mod state;

pub use state::{MAX_REPLAY, RECENT_BYTES, REPLAY_PAGE};

use super::blocking;
use crate::access::{Identity, SessionAccess};
use crate::actors::client::RoomEvicted;
use crate::actors::registry::Registry;
use crate::db::Pool;
use crate::protocol::{self, Answer};
use crate::stats::Stats;
use crate::transport::Outbox;
use crate::types::{Delivery, RoomName};
use actix::prelude::*;
use state::{ConnId, Joiner, RoomState, Timer};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// What every room needs, shared.
#[derive(Clone)]
pub struct RoomEnv {
    /// Read pool for snapshots and replays.
    pub pool: Pool,
    /// `ws.batch_window_ms`; zero sends every event at once.
    pub batch_window: Duration,
    /// `events.retention_per_room`: a resume older than this gets a snapshot.
    pub retention: u64,
    /// Live counters.
    pub stats: Arc<Stats>,
}

/// A connection joining a room.
pub struct Subscriber {
    /// Connection id.
    pub conn_id: u64,
    /// Where its frames go.
    pub outbox: Arc<Outbox>,
    /// Told when the room drops it.
    pub conn: Recipient<RoomEvicted>,
    /// The connection's join number for this room, echoed in [`RoomEvicted`].
    pub generation: u64,
    /// How its frames are rendered.
    pub dialect: crate::protocol::Dialect,
    /// Who it is: decides whether it may join and what it may read.
    pub identity: Arc<Identity>,
    /// The Socket.IO ack its `subscribe` asked for, answered by `subscribed`.
    pub ack: Option<u64>,
}

/// Where and how to answer a request about a room.
pub struct Reply {
    /// The socket's outbox.
    pub outbox: Arc<Outbox>,
    /// Its dialect and ack.
    pub answer: Answer,
}

/// How the actor reaches a connection the state names by [`ConnId`].
struct Link {
    /// Where its frames go.
    outbox: Arc<Outbox>,
    /// Told when the room drops its join.
    conn: Recipient<RoomEvicted>,
}

/// One room.
pub struct Room {
    /// Everything the room knows and decides; the actor only carries out
    /// what it answers.
    state: RoomState,
    /// The read pool (for the reads the state asks for) and the counters.
    env: RoomEnv,
    /// Told when the room has been idle, so it can be stopped.
    registry: Addr<Registry>,
    /// The outbox and address of each connection the state knows: added on
    /// its join, dropped when the state forgets it ([`state::Effect::Forget`]).
    links: HashMap<ConnId, Link>,
    /// Timers the state may still cancel, by what they are for.
    timers: HashMap<Timer, SpawnHandle>,
}

impl Room {
    /// A room that reads its head from the log when started.
    /// A room of a fenced node starts `fenced`.
    pub fn new(name: RoomName, env: RoomEnv, registry: Addr<Registry>, fenced: bool) -> Self {
        let settings = state::Settings {
            batch_window: env.batch_window,
            retention: env.retention,
        };
        Room {
            state: RoomState::new(name, settings, env.stats.clone(), fenced),
            env,
            registry,
            links: HashMap::new(),
            timers: HashMap::new(),
        }
    }
}

impl Actor for Room {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        let effects = self.state.start();
        self.carry_out(effects, ctx);
    }

    fn stopped(&mut self, _: &mut Context<Self>) {
        self.env.stats.set_room(self.state.name().as_str(), 0);
    }
}

/// A subscriber joins (sent by the registry).
#[derive(Message)]
#[rtype(result = "()")]
pub struct Join {
    /// Who.
    pub sub: Subscriber,
    /// Resume after this seq, or `None` for a snapshot.
    pub since: Option<i64>,
}

/// A subscriber leaves.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Leave {
    /// Connection id.
    pub conn_id: u64,
    /// Where to answer `unsubscribed` (reason `client`); `None` to leave silently.
    pub reply: Option<Reply>,
}

/// Deliveries to this room that just committed, in seq order, and the
/// access facts those commits changed.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Publish {
    /// The deliveries.
    pub deliveries: Vec<Arc<Delivery>>,
    /// Sessions whose access changed: applied before anything is sent.
    pub access: Vec<Arc<SessionAccess>>,
}

/// Another node committed up to `seq` in this room.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Behind {
    /// A seq known to be committed.
    pub seq: i64,
}

/// Hold deliveries and joins: this node may have missed commits.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Fence;

/// Re-read the head and access facts, then deliver and take joins again.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Refresh;

/// The registry forgot this room: stop.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Stop;

impl Handler<Join> for Room {
    type Result = ();

    fn handle(&mut self, msg: Join, ctx: &mut Context<Self>) {
        let sub = msg.sub;
        let link = Link {
            outbox: sub.outbox,
            conn: sub.conn,
        };
        self.links.insert(sub.conn_id, link);
        let effects = self.state.join(Joiner {
            conn: sub.conn_id,
            connection_join: sub.generation,
            dialect: sub.dialect,
            identity: sub.identity,
            ack: sub.ack,
            since: msg.since,
        });
        self.carry_out(effects, ctx);
    }
}

impl Handler<Leave> for Room {
    type Result = ();

    fn handle(&mut self, msg: Leave, ctx: &mut Context<Self>) {
        let effects = self.state.leave(msg.conn_id);
        self.carry_out(effects, ctx);
        // Answered even if the join was still loading or had been evicted;
        // after everything this room sent to the socket before.
        if let Some(reply) = msg.reply {
            let name = self.state.name();
            let frame = protocol::unsubscribed_frame(reply.answer, name, "client", None);
            let _ = reply.outbox.push_text(&frame);
        }
    }
}

impl Handler<Publish> for Room {
    type Result = ();

    fn handle(&mut self, msg: Publish, ctx: &mut Context<Self>) {
        let effects = self.state.publish(msg.deliveries, msg.access);
        self.carry_out(effects, ctx);
    }
}

impl Handler<Behind> for Room {
    type Result = ();

    fn handle(&mut self, msg: Behind, ctx: &mut Context<Self>) {
        let effects = self.state.behind(msg.seq);
        self.carry_out(effects, ctx);
    }
}

impl Handler<Fence> for Room {
    type Result = ();

    fn handle(&mut self, _: Fence, ctx: &mut Context<Self>) {
        let effects = self.state.fence();
        self.carry_out(effects, ctx);
    }
}

impl Handler<Refresh> for Room {
    type Result = ();

    fn handle(&mut self, _: Refresh, ctx: &mut Context<Self>) {
        let effects = self.state.refresh();
        self.carry_out(effects, ctx);
    }
}

impl Handler<Stop> for Room {
    type Result = ();

    fn handle(&mut self, _: Stop, ctx: &mut Context<Self>) {
        ctx.stop();
    }
}
