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
        super::openapi::errors::ResourceWriteErrors,
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
