//! `/api/broadcast/…`: work items (seed 003) and their audit trail.

use super::extract::Body;
use super::openapi::schemas::AuditRow;
use super::{written, AppState};
use crate::db::work as q;
use crate::db::work::NoteKind;
use crate::domain::work::{FeatureFields, WorkCommand};
use crate::domain::Command;
use crate::error::AppResult;
use crate::time::rfc3339;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::Value;

/// Default and largest page of the audit trail.
const DEFAULT_LIMIT: i64 = 100;
const MAX_LIMIT: i64 = 1000;

async fn run(state: &AppState, req: &HttpRequest, command: WorkCommand) -> AppResult<HttpResponse> {
    Ok(written(state.execute(req, Command::Work(command)).await?))
}

/// `POST /api/broadcast/features/{id}` body.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct FeatureBody {
    /// 1–200 characters (default: the id).
    #[schema(min_length = 1, max_length = 200, pattern = "\\S")]
    title: Option<String>,
    /// A label (default `todo`).
    #[schema(pattern = "^[A-Za-z0-9_.: -]{1,64}$")]
    status: Option<String>,
    /// Up to 100,000 characters.
    #[schema(max_length = 100000)]
    description: Option<String>,
    /// Labels.
    #[schema(inline, value_type = Option<Vec<super::openapi::schemas::Label>>)]
    tags: Option<Vec<String>>,
    /// A label.
    #[schema(pattern = "^[A-Za-z0-9_.: -]{1,64}$")]
    priority: Option<String>,
}

/// `POST /api/broadcast/features/{id}`: 201 + `feature_created` the first time,
/// then 200 + `feature_updated` (and `status_changed`).
#[utoipa::path(
    post, path = "/api/broadcast/features/{id}", tag = "work items",
    params(("id" = String, Path, description = "The feature", pattern = "^[A-Za-z0-9_.-]{1,100}$"), super::openapi::WorkHeaders),
    request_body = Option<FeatureBody>,
    responses(
        (status = 201, description = "Created, with `feature_created`", body = super::openapi::schemas::Written<super::openapi::schemas::Feature>),
        (status = 200, description = "Updated, with `feature_updated` (and `status_changed`)", body = super::openapi::schemas::Written<super::openapi::schemas::Feature>),
        (status = 400, response = super::openapi::errors::BadRequest),
        (status = 401, response = super::openapi::errors::Unauthorized),
        (status = 403, response = super::openapi::errors::Forbidden),
        (status = 409, response = super::openapi::errors::Conflict),
        (status = 413, response = super::openapi::errors::PayloadTooLarge),
        (status = 422, response = super::openapi::errors::Unprocessable),
        (status = 429, response = super::openapi::errors::RateLimited),
        (status = 503, response = super::openapi::errors::Unavailable),
    )
)]
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
#[derive(Deserialize, utoipa::ToSchema)]
pub struct StatusBody {
    /// A label.
    #[schema(pattern = "^[A-Za-z0-9_.: -]{1,64}$")]
    new_status: String,
}

/// `POST /api/broadcast/features/{id}/status` → 200 + `status_changed`.
#[utoipa::path(
    post, path = "/api/broadcast/features/{id}/status", tag = "work items",
    params(("id" = String, Path, description = "The feature", pattern = "^[A-Za-z0-9_.-]{1,100}$"), super::openapi::WorkHeaders),
    request_body = StatusBody,
    responses(
        (status = 200, description = "Changed, with `status_changed`", body = super::openapi::schemas::Written<super::openapi::schemas::Feature>),
        (status = 400, response = super::openapi::errors::BadRequest),
        (status = 401, response = super::openapi::errors::Unauthorized),
        (status = 403, response = super::openapi::errors::Forbidden),
        (status = 404, response = super::openapi::errors::NotFound),
        (status = 409, response = super::openapi::errors::Conflict),
        (status = 413, response = super::openapi::errors::PayloadTooLarge),
        (status = 422, response = super::openapi::errors::Unprocessable),
        (status = 429, response = super::openapi::errors::RateLimited),
        (status = 503, response = super::openapi::errors::Unavailable),
    )
)]
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
#[derive(Deserialize, utoipa::ToSchema)]
pub struct LinkBody {
    /// The feature linked to (need not exist).
    #[schema(pattern = "^[A-Za-z0-9_.-]{1,100}$")]
    linked_feature_id: String,
    /// A label.
    #[schema(pattern = "^[A-Za-z0-9_.: -]{1,64}$")]
    link_type: String,
}

