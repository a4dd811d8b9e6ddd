//! One error type for the whole server. `AppError` knows its protocol code,
//! renders the HTTP JSON body `{"error":{"code","message"}}` and the WebSocket
//! `error` frame. It does not decide policy: callers pick the variant.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde_json::json;
use std::fmt;

/// Everything that can go wrong while serving a request or a socket message.
#[derive(Debug, Clone, PartialEq)]
pub enum AppError {
    /// The input is not JSON or does not have the expected shape.
    BadRequest(String),
    /// Right shape, invalid value (too long, bad room name, unknown enum value).
    Validation(String),
    /// No valid credentials.
    Unauthorized(String),
    /// Credentials are fine but do not allow this.
    Forbidden(String),
    /// The resource does not exist.
    NotFound(String),
    /// The path exists, not with this method (HTTP only).
    MethodNotAllowed(String),
    /// The request conflicts with the current state (duplicate id, unique email).
    Conflict(String),
    /// An `Idempotency-Key` used before for another request.
    IdempotencyMismatch(String),
    /// The body is larger than `server.max_body_bytes`.
    PayloadTooLarge(String),
    /// Too many requests or subscriptions.
    RateLimited(String),
    /// A connection joined more rooms than allowed (WebSocket only).
    TooManyRooms(String),
    /// The database cannot be reached.
    Unavailable(String),
    /// Another writer held what this write needed and the database gave up
    /// on one of them (a deadlock between nodes). The writer runs such a
    /// write again in its next transaction; only if that keeps failing does
    /// the caller see it, as 503.
    Contended(String),
    /// A bug or an unexpected failure; details go to the log, not the client.
    Internal(String),
}

impl AppError {
    /// The protocol code shared by HTTP bodies and WebSocket `error` frames.
    pub fn code(&self) -> &'static str {
        match self {
            AppError::BadRequest(_) => "bad_request",
            AppError::Validation(_) => "validation_failed",
            AppError::Unauthorized(_) => "unauthorized",
            AppError::Forbidden(_) => "forbidden",
            AppError::NotFound(_) => "not_found",
            AppError::MethodNotAllowed(_) => "method_not_allowed",
            AppError::Conflict(_) => "conflict",
            AppError::IdempotencyMismatch(_) => "idempotency_mismatch",
            AppError::PayloadTooLarge(_) => "payload_too_large",
            AppError::RateLimited(_) => "rate_limited",
            AppError::TooManyRooms(_) => "too_many_rooms",
            AppError::Unavailable(_) | AppError::Contended(_) => "unavailable",
            AppError::Internal(_) => "internal",
        }
    }

    /// The human-readable message.
    pub fn message(&self) -> &str {
        match self {
            AppError::BadRequest(m)
            | AppError::Validation(m)
            | AppError::Unauthorized(m)
            | AppError::Forbidden(m)
            | AppError::NotFound(m)
            | AppError::MethodNotAllowed(m)
            | AppError::Conflict(m)
            | AppError::IdempotencyMismatch(m)
            | AppError::PayloadTooLarge(m)
            | AppError::RateLimited(m)
            | AppError::TooManyRooms(m)
            | AppError::Unavailable(m)
            | AppError::Contended(m)
            | AppError::Internal(m) => m,
        }
    }

    /// The WebSocket `error` frame for this error. On a socket a validation
    /// problem is reported as `bad_request` (DESIGN §8). Internal and
    /// database details are logged, never sent: the client gets a generic
    /// message with the code.
    pub fn ws_frame(&self) -> serde_json::Value {
        let code = match self {
            AppError::Validation(_) => "bad_request",
            other => other.code(),
        };
        json!({"type": "error", "code": code, "message": self.public_message()})
    }

    /// The message a client may see: [`AppError::message`], except for
    /// internal and unavailable errors, whose details stay in the log.
    pub fn public_message(&self) -> &str {
        match self {
            AppError::Internal(detail) => {
                log::error!("internal error: {detail}");
                "internal error"
            }
            AppError::Unavailable(detail) => {
                log::warn!("unavailable: {detail}");
                "service unavailable, try again"
            }
            other => other.message(),
        }
    }

    /// Shorthand for a 404 on a named resource.
    pub fn not_found(what: &str, id: &str) -> Self {
        AppError::NotFound(format!("{what} {id} not found"))
    }
}

impl fmt::Display for AppError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code(), self.message())
    }
}

impl std::error::Error for AppError {}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        match self {
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            AppError::Forbidden(_) => StatusCode::FORBIDDEN,
            AppError::NotFound(_) => StatusCode::NOT_FOUND,
            AppError::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::IdempotencyMismatch(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::RateLimited(_) | AppError::TooManyRooms(_) => StatusCode::TOO_MANY_REQUESTS,
            AppError::Unavailable(_) | AppError::Contended(_) => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        HttpResponse::build(self.status_code())
            .json(json!({"error": {"code": self.code(), "message": self.public_message()}}))
    }
}

impl From<diesel::result::Error> for AppError {
    fn from(err: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind, Error};
        match err {
            Error::NotFound => AppError::NotFound("not found".into()),
            Error::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => {
                AppError::Conflict(format!("already exists: {}", info.message()))
            }
            Error::DatabaseError(DatabaseErrorKind::ClosedConnection, info) => {
                AppError::Unavailable(format!("database unavailable: {}", info.message()))
            }
            Error::DatabaseError(DatabaseErrorKind::SerializationFailure, info) => {
                AppError::Contended(info.message().to_string())
            }
            // diesel reports PostgreSQL's 40P01 only by its message (herald
            // expects the server's messages in English, its default).
            Error::DatabaseError(DatabaseErrorKind::Unknown, info)
                if info.message().starts_with("deadlock detected") =>
            {
                AppError::Contended(info.message().to_string())
            }
            other => {
                log::error!("database error: {other}");
                AppError::Internal(other.to_string())
            }
        }
    }
}

impl From<r2d2::Error> for AppError {
    fn from(err: r2d2::Error) -> Self {
        log::warn!("database pool: {err}");
        AppError::Unavailable(format!("database unavailable: {err}"))
    }
}

/// A value that did not serialise as JSON. herald's own types always do, so
/// this is a bug: a 500, logged, never an empty answer or frame.
impl From<serde_json::Error> for AppError {
    fn from(err: serde_json::Error) -> Self {
        AppError::Internal(format!("JSON serialisation: {err}"))
    }
}

/// Result with [`AppError`].
pub type AppResult<T> = Result<T, AppError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn socket_errors_never_carry_internal_details() {
        for err in [
            AppError::Internal("disk I/O error at /srv/herald/secret.db".into()),
            AppError::Unavailable("database unavailable: host db.internal:5432".into()),
        ] {
            let frame = err.ws_frame().to_string();
            assert!(
                !frame.contains("secret.db") && !frame.contains("db.internal"),
                "{frame}"
            );
            assert_eq!(err.ws_frame()["code"], err.code());
            let body = actix_web::body::to_bytes(err.error_response().into_body());
            let body = futures::executor::block_on(body).unwrap();
            assert!(
                !String::from_utf8_lossy(&body).contains("secret"),
                "{body:?}"
            );
        }
        let frame = AppError::BadRequest("bad room".into()).ws_frame();
        assert_eq!(frame["message"], "bad room");
    }
}
