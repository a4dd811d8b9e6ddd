//! The Socket.IO session actor: one per Engine.IO session (`/socket.io/`),
//! a connection like the native one (same rooms, same counters), whatever
//! transport carries it. Packets arrive from the transports (`Packet`);
//! everything herald sends goes into the session's outbox as WebSocket
//! frames, which the WebSocket transport writes as they are and the polling
//! transport unwraps into a payload.
//!
//! It owns the Engine.IO heartbeat (a `2` ping every `ws.heartbeat_interval_ms`,
//! dropped when silent for `ws.client_timeout_ms`), the Socket.IO namespace
//! connection (the token from the `auth` payload or `?token=`), the rooms
//! joined through `subscribe`, and the `heartbeat` event.

use crate::access::Identity;
use crate::actors::connection::{self, Joined, Limits, RoomEvicted};
use crate::actors::registry::{self, Registry};
use crate::actors::room::{Reply, Subscriber};
use crate::auth::{Auth, Bucket};
use crate::engineio::{self, EngineIn, SocketIn};
use crate::error::AppError;
use crate::protocol::{self, Answer, Dialect};
use crate::stats::{Admission, Stats};
use crate::time::{now_ms, rfc3339};
use crate::transport::{self, Outbox};
use crate::types::{validate_id, RoomName};
use actix::prelude::*;
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A live session as the transports find it by its sid.
#[derive(Clone)]
pub struct Handle {
    /// The actor.
    pub addr: Addr<SioSession>,
    /// Its outbox (drained by a poll, or by the WebSocket once upgraded).
    pub outbox: Arc<Outbox>,
    /// Set once the session moved to a WebSocket: polls are refused.
    pub upgraded: Arc<AtomicBool>,
    /// A poll is waiting: a second one at the same time is refused.
    pub polling: Arc<AtomicBool>,
    /// A WebSocket is probing to take the session over: a second one at the
    /// same time is refused (each would be a socket outside the caps).
    pub probing: Arc<AtomicBool>,
    /// Who opened it: a poll, POST or upgrade must come from the same.
    pub binding: Binding,
}

/// What ties a session to the client that opened it (DESIGN §10): a request
/// for its sid that does not match is answered as for an unknown sid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Binding {
    /// The SHA-256 of the token its handshake carried (auth required).
    Token(String),
    /// The peer address of its handshake (auth off, or no token).
    Peer(Option<IpAddr>),
}

/// What the handshake request brings to a new session.
pub struct Opening {
    /// `?token=` of the handshake, used when CONNECT has no `auth`.
    pub query_token: Option<String>,
    /// Who opened it.
    pub binding: Binding,
    /// Its place under the connection caps.
    pub admission: Admission,
}

/// Sessions by sid, shared by the HTTP workers.
#[derive(Default)]
pub struct Sessions {
    map: Mutex<HashMap<String, Handle>>,
}

impl Sessions {
    /// The session with this sid.
    pub fn get(&self, sid: &str) -> Option<Handle> {
        self.map.lock().ok()?.get(sid).cloned()
    }

    fn insert(&self, sid: &str, handle: Handle) {
        if let Ok(mut map) = self.map.lock() {
            map.insert(sid.to_string(), handle);
        }
    }

    fn remove(&self, sid: &str) {
        if let Ok(mut map) = self.map.lock() {
            map.remove(sid);
        }
    }
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
    sid: String,
    id: u64,
    env: SioEnv,
    outbox: Arc<Outbox>,
    upgraded: Arc<AtomicBool>,
    /// The WebSocket that carries (or is probing to carry) the session.
    ws: Option<Arc<Outbox>>,
    /// `?token=` of the handshake request, used when CONNECT has no `auth`.
    query_token: Option<String>,
    /// Set once the client joined the namespace.
    identity: Option<Arc<Identity>>,
    rooms: Joined,
    last_seen: Instant,
    /// Every packet but `5` and `1` takes from it (`ws.max_messages_per_second`).
    bucket: Bucket,
    /// The client was told it is rate limited, and has not been let through since.
    limited: bool,
    /// A CONNECT to `/` arrived: later ones are ignored, so the identity
    /// is resolved once and never changes.
    connect_seen: bool,
    /// Events that came after CONNECT but before its token was checked:
    /// handled, in order, once it is (a client may send its first
    /// `subscribe` without waiting for the CONNECT answer).
    early: Vec<Early>,
    /// Its place under the connection caps, given back when it stops.
    admission: Option<Admission>,
}

