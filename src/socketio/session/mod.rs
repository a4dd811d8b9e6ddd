//! The Socket.IO session actor: one per Engine.IO session (`/socket.io/`),
//! a connection like the native one (its rooms, identity, outbox and limits
//! are a [`ClientCore`]), whatever transport carries it. Packets arrive from
//! the transports ([`Packet`]); everything herald sends goes into the
//! session's outbox as WebSocket frames, which the WebSocket transport
//! writes as they are and the polling transport unwraps into a payload.
//!
//! It owns the Engine.IO heartbeat (a `2` ping every `ws.heartbeat_interval_ms`,
//! dropped when silent for `ws.client_timeout_ms`), the Socket.IO namespace
//! connection (the token from the `auth` payload or `?token=`), the events
//! `subscribe` / `unsubscribe`, and the `heartbeat` event; the namespace
//! connection and its events are `namespace.rs`.

mod namespace;

use super::codec::{self, EngineIn, SocketIn};
use super::transport::{Binding, Handle, Sessions};
use crate::actors::client::{ClientCore, Close, Limits, RoomEvicted};
use crate::actors::registry::Registry;
use crate::auth::Auth;
use crate::error::AppError;
use crate::protocol::{Answer, Dialect};
use crate::stats::{Admission, Stats};
use crate::time::now_ms;
use crate::transport::{self, Outbox};
use actix::prelude::*;
use namespace::Early;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// What the handshake request brings to a new session.
pub struct Opening {
    /// `?token=` of the handshake, used when CONNECT has no `auth`.
    pub query_token: Option<String>,
    /// Who opened it.
    pub binding: Binding,
    /// Its place under the connection caps.
    pub admission: Admission,
}

/// What a session needs from the server.
#[derive(Clone)]
pub struct SioEnv {
    /// Rooms.
    pub registry: Addr<Registry>,
    /// Counters.
    pub stats: Arc<Stats>,
    /// Tokens.
    pub auth: Arc<Auth>,
    /// The sid map, to leave it when stopping.
    pub sessions: Arc<Sessions>,
    /// Heartbeat, timeout, room and message limits (`[ws]`).
    pub limits: Limits,
    /// Largest payload a client may send (`server.max_body_bytes`).
    pub max_payload: usize,
    /// Bytes queued for one session before it is closed (`ws.outbound_buffer_bytes`).
    pub outbound_buffer_bytes: usize,
    /// A session without CONNECT this long after its handshake is closed
    /// (`ws.connect_timeout_ms`).
    pub connect_timeout: Duration,
}

/// The WebSocket a packet came on, for the upgrade dance.
pub struct WsLink {
    /// Frames for that socket only (`3probe`, pongs) before it carries the session.
    pub own: Arc<Outbox>,
}

/// One Engine.IO session and its Socket.IO connection.
pub struct SioSession {
    /// What every client connection has: rooms, identity, outbox, limits.
    core: ClientCore,
    /// The Engine.IO session id: the transports find the session by it.
    sid: String,
    /// Tokens, checked on CONNECT.
    auth: Arc<Auth>,
    /// The sid map, left when the session stops.
    sessions: Arc<Sessions>,
    /// A session that never sends CONNECT is closed after this long.
    connect_timeout: Duration,
    /// Set once the session moved to a WebSocket (shared with its [`Handle`]).
    upgraded: Arc<AtomicBool>,
    /// The WebSocket that carries (or is probing to carry) the session.
    ws: Option<Arc<Outbox>>,
    /// `?token=` of the handshake request, used when CONNECT has no `auth`.
    query_token: Option<String>,
    /// The client was told it is rate limited, and has not been let through since.
    limited: bool,
    /// A CONNECT to `/` arrived: later ones are ignored, so the identity
    /// is resolved once and never changes.
    connect_seen: bool,
    /// Events that came after CONNECT but before its token was checked:
    /// handled, in order, once it is (a client may send its first
    /// `subscribe` without waiting for the CONNECT answer).
    early: Vec<Early>,
}

impl SioSession {
    /// Starts a session, registers its sid and queues the `open` packet.
    /// `websocket` is true for a session opened on a WebSocket directly.
    pub fn open(env: SioEnv, opening: Opening, websocket: bool) -> (String, Handle) {
        let sid = crate::types::new_id().replace('-', "");
        let outbox = Outbox::new(env.outbound_buffer_bytes);
        let upgraded = Arc::new(AtomicBool::new(websocket));
        let ping_interval = env.limits.heartbeat.as_millis() as u64;
        let ping_timeout = env.limits.timeout.as_millis() as u64 - ping_interval;
        let open = codec::open(
            &sid,
            websocket,
            ping_interval,
            ping_timeout,
            env.max_payload,
        );
        let _ = outbox.push_text(&open);
        let core = ClientCore::new(
            outbox.clone(),
            env.registry,
            env.stats,
            env.limits,
            Dialect::SocketIo,
            None,
        );
        let session = SioSession {
            core: core.admitted(opening.admission),
            sid: sid.clone(),
            auth: env.auth,
            sessions: env.sessions.clone(),
            connect_timeout: env.connect_timeout,
            upgraded: upgraded.clone(),
            ws: None,
            query_token: opening.query_token,
            limited: false,
            connect_seen: false,
            early: Vec::new(),
        };
        let handle = Handle {
            addr: session.start(),
            outbox,
            upgraded,
            polling: Arc::new(AtomicBool::new(false)),
            probing: Arc::new(AtomicBool::new(false)),
            binding: opening.binding,
        };
        env.sessions.insert(&sid, handle.clone());
        (sid, handle)
    }

