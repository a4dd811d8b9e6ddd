//! `/socket.io/`: the HTTP side of Engine.IO v4. A GET is a handshake, a
//! poll or a WebSocket; a POST carries the client's packets. This checks the
//! query, the session's owner and the caps, then hands over to the
//! transports (`socketio::transport`) and the session actor
//! ([`SioSession`]).

use super::{extract, AppState};
use crate::actors::client::Limits;
use crate::error::AppError;
use crate::socketio::codec::SEPARATOR;
use crate::socketio::session::{Gone, Opening, Packet, SioEnv, SioSession};
use crate::socketio::transport::{poll, websocket, Binding, Handle, PollGuard};
use actix_web::{web, HttpRequest, HttpResponse};
use bytes::BytesMut;
use futures::StreamExt;
use serde::Deserialize;
use std::sync::atomic::Ordering;
use std::time::Duration;

/// Most packets one POST may carry; more is 400 and none is delivered.
/// Clients send what they queued since their last POST, which the rate
/// limit (`ws.max_messages_per_second`) keeps well under this.
pub const MAX_PACKETS_PER_POST: usize = 100;

/// The query every Engine.IO request carries.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EioQuery {
    /// The Engine.IO version: `4` (anything else is refused).
    #[serde(rename = "EIO")]
    #[param(required = true, nullable = false, pattern = "^4$")]
    eio: Option<String>,
    /// `polling` or `websocket`.
    #[param(required = true, nullable = false, pattern = "^(polling|websocket)$")]
    transport: Option<String>,
    /// The Engine.IO session, after the handshake.
    sid: Option<String>,
    /// The token (or in the CONNECT packet's `auth`).
    token: Option<String>,
}

/// An Engine.IO error answer: HTTP 400 with `{code, message}` (its codes:
/// 0 unknown transport, 1 unknown session, 3 bad request, 5 unsupported
/// protocol version).
fn refuse(code: u8, message: &str) -> HttpResponse {
    HttpResponse::BadRequest().json(serde_json::json!({"code": code, "message": message}))
}

fn env(state: &AppState) -> SioEnv {
    let ws = &state.settings.ws;
    SioEnv {
        registry: state.registry.clone(),
        stats: state.stats.clone(),
        auth: state.auth.clone(),
        sessions: state.sio.clone(),
        limits: Limits {
            heartbeat: Duration::from_millis(ws.heartbeat_interval_ms),
            timeout: Duration::from_millis(ws.client_timeout_ms),
            max_rooms: ws.max_rooms_per_connection,
            max_messages_per_second: ws.max_messages_per_second,
        },
        max_payload: state.settings.server.max_body_bytes,
        outbound_buffer_bytes: ws.outbound_buffer_bytes,
        connect_timeout: Duration::from_millis(ws.connect_timeout_ms),
    }
}

/// Who a request comes from, as a session is bound to it: the token it
/// carries (`Authorization: Bearer` or `?token=`) when auth is required,
/// else its peer address.
fn binding(state: &AppState, req: &HttpRequest, query_token: Option<&str>) -> Binding {
    match extract::bearer(req).or(query_token) {
        Some(token) if state.auth.required() => Binding::Token(crate::auth::hash_token(token)),
        _ => Binding::Peer(req.peer_addr().map(|a| a.ip())),
    }
}

/// The session `sid` if the request comes from whoever opened it; someone
/// else's session is as unknown to it as a sid that never existed.
fn owned(state: &AppState, req: &HttpRequest, sid: &str, token: Option<&str>) -> Option<Handle> {
    let handle = state.sio.get(sid)?;
    if handle.binding == binding(state, req, token) {
        Some(handle)
    } else {
        log::debug!("socket.io session {sid}: a request with other credentials is refused");
        None
    }
}

/// A new session for the handshake `req`, or `rate_limited` (429) past the
/// connection caps.
fn open(
    state: &AppState,
    req: &HttpRequest,
    token: Option<String>,
    websocket: bool,
) -> Result<Handle, AppError> {
    let admission = super::ws::admit(state, req)?;
    let opening = Opening {
        binding: binding(state, req, token.as_deref()),
        query_token: token,
        admission,
    };
    Ok(SioSession::open(env(state), opening, websocket).1)
}

/// The longest a poll waits: one heartbeat, by which time a ping is queued anyway.
fn poll_limit(state: &AppState) -> Duration {
    Duration::from_millis(state.settings.ws.heartbeat_interval_ms)
}