/// `POST /api/broadcast/features/{id}/links` → 201 + `link_added`.
#[utoipa::path(
    post, path = "/api/broadcast/features/{id}/links", tag = "work items",
    params(("id" = String, Path, description = "The feature", pattern = "^[A-Za-z0-9_.-]{1,100}$"), super::openapi::WorkHeaders),
    request_body = LinkBody,
    responses(
        (status = 201, description = "Linked, with `link_added`", body = super::openapi::schemas::Written<super::openapi::schemas::Link>),
        (status = 400, response = super::openapi::errors::BadRequest),
        (status = 401, response = super::openapi::errors::Unauthorized),
        (status = 403, response = super::openapi::errors::Forbidden),
        (status = 404, response = super::openapi::errors::NotFound),
        (status = 409, response = super::openapi::errors::Conflict),
        (status = 413, response = super::openapi::errors::PayloadTooLarge),
        (status = 422, response = super::openapi::errors::Unprocessable),
        (status = 429, response = super::openapi::errors::RateLimited),
        (status = 503, response = super::openapi::errors::Unavailable),
    )
)]
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
#[derive(Deserialize, utoipa::ToSchema)]
pub struct CommentBody {
    /// 1–100,000 characters.
    #[schema(min_length = 1, max_length = 100000)]
    comment_text: String,
    /// 1–200 characters, not blank (default: `X-Agent-ID`).
    #[schema(min_length = 1, max_length = 200, pattern = "\\S")]
    author: Option<String>,
}

/// `POST /api/broadcast/features/{id}/comments` → 201 + `comment_added`.
#[utoipa::path(
    post, path = "/api/broadcast/features/{id}/comments", tag = "work items",
    params(("id" = String, Path, description = "The feature", pattern = "^[A-Za-z0-9_.-]{1,100}$"), super::openapi::WorkHeaders),
    request_body = CommentBody,
    responses(
        (status = 201, description = "Added, with `comment_added`", body = super::openapi::schemas::Written<super::openapi::schemas::Comment>),
        (status = 400, response = super::openapi::errors::BadRequest),
        (status = 401, response = super::openapi::errors::Unauthorized),
        (status = 403, response = super::openapi::errors::Forbidden),
        (status = 404, response = super::openapi::errors::NotFound),
        (status = 409, response = super::openapi::errors::Conflict),
        (status = 413, response = super::openapi::errors::PayloadTooLarge),
        (status = 422, response = super::openapi::errors::Unprocessable),
        (status = 429, response = super::openapi::errors::RateLimited),
        (status = 503, response = super::openapi::errors::Unavailable),
    )
)]
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
#[utoipa::path(
    delete, path = "/api/broadcast/features/{id}", tag = "work items",
    params(("id" = String, Path, description = "The feature", pattern = "^[A-Za-z0-9_.-]{1,100}$"), super::openapi::WorkHeaders),
    responses(
        (status = 200, description = "Deleted, with `feature_deleted`", body = super::openapi::schemas::Written<super::openapi::schemas::Deleted>),
        (status = 400, response = super::openapi::errors::BadRequest),
        (status = 401, response = super::openapi::errors::Unauthorized),
        (status = 403, response = super::openapi::errors::Forbidden),
        (status = 404, response = super::openapi::errors::NotFound),
        (status = 409, response = super::openapi::errors::Conflict),
        (status = 413, response = super::openapi::errors::PayloadTooLarge),
        (status = 422, response = super::openapi::errors::Unprocessable),
        (status = 429, response = super::openapi::errors::RateLimited),
        (status = 503, response = super::openapi::errors::Unavailable),
    )
)]
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
#[utoipa::path(
    post, path = "/api/broadcast/tracks/{id}", tag = "work items",
    params(("id" = String, Path, description = "The track", pattern = "^[A-Za-z0-9_.-]{1,100}$"), super::openapi::WorkHeaders),
    request_body = super::openapi::schemas::TrackBody,
    responses(
        (status = 201, description = "Created, with `track_updated`", body = super::openapi::schemas::Written<super::openapi::schemas::Track>),
        (status = 200, description = "Updated, with `track_updated`", body = super::openapi::schemas::Written<super::openapi::schemas::Track>),
        (status = 400, response = super::openapi::errors::BadRequest),
        (status = 401, response = super::openapi::errors::Unauthorized),
        (status = 403, response = super::openapi::errors::Forbidden),
        (status = 409, response = super::openapi::errors::Conflict),
        (status = 413, response = super::openapi::errors::PayloadTooLarge),
        (status = 422, response = super::openapi::errors::Unprocessable),
        (status = 429, response = super::openapi::errors::RateLimited),
        (status = 503, response = super::openapi::errors::Unavailable),
    )
)]
pub async fn save_track(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
    body: Body<NoteBody>,
) -> AppResult<HttpResponse> {
    save_note(&state, &req, NoteKind::Track, id.into_inner(), body.0).await
}

