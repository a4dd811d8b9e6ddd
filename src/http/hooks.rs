//! `POST /api/hooks`: agent hook events (seed 000); the body is
//! [`Hook`], whose rules live in the domain.

use super::extract::Body;
use super::{written, AppState};
use crate::domain::hooks::Hook;
use crate::domain::Command;
use crate::error::AppResult;
use actix_web::{web, HttpRequest, HttpResponse};

/// `POST /api/hooks` → 200 with the session and the events the hook produced.
#[utoipa::path(
    post, path = "/api/hooks", tag = "activity",
    params(super::openapi::WriteHeaders),
    request_body = Hook,
    responses(
        (status = 200, description = "The session after the hook, with the events it produced", body = super::openapi::schemas::Written<super::openapi::schemas::Session>),
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
pub async fn receive(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: Body<Hook>,
) -> AppResult<HttpResponse> {
    Ok(written(
        state.execute(&req, Command::Hook(Box::new(body.0))).await?,
    ))
}
