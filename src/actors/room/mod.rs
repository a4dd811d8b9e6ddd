//! The room actor: one per live room. It hands each new subscriber its
//! snapshot or the events it missed, then live events; gathers events inside
//! the batching window (priority events flush at once); and renders each frame
//! once per flush for all subscribers at the same position.
//!
//! Exactly-once, in-order delivery rests on one rule: every subscriber has a
//! `cursor` (the last seq it was sent) and only ever gets `(cursor, head]`.
//! Events come from the commit notifications (kept in `recent`) or, when a
//! subscriber is further behind, from the event log.
//!
//! This file holds the actor, its ordering of incoming deliveries, its
//! messages and handlers; `join` holds how subscribers join and catch up,
//! `pace` how a catch-up is paid out as the socket drains, `fanout` how
//! live frames reach subscribers, `guard` who may join, who is revoked and
//! what a subscriber gets redacted.

mod fanout;
mod guard;
mod join;
mod pace;

use super::blocking;
use crate::access::{Identity, SessionAccess};
use crate::actors::client::RoomEvicted;
use crate::actors::registry::{self, Registry};
use crate::db::Pool;
use crate::protocol::{self, Answer};
use crate::stats::Stats;
use crate::transport::Outbox;
use crate::types::{Delivery, RoomName};
use actix::prelude::*;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

/// A resume further behind than this gets a snapshot instead of a replay.
pub const MAX_REPLAY: i64 = 10_000;
/// Most deliveries one read of the log brings into memory (a replay or a
/// gap is read page by page, the next page once the last one was sent): at
/// most `REPLAY_PAGE × events.max_payload_bytes` per read.
pub const REPLAY_PAGE: i64 = 64;
/// Most payload bytes the room keeps in `recent`, besides the count.
pub const RECENT_BYTES: usize = 16 * 1024 * 1024;
/// How long an empty room lives before it is stopped.
const IDLE_AFTER: Duration = Duration::from_secs(10);
/// Wait before retrying a failed read of the room's head or of a gap.
const RETRY_LOAD: Duration = Duration::from_secs(1);

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

struct Sub {
    identity: Arc<Identity>,
    /// The acks the pending `subscribed` answers (taken when it is sent).
    acks: Vec<u64>,
    outbox: Arc<Outbox>,
    dialect: crate::protocol::Dialect,
    conn: Recipient<RoomEvicted>,
    generation: u64,
    /// Last seq sent to this subscriber.
    cursor: i64,
    /// False while its snapshot or replay is being read.
    live: bool,
    /// Its join was answered with `subscribed`.
    answered: bool,
    /// Tells a stale read result from the current join.
    token: u64,
    /// Events owed before it goes live, sent as its outbox drains.
    owed: VecDeque<Arc<Delivery>>,
    /// Since when its outbox has taken nothing while events were owed.
    stalled_since: Option<std::time::Instant>,
}

/// One room.
pub struct Room {
    name: RoomName,
    env: RoomEnv,
    registry: Addr<Registry>,
    /// Highest seq known contiguously; `recent` ends at it.
    head: i64,
    loaded: bool,
    waiting: Vec<Join>,
    /// Deliveries past `head` that arrived out of order.
    stash: BTreeMap<i64, Arc<Delivery>>,
    fetching: bool,
    recent: VecDeque<Arc<Delivery>>,
    /// What `recent` holds, in [`Delivery::weight`] (bounded by [`RECENT_BYTES`]).
    recent_bytes: usize,
    subs: HashMap<u64, Sub>,
    tokens: u64,
    joins: u64,
    timer: Option<SpawnHandle>,
    /// Offers owed events again once outboxes have drained.
    pay_timer: Option<SpawnHandle>,
    /// Its own address, to notice (from `evict`) that it went empty.
    me: Option<Addr<Room>>,
    /// Access facts of the sessions this room carries, by session id.
    book: HashMap<String, Arc<SessionAccess>>,
    /// This node may have missed commits of other nodes (its cluster
    /// listener is down): nothing is delivered and joins wait until the
    /// room has re-read its head and access facts ([`Refresh`]).
    fenced: bool,
    /// The highest seq known to be committed (from other nodes' wake-ups
    /// and reconcile); while `head` is below it the room reads the log.
    target: i64,
    /// Resumes from a seq past `head`: they wait for the log to be read up
    /// to it (another node committed it) before they are served.
    deferred: Vec<Join>,
    /// Highest seq whose commit→queued latency was observed (`/metrics`).
    timed: i64,
}

