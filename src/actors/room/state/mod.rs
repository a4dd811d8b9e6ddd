//! The room as a state machine: everything a room decides, and nothing it
//! does. [`RoomState`] takes inputs (a join, a leave, committed deliveries,
//! another node's head, a fence, the result of a read, an outbox that
//! drained, a timer that fired) and answers each with the [`Effect`]s to
//! carry out (push frames to a connection, start a read, evict, schedule).
//! It knows connections by [`ConnId`] only: no actix, no outboxes, no
//! database, so every race can be replayed in a plain test.
//!
//! Exactly-once, in-order delivery rests on one rule: every subscriber has a
//! `cursor` (the last seq it was sent) and only ever gets `(cursor, head]`.
//! Events come from the commit notifications (kept in `recent`) or, when a
//! subscriber is further behind, from the event log.
//!
//! Frames are rendered here (a pure function of the run and the dialect),
//! because who gets which bytes — the audiences of a redacted run, one
//! rendering shared by every subscriber at the same position — is the
//! room's decision; the actor only copies bytes into outboxes.
//!
//! `order` holds how deliveries and the room's head come in, `join` how
//! subscribers join and catch up, `pace` how a catch-up is paid out as the
//! socket drains, `fanout` how live frames reach subscribers, `guard` who
//! may join, who is revoked and what a subscriber gets redacted.

mod effect;
mod fanout;
mod guard;
mod join;
mod order;
mod pace;
#[cfg(test)]
mod tests;

pub use effect::{Budget, Effect, Joiner, Read, ReplayRead, Timer};
pub use guard::is_single_room;

use crate::access::{Identity, SessionAccess};
use crate::protocol::Dialect;
use crate::stats::Stats;
use crate::types::{Delivery, RoomName};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A resume further behind than this gets a snapshot instead of a replay.
pub const MAX_REPLAY: i64 = 10_000;
/// Most deliveries one read of the log brings into memory (a replay or a
/// gap is read page by page, the next page once the last one was sent): at
/// most `REPLAY_PAGE × events.max_payload_bytes` per read.
pub const REPLAY_PAGE: i64 = 64;
/// Most payload bytes the room keeps in `recent`, besides the count.
pub const RECENT_BYTES: usize = 16 * 1024 * 1024;
/// How long an empty room lives before it is stopped.
pub const IDLE_AFTER: Duration = Duration::from_secs(10);
/// Wait before retrying a failed read of the room's head or of a gap.
pub const RETRY_LOAD: Duration = Duration::from_secs(1);

/// A connection as the room knows it (the registry's connection id).
pub type ConnId = u64;

/// Which catch-up (snapshot or replay) a subscriber is on. A read started
/// for an earlier one — before a re-join asked for a fresh snapshot, or
/// for a join since left and made again — carries an older id and is
/// dropped when it returns.
pub type CatchUpId = u64;

/// What a room is configured with.
#[derive(Clone, Copy, Debug)]
pub struct Settings {
    /// `ws.batch_window_ms`; zero sends every event at once.
    pub batch_window: Duration,
    /// `events.retention_per_room`: a resume older than this gets a snapshot.
    pub retention: u64,
}

/// One subscriber of the room.
#[derive(Debug)]
struct Sub {
    /// Decides what it may read (revocation, redaction).
    identity: Arc<Identity>,
    /// The acks the pending `subscribed` answers (taken when it is sent).
    acks: Vec<u64>,
    /// How its frames are rendered.
    dialect: Dialect,
    /// Echoed when it is evicted ([`Joiner::connection_join`]).
    connection_join: u64,
    /// Last seq sent to this subscriber.
    cursor: i64,
    /// False while its snapshot or replay is being read or paid out.
    live: bool,
    /// Its join was answered with `subscribed`.
    answered: bool,
    /// The catch-up its reads belong to; others' results are stale.
    catch_up: CatchUpId,
    /// Events owed before it goes live, sent as its outbox drains.
    owed: VecDeque<Arc<Delivery>>,
    /// Since when its outbox has taken nothing while events were owed.
    stalled_since: Option<Instant>,
}

/// Everything one room knows and decides.
pub struct RoomState {
    /// The room's name: in every frame, and the kind of access it checks.
    name: RoomName,
    /// Batching window and retention.
    settings: Settings,
    /// Live counters and metrics (written, never read back: they do not
    /// change what the room decides).
    stats: Arc<Stats>,
    /// Highest seq known contiguously; `recent` ends at it.
    head: i64,
    /// The first read of the head came back: deliveries can be ordered.
    loaded: bool,
    /// Joins that came before the head was loaded or while fenced.
    waiting: Vec<Joiner>,
    /// Deliveries past `head` that arrived out of order.
    stash: BTreeMap<i64, Arc<Delivery>>,
    /// A read of the log past the head is in flight (one at a time).
    fetching: bool,
    /// The newest deliveries, ending at `head`, so joins and flushes
    /// rarely read the log.
    recent: VecDeque<Arc<Delivery>>,
    /// What `recent` holds, in [`Delivery::weight`] (bounded by [`RECENT_BYTES`]).
    recent_bytes: usize,
    /// Subscribers by connection.
    subs: HashMap<ConnId, Sub>,
    /// Catch-ups handed out so far: the next [`CatchUpId`] is one more.
    catch_ups_started: CatchUpId,
    /// Joins received, reported with [`Effect::Idle`]: the registry counts
    /// the joins it forwarded, so a room is never stopped with a join on
    /// its way.
    joins_received: u64,
    /// Joins whose access is being re-read, by connection and its join
    /// number; a leave drops them, so a late answer joins nobody.
    rechecking: Vec<(ConnId, u64)>,
    /// The batching window's timer is set.
    flush_timer: bool,
    /// The pacing timer is set.
    pay_timer: bool,
    /// Access facts of the sessions this room carries, by session id.
    book: HashMap<String, Arc<SessionAccess>>,
    /// This node may have missed commits of other nodes (its cluster
    /// listener is down): nothing is delivered and joins wait until the
    /// room has re-read its head and access facts ([`RoomState::refresh`]).
    fenced: bool,
    /// The highest seq known to be committed (from other nodes' wake-ups
    /// and reconcile); while `head` is below it the room reads the log.
    committed: i64,
    /// Resumes from a seq past `head`: they wait for the log to be read up
    /// to it (another node committed it) before they are served.
    deferred: Vec<Joiner>,
    /// Highest seq whose commit→queued latency was observed (`/metrics`).
    latency_observed: i64,
    /// Effects of the input being handled, handed out when it returns.
    out: Vec<Effect>,
}

