//! Generic rooms: publish any JSON object, read a room's events.

use super::extract::Body;
use super::{written, AppState};
use crate::access::{self, Identity};
use crate::actors::room::REPLAY_PAGE;
use crate::db::{access as aq, events, DbConn};
use crate::domain::{rooms, Command};
use crate::error::{AppError, AppResult};
use crate::types::{Delivery, RoomKind, RoomName};
use crate::validate::page_limit;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use std::collections::HashSet;
use std::sync::Arc;

/// A listing stops adding events once its body is this large.
const MAX_LIST_BYTES: usize = 8 * 1024 * 1024;

/// `POST /api/rooms/{room}/events` body.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct PublishBody {
    /// 1–64 of `A-Z a-z 0-9 _ . : -`, not one of herald's own event types.
    #[schema(pattern = "^[A-Za-z0-9_.:-]{1,64}$")]
    event_type: String,
    /// The event's payload: an object, its JSON at most `events.max_payload_bytes`.
    #[schema(value_type = Object)]
    payload: Box<serde_json::value::RawValue>,
    /// Flush at once, never held by the batching window.
    #[serde(default)]
    priority: bool,
}

/// `GET /api/rooms/{room}/events` query.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Only events with a larger seq (0 or more; default 0).
    #[param(minimum = 0)]
    since: Option<i64>,
    /// At most this many (default 100, clamped to 1–1000).
    limit: Option<i64>,
}

/// `POST /api/rooms/{room}/events` → 201 `{room, event_type, events}`.
#[utoipa::path(
    post, path = "/api/rooms/{room}/events", tag = "rooms",
    params(("room" = String, Path, description = "The room", pattern = "^[A-Za-z0-9_.:-]{1,128}$"), super::openapi::WriteHeaders),
    request_body = PublishBody,
    responses(
        (status = 201, description = "Published", body = super::openapi::schemas::Written<super::openapi::schemas::Published>),
        super::openapi::errors::ResourceWriteErrors,
    )
)]
pub async fn publish(
    state: web::Data<AppState>,
    req: HttpRequest,
    room: web::Path<String>,
    body: Body<PublishBody>,
) -> AppResult<HttpResponse> {
    let room = RoomName::parse(&room)?;
    let b = body.0;
    let command = Command::Publish(rooms::Publish {
        room,
        event_type: b.event_type,
        payload: b.payload,
        priority: b.priority,
    });
    Ok(written(state.execute(&req, command).await?))
}

/// `GET /api/rooms/{room}/events?since=&limit=`: native envelopes, oldest
/// first. A session room needs read access (403); in a project room the
/// events of sessions the caller may not read are redacted, as on a socket.
#[utoipa::path(
    get, path = "/api/rooms/{room}/events", tag = "rooms",
    params(("room" = String, Path, description = "The room", pattern = "^[A-Za-z0-9_.:-]{1,128}$"), ListQuery),
    responses(
        (status = 200, description = "Native envelopes with `seq > since`, oldest first", body = Vec<super::openapi::schemas::Envelope>),
        (status = 400, response = super::openapi::errors::BadRequest),
        (status = 401, response = super::openapi::errors::Unauthorized),
        (status = 403, response = super::openapi::errors::Forbidden),
        (status = 422, response = super::openapi::errors::Unprocessable),
        (status = 503, response = super::openapi::errors::Unavailable),
    )
)]
pub async fn list(
    state: web::Data<AppState>,
    req: HttpRequest,
    room: web::Path<String>,
    query: web::Query<ListQuery>,
) -> AppResult<HttpResponse> {
    let room = RoomName::parse(&room)?;
    let who = state.caller(&req).await?;
    if let RoomKind::Session(id) = room.kind() {
        let id = id.to_string();
        let found = state.read(move |c| Ok(aq::session_access(c, &id)?)).await?;
        if !access::may_read_room(&who, room.kind(), found.as_ref()) {
            return Err(AppError::Forbidden(format!("you may not read {room}")));
        }
    }
    let since = query.since.unwrap_or(0);
    if since < 0 {
        return Err(AppError::Validation("since must be 0 or more".into()));
    }
    let limit = page_limit(query.limit);
    let body = state
        .read(move |c| Ok(render_page(c, &room, &who, since, limit)?))
        .await?;
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .body(body))
}

/// The JSON array of at most `limit` envelopes after `since`, read from the
/// log [`REPLAY_PAGE`] at a time and cut once it passes [`MAX_LIST_BYTES`]
/// (always at least one event): a reader pages on with `since` = the last
/// seq it got, and the server never holds more than one page and the body.
fn render_page(
    c: &mut DbConn,
    room: &RoomName,
    who: &Identity,
    since: i64,
    limit: i64,
) -> diesel::QueryResult<String> {
    let mut body = String::from("[");
    let (mut from, mut count) = (since, 0);
    while count < limit && body.len() < MAX_LIST_BYTES {
        let page = events::replay(c, room, from, (limit - count).min(REPLAY_PAGE))?;
        let Some(last) = page.last().map(|d| d.seq) else {
            break;
        };
        for d in redact_for(c, room, who, page)? {
            if count > 0 {
                if body.len() >= MAX_LIST_BYTES {
                    break;
                }
                body.push(',');
            }
            body.push_str(d.native());
            count += 1;
            from = d.seq;
        }
        if from != last {
            break;
        }
    }
    body.push(']');
    Ok(body)
}

/// Project rooms: the events of sessions `who` may not read, redacted.
fn redact_for(
    conn: &mut DbConn,
    room: &RoomName,
    who: &Identity,
    found: Vec<Arc<Delivery>>,
) -> diesel::QueryResult<Vec<Arc<Delivery>>> {
    let RoomKind::Project(project) = room.kind() else {
        return Ok(found);
    };
    if who.admin {
        return Ok(found);
    }
    let readable: HashSet<String> = aq::project_access(conn, project)?
        .into_iter()
        .filter(|a| a.can_read(who))
        .map(|a| a.session_id)
        .collect();
    Ok(found
        .into_iter()
        .map(|d| match d.event.session_id() {
            Some(s) if !readable.contains(s) => d.redacted(),
            _ => d,
        })
        .collect())
}
