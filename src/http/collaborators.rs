//! `/api/sessions/{id}/collaborators` (seed 002): list, add, change role,
//! remove, accept. The rules live in the domain; this only translates HTTP.

use super::extract::Body;
use super::{written, AppState};
use crate::db::access as q;
use crate::domain::collaborators::CollaboratorCommand;
use crate::domain::Command;
use crate::error::AppResult;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::Value;

/// `POST …/collaborators` body.
#[derive(Deserialize)]
pub struct AddBody {
    email: String,
    role: String,
}

/// `PATCH …/collaborators/{cid}` body.
#[derive(Deserialize)]
pub struct RoleBody {
    role: String,
}

/// `GET /api/sessions/{id}/collaborators`: anyone who may read the session.
pub async fn list(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    let who = state.caller(&req).await?;
    state.check_read(&who, &id).await?;
    let rows = state.read(move |c| Ok(q::collaborators(c, &id)?)).await?;
    let body: Vec<Value> = rows.iter().map(|(c, u)| c.to_json(u.as_ref())).collect();
    Ok(HttpResponse::Ok().json(body))
}

/// `POST /api/sessions/{id}/collaborators` `{email, role}` → 201.
pub async fn add(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
    body: Body<AddBody>,
) -> AppResult<HttpResponse> {
    let command = CollaboratorCommand::Add {
        session_id: id.into_inner(),
        email: body.0.email,
        role: body.0.role,
    };
    Ok(written(
        state.execute(&req, Command::Collaborators(command)).await?,
    ))
}

/// `PATCH /api/sessions/{id}/collaborators/{cid}` `{role}`.
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
