//! Scenario tests of the room state machine, without actix or a database.
//! [`Harness`] plays the actor: it keeps what each connection was sent, the
//! reads the room started (answered from a pretend log, or by hand to set
//! up a race), the timers, evictions and closes; each test feeds inputs in
//! a chosen order and checks that every subscriber gets every seq once, in
//! order.

mod access;
mod delivery;
mod joins;

use super::*;
use crate::access::{Role, SessionAccess};
use crate::frames::unframe;
use crate::transport::PushError;
use crate::types::Event;
use bytes::Bytes;
use serde_json::Value;
use std::collections::{BTreeMap, HashSet};

/// A connection's view: every frame it was sent, parsed.
#[derive(Default)]
struct Socket {
    frames: Vec<Value>,
}

impl Socket {
    /// The seqs of the events it got (redacted ones too), in order.
    fn seqs(&self) -> Vec<i64> {
        let mut seqs = Vec::new();
        for f in &self.frames {
            match f["type"].as_str() {
                Some("batch-update") => seqs.extend(
                    f["updates"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|u| u["seq"].as_i64()),
                ),
                Some("subscribed" | "unsubscribed" | "error") => {}
                _ => seqs.extend(f["seq"].as_i64()),
            }
        }
        seqs
    }

    /// Its control frames (`subscribed`, `unsubscribed`, `error`), in order.
    fn controls(&self) -> Vec<&Value> {
        self.frames
            .iter()
            .filter(|f| {
                matches!(
                    f["type"].as_str(),
                    Some("subscribed" | "unsubscribed" | "error")
                )
            })
            .collect()
    }

    /// The event envelopes it got, batches unpacked.
    fn events(&self) -> Vec<&Value> {
        let mut events = Vec::new();
        for f in &self.frames {
            match f["type"].as_str() {
                Some("batch-update") => {
                    events.extend(f["updates"].as_array().into_iter().flatten())
                }
                Some("event") => events.push(f),
                _ => {}
            }
        }
        events
    }
}

/// The actor's part, recorded.
struct Harness {
    state: RoomState,
    /// The committed deliveries (the event log), by seq.
    log: BTreeMap<i64, Arc<Delivery>>,
    /// Access facts the log holds, returned with head and gap reads.
    facts: Vec<SessionAccess>,
    sockets: HashMap<ConnId, Socket>,
    reads: VecDeque<Read>,
    timers: Vec<Timer>,
    evicted: Vec<(ConnId, u64, bool)>,
    closed: Vec<(ConnId, u16)>,
    forgotten: Vec<ConnId>,
    idle: Vec<u64>,
    /// What each outbox can take (unlimited when absent).
    budgets: HashMap<ConnId, Budget>,
    /// Outboxes that refuse the next push.
    refuse: HashMap<ConnId, PushError>,
    /// Outboxes that closed (after a refused push or a close).
    dead: HashSet<ConnId>,
    now: Instant,
}

const ROOMY: Budget = Budget {
    room_left: 1 << 20,
    empty: true,
};

impl Harness {
    fn new(room: &str) -> Harness {
        Harness::with(room, Duration::ZERO, 0)
    }

    fn with(room: &str, batch_window: Duration, retention: u64) -> Harness {
        let name = RoomName::parse(room).unwrap();
        let settings = Settings {
            batch_window,
            retention,
        };
        let stats = Arc::new(Stats::new("test".into()));
        Harness {
            state: RoomState::new(name, settings, stats, false),
            log: BTreeMap::new(),
            facts: Vec::new(),
            sockets: HashMap::new(),
            reads: VecDeque::new(),
            timers: Vec::new(),
            evicted: Vec::new(),
            closed: Vec::new(),
            forgotten: Vec::new(),
            idle: Vec::new(),
            budgets: HashMap::new(),
            refuse: HashMap::new(),
            dead: HashSet::new(),
            now: Instant::now(),
        }
    }