/// `GET /socket.io/`: a handshake, a poll, or a WebSocket.
#[utoipa::path(
    get, path = "/socket.io/", tag = "sockets",
    security(()),
    params(EioQuery),
    responses(
        (status = 200, description = "An Engine.IO payload (polling)", content_type = "text/plain", body = String),
        (status = 101, description = "Switched to a WebSocket (`transport=websocket`)"),
        (status = 400, description = "An Engine.IO refusal, or a malformed query string (herald's error body)", body = super::openapi::schemas::SocketIoRefusal),
        (status = 403, response = super::openapi::errors::Forbidden),
        (status = 429, response = super::openapi::errors::RateLimited),
    )
)]
pub async fn get(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
    query: web::Query<EioQuery>,
) -> HttpResponse {
    let q = query.into_inner();
    if q.eio.as_deref() != Some("4") {
        return refuse(5, "Unsupported protocol version: herald speaks Engine.IO 4");
    }
    let token = q.token.as_deref();
    match (q.transport.as_deref(), q.sid.as_deref()) {
        (Some("polling"), None) => match open(&state, &req, q.token, false) {
            Ok(handle) => poll(&handle, poll_limit(&state)).await,
            Err(refused) => actix_web::ResponseError::error_response(&refused),
        },
        (Some("polling"), Some(sid)) => match owned(&state, &req, sid, token) {
            None => refuse(1, "Session ID unknown"),
            Some(handle) if handle.upgraded.load(Ordering::SeqCst) => {
                refuse(3, "Bad request: the session moved to a WebSocket")
            }
            Some(handle) if handle.polling.swap(true, Ordering::SeqCst) => {
                // Two polls at once break the ordering: the session ends.
                handle.addr.do_send(Gone { close: None });
                refuse(3, "Bad request: overlapping polls")
            }
            Some(handle) => {
                let _guard = PollGuard(handle.polling.clone());
                poll(&handle, poll_limit(&state)).await
            }
        },
        (Some("websocket"), sid) => {
            // A session is made only for a handshake that checks out.
            let response = match actix_web_actors::ws::handshake(&req) {
                Ok(response) => response,
                Err(e) => return refuse(3, &format!("Bad request: websocket: {e}")),
            };
            let handle = match sid {
                None => match open(&state, &req, q.token, true) {
                    Ok(handle) => handle,
                    Err(refused) => return actix_web::ResponseError::error_response(&refused),
                },
                Some(sid) => match owned(&state, &req, sid, token) {
                    // One WebSocket per session: a second probe is refused.
                    Some(handle) if handle.upgraded.load(Ordering::SeqCst) => {
                        return refuse(3, "Bad request: the session already has a WebSocket")
                    }
                    Some(handle) if handle.probing.swap(true, Ordering::SeqCst) => {
                        return refuse(3, "Bad request: the session is already probing")
                    }
                    Some(handle) => handle,
                    None => return refuse(1, "Session ID unknown"),
                },
            };
            let ws = &state.settings.ws;
            websocket(
                response,
                payload,
                handle,
                ws.outbound_buffer_bytes,
                ws.max_frame_bytes,
            )
        }
        _ => refuse(0, "Transport unknown"),
    }
}

/// `POST /socket.io/?sid=`: the client's packets, separated by the record
/// separator. Over `server.max_body_bytes` the session ends (413); over
/// [`MAX_PACKETS_PER_POST`] packets the POST is refused (400), the session kept.
#[utoipa::path(
    post, path = "/socket.io/", tag = "sockets",
    security(()),
    params(EioQuery),
    request_body(content = String, content_type = "text/plain", description = "Engine.IO packets, separated by the record separator"),
    responses(
        (status = 200, description = "`ok`", content_type = "text/html", body = String),
        (status = 400, description = "An Engine.IO refusal, or a malformed query string (herald's error body)", body = super::openapi::schemas::SocketIoRefusal),
        (status = 403, response = super::openapi::errors::Forbidden),
        (status = 413, response = super::openapi::errors::PayloadTooLarge),
    )
)]
pub async fn post(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: web::Query<EioQuery>,
    mut payload: web::Payload,
) -> HttpResponse {
    let q = query.into_inner();
    let token = q.token.as_deref();
    let Some(handle) = q
        .sid
        .as_deref()
        .and_then(|sid| owned(&state, &req, sid, token))
    else {
        return refuse(1, "Session ID unknown");
    };
    let limit = state.settings.server.max_body_bytes;
    let mut body = BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let Ok(chunk) = chunk else {
            return refuse(3, "Bad request: body");
        };
        if body.len() + chunk.len() > limit {
            handle.addr.do_send(Gone { close: None });
            let err = AppError::PayloadTooLarge(format!("payload over {limit} bytes"));
            return actix_web::ResponseError::error_response(&err);
        }
        body.extend_from_slice(&chunk);
    }
    let Ok(text) = std::str::from_utf8(&body) else {
        return refuse(3, "Bad request: payload is not UTF-8");
    };
    let packets: Vec<&str> = text.split(SEPARATOR).filter(|p| !p.is_empty()).collect();
    if packets.len() > MAX_PACKETS_PER_POST {
        return refuse(
            3,
            &format!("Bad request: at most {MAX_PACKETS_PER_POST} packets per POST"),
        );
    }
    for packet in packets {
        handle.addr.do_send(Packet {
            text: packet.to_string(),
            link: None,
        });
    }
    HttpResponse::Ok()
        .content_type("text/html; charset=UTF-8")
        .body("ok")
}
