//! `POST /api/rooms/events:batch`: many events (each naming its room) in one
//! request and one transaction, so an agent that emits bursts (tool calls,
//! token usage) pays one round trip and one commit for all of them. Every
//! item follows the rules of `POST /api/rooms/{room}/events` (DESIGN §8,
//! §10): its payload cap, its event types, the caller's right to its room;
//! one bad item refuses the whole batch and nothing is written. Rate limits
//! count every event; an `Idempotency-Key` covers the batch as a whole.

use super::extract::Items;
use super::{written, AppState};
use crate::domain::{rooms, Command};
use crate::error::{AppError, AppResult};
use crate::types::RoomName;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};

/// One event of a batch.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct BatchItem {
    /// The room it goes to.
    #[schema(pattern = "^[A-Za-z0-9_.:-]{1,128}$")]
    room: String,
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

/// What a batch answers besides its events.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Batched {
    /// How many events were published.
    pub count: usize,
}

/// `POST /api/rooms/events:batch` → 201 `{count, events}`: `events` holds
/// every item's `{id, room, seq, event_type}`, in the order of the items.
#[utoipa::path(
    post, path = "/api/rooms/events:batch", tag = "rooms",
    params(super::openapi::WriteHeaders),
    request_body(
        content = Vec<BatchItem>,
        description = "1–1000 events, published in this order in one transaction; each counts as one write against `auth.max_writes_per_second` (a refused batch as one)"
    ),
    responses(
        (status = 201, description = "Published, all of them", body = super::openapi::schemas::Written<Batched>),
        super::openapi::errors::WriteErrors,
    )
)]
pub async fn publish(
    state: web::Data<AppState>,
    req: HttpRequest,
    items: Items<BatchItem>,
) -> AppResult<HttpResponse> {
    let items = items.0;
    rooms::check_batch_len(items.len())?;
    let mut batch = Vec::with_capacity(items.len());
    for (i, item) in items.into_iter().enumerate() {
        let room = RoomName::parse(&item.room)
            .map_err(|e| AppError::Validation(format!("events[{i}]: {}", e.message())))?;
        batch.push(rooms::Publish {
            room,
            event_type: item.event_type,
            payload: item.payload,
            priority: item.priority,
        });
    }
    let writes = batch.len();
    let command = Command::PublishBatch(batch);
    Ok(written(state.execute_n(&req, command, writes).await?))
}

/// Adds to the OpenAPI document what utoipa's attributes cannot say of a
/// bare array body: it holds 1 to [`rooms::MAX_BATCH`] items.
pub fn limit_items(doc: &mut serde_json::Value) {
    let at = "/paths/~1api~1rooms~1events:batch/post/requestBody/content/application~1json/schema";
    if let Some(body) = doc.pointer_mut(at) {
        body["minItems"] = 1.into();
        body["maxItems"] = rooms::MAX_BATCH.into();
    }
}
