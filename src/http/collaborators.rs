//! `/api/sessions/{id}/collaborators` (seed 002): list, add, change role,
//! remove, accept. The rules live in the domain; this only translates HTTP.

use super::extract::Body;
use super::{written, AppState};
use crate::access::Role;
use crate::db::access as q;
use crate::domain::collaborators::{Collaborator, CollaboratorCommand, Invite};
use crate::domain::Command;
use crate::error::AppResult;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

/// `PATCH …/collaborators/{cid}` body.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct RoleBody {
    /// `owner`, `editor` or `viewer` (checked after the caller's rights).
    #[schema(value_type = Role)]
    role: String,
}

/// `GET /api/sessions/{id}/collaborators`: anyone who may read the session.
#[utoipa::path(
    get, path = "/api/sessions/{id}/collaborators", tag = "collaborators",
    params(("id" = String, Path, description = "The session")),
    responses(
        (status = 200, description = "The collaborators, oldest first", body = Vec<super::openapi::schemas::Collaborator>),
        super::openapi::errors::ResourceReadErrors,
    )
)]
pub async fn list(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    let who = state.caller(&req).await?;
    state.check_read(&who, &id).await?;
    let rows = state.read(move |c| Ok(q::collaborators(c, &id)?)).await?;
    let body: Vec<Collaborator> = rows
        .into_iter()
        .map(|(c, u)| Collaborator::new(c, u))
        .collect();
    Ok(HttpResponse::Ok().json(body))
}

/// `POST /api/sessions/{id}/collaborators` `{email, role}` → 201.
#[utoipa::path(
    post, path = "/api/sessions/{id}/collaborators", tag = "collaborators",
    params(("id" = String, Path, description = "The session"), super::openapi::WriteHeaders),
    request_body = Invite,
    responses(
        (status = 201, description = "Invited, with `collaborator_added`", body = super::openapi::schemas::Written<super::openapi::schemas::Collaborator>),
        super::openapi::errors::ResourceWriteErrors,
    )
)]
pub async fn add(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
    body: Body<Invite>,
) -> AppResult<HttpResponse> {
    let session_id = id.into_inner();
    let command = CollaboratorCommand::Add(Invite {
        session_id,
        ..body.0
    });
    Ok(written(
        state.execute(&req, Command::Collaborators(command)).await?,
    ))
}

/// `PATCH /api/sessions/{id}/collaborators/{cid}` `{role}`.
#[utoipa::path(
    patch, path = "/api/sessions/{id}/collaborators/{cid}", tag = "collaborators",
    params(("id" = String, Path, description = "The session"), ("cid" = i64, Path, description = "The collaborator"), super::openapi::WriteHeaders),
    request_body = RoleBody,
    responses(
        (status = 200, description = "Role changed, with `collaborator_updated`", body = super::openapi::schemas::Written<super::openapi::schemas::Collaborator>),
        super::openapi::errors::ResourceWriteErrors,
    )
)]
pub async fn update(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, i64)>,
    body: Body<RoleBody>,
) -> AppResult<HttpResponse> {
    let (session_id, id) = path.into_inner();
    let command = CollaboratorCommand::Update {
        session_id,
        id,
        role: body.0.role,
    };
    Ok(written(
        state.execute(&req, Command::Collaborators(command)).await?,
    ))
}

/// `DELETE /api/sessions/{id}/collaborators/{cid}` → `{id, events}`.
#[utoipa::path(
    delete, path = "/api/sessions/{id}/collaborators/{cid}", tag = "collaborators",
    params(("id" = String, Path, description = "The session"), ("cid" = i64, Path, description = "The collaborator"), super::openapi::WriteHeaders),
    responses(
        (status = 200, description = "Removed, with `collaborator_removed`", body = super::openapi::schemas::Written<super::openapi::schemas::Deleted>),
        super::openapi::errors::ResourceWriteErrors,
    )
)]
pub async fn remove(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, i64)>,
) -> AppResult<HttpResponse> {
    let (session_id, id) = path.into_inner();
    let command = CollaboratorCommand::Remove { session_id, id };
    Ok(written(
        state.execute(&req, Command::Collaborators(command)).await?,
    ))
}

/// `POST /api/sessions/{id}/collaborators/{cid}/accept`.
#[utoipa::path(
    post, path = "/api/sessions/{id}/collaborators/{cid}/accept", tag = "collaborators",
    params(("id" = String, Path, description = "The session"), ("cid" = i64, Path, description = "The collaborator"), super::openapi::WriteHeaders),
    responses(
        (status = 200, description = "Accepted, with `collaborator_updated`", body = super::openapi::schemas::Written<super::openapi::schemas::Collaborator>),
        super::openapi::errors::ResourceWriteErrors,
    )
)]
pub async fn accept(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, i64)>,
) -> AppResult<HttpResponse> {
    let (session_id, id) = path.into_inner();
    let command = CollaboratorCommand::Accept { session_id, id };
    Ok(written(
        state.execute(&req, Command::Collaborators(command)).await?,
    ))
}
