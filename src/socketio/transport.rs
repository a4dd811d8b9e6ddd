//! The Engine.IO v4 transports of a session: long-polling (a GET waits for
//! what the session has queued and answers it as one payload) and WebSocket
//! (opened directly, or as an upgrade of a polling session after the
//! `2probe`/`3probe`/`5` exchange), and the sid map they find sessions in.
//! They only move packets: the session is the [`SioSession`] actor, the
//! HTTP routes are `http::socketio`.

use super::codec::{self, SEPARATOR};
use super::session::{Gone, Packet, SioSession, WsLink};
use crate::frames::{self, Frames};
use crate::transport::{Outbox, OutboxStream, CLOSE_PROTOCOL, CLOSE_TOO_BIG};
use actix::Addr;
use actix_http::ws::{Frame, OpCode, ProtocolError};
use actix_web::{web, HttpResponse};
use futures::{Stream, StreamExt};
use std::collections::HashMap;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

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

    /// Registers a new session.
    pub(super) fn insert(&self, sid: &str, handle: Handle) {
        if let Ok(mut map) = self.map.lock() {
            map.insert(sid.to_string(), handle);
        }
    }

    /// Forgets a session that stopped.
    pub(super) fn remove(&self, sid: &str) {
        if let Ok(mut map) = self.map.lock() {
            map.remove(sid);
        }
    }
}

/// Clears the session's "a poll is waiting" flag, also when the client
/// drops the request.
pub struct PollGuard(pub Arc<AtomicBool>);

impl Drop for PollGuard {
    fn drop(&mut self) {
        self.0.store(false, Ordering::SeqCst);
    }
}

/// Most packets in one poll answer, a close included: python-engineio
/// refuses a payload of more than 16 packets ("Too many packets in payload")
/// and drops the connection. What is left waits for the next poll, which the
/// client sends at once.
const MAX_POLL_PACKETS: usize = 16;

/// Waits for what the session has queued (at most `limit`, then a `6` noop:
/// a poll left open across an upgrade still returns) and answers it as one
/// payload of at most [`MAX_POLL_PACKETS`]; a close becomes the `1` packet.
pub async fn poll(handle: &Handle, limit: Duration) -> HttpResponse {
    let waited =
        actix_web::rt::time::timeout(limit, OutboxStream(handle.outbox.clone()).next()).await;
    let Ok(first) = waited else {
        return HttpResponse::Ok()
            .content_type("text/plain; charset=UTF-8")
            .body(codec::NOOP);
    };
    // The first packet is taken; room is kept for a close.
    let (rest, closing) = handle.outbox.drain(MAX_POLL_PACKETS - 2);
    let mut packets: Vec<String> = Vec::new();
    let mut closed = first.is_none();
    for frame in first.into_iter().filter_map(Result::ok).chain(rest) {
        match frames::unframe(&frame) {
            Some((OpCode::Text, text)) => packets.push(String::from_utf8_lossy(&text).into_owned()),
            Some((OpCode::Close, _)) => closed = true,
            _ => {}
        }
    }
    if closed || closing {
        packets.push(codec::CLOSE.to_string());
    }
    HttpResponse::Ok()
        .content_type("text/plain; charset=UTF-8")
        .body(packets.join(&SEPARATOR.to_string()))
}

/// Opens a WebSocket for `handle`: its own frames (`3probe`, pongs) first,
/// then, once the session moved to it, the session's outbox.
/// `budget` is `ws.outbound_buffer_bytes`, `max_frame` `ws.max_frame_bytes`.
pub fn websocket(
    mut response: actix_web::HttpResponseBuilder,
    payload: web::Payload,
    handle: Handle,
    budget: usize,
    max: usize,
) -> HttpResponse {
    let own = Outbox::new(budget);
    actix_web::rt::spawn(read(payload, handle.clone(), own.clone(), max));
    response.streaming(SessionStream {
        own: OutboxStream(own),
        session: OutboxStream(handle.outbox),
        upgraded: handle.upgraded,
        own_done: false,
    })
}

/// Reads a WebSocket's frames and hands each packet to the session.
async fn read(payload: web::Payload, handle: Handle, own: Arc<Outbox>, max: usize) {
    let mut frames = Frames::new(payload, max);
    let session: Addr<SioSession> = handle.addr.clone();
    let gone = |close: Option<(u16, &'static str)>| {
        own.finish();
        // A probing socket that closes leaves the polling session alone.
        if handle.upgraded.load(Ordering::SeqCst) {
            session.do_send(Gone { close });
        } else {
            handle.probing.store(false, Ordering::SeqCst);
        }
    };
    let mut alive = actix_web::rt::time::interval(PROBE_CHECK);
    loop {
        let next = tokio::select! {
            next = frames.next() => next,
            _ = alive.tick() => {
                // A probe whose session ended (it never took it over) ends too.
                if !session.connected() && !handle.upgraded.load(Ordering::SeqCst) {
                    return gone(None);
                }
                continue;
            }
        };
        let packet = match next {
            Some(Ok(Frame::Text(text))) => String::from_utf8_lossy(&text).into_owned(),
            // Refused by the session with a clear error.
            Some(Ok(Frame::Binary(_))) => "b".to_string(),
            Some(Ok(Frame::Ping(p))) => {
                let _ = own.push(frames::pong_frame(&p));
                continue;
            }
            Some(Ok(Frame::Pong(_))) => codec::NOOP.to_string(),
            // The connection broke (an I/O error is the payload's, never a frame's).
            Some(Ok(Frame::Close(_))) | Some(Err(ProtocolError::Io(_))) | None => {
                return gone(None)
            }
            Some(Ok(Frame::Continuation(_))) => {
                own.close(CLOSE_PROTOCOL, "fragmented frames are not supported");
                return gone(None);
            }
            Some(Err(ProtocolError::Overflow)) => {
                own.close(CLOSE_TOO_BIG, "frame too big");
                return gone(Some((CLOSE_TOO_BIG, "frame too big")));
            }
            Some(Err(_)) => {
                own.close(CLOSE_PROTOCOL, "protocol error");
                return gone(None);
            }
        };
        session.do_send(Packet {
            text: packet,
            link: Some(WsLink { own: own.clone() }),
        });
    }
}

/// How often a probing WebSocket checks that its session still exists.
const PROBE_CHECK: Duration = Duration::from_secs(1);

/// The body of a Socket.IO WebSocket: its own frames, then (once the session
/// moved to it) the session's, until the session's end, close frame included.
struct SessionStream {
    own: OutboxStream,
    session: OutboxStream,
    upgraded: Arc<AtomicBool>,
    /// The socket's own frames have all been written.
    own_done: bool,
}

impl Stream for SessionStream {
    type Item = Result<web::Bytes, actix_web::Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if !self.own_done {
            match Pin::new(&mut self.own).poll_next(cx) {
                Poll::Ready(Some(frame)) => return Poll::Ready(Some(frame)),
                Poll::Ready(None) => self.own_done = true,
                Poll::Pending => {}
            }
        }
        if self.upgraded.load(Ordering::SeqCst) {
            return Pin::new(&mut self.session).poll_next(cx);
        }
        if self.own_done {
            Poll::Ready(None)
        } else {
            Poll::Pending
        }
    }
}
