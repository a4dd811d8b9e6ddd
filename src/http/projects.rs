//! `/api/projects` (and the `POST /projects` alias).

use super::extract::Body;
use super::{written, AppState};
use crate::db::projects as q;
use crate::domain::{projects, Command};
use crate::error::{AppError, AppResult};
use crate::types::new_id;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::Value;

/// `POST /api/projects` body.
#[derive(Deserialize)]
pub struct CreateBody {
    name: String,
}

/// `PATCH /api/projects/{id}` body.
#[derive(Deserialize)]
pub struct UpdateBody {
    #[serde(default)]
    name: Option<String>,
}

/// `POST /api/projects` → 201 with `id`.
pub async fn create(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: Body<CreateBody>,
) -> AppResult<HttpResponse> {
    let command = Command::CreateProject(projects::Create {
        id: new_id(),
        name: body.0.name,
    });
    Ok(written(state.execute(&req, command).await?))
}

/// `GET /api/projects`, oldest first.
pub async fn list(state: web::Data<AppState>, req: HttpRequest) -> AppResult<HttpResponse> {
    state.caller(&req).await?;
    let rows = state.read(|c| Ok(q::list(c)?)).await?;
    let body: Vec<Value> = rows.iter().map(|p| p.to_json()).collect();
    Ok(HttpResponse::Ok().json(body))
}

/// `GET /api/projects/{id}`.
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
    Ok(HttpResponse::Ok().json(found.to_json()))
}

/// `PATCH /api/projects/{id}` `{name?}`.
pub async fn update(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
    body: Body<UpdateBody>,
) -> AppResult<HttpResponse> {
    let command = Command::UpdateProject(projects::Update {
        id: id.into_inner(),
        name: body.0.name,
    });
    Ok(written(state.execute(&req, command).await?))
}

/// `DELETE /api/projects/{id}`: the project and its sessions.
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