    /// A room started on a log holding `1..=head`, its head read answered.
    fn loaded(room: &str, head: i64) -> Harness {
        let mut h = Harness::new(room);
        h.commit(1..=head);
        h.start();
        h
    }

    fn start(&mut self) {
        let effects = self.state.start();
        self.apply(effects);
        self.serve_reads();
    }

    fn socket(&self, conn: ConnId) -> &Socket {
        static NONE: std::sync::OnceLock<Socket> = std::sync::OnceLock::new();
        self.sockets
            .get(&conn)
            .unwrap_or_else(|| NONE.get_or_init(Socket::default))
    }

    fn seqs(&self, conn: ConnId) -> Vec<i64> {
        self.socket(conn).seqs()
    }

    /// Carries out effects as the actor would.
    fn apply(&mut self, effects: Vec<Effect>) {
        for effect in effects {
            match effect {
                Effect::Push { conn, frames } => {
                    for frame in frames.iter() {
                        if !self.deliver(conn, frame) {
                            break;
                        }
                    }
                }
                Effect::Text { conn, text } => {
                    let frame = crate::transport::text_frame(text.as_bytes());
                    self.deliver(conn, &frame);
                }
                Effect::Close { conn, code, .. } => {
                    self.closed.push((conn, code));
                    self.dead.insert(conn);
                }
                Effect::Evicted {
                    conn,
                    connection_join,
                    slow,
                } => self.evicted.push((conn, connection_join, slow)),
                Effect::Forget { conn } => self.forgotten.push(conn),
                Effect::Measure { conn } => {
                    let budget = self.budgets.get(&conn).copied().unwrap_or(ROOMY);
                    let more = self.state.drained(conn, budget, self.now);
                    self.apply(more);
                }
                Effect::Read(read) => self.reads.push_back(read),
                Effect::Schedule { what, .. } => self.timers.push(what),
                Effect::Cancel(what) => {
                    if let Some(at) = self.timers.iter().position(|t| *t == what) {
                        self.timers.remove(at);
                    }
                }
                Effect::Idle { joins } => self.idle.push(joins),
            }
        }
    }

    /// One frame into a connection's outbox; false if it refused.
    fn deliver(&mut self, conn: ConnId, frame: &Bytes) -> bool {
        if let Some(error) = self.refuse.remove(&conn) {
            self.dead.insert(conn);
            let more = self.state.push_failed(conn, error);
            self.apply(more);
            return false;
        }
        if self.dead.contains(&conn) {
            let more = self.state.push_failed(conn, PushError::Closed);
            self.apply(more);
            return false;
        }
        let (_, payload) = unframe(frame).unwrap();
        let value = serde_json::from_slice(&payload).unwrap();
        self.sockets.entry(conn).or_default().frames.push(value);
        true
    }

    /// Adds deliveries to the log without telling the room.
    fn commit(&mut self, seqs: impl IntoIterator<Item = i64>) {
        for seq in seqs {
            self.log.insert(seq, self.delivery(seq, "room", "r"));
        }
    }

    fn delivery(&self, seq: i64, resource_type: &str, resource_id: &str) -> Arc<Delivery> {
        let event = Event {
            id: 1000 + seq,
            event_type: "noted".into(),
            resource_type: resource_type.into(),
            resource_id: resource_id.into(),
            agent_id: None,
            origin_session_id: None,
            payload: serde_json::value::RawValue::from_string("{\"n\":1}".into()).unwrap(),
            priority: false,
            created_at: 0,
        };
        Delivery::new(self.state.name().clone(), seq, Arc::new(event))
    }

    /// Commits `seqs` and tells the room (the notification of one commit).
    fn publish(&mut self, seqs: impl IntoIterator<Item = i64>) {
        let seqs: Vec<i64> = seqs.into_iter().collect();
        self.commit(seqs.iter().copied());
        self.notify(&seqs);
    }

    /// Tells the room of committed `seqs` (a notification, maybe late).
    fn notify(&mut self, seqs: &[i64]) {
        let run = seqs.iter().map(|s| self.log[s].clone()).collect();
        let effects = self.state.publish(run, Vec::new());
        self.apply(effects);
    }

