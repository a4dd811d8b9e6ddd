//! `/api/sessions` and `/api/projects/{id}/sessions` (and the seed-004 alias).

use super::extract::Body;
use super::{written, AppState};
use crate::db::sessions as q;
use crate::domain::{sessions, snapshot, Command};
use crate::error::{AppError, AppResult};
use crate::types::{RoomName, SessionStatus};
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::Value;

/// `GET /api/sessions` filters.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Only this project's sessions.
    project_id: Option<String>,
    /// Only sessions with this status.
    #[param(value_type = Option<crate::types::SessionStatus>)]
    status: Option<String>,
}

async fn create_session(
    state: &AppState,
    req: &HttpRequest,
    project_id: String,
    body: sessions::Create,
) -> AppResult<crate::domain::Outcome> {
    let command = Command::CreateSession(sessions::Create { project_id, ..body });
    state.execute(req, command).await
}

/// `POST /api/projects/{id}/sessions` → 201.
#[utoipa::path(
    post, path = "/api/projects/{id}/sessions", tag = "sessions",
    params(("id" = String, Path, description = "The project"), super::openapi::WriteHeaders),
    request_body = Option<sessions::Create>,
    responses(
        (status = 201, description = "Created, with `session_created`", body = super::openapi::schemas::Written<super::openapi::schemas::Session>),
        super::openapi::errors::ResourceWriteErrors,
    )
)]
pub async fn create(
    state: web::Data<AppState>,
    req: HttpRequest,
    project_id: web::Path<String>,
    body: Body<sessions::Create>,
) -> AppResult<HttpResponse> {
    let outcome = create_session(&state, &req, project_id.into_inner(), body.0).await?;
    Ok(written(outcome))
}

/// `POST /projects/{id}/sessions` → 201 with `session_id` as well as `id`.
#[utoipa::path(
    post, path = "/projects/{id}/sessions", tag = "aliases",
    params(("id" = String, Path, description = "The project"), super::openapi::WriteHeaders),
    request_body = Option<sessions::Create>,
    responses(
        (status = 201, description = "Created, with `session_created`; the id also as `session_id` (seed 004)", body = super::openapi::schemas::AliasSession),
        super::openapi::errors::ResourceWriteErrors,
    )
)]
pub async fn create_alias(
    state: web::Data<AppState>,
    req: HttpRequest,
    project_id: web::Path<String>,
    body: Body<sessions::Create>,
) -> AppResult<HttpResponse> {
    let mut outcome = create_session(&state, &req, project_id.into_inner(), body.0).await?;
    let id = outcome.body.get("id").cloned().unwrap_or(Value::Null);
    outcome.body.insert("session_id".into(), id);
    Ok(written(outcome))
}

/// `GET /api/sessions?project_id=&status=`, oldest first.
#[utoipa::path(
    get, path = "/api/sessions", tag = "sessions",
    params(ListQuery),
    responses(
        (status = 200, description = "The sessions the caller may read, oldest first", body = Vec<super::openapi::schemas::Session>),
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
    query: web::Query<ListQuery>,
) -> AppResult<HttpResponse> {
    let who = state.caller(&req).await?;
    let ListQuery { project_id, status } = query.into_inner();
    let status = status.as_deref().map(SessionStatus::check).transpose()?;
    let rows = state
        .read(move |c| {
            let all = q::list(c, project_id.as_deref(), status)?;
            Ok(snapshot::readable(c, all, &who)?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(rows))
}

#[utoipa::path(
    get, path = "/api/sessions/{id}", tag = "sessions",
    params(("id" = String, Path, description = "The session")),
    responses(
        (status = 200, description = "The session", body = super::openapi::schemas::Session),
        super::openapi::errors::ResourceReadErrors,
    )
)]
/// `GET /api/sessions/{id}`: the session's fields at top level, as a write
/// answers them (without `events`).
pub async fn get(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    let who = state.caller(&req).await?;
    state.check_read(&who, &id).await?;
    let found = state
        .read(move |c| q::find(c, &id)?.ok_or_else(|| AppError::not_found("session", &id)))
        .await?;
    Ok(HttpResponse::Ok().json(found))
}

#[utoipa::path(
    get, path = "/api/sessions/{id}/snapshot", tag = "sessions",
    params(("id" = String, Path, description = "The session")),
    responses(
        (status = 200, description = "The session room's snapshot, as a fresh `subscribed` carries it", body = super::openapi::schemas::SessionSnapshot),
        super::openapi::errors::ResourceReadErrors,
    )
)]
/// `GET /api/sessions/{id}/snapshot`: the session room's snapshot, the
/// object a fresh `subscribed` carries.
pub async fn snapshot(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    let who = state.caller(&req).await?;
    state.check_read(&who, &id).await?;
    let snap = state
        .read(move |c| {
            snapshot::of(c, &RoomName::session(&id), &who)?
                .ok_or_else(|| AppError::not_found("session", &id))
        })
        .await?;
    Ok(HttpResponse::Ok().json(snap))
}

/// `PATCH /api/sessions/{id}`.
#[utoipa::path(
    patch, path = "/api/sessions/{id}", tag = "sessions",
    params(("id" = String, Path, description = "The session"), super::openapi::WriteHeaders),
    request_body = Option<sessions::Update>,
    responses(
        (status = 200, description = "Changed, with `session_updated` (and `status_changed`, `visibility_changed` when those change)", body = super::openapi::schemas::Written<super::openapi::schemas::Session>),
        super::openapi::errors::ResourceWriteErrors,
    )
)]
pub async fn update(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
    body: Body<sessions::Update>,
) -> AppResult<HttpResponse> {
    let command = Command::UpdateSession(sessions::Update {
        id: id.into_inner(),
        ..body.0
    });
    Ok(written(state.execute(&req, command).await?))
}

/// `DELETE /api/sessions/{id}` → `{id, events}`.
#[utoipa::path(
    delete, path = "/api/sessions/{id}", tag = "sessions",
    params(("id" = String, Path, description = "The session"), super::openapi::WriteHeaders),
    responses(
        (status = 200, description = "Deleted, with `session_deleted`", body = super::openapi::schemas::Written<super::openapi::schemas::Deleted>),
        super::openapi::errors::ResourceWriteErrors,
    )
)]
pub async fn delete(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let command = Command::DeleteSession {
        id: id.into_inner(),
    };
    Ok(written(state.execute(&req, command).await?))
}