/// An event that waits for its session's CONNECT to be checked.
struct Early {
    namespace: String,
    ack: Option<u64>,
    name: String,
    args: Vec<Value>,
}

/// Most events kept while a CONNECT is being checked; more are refused.
const MAX_EARLY_EVENTS: usize = 100;

impl SioSession {
    /// Starts a session, registers its sid and queues the `open` packet.
    /// `websocket` is true for a session opened on a WebSocket directly.
    pub fn open(env: SioEnv, opening: Opening, websocket: bool) -> (String, Handle) {
        let sid = crate::types::new_id().replace('-', "");
        let outbox = Outbox::new(env.outbound_buffer_bytes);
        let upgraded = Arc::new(AtomicBool::new(websocket));
        let ping_interval = env.limits.heartbeat.as_millis() as u64;
        let ping_timeout = env.limits.timeout.as_millis() as u64 - ping_interval;
        let _ = outbox.push_text(&engineio::open(
            &sid,
            websocket,
            ping_interval,
            ping_timeout,
            env.max_payload,
        ));
        let session = SioSession {
            sid: sid.clone(),
            id: connection::next_id(),
            bucket: Bucket::new(env.limits.max_messages_per_second),
            env: env.clone(),
            outbox: outbox.clone(),
            upgraded: upgraded.clone(),
            ws: None,
            query_token: opening.query_token,
            identity: None,
            rooms: Joined::default(),
            last_seen: Instant::now(),
            limited: false,
            connect_seen: false,
            early: Vec::new(),
            admission: Some(opening.admission),
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
        // A refused push means the session is closing; nothing more to do.
        let _ = self.outbox.push_text(packet);
    }

    fn error(&self, err: &AppError, ack: Option<u64>) {
        let answer = Answer {
            dialect: Dialect::SocketIo,
            ack,
        };
        self.send(&protocol::error_frame(answer, err, None));
    }

    fn on_engine(&mut self, text: &str, link: Option<WsLink>, ctx: &mut Context<Self>) {
        let packet = engineio::engine_packet(text);
        // Like native frames, every packet counts, but the two that end a
        // transport: refusing them would only keep a client around longer.
        let counted = !matches!(packet, Ok(EngineIn::Upgrade) | Ok(EngineIn::Close));
        if counted && !self.bucket.take(Instant::now()) {
            if !std::mem::replace(&mut self.limited, true) {
                let err = AppError::RateLimited(format!(
                    "at most {} packets per second",
                    self.env.limits.max_messages_per_second
                ));
                self.error(&err, None);
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
                    self.send(engineio::NOOP);
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
            Ok(EngineIn::Binary) => self.error(&binary_refused(), None),
            Err(err) => self.error(&err, None),
        }
    }

    fn on_socket(&mut self, packet: &str, ctx: &mut Context<Self>) {
        match engineio::socket_packet(packet) {
            Ok(SocketIn::Connect { namespace, auth }) => self.connect(namespace, auth, ctx),
            Ok(SocketIn::Disconnect) => self.leave_all(),
            Ok(SocketIn::Event {
                namespace,
                ack,
                name,
                args,
            }) => self.on_event(&namespace, ack, &name, args, ctx),
            Ok(SocketIn::Ack) => {}
            Ok(SocketIn::Binary { ack }) => self.error(&binary_refused(), ack),
            Err(err) => self.error(&err, None),
        }
    }

    /// Joins the namespace once the token checks out (asynchronously).
    fn connect(&mut self, namespace: String, auth: Option<Value>, ctx: &mut Context<Self>) {
        if namespace != "/" {
            return self.send(&engineio::connect_error(&namespace, "Invalid namespace"));
        }
        if std::mem::replace(&mut self.connect_seen, true) {
            log::debug!(
                "socket.io session {}: a repeated CONNECT is ignored",
                self.sid
            );
            return;
        }
        let token = auth
            .as_ref()
            .and_then(|a| a.get("token"))
            .and_then(Value::as_str)
            .map(str::to_string)
            .or_else(|| self.query_token.clone());
        let auth = self.env.auth.clone();
        let check = async move { auth.identify(token.as_deref()).await };
        ctx.spawn(check.into_actor(self).map(|result, act, ctx| match result {
            Ok(identity) => {
                if act.identity.is_none() {
                    act.env.registry.do_send(registry::Connect {
                        id: act.id,
                        user_id: identity.user_id.clone(),
                        token_hash: identity.token_hash.clone(),
                        addr: ctx.address().recipient(),
                    });
                }
                act.identity = Some(identity);
                act.send(&engineio::connected(&act.sid));
                for early in std::mem::take(&mut act.early) {
                    act.on_event(&early.namespace, early.ack, &early.name, early.args, ctx);
                }
            }
            Err(_) => {
                act.send(&engineio::connect_error("/", "unauthorized"));
                for early in std::mem::take(&mut act.early) {
                    act.send(&engineio::connect_error(&early.namespace, "not connected"));
                }
            }
        }));
    }

    fn on_event(
        &mut self,
        namespace: &str,
        ack: Option<u64>,
        name: &str,
        args: Vec<Value>,
        ctx: &mut Context<Self>,
    ) {
        if namespace == "/" && self.identity.is_none() && self.connect_seen {
            if self.early.len() < MAX_EARLY_EVENTS {
                self.early.push(Early {
                    namespace: namespace.to_string(),
                    ack,
                    name: name.to_string(),
                    args,
                });
                return;
            }
            return self.error(
                &AppError::RateLimited("too many events before CONNECT was answered".into()),
                ack,
            );
        }
        if namespace != "/" || self.identity.is_none() {
            return self.send(&engineio::connect_error(namespace, "not connected"));
        }
        let data = args.into_iter().next().unwrap_or(Value::Null);
        let result = match name {
            "subscribe" => target(&data).and_then(|room| self.subscribe(room, &data, ack, ctx)),
            "unsubscribe" => target(&data).map(|room| self.unsubscribe(room, ack)),
            other => Err(AppError::BadRequest(format!(
                "unknown event {other:?}: expected subscribe or unsubscribe"
            ))),
        };
        if let Err(err) = result {
            self.error(&err, ack);
        }
    }

    fn subscribe(
        &mut self,
        room: RoomName,
        data: &Value,
        ack: Option<u64>,
        ctx: &mut Context<Self>,
    ) -> Result<(), AppError> {
        let since = match data.get("since") {
            None | Some(Value::Null) => None,
            Some(v) => Some(v.as_i64().filter(|s| *s >= 0).ok_or_else(|| {
                AppError::BadRequest("since must be an integer, 0 or more".into())
            })?),
        };
        let Some(identity) = self.identity.clone() else {
            return Err(AppError::Unauthorized("not connected".into()));
        };
        let generation = self.rooms.join(&room, self.env.limits.max_rooms)?;
        self.env.registry.do_send(registry::Join {
            room,
            sub: Subscriber {
                conn_id: self.id,
                outbox: self.outbox.clone(),
                conn: ctx.address().recipient(),
                generation,
                dialect: Dialect::SocketIo,
                identity,
                ack,
            },
            since,
        });
        Ok(())
    }

    fn unsubscribe(&mut self, room: RoomName, ack: Option<u64>) {
        self.rooms.leave(&room);
        self.env.registry.do_send(registry::Leave {
            room,
            conn_id: self.id,
            reply: Some(Reply {
                outbox: self.outbox.clone(),
                answer: Answer {
                    dialect: Dialect::SocketIo,
                    ack,
                },
            }),
        });
    }

    fn leave_all(&mut self) {
        for room in self.rooms.drain() {
            self.env.registry.do_send(registry::Leave {
                room,
                conn_id: self.id,
                reply: None,
            });
        }
    }

    fn heartbeat(&mut self, ctx: &mut Context<Self>) {
        if self.last_seen.elapsed() > self.env.limits.timeout {
            log::debug!(connection_id = self.sid.as_str(); "socket.io session {}: client timed out", self.sid);
            self.outbox
                .close(transport::CLOSE_GOING_AWAY, "client timeout");
            return ctx.stop();
        }
        self.send(engineio::PING);
        if self.identity.is_some() {
            let rooms: Map<String, Value> = self
                .rooms
                .names()
                .map(|r| (r.to_string(), json!(self.env.stats.room(r.as_str()))))
                .collect();
            let data = json!({"connections": self.env.stats.cluster_connections(),
                              "room_connections": rooms, "ts": rfc3339(now_ms())});
            self.send(&engineio::event("heartbeat", &data.to_string()));
        }
    }
}

/// The room a `subscribe`/`unsubscribe` names: `{room}`, `{project_id}` or `{session_id}`.
fn target(data: &Value) -> Result<RoomName, AppError> {
    let field = |name: &str| data.get(name).and_then(Value::as_str);
    let bad = |e: AppError| AppError::BadRequest(e.message().to_string());
    if let Some(room) = field("room") {
        RoomName::parse(room).map_err(bad)
    } else if let Some(id) = field("project_id") {
        validate_id("project_id", id).map_err(bad)?;
        Ok(RoomName::project(id))
    } else if let Some(id) = field("session_id") {
        validate_id("session_id", id).map_err(bad)?;
        Ok(RoomName::session(id))
    } else {
        Err(AppError::BadRequest(
            "expected {room}, {project_id} or {session_id}".into(),
        ))
    }
}

fn binary_refused() -> AppError {
    AppError::BadRequest("binary attachments are not supported; send JSON".into())
}

impl Actor for SioSession {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        self.env.stats.connection_opened(Dialect::SocketIo);
        ctx.run_interval(self.env.limits.heartbeat, |act, ctx| act.heartbeat(ctx));
        ctx.run_later(self.env.connect_timeout, |act, ctx| {
            if act.identity.is_none() {
                log::debug!(connection_id = act.sid.as_str(); "socket.io session {}: no CONNECT in time", act.sid);
                act.outbox
                    .close(transport::CLOSE_PROTOCOL, "no CONNECT in time");
                ctx.stop();
            }
        });
    }

    fn stopped(&mut self, _: &mut Context<Self>) {
        self.leave_all();
        if self.identity.is_some() {
            self.env
                .registry
                .do_send(registry::Disconnect { id: self.id });
        }
        self.env.stats.connection_closed(Dialect::SocketIo);
        self.admission = None;
        self.env.sessions.remove(&self.sid);
        self.outbox.finish();
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
        self.last_seen = Instant::now();
        self.on_engine(&msg.text, msg.link, ctx);
    }
}

impl Handler<Gone> for SioSession {
    type Result = ();

    fn handle(&mut self, msg: Gone, ctx: &mut Context<Self>) {
        if let Some((code, reason)) = msg.close {
            self.outbox.close(code, reason);
        }
        ctx.stop();
    }
}

impl Handler<RoomEvicted> for SioSession {
    type Result = ();

    fn handle(&mut self, msg: RoomEvicted, ctx: &mut Context<Self>) {
        self.rooms.evicted(&msg.room, msg.generation);
        if msg.slow {
            ctx.stop();
        }
    }
}

impl Handler<connection::Close> for SioSession {
    type Result = ();

    fn handle(&mut self, msg: connection::Close, ctx: &mut Context<Self>) {
        self.outbox.close(msg.code, msg.reason);
        ctx.stop();
    }
}