impl Room {
    /// A room that reads its head from the log when started.
    /// A room of a fenced node starts `fenced`.
    pub fn new(name: RoomName, env: RoomEnv, registry: Addr<Registry>, fenced: bool) -> Self {
        Room {
            name,
            env,
            registry,
            head: 0,
            loaded: false,
            waiting: Vec::new(),
            stash: BTreeMap::new(),
            fetching: false,
            recent: VecDeque::new(),
            recent_bytes: 0,
            subs: HashMap::new(),
            tokens: 0,
            joins: 0,
            timer: None,
            pay_timer: None,
            me: None,
            book: HashMap::new(),
            fenced,
            target: 0,
            deferred: Vec::new(),
            timed: 0,
        }
    }

    /// Reads the room's head and access facts: at start (the room begins at
    /// the head), and on a [`Refresh`] (it reads up to the head from the
    /// log), which also lifts the fence once the facts are current.
    fn load(&mut self, unfence: bool, ctx: &mut Context<Self>) {
        let pool = self.env.pool.clone();
        let room = self.name.clone();
        let read = blocking(move || Ok(guard::read_start(&mut *pool.get()?, &room)?));
        ctx.spawn(
            read.into_actor(self)
                .map(move |result, act, ctx| match result {
                    Ok((seq, book)) => {
                        act.learn(book.into_iter().map(Arc::new).collect());
                        if act.loaded {
                            act.target = act.target.max(seq);
                        } else {
                            act.head = act.head.max(seq);
                            act.loaded = true;
                        }
                        if unfence {
                            act.fenced = false;
                        }
                        act.absorb(ctx);
                        if act.head < act.target {
                            act.fetch_gap(ctx);
                        }
                        if !act.fenced {
                            for join in std::mem::take(&mut act.waiting) {
                                act.join(join, ctx);
                            }
                            if unfence {
                                act.pay_all(ctx);
                            }
                        }
                        act.flush(ctx);
                    }
                    Err(err) => {
                        log::warn!(room = act.name.as_str(); "room {}: cannot read head: {err}", act.name);
                        ctx.run_later(RETRY_LOAD, move |act, ctx| act.load(unfence, ctx));
                    }
                }),
        );
    }

    /// Moves contiguous stashed deliveries into `recent`; reads the log on a gap.
    fn absorb(&mut self, ctx: &mut Context<Self>) {
        while let Some(entry) = self.stash.first_entry() {
            let seq = *entry.key();
            if seq <= self.head {
                entry.remove();
            } else if seq == self.head + 1 {
                let d = entry.remove();
                self.recent_bytes += d.weight();
                self.recent.push_back(d);
                self.head = seq;
            } else {
                self.fetch_gap(ctx);
                break;
            }
        }
        self.trim_recent();
    }

    fn fetch_gap(&mut self, ctx: &mut Context<Self>) {
        if self.fetching {
            return;
        }
        self.fetching = true;
        let (pool, room, from) = (self.env.pool.clone(), self.name.clone(), self.head);
        let read = blocking(move || Ok(guard::read_gap(&mut *pool.get()?, &room, from)?));
        ctx.spawn(read.into_actor(self).map(|result, act, ctx| {
            act.fetching = false;
            match result {
                Ok((found, facts)) => {
                    // Facts as of this read: whatever changed access before
                    // these events committed (on any node) applies first.
                    act.learn(facts.into_iter().map(Arc::new).collect());
                    if found.is_empty() {
                        // The log has nothing past the head: a hint was stale.
                        act.target = act.head;
                    }
                    if let Some(first) = found.first().filter(|d| d.seq > act.head + 1) {
                        log::warn!(
                            room = act.name.as_str();
                            "room {}: seqs {}..{} pruned",
                            act.name,
                            act.head + 1,
                            first.seq
                        );
                        act.head = first.seq - 1;
                        act.recent.clear();
                        act.recent_bytes = 0;
                    }
                    // Events other nodes committed wait for the batching
                    // window like this node's own.
                    let urgent = found.iter().any(|d| d.event.priority);
                    for d in found {
                        act.stash.insert(d.seq, d);
                    }
                    act.absorb(ctx);
                    act.flush_soon(urgent, ctx);
                    if act.head < act.target {
                        act.fetch_gap(ctx);
                    } else {
                        for join in std::mem::take(&mut act.deferred) {
                            act.join_now(join, ctx);
                        }
                    }
                }
                Err(err) => {
                    log::warn!(room = act.name.as_str(); "room {}: cannot read gap: {err}", act.name);
                    ctx.run_later(RETRY_LOAD, |act, ctx| act.absorb(ctx));
                }
            }
        }));
    }
}

