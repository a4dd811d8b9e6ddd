//! The connection actor: one per native WebSocket (`/ws`, and the
//! single-room dialects of `/ws/sessions/{id}` and `/ws/broadcasts`). It
//! reads the client's frames, answers pings, sends heartbeats and `welcome`;
//! the rooms, identity, outbox and limits it shares with the Socket.IO
//! session live in its [`ClientCore`]. Bad input never kills it: it answers
//! with an `error` frame. It does not hold events; rooms push their frames
//! straight into the outbox.

use crate::access::Identity;
use crate::actors::client::{ClientCore, Close, Limits, RoomEvicted};
use crate::actors::registry::Registry;
use crate::error::AppError;
use crate::frames;
use crate::protocol::{self, Answer, ClientMessage, Dialect};
use crate::stats::{Admission, Stats};
use crate::time::now_ms;
use crate::transport::{self, Outbox};
use crate::types::RoomName;
use actix::prelude::*;
use actix_http::ws::{Frame, ProtocolError};
use std::sync::Arc;

/// One native WebSocket.
pub struct Connection {
    /// What every client connection has: rooms, identity, outbox, limits.
    core: ClientCore,
    /// The id the client is told in `welcome` and logs show (the numeric
    /// id of the core stays internal).
    public_id: String,
    /// Rooms joined on connect (`?projectId=`, `?sessionId=`, or the room of
    /// a single-room dialect); taken when it starts.
    auto: Vec<RoomName>,
    /// How rooms render frames for this socket, and which messages it takes.
    dialect: Dialect,
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
            core: ClientCore::new(outbox, registry, stats, limits, dialect, Some(identity)),
            public_id: crate::types::new_id(),
            auto,
            dialect,
        }
    }

    /// Holds `admission` (the connection caps) until the connection stops.
    pub fn admitted(mut self, admission: Admission) -> Self {
        self.core = self.core.admitted(admission);
        self
    }

    fn send(&self, text: &str) {
        self.core.send(text);
    }

    /// An `error` frame that is about no room.
    fn error(&self, err: &AppError) {
        self.core.error(Answer::plain(Dialect::Native), err, None);
    }

    fn close(&self, code: u16, reason: &str, ctx: &mut Context<Self>) {
        self.core.close(code, reason);
        ctx.stop();
    }

    fn subscribe(&mut self, room: &str, since: Option<i64>, ctx: &mut Context<Self>) {
        let room = match RoomName::parse(room) {
            Ok(room) => room,
            Err(err) => return self.error(&err),
        };
        if since.is_some_and(|s| s < 0) {
            return self.error(&AppError::BadRequest("since must be 0 or more".into()));
        }
        let evictions = ctx.address().recipient();
        if let Err(err) = self.core.subscribe(room.clone(), since, None, evictions) {
            let answer = Answer::plain(Dialect::Native);
            self.core.error(answer, &err, Some(&room));
        }
    }

    fn unsubscribe(&mut self, room: &str) {
        match RoomName::parse(room) {
            Ok(room) => self.core.unsubscribe(room, Answer::plain(self.dialect)),
            Err(err) => self.error(&err),
        }
    }

    fn on_text(&mut self, text: &str, ctx: &mut Context<Self>) {
        if !self.core.take() {
            return self.error(&self.core.rate_limited("messages"));
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
                self.error(&AppError::BadRequest("this socket carries one room".into()));
            }
            Ok(ClientMessage::Subscribe { room, since }) => self.subscribe(&room, since, ctx),
            Ok(ClientMessage::Unsubscribe { room }) => self.unsubscribe(&room),
            Err(err) => self.error(&AppError::BadRequest(format!("invalid message: {err}"))),
        }
    }

    fn protocol_error(&self, err: &dyn std::fmt::Display, ctx: &mut Context<Self>) {
        log::debug!(connection_id = self.public_id.as_str(); "connection {}: protocol error: {err}", self.public_id);
        self.close(transport::CLOSE_PROTOCOL, "protocol error", ctx);
    }

    fn heartbeat(&mut self, ctx: &mut Context<Self>) {
        if self.core.timed_out() {
            log::debug!(connection_id = self.public_id.as_str(); "connection {}: client timed out", self.public_id);
            return self.close(transport::CLOSE_GOING_AWAY, "client timeout", ctx);
        }
        let connections = self.core.stats().cluster_connections();
        self.send(&protocol::heartbeat(connections, now_ms()));
        let _ = self.core.outbox().push(frames::ping_frame(b""));
    }
}

impl Actor for Connection {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        self.core.started(&self.public_id);
        if let Some(identity) = self.core.identity().cloned() {
            self.core.identified(identity, ctx.address().recipient());
        }
        let heartbeat = self.core.limits().heartbeat;
        if self.dialect == Dialect::Native {
            let heartbeat_ms = heartbeat.as_millis() as u64;
            self.send(&protocol::welcome(&self.public_id, heartbeat_ms));
        }
        for room in std::mem::take(&mut self.auto) {
            self.subscribe(room.as_str(), None, ctx);
        }
        ctx.run_interval(heartbeat, |act, ctx| act.heartbeat(ctx));
    }

    fn stopped(&mut self, _: &mut Self::Context) {
        self.core.stopped(&self.public_id);
    }
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
        if self.core.evicted(&msg) {
            ctx.stop();
        }
    }
}

impl StreamHandler<Result<Frame, ProtocolError>> for Connection {
    fn handle(&mut self, msg: Result<Frame, ProtocolError>, ctx: &mut Self::Context) {
        self.core.seen();
        match msg {
            Ok(Frame::Text(bytes)) => match std::str::from_utf8(&bytes) {
                Ok(text) => self.on_text(text, ctx),
                Err(err) => self.protocol_error(&err, ctx),
            },
            Ok(Frame::Ping(payload)) => {
                let _ = self.core.outbox().push(frames::pong_frame(&payload));
            }
            Ok(Frame::Pong(_)) => {}
            Ok(Frame::Binary(_)) | Ok(Frame::Continuation(_)) => {
                self.error(&AppError::BadRequest(
                    "only JSON text frames are accepted".into(),
                ));
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
