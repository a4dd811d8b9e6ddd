//! The connection actor: one per native WebSocket (`/ws`). It owns the
//! heartbeat, the set of rooms joined and the socket's outbox. Bad input never
//! kills it: it answers with an `error` frame. It does not hold events; rooms
//! push their frames straight into the outbox.

use crate::access::Identity;
use crate::actors::registry::{self, Registry};
use crate::actors::room::{Reply, Subscriber};
use crate::auth::Bucket;
use crate::error::AppError;
use crate::frames;
use crate::protocol::{self, Answer, ClientMessage, Dialect};
use crate::stats::{Admission, Stats};
use crate::time::now_ms;
use crate::transport::{self, Outbox};
use crate::types::RoomName;
use actix::prelude::*;
use actix_http::ws::{Frame, ProtocolError};
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

/// One native WebSocket.
pub struct Connection {
    id: u64,
    public_id: String,
    outbox: Arc<Outbox>,
    registry: Addr<Registry>,
    stats: Arc<Stats>,
    limits: Limits,
    /// Rooms joined.
    rooms: Joined,
    last_seen: Instant,
    /// Rooms joined on connect (`?projectId=`, `?sessionId=`, or the room of
    /// a single-room dialect).
    auto: Vec<RoomName>,
    /// How rooms render frames for this socket.
    dialect: Dialect,
    /// Who opened it (checked at the upgrade).
    identity: Arc<Identity>,
    /// Client messages allowed; past it they are answered `rate_limited`.
    bucket: Bucket,
    /// Its place under the connection caps, given back when it stops.
    admission: Option<Admission>,
}

impl Connection {
    /// A connection of `identity` writing to `outbox`, joining `auto` once started.
    pub fn new(
        outbox: Arc<Outbox>,
        registry: Addr<Registry>,
        stats: Arc<Stats>,
        limits: Limits,
        auto: Vec<RoomName>,
        dialect: Dialect,
        identity: Arc<Identity>,
    ) -> Self {
        Connection {
            bucket: Bucket::new(limits.max_messages_per_second),
            identity,
            id: next_id(),
            public_id: crate::types::new_id(),
            outbox,
            registry,
            stats,
            limits,
            rooms: Joined::default(),
            last_seen: Instant::now(),
            auto,
            dialect,
            admission: None,
        }
    }

    /// Holds `admission` (the connection caps) until the connection stops.
    pub fn admitted(mut self, admission: Admission) -> Self {
        self.admission = Some(admission);
        self
    }

    fn send(&self, text: &str) {
        // A refused push means the socket is closing; nothing more to do.
        let _ = self.outbox.push_text(text);
    }

    fn close(&self, code: u16, reason: &str, ctx: &mut Context<Self>) {
        self.outbox.close(code, reason);
        ctx.stop();
    }

    fn subscribe(&mut self, room: &str, since: Option<i64>, ctx: &mut Context<Self>) {
        let room = match RoomName::parse(room) {
            Ok(room) => room,
            Err(err) => return self.send(&err.ws_frame().to_string()),
        };
        if since.is_some_and(|s| s < 0) {
            let err = AppError::BadRequest("since must be 0 or more".into());
            return self.send(&err.ws_frame().to_string());
        }
        let generation = match self.rooms.join(&room, self.limits.max_rooms) {
            Ok(generation) => generation,
            Err(err) => {
                let answer = Answer::plain(Dialect::Native);
                return self.send(&protocol::error_frame(answer, &err, Some(&room)));
            }
        };
        self.registry.do_send(registry::Join {
            room,
            sub: Subscriber {
                conn_id: self.id,
                outbox: self.outbox.clone(),
                conn: ctx.address().recipient(),
                generation,
                dialect: self.dialect,
                identity: self.identity.clone(),
                ack: None,
            },
            since,
        });
    }

    fn unsubscribe(&mut self, room: &str) {
        let room = match RoomName::parse(room) {
            Ok(room) => room,
            Err(err) => return self.send(&err.ws_frame().to_string()),
        };
        if self.rooms.leave(&room) {
            self.registry.do_send(registry::Leave {
                room,
                conn_id: self.id,
                reply: Some(Reply {
                    outbox: self.outbox.clone(),
                    answer: Answer::plain(self.dialect),
                }),
            });
        } else {
            self.send(&protocol::unsubscribed(&room, "client", None));
        }
    }

