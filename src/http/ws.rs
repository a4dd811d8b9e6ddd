//! WebSocket upgrades. The caller is identified before the upgrade (401
//! without a valid token when auth is required; 403 on a single-session
//! socket without read access). The connection actor runs on its own task so
//! that its timers and input keep working while the client is slow to read;
//! it reads the request payload as [`Frames`], and the response body is the
//! connection's outbox.

use super::{extract, AppState};
use crate::access::Identity;
use crate::actors::client::Limits;
use crate::actors::connection::Connection;
use crate::db::access as aq;
use crate::error::{AppError, AppResult};
use crate::frames::Frames;
use crate::protocol::Dialect;
use crate::stats::Admission;
use crate::transport::{Outbox, OutboxStream};
use crate::types::{validate_id, RoomName};
use actix::{Actor, AsyncContext};
use actix_web::{web, HttpRequest, HttpResponse};
use actix_web_actors::ws;
use serde::Deserialize;
use std::sync::Arc;
use std::time::Duration;

/// `/ws` query: rooms to join on connect (seed 001).
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
pub struct NativeQuery {
    /// Join `project:<projectId>` on connect.
    #[param(pattern = "^[A-Za-z0-9_.-]{1,100}$")]
    project_id: Option<String>,
    /// Join `session:<sessionId>` on connect.
    #[param(pattern = "^[A-Za-z0-9_.-]{1,100}$")]
    session_id: Option<String>,
}

/// The token of a WebSocket upgrade: `Authorization: Bearer`, else `?token=`
/// (browsers cannot set headers on a WebSocket).
#[derive(Deserialize)]
pub struct TokenQuery {
    token: Option<String>,
}

async fn identify(state: &AppState, req: &HttpRequest) -> AppResult<Arc<Identity>> {
    let query = web::Query::<TokenQuery>::from_query(req.query_string())
        .map_err(|e| AppError::BadRequest(format!("query: {e}")))?;
    let token = extract::bearer(req).or(query.token.as_deref());
    state.auth.identify(token).await
}

/// `GET /ws`: the native protocol.
#[utoipa::path(
    get, path = "/ws", tag = "sockets",
    params(NativeQuery, ("token" = Option<String>, Query, description = "The token, for browsers (which cannot set headers on a WebSocket)")),
    responses(
        (status = 101, description = "Switched to the WebSocket protocol"),
        (status = 400, response = super::openapi::errors::BadRequest),
        (status = 401, response = super::openapi::errors::Unauthorized),
        (status = 403, response = super::openapi::errors::Forbidden),
        (status = 422, response = super::openapi::errors::Unprocessable),
        (status = 429, response = super::openapi::errors::RateLimited),
        (status = 503, response = super::openapi::errors::Unavailable),
    )
)]
pub async fn native(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
    query: web::Query<NativeQuery>,
) -> AppResult<HttpResponse> {
    let who = identify(&state, &req).await?;
    let mut auto = Vec::new();
    if let Some(id) = &query.project_id {
        validate_id("projectId", id)?;
        auto.push(RoomName::project(id));
    }
    if let Some(id) = &query.session_id {
        validate_id("sessionId", id)?;
        auto.push(RoomName::session(id));
    }
    upgrade(&state, &req, payload, auto, Dialect::Native, who)
}

/// `GET /ws/broadcasts` (seed 003): the `broadcasts` room as `broadcast_event` frames.
#[utoipa::path(
    get, path = "/ws/broadcasts", tag = "sockets",
    params(("token" = Option<String>, Query, description = "The token, for browsers (which cannot set headers on a WebSocket)")),
    responses(
        (status = 101, description = "Switched to the WebSocket protocol"),
        (status = 400, response = super::openapi::errors::BadRequest),
        (status = 401, response = super::openapi::errors::Unauthorized),
        (status = 403, response = super::openapi::errors::Forbidden),
        (status = 429, response = super::openapi::errors::RateLimited),
        (status = 503, response = super::openapi::errors::Unavailable),
    )
)]
pub async fn broadcasts(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> AppResult<HttpResponse> {
    let who = identify(&state, &req).await?;
    upgrade(
        &state,
        &req,
        payload,
        vec![RoomName::broadcasts()],
        Dialect::Broadcast,
        who,
    )
}

/// `GET /ws/sessions/{id}` (seed 002): one session room as flat frames.
#[utoipa::path(
    get, path = "/ws/sessions/{id}", tag = "sockets",
    params(("id" = String, Path, description = "The session", pattern = "^[A-Za-z0-9_.-]{1,100}$"), ("token" = Option<String>, Query, description = "The token, for browsers (which cannot set headers on a WebSocket)")),
    responses(
        (status = 101, description = "Switched to the WebSocket protocol"),
        (status = 400, response = super::openapi::errors::BadRequest),
        (status = 401, response = super::openapi::errors::Unauthorized),
        (status = 403, response = super::openapi::errors::Forbidden),
        (status = 422, response = super::openapi::errors::Unprocessable),
        (status = 429, response = super::openapi::errors::RateLimited),
        (status = 503, response = super::openapi::errors::Unavailable),
    )
)]
pub async fn session(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    validate_id("session id", &id)?;
    let who = identify(&state, &req).await?;
    let session = id.clone();
    if let Some(access) = state
        .read(move |c| Ok(aq::session_access(c, &session)?))
        .await?
    {
        if !access.can_read(&who) {
            return Err(AppError::Forbidden(format!(
                "you may not read session {id}"
            )));
        }
    }
    upgrade(
        &state,
        &req,
        payload,
        vec![RoomName::session(&id)],
        Dialect::Flat,
        who,
    )
}

/// Completes the handshake and starts a connection joining `auto`.
fn upgrade(
    state: &AppState,
    req: &HttpRequest,
    payload: web::Payload,
    auto: Vec<RoomName>,
    dialect: Dialect,
    who: Arc<Identity>,
) -> AppResult<HttpResponse> {
    let mut response =
        ws::handshake(req).map_err(|e| AppError::BadRequest(format!("websocket: {e}")))?;
    let admission = admit(state, req)?;
    let settings = &state.settings.ws;
    let outbox = Outbox::new(settings.outbound_buffer_bytes);
    let limits = Limits {
        heartbeat: Duration::from_millis(settings.heartbeat_interval_ms),
        timeout: Duration::from_millis(settings.client_timeout_ms),
        max_rooms: settings.max_rooms_per_connection,
        max_messages_per_second: settings.max_messages_per_second,
    };
    let actor = Connection::new(
        outbox.clone(),
        state.registry.clone(),
        state.stats.clone(),
        limits,
        auto,
        dialect,
        who,
    )
    .admitted(admission);
    let frames = Frames::new(payload, settings.max_frame_bytes);
    Connection::create(|ctx| {
        ctx.add_stream(frames);
        actor
    });
    Ok(response.streaming(OutboxStream(outbox)))
}

/// A place under `server.max_connections` and `server.max_connections_per_ip`
/// for the client of `req` (WebSocket and Socket.IO alike), or 429.
pub fn admit(state: &AppState, req: &HttpRequest) -> AppResult<Admission> {
    let server = &state.settings.server;
    let ip = req.peer_addr().map(|a| a.ip());
    state
        .stats
        .admit(ip, server.max_connections, server.max_connections_per_ip)
        .ok_or_else(|| {
            AppError::RateLimited(format!(
                "too many connections (server.max_connections {}, server.max_connections_per_ip {})",
                server.max_connections, server.max_connections_per_ip
            ))
        })
}
