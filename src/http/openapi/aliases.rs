//! Operations of the routes that reuse another route's handler (seed 004's
//! paths, `/socket.io` without its slash). One handler carries one
//! annotation, so these stand-ins carry the others; they are never called.

#![expect(dead_code, reason = "annotation carriers, never called")]

use super::errors;
use super::schemas::{Message, Project, Written};
use crate::domain::projects;
use crate::http::openapi::WriteHeaders;

/// `POST /projects`: `POST /api/projects` under seed 004's path.
#[utoipa::path(
    post, path = "/projects", tag = "aliases", params(WriteHeaders),
    request_body = projects::Create,
    responses(
        (status = 201, description = "Created, with `project_created`", body = Written<Project>),
        (status = 400, response = errors::BadRequest),
        (status = 401, response = errors::Unauthorized),
        (status = 403, response = errors::Forbidden),
        (status = 413, response = errors::PayloadTooLarge),
        (status = 422, response = errors::Unprocessable),
        (status = 429, response = errors::RateLimited),
        (status = 503, response = errors::Unavailable),
    )
)]
pub async fn create_project() {}

/// `POST /sessions/{id}/messages`: `POST /api/sessions/{id}/messages` under
/// seed 004's path.
#[utoipa::path(
    post, path = "/sessions/{id}/messages", tag = "aliases",
    params(("id" = String, Path, description = "The session"), WriteHeaders),
    request_body = super::schemas::MessageInput,
    responses(
        (status = 201, description = "Added, with `message_created`", body = Written<Message>),
        (status = 400, response = errors::BadRequest),
        (status = 401, response = errors::Unauthorized),
        (status = 403, response = errors::Forbidden),
        (status = 404, response = errors::NotFound),
        (status = 413, response = errors::PayloadTooLarge),
        (status = 422, response = errors::Unprocessable),
        (status = 429, response = errors::RateLimited),
        (status = 503, response = errors::Unavailable),
    )
)]
pub async fn add_message() {}

/// `GET /socket.io`: the same as `GET /socket.io/`.
#[utoipa::path(
    get, path = "/socket.io", tag = "sockets", security(()),
    params(crate::http::socketio::EioQuery),
    responses(
        (status = 200, description = "An Engine.IO payload (polling)", content_type = "text/plain", body = String),
        (status = 101, description = "Switched to a WebSocket (`transport=websocket`)"),
        (status = 400, description = "An Engine.IO refusal, or a malformed query string (herald's error body)", body = super::schemas::SocketIoRefusal),
        (status = 403, response = errors::Forbidden),
        (status = 429, response = errors::RateLimited),
    )
)]
pub async fn socketio_get() {}

/// `POST /socket.io`: the same as `POST /socket.io/`.
#[utoipa::path(
    post, path = "/socket.io", tag = "sockets", security(()),
    params(crate::http::socketio::EioQuery),
    request_body(content = String, content_type = "text/plain", description = "Engine.IO packets, separated by the record separator"),
    responses(
        (status = 200, description = "`ok`", content_type = "text/plain", body = String),
        (status = 400, description = "An Engine.IO refusal, or a malformed query string (herald's error body)", body = super::schemas::SocketIoRefusal),
        (status = 403, response = errors::Forbidden),
        (status = 413, response = errors::PayloadTooLarge),
    )
)]
pub async fn socketio_post() {}
