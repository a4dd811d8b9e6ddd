//! `/api/broadcast/…`: work items (seed 003) and their audit trail.

use super::extract::Body;
use super::{written, AppState};
use crate::db::work as q;
use crate::db::work::NoteKind;
use crate::domain::work::{FeatureFields, WorkCommand};
use crate::domain::Command;
use crate::error::AppResult;
use crate::time::rfc3339;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Value};

/// Default and largest page of the audit trail.
const DEFAULT_LIMIT: i64 = 100;
const MAX_LIMIT: i64 = 1000;

async fn run(state: &AppState, req: &HttpRequest, command: WorkCommand) -> AppResult<HttpResponse> {
    Ok(written(state.execute(req, Command::Work(command)).await?))
}

/// `POST /api/broadcast/features/{id}` body.
#[derive(Deserialize)]
pub struct FeatureBody {
    title: Option<String>,
    status: Option<String>,
    description: Option<String>,
    tags: Option<Vec<String>>,
    priority: Option<String>,
}

/// `POST /api/broadcast/features/{id}`: 201 + `feature_created` the first time,
/// then 200 + `feature_updated` (and `status_changed`).
pub async fn save_feature(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
    body: Body<FeatureBody>,
) -> AppResult<HttpResponse> {
    let b = body.0;
    let fields = FeatureFields {
        id: id.into_inner(),
        title: b.title,
        status: b.status,
        description: b.description,
        tags: b.tags,
        priority: b.priority,
    };
    run(&state, &req, WorkCommand::Feature(fields)).await
}

/// `…/status` body.
#[derive(Deserialize)]
pub struct StatusBody {
    new_status: String,
}

/// `POST /api/broadcast/features/{id}/status` → 200 + `status_changed`.
pub async fn set_status(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
    body: Body<StatusBody>,
) -> AppResult<HttpResponse> {
    let command = WorkCommand::Status {
        id: id.into_inner(),
        new_status: body.0.new_status,
    };
    run(&state, &req, command).await
}

/// `…/links` body.
#[derive(Deserialize)]
pub struct LinkBody {
    linked_feature_id: String,
    link_type: String,
}

/// `POST /api/broadcast/features/{id}/links` → 201 + `link_added`.
pub async fn add_link(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
    body: Body<LinkBody>,
) -> AppResult<HttpResponse> {
    let b = body.0;
    let command = WorkCommand::Link {
        id: id.into_inner(),
        linked_feature_id: b.linked_feature_id,
        link_type: b.link_type,
    };
    run(&state, &req, command).await
}

/// `…/comments` body.
#[derive(Deserialize)]
pub struct CommentBody {
    comment_text: String,
    author: Option<String>,
}

/// `POST /api/broadcast/features/{id}/comments` → 201 + `comment_added`.
pub async fn add_comment(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
    body: Body<CommentBody>,
) -> AppResult<HttpResponse> {
    let b = body.0;
    let command = WorkCommand::Comment {
        id: id.into_inner(),
        comment_text: b.comment_text,
        author: b.author,
    };
    run(&state, &req, command).await
}

/// `DELETE /api/broadcast/features/{id}` → 200 + `feature_deleted`.
pub async fn delete_feature(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let command = WorkCommand::DeleteFeature {
        id: id.into_inner(),
    };
    run(&state, &req, command).await
}

/// Track (`{title, description}`) or spike (`{title, findings}`) body.
#[derive(Deserialize)]
pub struct NoteBody {
    title: String,
    #[serde(default, alias = "findings")]
    description: String,
}

async fn save_note(
    state: &AppState,
    req: &HttpRequest,
    kind: NoteKind,
    id: String,
    body: NoteBody,
) -> AppResult<HttpResponse> {
    let command = WorkCommand::Note {
        kind,
        id,
        title: body.title,
        text: body.description,
    };
    run(state, req, command).await
}

/// `POST /api/broadcast/tracks/{id}` → `track_updated` (201 the first time).
pub async fn save_track(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
    body: Body<NoteBody>,
) -> AppResult<HttpResponse> {
    save_note(&state, &req, NoteKind::Track, id.into_inner(), body.0).await
}

/// `POST /api/broadcast/spikes/{id}` → `spike_updated` (201 the first time).
pub async fn save_spike(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
    body: Body<NoteBody>,
) -> AppResult<HttpResponse> {
    save_note(&state, &req, NoteKind::Spike, id.into_inner(), body.0).await
}

/// Audit trail filters.
#[derive(Deserialize)]
pub struct AuditQuery {
    event_type: Option<String>,
    resource_id: Option<String>,
    limit: Option<i64>,
}

/// `GET /api/broadcast/events`: newest first.
pub async fn audit(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: web::Query<AuditQuery>,
) -> AppResult<HttpResponse> {
    state.caller(&req).await?;
    let AuditQuery {
        event_type,
        resource_id,
        limit,
    } = query.into_inner();
    let limit = limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT);
    let rows = state
        .read(move |c| {
            Ok(q::audit(
                c,
                event_type.as_deref(),
                resource_id.as_deref(),
                limit,
            )?)
        })
        .await?;
    let body: Vec<Value> = rows
        .iter()
        .map(|e| {
            json!({"event_id": e.id, "event_type": e.event_type, "resource_id": e.resource_id,
                   "resource_type": e.resource_type, "agent_id": e.agent_id,
                   "session_id": e.origin_session_id,
                   "payload": serde_json::from_str::<Value>(&e.payload).unwrap_or(Value::Null),
                   "timestamp": rfc3339(e.created_at)})
        })
        .collect();
    Ok(HttpResponse::Ok().json(body))
}