impl RoomState {
    /// A room that has not read its head yet ([`RoomState::start`]); a
    /// room of a fenced node starts `fenced`.
    pub fn new(name: RoomName, settings: Settings, stats: Arc<Stats>, fenced: bool) -> Self {
        RoomState {
            name,
            settings,
            stats,
            head: 0,
            loaded: false,
            waiting: Vec::new(),
            stash: BTreeMap::new(),
            fetching: false,
            recent: VecDeque::new(),
            recent_bytes: 0,
            subs: HashMap::new(),
            catch_ups_started: 0,
            joins_received: 0,
            rechecking: Vec::new(),
            flush_timer: false,
            pay_timer: false,
            book: HashMap::new(),
            fenced,
            committed: 0,
            deferred: Vec::new(),
            latency_observed: 0,
            out: Vec::new(),
        }
    }

    /// The room's name.
    pub fn name(&self) -> &RoomName {
        &self.name
    }

    /// Input: the room started; it reads its head and begins there.
    pub fn start(&mut self) -> Vec<Effect> {
        self.emit(Effect::Read(Read::Head { unfence: false }));
        self.effects()
    }

    /// Input: a subscriber joins (or subscribes again).
    pub fn join(&mut self, joiner: Joiner) -> Vec<Effect> {
        self.joins_received += 1;
        if self.loaded && !self.fenced {
            self.admit(joiner);
        } else {
            self.waiting.push(joiner);
        }
        self.effects()
    }

    /// Input: a connection leaves, whatever state its join is in.
    pub fn leave(&mut self, conn: ConnId) -> Vec<Effect> {
        self.waiting.retain(|j| j.conn != conn);
        self.deferred.retain(|j| j.conn != conn);
        self.rechecking.retain(|(c, _)| *c != conn);
        if self.subs.remove(&conn).is_some() {
            self.subscribers_changed();
        }
        self.emit(Effect::Forget { conn });
        self.idle_check();
        self.effects()
    }

    /// Input: this node may have missed commits; hold deliveries and joins.
    pub fn fence(&mut self) -> Vec<Effect> {
        self.fenced = true;
        self.effects()
    }

    /// Input: this node hears the others again. The room re-reads its head
    /// and facts, then delivers and takes joins again.
    pub fn refresh(&mut self) -> Vec<Effect> {
        self.emit(Effect::Read(Read::Head { unfence: true }));
        self.effects()
    }

    /// Input: a timer the room scheduled fired.
    pub fn timer(&mut self, what: Timer) -> Vec<Effect> {
        match what {
            Timer::Flush => {
                self.flush_timer = false;
                self.flush();
            }
            Timer::Pay => {
                self.pay_timer = false;
                self.pay_all();
            }
            Timer::Idle => {
                if self.is_empty() {
                    let joins = self.joins_received;
                    self.emit(Effect::Idle { joins });
                }
            }
            Timer::RetryHead { unfence } => self.emit(Effect::Read(Read::Head { unfence })),
            Timer::RetryGap => {
                self.absorb();
                if self.head < self.committed {
                    self.fetch_gap();
                }
            }
        }
        self.effects()
    }

    /// The subscribers' count (for the live counters).
    pub fn subscribers(&self) -> usize {
        self.subs.len()
    }

    fn emit(&mut self, effect: Effect) {
        self.out.push(effect);
    }

    fn effects(&mut self) -> Vec<Effect> {
        std::mem::take(&mut self.out)
    }

    /// No subscriber and no join on its way in.
    fn is_empty(&self) -> bool {
        self.subs.is_empty()
            && self.waiting.is_empty()
            && self.deferred.is_empty()
            && self.rechecking.is_empty()
    }

    /// When the room is empty, looks again after [`IDLE_AFTER`].
    fn idle_check(&mut self) {
        if self.is_empty() {
            self.emit(Effect::Schedule {
                after: IDLE_AFTER,
                what: Timer::Idle,
            });
        }
    }

    /// Tells the actor to forget a connection the room holds nothing of.
    fn forget_if_gone(&mut self, conn: ConnId) {
        let known = self.subs.contains_key(&conn)
            || self.waiting.iter().any(|j| j.conn == conn)
            || self.deferred.iter().any(|j| j.conn == conn)
            || self.rechecking.iter().any(|(c, _)| *c == conn);
        if !known {
            self.emit(Effect::Forget { conn });
        }
    }

    /// Publishes the subscriber count to the live counters.
    fn subscribers_changed(&self) {
        self.stats.set_room(self.name.as_str(), self.subs.len());
    }
}