    /// A commit that changed access: the new facts travel with it.
    fn change_access(&mut self, facts: SessionAccess) {
        self.facts.retain(|f| f.session_id != facts.session_id);
        self.facts.push(facts.clone());
        let effects = self.state.publish(Vec::new(), vec![Arc::new(facts)]);
        self.apply(effects);
    }

    fn join(&mut self, conn: ConnId, since: Option<i64>) {
        self.join_as(joiner(conn, since, Identity::local_admin()));
    }

    fn join_as(&mut self, joiner: Joiner) {
        let effects = self.state.join(joiner);
        self.apply(effects);
    }

    fn leave(&mut self, conn: ConnId) {
        let effects = self.state.leave(conn);
        self.apply(effects);
    }

    fn fire(&mut self, what: Timer) {
        let at = self.timers.iter().position(|t| *t == what).unwrap();
        self.timers.remove(at);
        let effects = self.state.timer(what);
        self.apply(effects);
    }

    /// Takes the oldest read the room started.
    fn next_read(&mut self) -> Read {
        self.reads.pop_front().expect("a read was started")
    }

    /// Answers every read from the log, also those the answers start.
    fn serve_reads(&mut self) {
        while let Some(read) = self.reads.pop_front() {
            self.answer(read);
        }
    }

    /// Answers one read from the log as it is now.
    fn answer(&mut self, read: Read) {
        let head = self.log.keys().next_back().copied().unwrap_or(0);
        let effects = match read {
            Read::Head { unfence } => self
                .state
                .head_read(unfence, Ok((head, self.facts.clone()))),
            Read::Gap { from } => {
                let found = self.page(from, REPLAY_PAGE);
                self.state.gap_read(Ok((found, self.facts.clone())))
            }
            Read::Replay(page) => {
                let found = self.page(page.from, page.page);
                self.state.replay_read(page, Ok(found))
            }
            Read::Snapshot {
                conn,
                catch_up,
                identity,
            } => {
                let readable = self.facts.iter().all(|f| {
                    !matches!(self.state.name().kind(), RoomKind::Session(s) if s == f.session_id)
                        || f.can_read(&identity)
                });
                let snapshot = readable.then_some((None, head));
                self.state.snapshot_read(conn, catch_up, Ok(snapshot))
            }
            Read::Recheck(joiner) => self.state.rechecked(*joiner, Ok(self.facts.clone())),
        };
        self.apply(effects);
    }

    /// At most `limit` deliveries of the log after `from`.
    fn page(&self, from: i64, limit: i64) -> Vec<Arc<Delivery>> {
        let found = self.log.range(from + 1..).take(limit as usize);
        found.map(|(_, d)| d.clone()).collect()
    }
}

use crate::types::RoomKind;

/// A native join of `conn` by `identity`.
fn joiner(conn: ConnId, since: Option<i64>, identity: Arc<Identity>) -> Joiner {
    Joiner {
        conn,
        connection_join: 1,
        dialect: Dialect::Native,
        identity,
        ack: None,
        since,
    }
}

/// A signed-in user who is not an admin.
fn user(name: &str) -> Arc<Identity> {
    Arc::new(Identity {
        user_id: Some(name.into()),
        email: Some(format!("{name}@example.com")),
        name: None,
        admin: false,
        token_hash: None,
    })
}

/// The facts of private session `id` in project `p1`, owned by `owner`,
/// with `viewers`, at access `version`.
fn private_session(id: &str, owner: &str, viewers: &[&str], version: i64) -> SessionAccess {
    SessionAccess {
        session_id: id.into(),
        project_id: "p1".into(),
        owner_id: Some(owner.into()),
        public: false,
        collaborators: viewers
            .iter()
            .map(|v| (format!("{v}@example.com"), Role::Viewer))
            .collect(),
        exists: true,
        version,
    }
}