    fn send(&self, packet: &str) {
        self.core.send(packet);
    }

    fn error(&self, err: &AppError, ack: Option<u64>) {
        let answer = Answer {
            dialect: Dialect::SocketIo,
            ack,
        };
        self.core.error(answer, err, None);
    }

    fn on_engine(&mut self, text: &str, link: Option<WsLink>, ctx: &mut Context<Self>) {
        let packet = codec::engine_packet(text);
        // Like native frames, every packet counts, but the two that end a
        // transport: refusing them would only keep a client around longer.
        let counted = !matches!(packet, Ok(EngineIn::Upgrade) | Ok(EngineIn::Close));
        if counted && !self.core.take() {
            if !std::mem::replace(&mut self.limited, true) {
                self.error(&self.core.rate_limited("packets"), None);
            }
            return;
        }
        self.limited = false;
        match packet {
            Ok(EngineIn::Ping("probe")) => {
                if let Some(link) = link {
                    let _ = link.own.push_text("3probe");
                    self.ws = Some(link.own);
                    // End a waiting poll so the client can finish the upgrade.
                    self.send(codec::NOOP);
                }
            }
            Ok(EngineIn::Ping(data)) => self.send(&format!("3{data}")),
            Ok(EngineIn::Pong) | Ok(EngineIn::Noop) => {}
            Ok(EngineIn::Upgrade) => {
                if let Some(link) = link {
                    self.upgraded.store(true, Ordering::SeqCst);
                    // The socket's reader now also drains the session outbox.
                    link.own.wake();
                    self.ws = Some(link.own);
                }
            }
            Ok(EngineIn::Close) => ctx.stop(),
            Ok(EngineIn::Message(packet)) => self.on_socket(packet, ctx),
            Ok(EngineIn::Binary) => self.error(&codec::binary_refused(), None),
            Err(err) => self.error(&err, None),
        }
    }

    fn on_socket(&mut self, packet: &str, ctx: &mut Context<Self>) {
        match codec::socket_packet(packet) {
            Ok(SocketIn::Connect { namespace, auth }) => self.connect(namespace, auth, ctx),
            Ok(SocketIn::Disconnect) => self.core.leave_all(),
            Ok(SocketIn::Event {
                namespace,
                ack,
                name,
                args,
            }) => self.on_event(&namespace, ack, &name, args, ctx),
            Ok(SocketIn::Ack) => {}
            Ok(SocketIn::Binary { ack }) => self.error(&codec::binary_refused(), ack),
            Err(err) => self.error(&err, None),
        }
    }

    fn heartbeat(&mut self, ctx: &mut Context<Self>) {
        if self.core.timed_out() {
            log::debug!(connection_id = self.sid.as_str(); "socket.io session {}: client timed out", self.sid);
            self.core
                .close(transport::CLOSE_GOING_AWAY, "client timeout");
            return ctx.stop();
        }
        self.send(codec::PING);
        if self.core.identity().is_some() {
            let stats = self.core.stats();
            let rooms: BTreeMap<&str, usize> = self
                .core
                .rooms()
                .map(|r| (r.as_str(), stats.room(r.as_str())))
                .collect();
            let connections = stats.cluster_connections();
            self.send(&codec::heartbeat(connections, &rooms, now_ms()));
        }
    }
}

impl Actor for SioSession {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        self.core.started(&self.sid);
        let heartbeat = self.core.limits().heartbeat;
        ctx.run_interval(heartbeat, |act, ctx| act.heartbeat(ctx));
        ctx.run_later(self.connect_timeout, |act, ctx| {
            if act.core.identity().is_none() {
                log::debug!(connection_id = act.sid.as_str(); "socket.io session {}: no CONNECT in time", act.sid);
                act.core
                    .close(transport::CLOSE_PROTOCOL, "no CONNECT in time");
                ctx.stop();
            }
        });
    }

    fn stopped(&mut self, _: &mut Context<Self>) {
        self.core.stopped(&self.sid);
        self.sessions.remove(&self.sid);
        if let Some(ws) = &self.ws {
            ws.finish();
        }
    }
}

/// Packets from a transport: one Engine.IO packet, and the WebSocket it came
/// on (`None` for a poll's POST).
#[derive(Message)]
#[rtype(result = "()")]
pub struct Packet {
    /// The packet's text.
    pub text: String,
    /// The WebSocket it arrived on.
    pub link: Option<WsLink>,
}

/// The transport failed or the client went away: end the session.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Gone {
    /// Close the session with this code first (for a WebSocket).
    pub close: Option<(u16, &'static str)>,
}

impl Handler<Packet> for SioSession {
    type Result = ();

    fn handle(&mut self, msg: Packet, ctx: &mut Context<Self>) {
        self.core.seen();
        self.on_engine(&msg.text, msg.link, ctx);
    }
}

impl Handler<Gone> for SioSession {
    type Result = ();

    fn handle(&mut self, msg: Gone, ctx: &mut Context<Self>) {
        if let Some((code, reason)) = msg.close {
            self.core.close(code, reason);
        }
        ctx.stop();
    }
}

impl Handler<RoomEvicted> for SioSession {
    type Result = ();

    fn handle(&mut self, msg: RoomEvicted, ctx: &mut Context<Self>) {
        if self.core.evicted(&msg) {
            ctx.stop();
        }
    }
}

impl Handler<Close> for SioSession {
    type Result = ();

    fn handle(&mut self, msg: Close, ctx: &mut Context<Self>) {
        self.core.close(msg.code, msg.reason);
        ctx.stop();
    }
}
