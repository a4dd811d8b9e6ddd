//! `/api/projects` (and the `POST /projects` alias).

use super::extract::Body;
use super::{written, AppState};
use crate::db::projects as q;
use crate::domain::{projects, Command};
use crate::error::{AppError, AppResult};
use crate::types::new_id;
use actix_web::{web, HttpRequest, HttpResponse};

/// `POST /api/projects` → 201 with `id`.
#[utoipa::path(
    post, path = "/api/projects", tag = "projects",
    params(super::openapi::WriteHeaders),
    request_body = projects::Create,
    responses(
        (status = 201, description = "Created, with `project_created`", body = super::openapi::schemas::Written<super::openapi::schemas::Project>),
        super::openapi::errors::WriteErrors,
    )
)]
pub async fn create(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: Body<projects::Create>,
) -> AppResult<HttpResponse> {
    let command = Command::CreateProject(projects::Create {
        id: new_id(),
        ..body.0
    });
    Ok(written(state.execute(&req, command).await?))
}

/// `GET /api/projects`, oldest first.
#[utoipa::path(
    get, path = "/api/projects", tag = "projects",
    responses(
        (status = 200, description = "Every project, oldest first", body = Vec<super::openapi::schemas::Project>),
        (status = 401, response = super::openapi::errors::Unauthorized),
        (status = 403, response = super::openapi::errors::Forbidden),
        (status = 503, response = super::openapi::errors::Unavailable),
    )
)]
pub async fn list(state: web::Data<AppState>, req: HttpRequest) -> AppResult<HttpResponse> {
    state.caller(&req).await?;
    let rows = state.read(|c| Ok(q::list(c)?)).await?;
    Ok(HttpResponse::Ok().json(rows))
}

/// `GET /api/projects/{id}`.
#[utoipa::path(
    get, path = "/api/projects/{id}", tag = "projects",
    params(("id" = String, Path, description = "The project")),
    responses(
        (status = 200, description = "The project", body = super::openapi::schemas::Project),
        super::openapi::errors::ResourceReadErrors,
    )
)]
pub async fn get(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    state.caller(&req).await?;
    let id = id.into_inner();
    let found = state
        .read(move |c| q::find(c, &id)?.ok_or_else(|| AppError::not_found("project", &id)))
        .await?;
    Ok(HttpResponse::Ok().json(found))
}

/// `PATCH /api/projects/{id}` `{name?}`.
#[utoipa::path(
    patch, path = "/api/projects/{id}", tag = "projects",
    params(("id" = String, Path, description = "The project"), super::openapi::WriteHeaders),
    request_body = Option<projects::Update>,
    responses(
        (status = 200, description = "Renamed, with `project_updated` and `session_updated` for each of its sessions", body = super::openapi::schemas::Written<super::openapi::schemas::Project>),
        super::openapi::errors::ResourceWriteErrors,
    )
)]
pub async fn update(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
    body: Body<projects::Update>,
) -> AppResult<HttpResponse> {
    let command = Command::UpdateProject(projects::Update {
        id: id.into_inner(),
        ..body.0
    });
    Ok(written(state.execute(&req, command).await?))
}

/// `DELETE /api/projects/{id}`: the project and its sessions.
#[utoipa::path(
    delete, path = "/api/projects/{id}", tag = "projects",
    params(("id" = String, Path, description = "The project"), super::openapi::WriteHeaders),
    responses(
        (status = 200, description = "Deleted with its sessions: `session_deleted` for each, then `project_deleted`", body = super::openapi::schemas::Written<super::openapi::schemas::Deleted>),
        super::openapi::errors::ResourceWriteErrors,
    )
)]
pub async fn delete(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let command = Command::DeleteProject {
        id: id.into_inner(),
    };
    Ok(written(state.execute(&req, command).await?))
}
