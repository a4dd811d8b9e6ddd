//! Generic rooms: publish any JSON object, read a room's events.

use super::extract::Body;
use super::{written, AppState};
use crate::db::events;
use crate::domain::{rooms, Command};
use crate::error::{AppError, AppResult};
use crate::types::RoomName;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

/// Default and largest page of `GET /api/rooms/{room}/events`.
const DEFAULT_LIMIT: i64 = 100;
const MAX_LIMIT: i64 = 1000;

/// `POST /api/rooms/{room}/events` body.
#[derive(Deserialize)]
pub struct PublishBody {
    event_type: String,
    payload: Box<serde_json::value::RawValue>,
    #[serde(default)]
    priority: bool,
}

/// `GET /api/rooms/{room}/events` query.
#[derive(Deserialize)]
pub struct ListQuery {
    since: Option<i64>,
    limit: Option<i64>,
}

/// `POST /api/rooms/{room}/events` → 201 `{room, event_type, events}`.
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

/// `GET /api/rooms/{room}/events?since=&limit=`: native envelopes, oldest first.
pub async fn list(
    state: web::Data<AppState>,
    room: web::Path<String>,
    query: web::Query<ListQuery>,
) -> AppResult<HttpResponse> {
    let room = RoomName::parse(&room)?;
    let since = query.since.unwrap_or(0);
    if since < 0 {
        return Err(AppError::Validation("since must be 0 or more".into()));
    }
    let limit = query.limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT);
    let found = state
        .read(move |c| Ok(events::replay(c, &room, since, limit)?))
        .await?;
    let mut body = String::with_capacity(2 + found.len() * 320);
    body.push('[');
    for (i, d) in found.iter().enumerate() {
        if i > 0 {
            body.push(',');
        }
        body.push_str(d.native());
    }
    body.push(']');
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .body(body))
}