    fn on_text(&mut self, text: &str, ctx: &mut Context<Self>) {
        if !self.bucket.take(Instant::now()) {
            let err = AppError::RateLimited(format!(
                "at most {} messages per second",
                self.limits.max_messages_per_second
            ));
            return self.send(&err.ws_frame().to_string());
        }
        // Seed-003 clients send a plain-text `subscribe`: acknowledged by a
        // repeated join, which answers `subscribed` and changes nothing.
        if self.dialect == Dialect::Broadcast && text.trim() == "subscribe" {
            return self.subscribe("broadcasts", None, ctx);
        }
        let single_room = self.dialect != Dialect::Native;
        match serde_json::from_str::<ClientMessage>(text) {
            Ok(ClientMessage::Ping) => self.send(&protocol::pong(now_ms())),
            // A single-room socket carries the room of its URL, nothing else.
            Ok(ClientMessage::Subscribe { .. } | ClientMessage::Unsubscribe { .. })
                if single_room =>
            {
                let err = AppError::BadRequest("this socket carries one room".into());
                self.send(&err.ws_frame().to_string());
            }
            Ok(ClientMessage::Subscribe { room, since }) => self.subscribe(&room, since, ctx),
            Ok(ClientMessage::Unsubscribe { room }) => self.unsubscribe(&room),
            Err(err) => {
                let err = AppError::BadRequest(format!("invalid message: {err}"));
                self.send(&err.ws_frame().to_string());
            }
        }
    }

    fn protocol_error(&self, err: &dyn std::fmt::Display, ctx: &mut Context<Self>) {
        log::debug!(connection_id = self.public_id.as_str(); "connection {}: protocol error: {err}", self.public_id);
        self.close(transport::CLOSE_PROTOCOL, "protocol error", ctx);
    }

    fn heartbeat(&mut self, ctx: &mut Context<Self>) {
        if self.last_seen.elapsed() > self.limits.timeout {
            log::debug!(connection_id = self.public_id.as_str(); "connection {}: client timed out", self.public_id);
            return self.close(transport::CLOSE_GOING_AWAY, "client timeout", ctx);
        }
        self.send(&protocol::heartbeat(
            self.stats.cluster_connections(),
            now_ms(),
        ));
        let _ = self.outbox.push(frames::ping_frame(b""));
    }
}

impl Actor for Connection {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        self.stats.connection_opened(self.dialect);
        log::debug!(
            connection_id = self.public_id.as_str(), dialect = self.dialect.name();
            "connection {} opened", self.public_id
        );
        self.registry.do_send(registry::Connect {
            id: self.id,
            user_id: self.identity.user_id.clone(),
            token_hash: self.identity.token_hash.clone(),
            addr: ctx.address().recipient(),
        });
        if self.dialect == Dialect::Native {
            let heartbeat_ms = self.limits.heartbeat.as_millis() as u64;
            self.send(&protocol::welcome(&self.public_id, heartbeat_ms));
        }
        for room in std::mem::take(&mut self.auto) {
            self.subscribe(room.as_str(), None, ctx);
        }
        ctx.run_interval(self.limits.heartbeat, |act, ctx| act.heartbeat(ctx));
    }

    fn stopped(&mut self, _: &mut Self::Context) {
        for room in self.rooms.drain() {
            self.registry.do_send(registry::Leave {
                room,
                conn_id: self.id,
                reply: None,
            });
        }
        self.registry.do_send(registry::Disconnect { id: self.id });
        self.stats.connection_closed(self.dialect);
        log::debug!(connection_id = self.public_id.as_str(); "connection {} closed", self.public_id);
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

impl Handler<Close> for Connection {
    type Result = ();

    fn handle(&mut self, msg: Close, ctx: &mut Self::Context) {
        self.close(msg.code, msg.reason, ctx);
    }
}

impl Handler<RoomEvicted> for Connection {
    type Result = ();

    fn handle(&mut self, msg: RoomEvicted, ctx: &mut Self::Context) {
        self.rooms.evicted(&msg.room, msg.generation);
        if msg.slow {
            ctx.stop();
        }
    }
}

impl StreamHandler<Result<Frame, ProtocolError>> for Connection {
    fn handle(&mut self, msg: Result<Frame, ProtocolError>, ctx: &mut Self::Context) {
        self.last_seen = Instant::now();
        match msg {
            Ok(Frame::Text(bytes)) => match std::str::from_utf8(&bytes) {
                Ok(text) => self.on_text(text, ctx),
                Err(err) => self.protocol_error(&err, ctx),
            },
            Ok(Frame::Ping(payload)) => {
                let _ = self.outbox.push(frames::pong_frame(&payload));
            }
            Ok(Frame::Pong(_)) => {}
            Ok(Frame::Binary(_)) | Ok(Frame::Continuation(_)) => {
                let err = AppError::BadRequest("only JSON text frames are accepted".into());
                self.send(&err.ws_frame().to_string());
            }
            Ok(Frame::Close(_)) => self.close(transport::CLOSE_NORMAL, "", ctx),
            Err(ProtocolError::Overflow) => {
                self.close(transport::CLOSE_TOO_BIG, "frame too big", ctx)
            }
            Err(err) => self.protocol_error(&err, ctx),
        }
    }

    fn finished(&mut self, ctx: &mut Self::Context) {
        ctx.stop();
    }
}