/// `POST /api/broadcast/spikes/{id}` → `spike_updated` (201 the first time).
#[utoipa::path(
    post, path = "/api/broadcast/spikes/{id}", tag = "work items",
    params(("id" = String, Path, description = "The spike", pattern = "^[A-Za-z0-9_.-]{1,100}$"), super::openapi::WorkHeaders),
    request_body = super::openapi::schemas::SpikeBody,
    responses(
        (status = 201, description = "Created, with `spike_updated`", body = super::openapi::schemas::Written<super::openapi::schemas::Spike>),
        (status = 200, description = "Updated, with `spike_updated`", body = super::openapi::schemas::Written<super::openapi::schemas::Spike>),
        (status = 400, response = super::openapi::errors::BadRequest),
        (status = 401, response = super::openapi::errors::Unauthorized),
        (status = 403, response = super::openapi::errors::Forbidden),
        (status = 409, response = super::openapi::errors::Conflict),
        (status = 413, response = super::openapi::errors::PayloadTooLarge),
        (status = 422, response = super::openapi::errors::Unprocessable),
        (status = 429, response = super::openapi::errors::RateLimited),
        (status = 503, response = super::openapi::errors::Unavailable),
    )
)]
pub async fn save_spike(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
    body: Body<NoteBody>,
) -> AppResult<HttpResponse> {
    save_note(&state, &req, NoteKind::Spike, id.into_inner(), body.0).await
}

/// Audit trail filters.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Only events of this type.
    event_type: Option<String>,
    /// Only events of this resource.
    resource_id: Option<String>,
    /// At most this many (default 100, clamped to 1–1000).
    limit: Option<i64>,
}

/// `GET /api/broadcast/events`: newest first.
#[utoipa::path(
    get, path = "/api/broadcast/events", tag = "work items",
    params(AuditQuery),
    responses(
        (status = 200, description = "The `broadcasts` audit trail, newest first", body = Vec<super::openapi::schemas::AuditRow>),
        (status = 400, response = super::openapi::errors::BadRequest),
        (status = 401, response = super::openapi::errors::Unauthorized),
        (status = 403, response = super::openapi::errors::Forbidden),
        (status = 503, response = super::openapi::errors::Unavailable),
    )
)]
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
    let body: Vec<AuditRow> = rows
        .into_iter()
        .map(|e| AuditRow {
            event_id: e.id,
            payload: serde_json::from_str(&e.payload).unwrap_or(Value::Null),
            event_type: e.event_type,
            resource_id: e.resource_id,
            resource_type: e.resource_type,
            agent_id: e.agent_id,
            session_id: e.origin_session_id,
            timestamp: rfc3339(e.created_at),
        })
        .collect();
    Ok(HttpResponse::Ok().json(body))
}
