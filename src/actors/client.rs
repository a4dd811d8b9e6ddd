//! What every client connection is, whatever its protocol: [`ClientCore`]
//! holds the id, outbox, joined rooms, identity, rate bucket and registry
//! address, and does what the native [`Connection`](super::connection) and
//! the Socket.IO session (`socketio::session`) both do: register, subscribe,
//! leave, take an eviction, time out, close, and clean up when stopping.
//! It parses nothing and runs no timers: the actors own their input and
//! their heartbeat; this is the state and the operations they share.

use crate::access::Identity;
use crate::actors::registry::{self, Registry};
use crate::actors::room::{Reply, Subscriber};
use crate::auth::Bucket;
use crate::error::AppError;
use crate::protocol::{self, Answer, Dialect};
use crate::stats::{Admission, Stats};
use crate::transport::Outbox;
use crate::types::RoomName;
use actix::prelude::*;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// A fresh id for a connection of any dialect (rooms key subscribers by it).
pub fn next_id() -> u64 {
    NEXT_ID.fetch_add(1, Ordering::Relaxed)
}

/// Limits and timings of a connection, from `[ws]`.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Heartbeat interval.
    pub heartbeat: Duration,
    /// Drop a client silent this long.
    pub timeout: Duration,
    /// Rooms one connection may join.
    pub max_rooms: usize,
    /// Client messages per second (and burst); 0 = no limit.
    pub max_messages_per_second: u32,
}

/// The rooms a connection joined, each with the number of the join that
/// added it (so a late eviction of an earlier join is told apart).
#[derive(Debug, Default)]
pub struct Joined {
    rooms: HashMap<RoomName, u64>,
    joins: u64,
}

impl Joined {
    /// The join number for `room`: a repeated subscribe keeps the number of
    /// the join it repeats; a new room past `max` is `too_many_rooms`.
    pub fn join(&mut self, room: &RoomName, max: usize) -> Result<u64, AppError> {
        if let Some(number) = self.rooms.get(room) {
            return Ok(*number);
        }
        if self.rooms.len() >= max {
            return Err(AppError::TooManyRooms(format!(
                "at most {max} rooms per connection"
            )));
        }
        self.joins += 1;
        self.rooms.insert(room.clone(), self.joins);
        Ok(self.joins)
    }

    /// Forgets a room the client left; false if it was not joined.
    pub fn leave(&mut self, room: &RoomName) -> bool {
        self.rooms.remove(room).is_some()
    }

    /// Forgets a room that dropped join `generation` (not a later join).
    pub fn evicted(&mut self, room: &RoomName, generation: u64) {
        if self.rooms.get(room) == Some(&generation) {
            self.rooms.remove(room);
        }
    }

    /// The rooms joined.
    pub fn names(&self) -> impl Iterator<Item = &RoomName> {
        self.rooms.keys()
    }

    /// Forgets every room, handing them out.
    pub fn drain(&mut self) -> impl Iterator<Item = RoomName> + '_ {
        self.rooms.drain().map(|(room, _)| room)
    }
}

/// The state and operations every client connection shares.
pub struct ClientCore {
    /// Rooms key their subscribers by it, the registry its connections.
    id: u64,
    /// Where every frame for this client goes, from rooms and from its actor.
    outbox: Arc<Outbox>,
    /// How rooms render frames for it (and its counters' label).
    dialect: Dialect,
    /// Who it is: known at the upgrade (native), or once the token of
    /// CONNECT checked out (Socket.IO). Nothing is joined before.
    identity: Option<Arc<Identity>>,
    /// The registry was told of it (and must be told when it goes).
    registered: bool,
    /// Rooms joined, with their join numbers.
    rooms: Joined,
    /// Client messages allowed; past it they are refused with `rate_limited`.
    bucket: Bucket,
    /// Rooms are joined and left through it; it closes sockets whose token ended.
    registry: Addr<Registry>,
    /// Live counters: connections by dialect, subscribers by room.
    stats: Arc<Stats>,
    /// Heartbeat, timeout, room and message limits.
    limits: Limits,
    /// When the client last sent anything: silent past `limits.timeout`, it is dropped.
    last_seen: Instant,
    /// Its place under the connection caps, given back when it stops.
    admission: Option<Admission>,
}

impl ClientCore {
    /// A client of `dialect` writing to `outbox`, identified or not yet.
    pub fn new(
        outbox: Arc<Outbox>,
        registry: Addr<Registry>,
        stats: Arc<Stats>,
        limits: Limits,
        dialect: Dialect,
        identity: Option<Arc<Identity>>,
    ) -> Self {
        ClientCore {
            id: next_id(),
            outbox,
            dialect,
            identity,
            registered: false,
            rooms: Joined::default(),
            bucket: Bucket::new(limits.max_messages_per_second),
            registry,
            stats,
            limits,
            last_seen: Instant::now(),
            admission: None,
        }
    }

    /// Holds `admission` (the connection caps) until the client stops.
    pub fn admitted(mut self, admission: Admission) -> Self {
        self.admission = Some(admission);
        self
    }

    /// The client's outbox.
    pub fn outbox(&self) -> &Arc<Outbox> {
        &self.outbox
    }

    /// Its limits.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The live counters.
    pub fn stats(&self) -> &Arc<Stats> {
        &self.stats
    }

    /// Who it is, once known.
    pub fn identity(&self) -> Option<&Arc<Identity>> {
        self.identity.as_ref()
    }