impl Room {
    /// Flushes now if `urgent` (a priority event) or without a batching
    /// window; else once the window is over.
    fn flush_soon(&mut self, urgent: bool, ctx: &mut Context<Self>) {
        let window = self.env.batch_window;
        if urgent || window.is_zero() {
            self.flush(ctx);
        } else if self.timer.is_none() {
            self.timer = Some(ctx.run_later(window, |act, ctx| {
                act.timer = None;
                act.flush(ctx);
            }));
        }
    }

    /// When the room is empty, asks the registry to stop it after
    /// [`IDLE_AFTER`] without a join.
    pub(super) fn idle_check(&mut self, ctx: &mut Context<Self>) {
        if self.subs.is_empty() && self.waiting.is_empty() && self.deferred.is_empty() {
            ctx.run_later(IDLE_AFTER, |act, _| {
                if act.subs.is_empty() && act.waiting.is_empty() && act.deferred.is_empty() {
                    act.registry.do_send(registry::RoomIdle {
                        room: act.name.clone(),
                        joins: act.joins,
                    });
                }
            });
        }
    }
}

impl Actor for Room {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        self.me = Some(ctx.address());
        self.load(false, ctx);
    }

    fn stopped(&mut self, _: &mut Context<Self>) {
        self.env.stats.set_room(self.name.as_str(), 0);
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

/// The last subscriber was evicted: check whether the room went idle.
#[derive(Message)]
#[rtype(result = "()")]
struct CheckIdle;

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
        self.joins += 1;
        if self.loaded && !self.fenced {
            self.join(msg, ctx);
        } else {
            self.waiting.push(msg);
        }
    }
}

impl Handler<Leave> for Room {
    type Result = ();

    fn handle(&mut self, msg: Leave, ctx: &mut Context<Self>) {
        self.waiting.retain(|j| j.sub.conn_id != msg.conn_id);
        self.deferred.retain(|j| j.sub.conn_id != msg.conn_id);
        if self.subs.remove(&msg.conn_id).is_some() {
            self.subscribers_changed();
        }
        // Answered even if the join was still loading or had been evicted;
        // after everything this room sent to the socket before.
        if let Some(reply) = msg.reply {
            let frame = protocol::unsubscribed_frame(reply.answer, &self.name, "client", None);
            let _ = reply.outbox.push_text(&frame);
        }
        self.idle_check(ctx);
    }
}

impl Handler<CheckIdle> for Room {
    type Result = ();

    fn handle(&mut self, _: CheckIdle, ctx: &mut Context<Self>) {
        self.idle_check(ctx);
    }
}

impl Handler<Publish> for Room {
    type Result = ();

    fn handle(&mut self, msg: Publish, ctx: &mut Context<Self>) {
        self.learn(msg.access);
        let mut urgent = false;
        for d in msg.deliveries {
            if d.seq > self.head {
                urgent |= d.event.priority;
                self.stash.insert(d.seq, d);
            }
        }
        if !self.loaded {
            return;
        }
        self.absorb(ctx);
        self.flush_soon(urgent, ctx);
    }
}

impl Handler<Behind> for Room {
    type Result = ();

    fn handle(&mut self, msg: Behind, ctx: &mut Context<Self>) {
        if msg.seq > self.head {
            self.target = self.target.max(msg.seq);
            if self.loaded {
                self.fetch_gap(ctx);
            }
        }
    }
}

impl Handler<Fence> for Room {
    type Result = ();

    fn handle(&mut self, _: Fence, _: &mut Context<Self>) {
        self.fenced = true;
    }
}

impl Handler<Refresh> for Room {
    type Result = ();

    fn handle(&mut self, _: Refresh, ctx: &mut Context<Self>) {
        self.load(true, ctx);
    }
}

impl Handler<Stop> for Room {
    type Result = ();

    fn handle(&mut self, _: Stop, ctx: &mut Context<Self>) {
        ctx.stop();
    }
}
