//! `POST /api/users` (admins; the token is shown once), `GET /api/me`,
//! `DELETE /api/users/{id}` and `POST /api/users/{id}/token`; a token that
//! ends closes its sockets with 4001.

use super::extract::Body;
use super::AppState;
use crate::auth;
use crate::domain::{users::NewUser, Command};
use crate::error::{AppError, AppResult};
use crate::types::new_id;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::Value;

/// `POST /api/users` → 201 `{id, email, name, admin, token}`. Users are not
/// broadcast, so there are no `events`.
#[utoipa::path(
    post, path = "/api/users", tag = "users",
    params(super::openapi::TokenHeaders),
    request_body = NewUser,
    responses(
        (status = 201, description = "The user and its token (shown once); admins only", body = super::openapi::schemas::UserWithToken),
        super::openapi::errors::WriteErrors,
    )
)]
pub async fn create(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: Body<NewUser>,
) -> AppResult<HttpResponse> {
    refuse_key(&req)?;
    let token = auth::new_token()?;
    let command = Command::CreateUser(NewUser {
        id: new_id(),
        token_hash: auth::hash_token(&token),
        ..body.0
    });
    let mut user = state.execute(&req, command).await?.body;
    user.insert("token".into(), Value::String(token));
    Ok(HttpResponse::Created().json(user))
}

/// The routes that hand out a token refuse `Idempotency-Key`: the token is
/// stored only as a hash, so a replay could not give it again, and a retry
/// that made a second token would lock out the first.
fn refuse_key(req: &HttpRequest) -> AppResult<()> {
    if req.headers().contains_key("Idempotency-Key") {
        return Err(AppError::BadRequest(
            "Idempotency-Key is not accepted on routes that issue a token".into(),
        ));
    }
    Ok(())
}

/// `GET /api/me` → `{id, email, name, admin}` (`id` and `email` are null for
/// the admin token and, with auth off, the local admin).
#[utoipa::path(
    get, path = "/api/me", tag = "users",
    responses(
        (status = 200, description = "Who the token belongs to", body = super::openapi::schemas::Me),
        (status = 401, response = super::openapi::errors::Unauthorized),
        (status = 403, response = super::openapi::errors::Forbidden),
        (status = 503, response = super::openapi::errors::Unavailable),
    )
)]
pub async fn me(state: web::Data<AppState>, req: HttpRequest) -> AppResult<HttpResponse> {
    let who = state.caller(&req).await?;
    Ok(HttpResponse::Ok().json(super::openapi::schemas::Me {
        id: who.user_id.clone(),
        email: who.email.clone(),
        name: who.name.clone(),
        admin: who.admin,
    }))
}

/// `DELETE /api/users/{id}` (admins) → `{id}`.
#[utoipa::path(
    delete, path = "/api/users/{id}", tag = "users",
    params(("id" = String, Path, description = "The user"), super::openapi::WriteHeaders),
    responses(
        (status = 200, description = "Deleted (admins only); its sockets close with 4001", body = super::openapi::schemas::Deleted),
        super::openapi::errors::ResourceWriteErrors,
    )
)]
pub async fn delete(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let command = Command::DeleteUser {
        id: id.into_inner(),
    };
    let outcome = state.execute(&req, command).await?;
    Ok(HttpResponse::Ok().json(outcome.body))
}

/// `POST /api/users/{id}/token` (the user or an admin) → the user and its
/// new token; the old one stops working at once.
#[utoipa::path(
    post, path = "/api/users/{id}/token", tag = "users",
    params(("id" = String, Path, description = "The user"), super::openapi::TokenHeaders),
    responses(
        (status = 200, description = "A new token (the user or admins); the old one is refused from now on", body = super::openapi::schemas::UserWithToken),
        super::openapi::errors::ResourceWriteErrors,
    )
)]
pub async fn replace_token(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    refuse_key(&req)?;
    let token = auth::new_token()?;
    let command = Command::ReplaceToken {
        id: id.into_inner(),
        token_hash: auth::hash_token(&token),
    };
    let mut user = state.execute(&req, command).await?.body;
    user.insert("token".into(), Value::String(token));
    Ok(HttpResponse::Ok().json(user))
}