    /// The rooms joined.
    pub fn rooms(&self) -> impl Iterator<Item = &RoomName> {
        self.rooms.names()
    }

    /// Queues a text frame. A refused push means the socket is closing;
    /// nothing more to do.
    pub fn send(&self, text: &str) {
        let _ = self.outbox.push_text(text);
    }

    /// Queues `err` as the `error` frame `answer` wants.
    pub fn error(&self, answer: Answer, err: &AppError, room: Option<&RoomName>) {
        self.send(&protocol::error_frame(answer, err, room));
    }

    /// Queues a close frame after what is queued (the actor stops next).
    pub fn close(&self, code: u16, reason: &str) {
        self.outbox.close(code, reason);
    }

    /// The client sent something now.
    pub fn seen(&mut self) {
        self.last_seen = Instant::now();
    }

    /// The client was silent for longer than the timeout.
    pub fn timed_out(&self) -> bool {
        self.last_seen.elapsed() > self.limits.timeout
    }

    /// Takes one message from the rate bucket; false when it is empty.
    pub fn take(&mut self) -> bool {
        self.bucket.take(Instant::now())
    }

    /// The `rate_limited` error for `what` (messages, packets) past the limit.
    pub fn rate_limited(&self, what: &str) -> AppError {
        AppError::RateLimited(format!(
            "at most {} {what} per second",
            self.limits.max_messages_per_second
        ))
    }

    /// The client is open: counted, and logged.
    pub fn started(&self, public_id: &str) {
        self.stats.connection_opened(self.dialect);
        log::debug!(
            connection_id = public_id, dialect = self.dialect.name();
            "connection {public_id} opened"
        );
    }

    /// Sets who the client is and, the first time, tells the registry (so
    /// that a token that ends, or a shutdown, closes it through `closer`).
    pub fn identified(&mut self, identity: Arc<Identity>, closer: Recipient<Close>) {
        if !std::mem::replace(&mut self.registered, true) {
            self.registry.do_send(registry::Connect {
                id: self.id,
                user_id: identity.user_id.clone(),
                token_hash: identity.token_hash.clone(),
                addr: closer,
            });
        }
        self.identity = Some(identity);
    }

    /// Joins `room` (fresh, or resuming after `since`); the room answers
    /// `subscribed` (through the ack `answer` names) or an error. Refused
    /// before the client is identified and past `max_rooms`.
    pub fn subscribe(
        &mut self,
        room: RoomName,
        since: Option<i64>,
        ack: Option<u64>,
        evictions: Recipient<RoomEvicted>,
    ) -> Result<(), AppError> {
        let Some(identity) = self.identity.clone() else {
            return Err(AppError::Unauthorized("not connected".into()));
        };
        let generation = self.rooms.join(&room, self.limits.max_rooms)?;
        self.registry.do_send(registry::Join {
            room,
            sub: Subscriber {
                conn_id: self.id,
                outbox: self.outbox.clone(),
                conn: evictions,
                generation,
                dialect: self.dialect,
                identity,
                ack,
            },
            since,
        });
        Ok(())
    }

    /// Leaves `room` and answers `unsubscribed` as `answer` wants: the room
    /// does, after everything it sent before, if it was joined; else (never
    /// joined, or already evicted) the answer is queued here.
    pub fn unsubscribe(&mut self, room: RoomName, answer: Answer) {
        if self.rooms.leave(&room) {
            self.registry.do_send(registry::Leave {
                room,
                conn_id: self.id,
                reply: Some(Reply {
                    outbox: self.outbox.clone(),
                    answer,
                }),
            });
        } else {
            self.send(&protocol::unsubscribed_frame(answer, &room, "client", None));
        }
    }

    /// Leaves every room silently.
    pub fn leave_all(&mut self) {
        for room in self.rooms.drain() {
            self.registry.do_send(registry::Leave {
                room,
                conn_id: self.id,
                reply: None,
            });
        }
    }

    /// A room dropped the client: forgets that join; true when its outbox
    /// overflowed (a 4008 close is queued) and the actor should stop.
    pub fn evicted(&mut self, msg: &RoomEvicted) -> bool {
        self.rooms.evicted(&msg.room, msg.generation);
        msg.slow
    }

    /// The actor stopped: leaves every room, leaves the registry, gives
    /// back its place under the caps and ends the outbox.
    pub fn stopped(&mut self, public_id: &str) {
        self.leave_all();
        if self.registered {
            self.registry.do_send(registry::Disconnect { id: self.id });
        }
        self.stats.connection_closed(self.dialect);
        log::debug!(connection_id = public_id; "connection {public_id} closed");
        self.admission = None;
        self.outbox.finish();
    }
}

/// Close the socket: the server is shutting down (1001), or the token it
/// was opened with stopped being valid (4001).
#[derive(Message, Clone, Copy)]
#[rtype(result = "()")]
pub struct Close {
    /// Close code.
    pub code: u16,
    /// Close reason.
    pub reason: &'static str,
}

/// A room dropped this connection (slow consumer, or a failed read).
#[derive(Message)]
#[rtype(result = "()")]
pub struct RoomEvicted {
    /// The room.
    pub room: RoomName,
    /// The outbox overflowed: a 4008 close is queued, stop now.
    pub slow: bool,
    /// The join it ends; a later join of the same room is not affected.
    pub generation: u64,
}
