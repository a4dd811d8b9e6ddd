//! `/api/broadcast/…`: work items (seed 003) and their audit trail.

use super::extract::Body;
use super::openapi::schemas::AuditRow;
use super::{written, AppState};
use crate::db::work as q;
use crate::domain::work::{AddComment, AddLink, FeatureFields, SaveNote, SetStatus, WorkCommand};
use crate::domain::Command;
use crate::error::AppResult;
use crate::time::rfc3339;
use crate::validate::page_limit;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::Value;

async fn run(state: &AppState, req: &HttpRequest, command: WorkCommand) -> AppResult<HttpResponse> {
    Ok(written(state.execute(req, Command::Work(command)).await?))
}

/// `POST /api/broadcast/features/{id}`: 201 + `feature_created` the first time,
/// then 200 + `feature_updated` (and `status_changed`).
#[utoipa::path(
    post, path = "/api/broadcast/features/{id}", tag = "work items",
    params(("id" = String, Path, description = "The feature", pattern = "^[A-Za-z0-9_.-]{1,100}$"), super::openapi::WorkHeaders),
    request_body = Option<FeatureFields>,
    responses(
        (status = 201, description = "Created, with `feature_created`", body = super::openapi::schemas::Written<super::openapi::schemas::Feature>),
        (status = 200, description = "Updated, with `feature_updated` (and `status_changed`)", body = super::openapi::schemas::Written<super::openapi::schemas::Feature>),
        super::openapi::errors::WriteErrors,
    )
)]
pub async fn save_feature(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
    body: Body<FeatureFields>,
) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    run(
        &state,
        &req,
        WorkCommand::Feature(FeatureFields { id, ..body.0 }),
    )
    .await
}

/// `POST /api/broadcast/features/{id}/status` → 200 + `status_changed`.
#[utoipa::path(
    post, path = "/api/broadcast/features/{id}/status", tag = "work items",
    params(("id" = String, Path, description = "The feature", pattern = "^[A-Za-z0-9_.-]{1,100}$"), super::openapi::WorkHeaders),
    request_body = SetStatus,
    responses(
        (status = 200, description = "Changed, with `status_changed`", body = super::openapi::schemas::Written<super::openapi::schemas::Feature>),
        super::openapi::errors::ResourceWriteErrors,
    )
)]
pub async fn set_status(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
    body: Body<SetStatus>,
) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    run(
        &state,
        &req,
        WorkCommand::Status(SetStatus { id, ..body.0 }),
    )
    .await
}

/// `POST /api/broadcast/features/{id}/links` → 201 + `link_added`.
#[utoipa::path(
    post, path = "/api/broadcast/features/{id}/links", tag = "work items",
    params(("id" = String, Path, description = "The feature", pattern = "^[A-Za-z0-9_.-]{1,100}$"), super::openapi::WorkHeaders),
    request_body = AddLink,
    responses(
        (status = 201, description = "Linked, with `link_added`", body = super::openapi::schemas::Written<super::openapi::schemas::Link>),
        super::openapi::errors::ResourceWriteErrors,
    )
)]
pub async fn add_link(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
    body: Body<AddLink>,
) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    run(&state, &req, WorkCommand::Link(AddLink { id, ..body.0 })).await
}

/// `POST /api/broadcast/features/{id}/comments` → 201 + `comment_added`.
#[utoipa::path(
    post, path = "/api/broadcast/features/{id}/comments", tag = "work items",
    params(("id" = String, Path, description = "The feature", pattern = "^[A-Za-z0-9_.-]{1,100}$"), super::openapi::WorkHeaders),
    request_body = AddComment,
    responses(
        (status = 201, description = "Added, with `comment_added`", body = super::openapi::schemas::Written<super::openapi::schemas::Comment>),
        super::openapi::errors::ResourceWriteErrors,
    )
)]
pub async fn add_comment(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
    body: Body<AddComment>,
) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    run(
        &state,
        &req,
        WorkCommand::Comment(AddComment { id, ..body.0 }),
    )
    .await
}

/// `DELETE /api/broadcast/features/{id}` → 200 + `feature_deleted`.
#[utoipa::path(
    delete, path = "/api/broadcast/features/{id}", tag = "work items",
    params(("id" = String, Path, description = "The feature", pattern = "^[A-Za-z0-9_.-]{1,100}$"), super::openapi::WorkHeaders),
    responses(
        (status = 200, description = "Deleted, with `feature_deleted`", body = super::openapi::schemas::Written<super::openapi::schemas::Deleted>),
        super::openapi::errors::ResourceWriteErrors,
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

/// `POST /api/broadcast/tracks/{id}` → `track_updated` (201 the first time).
#[utoipa::path(
    post, path = "/api/broadcast/tracks/{id}", tag = "work items",
    params(("id" = String, Path, description = "The track", pattern = "^[A-Za-z0-9_.-]{1,100}$"), super::openapi::WorkHeaders),
    request_body = super::openapi::schemas::TrackBody,
    responses(
        (status = 201, description = "Created, with `track_updated`", body = super::openapi::schemas::Written<super::openapi::schemas::Track>),
        (status = 200, description = "Updated, with `track_updated`", body = super::openapi::schemas::Written<super::openapi::schemas::Track>),
        super::openapi::errors::WriteErrors,
    )
)]
pub async fn save_track(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
    body: Body<SaveNote>,
) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    run(&state, &req, WorkCommand::Track(SaveNote { id, ..body.0 })).await
}

/// `POST /api/broadcast/spikes/{id}` → `spike_updated` (201 the first time).
#[utoipa::path(
    post, path = "/api/broadcast/spikes/{id}", tag = "work items",
    params(("id" = String, Path, description = "The spike", pattern = "^[A-Za-z0-9_.-]{1,100}$"), super::openapi::WorkHeaders),
    request_body = super::openapi::schemas::SpikeBody,
    responses(
        (status = 201, description = "Created, with `spike_updated`", body = super::openapi::schemas::Written<super::openapi::schemas::Spike>),
        (status = 200, description = "Updated, with `spike_updated`", body = super::openapi::schemas::Written<super::openapi::schemas::Spike>),
        super::openapi::errors::WriteErrors,
    )
)]
pub async fn save_spike(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
    body: Body<SaveNote>,
) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    run(&state, &req, WorkCommand::Spike(SaveNote { id, ..body.0 })).await
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
    let limit = page_limit(limit);
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
