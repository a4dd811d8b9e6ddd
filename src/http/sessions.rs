//! `/api/sessions` and `/api/projects/{id}/sessions` (and the seed-004 alias).

use super::extract::Body;
use super::{written, AppState};
use crate::db::sessions as q;
use crate::domain::{sessions, snapshot, Command};
use crate::error::{AppError, AppResult};
use crate::types::{new_id, RoomName};
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::Value;

/// `POST /api/projects/{id}/sessions` body; may be empty.
#[derive(Deserialize)]
pub struct CreateBody {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    title: Option<String>,
}

/// `PATCH /api/sessions/{id}` body.
#[derive(Deserialize)]
pub struct UpdateBody {
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    needs_attention: Option<bool>,
    #[serde(default)]
    visibility: Option<String>,
}

/// `GET /api/sessions` filters.
#[derive(Deserialize)]
pub struct ListQuery {
    project_id: Option<String>,
    status: Option<String>,
}

async fn create_session(
    state: &AppState,
    req: &HttpRequest,
    project_id: String,
    body: CreateBody,
) -> AppResult<crate::domain::Outcome> {
    let command = Command::CreateSession(sessions::Create {
        project_id,
        id: body.id.unwrap_or_else(new_id),
        title: body.title,
        owner_id: None,
        agent_id: None,
    });
    state.execute(req, command).await
}

/// `POST /api/projects/{id}/sessions` → 201.
pub async fn create(
    state: web::Data<AppState>,
    req: HttpRequest,
    project_id: web::Path<String>,
    body: Body<CreateBody>,
) -> AppResult<HttpResponse> {
    let outcome = create_session(&state, &req, project_id.into_inner(), body.0).await?;
    Ok(written(outcome))
}

/// `POST /projects/{id}/sessions` → 201 with `session_id` as well as `id`.
pub async fn create_alias(
    state: web::Data<AppState>,
    req: HttpRequest,
    project_id: web::Path<String>,
    body: Body<CreateBody>,
) -> AppResult<HttpResponse> {
    let mut outcome = create_session(&state, &req, project_id.into_inner(), body.0).await?;
    let id = outcome.body.get("id").cloned().unwrap_or(Value::Null);
    outcome.body.insert("session_id".into(), id);
    Ok(written(outcome))
}

/// `GET /api/sessions?project_id=&status=`, oldest first.
pub async fn list(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: web::Query<ListQuery>,
) -> AppResult<HttpResponse> {
    let who = state.caller(&req).await?;
    let ListQuery { project_id, status } = query.into_inner();
    if let Some(status) = &status {
        if !sessions::STATUSES.contains(&status.as_str()) {
            return Err(AppError::Validation(format!(
                "status must be one of {}",
                sessions::STATUSES.join(", ")
            )));
        }
    }
    let rows = state
        .read(move |c| {
            let all = q::list(c, project_id.as_deref(), status.as_deref())?;
            Ok(snapshot::readable(c, all, &who)?)
        })
        .await?;
    let body: Vec<Value> = rows.iter().map(|s| s.to_json()).collect();
    Ok(HttpResponse::Ok().json(body))
}

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
    Ok(HttpResponse::Ok().json(found.to_json()))
}

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
pub async fn update(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
    body: Body<UpdateBody>,
) -> AppResult<HttpResponse> {
    let b = body.0;
    let command = Command::UpdateSession(sessions::Update {
        id: id.into_inner(),
        title: b.title,
        status: b.status,
        needs_attention: b.needs_attention,
        visibility: b.visibility,
    });
    Ok(written(state.execute(&req, command).await?))
}

/// `DELETE /api/sessions/{id}` → `{id, events}`.
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
