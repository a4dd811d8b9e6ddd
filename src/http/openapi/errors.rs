//! The error body `{"error":{"code","message"}}` as one schema, one
//! reusable response per HTTP status herald answers errors with (the codes
//! of docs/protocol.md; `AppError::code` is the source, checked below), and
//! the sets of them that whole kinds of routes answer with.

use serde::Serialize;
use std::collections::BTreeMap;
use utoipa::openapi::{Ref, RefOr, Response};
use utoipa::{IntoResponses, ToResponse, ToSchema};

/// Every error herald answers over HTTP.
#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    /// What went wrong.
    pub error: ErrorDetail,
}

/// The code and message of an error.
#[derive(Serialize, ToSchema)]
pub struct ErrorDetail {
    /// The protocol code (shared with WebSocket `error` frames).
    pub code: ErrorCode,
    /// For people; generic for `internal` and `unavailable`.
    pub message: String,
}

/// The protocol codes of HTTP errors.
#[derive(Serialize, ToSchema, Clone, Copy, PartialEq, Eq, Debug)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// 400: not JSON, wrong shape, bad query string or path.
    BadRequest,
    /// 422: right shape, invalid value.
    ValidationFailed,
    /// 422: an `Idempotency-Key` used before with another request.
    IdempotencyMismatch,
    /// 401: auth is required and the token is missing or unknown.
    Unauthorized,
    /// 403: the caller may not do this; or a refused `Origin` / `Host`.
    Forbidden,
    /// 404: unknown resource or route.
    NotFound,
    /// 405: the path exists, not with this method (`Allow` lists its methods).
    MethodNotAllowed,
    /// 409: a taken id or email; a keyed write still in flight.
    Conflict,
    /// 413: the body is over `server.max_body_bytes`.
    PayloadTooLarge,
    /// 429: past the caller's write rate, or the connection caps.
    RateLimited,
    /// 503: the database cannot be reached.
    Unavailable,
    /// 500: a bug; details only in the server log.
    Internal,
}

impl ErrorCode {
    /// Every code, for the test that keeps this list in step with `AppError`.
    pub const ALL: &'static [ErrorCode] = &[
        ErrorCode::BadRequest,
        ErrorCode::ValidationFailed,
        ErrorCode::IdempotencyMismatch,
        ErrorCode::Unauthorized,
        ErrorCode::Forbidden,
        ErrorCode::NotFound,
        ErrorCode::MethodNotAllowed,
        ErrorCode::Conflict,
        ErrorCode::PayloadTooLarge,
        ErrorCode::RateLimited,
        ErrorCode::Unavailable,
        ErrorCode::Internal,
    ];
}

macro_rules! error_responses {
    ($($name:ident = $status:literal => $description:literal,)*) => {$(
        #[doc = $description]
        #[derive(ToResponse)]
        #[response(description = $description)]
        pub struct $name(#[expect(dead_code, reason = "a schema, never built")] ErrorBody);

        impl $name {
            /// The HTTP status this response is documented under.
            pub const STATUS: &'static str = $status;
        }
    )*};
}

error_responses! {
    BadRequest = "400" => "`bad_request`: the body is not JSON or has the wrong shape (wrong type, missing required field), or the query string or path is malformed.",
    Unauthorized = "401" => "`unauthorized`: auth is required and the bearer token is missing or unknown.",
    Forbidden = "403" => "`forbidden`: the caller may not do this (docs/access.md), or the request's `Origin` or `Host` is refused.",
    NotFound = "404" => "`not_found`: the resource does not exist.",
    Conflict = "409" => "`conflict`: an id or email already taken, an email already collaborating, or a keyed write still in flight.",
    PayloadTooLarge = "413" => "`payload_too_large`: the body is over `server.max_body_bytes`.",
    Unprocessable = "422" => "`validation_failed`: the right shape with an invalid value (too long, unknown enum value, bad room name, out of range, an event payload over `events.max_payload_bytes`); or `idempotency_mismatch`: the `Idempotency-Key` was used before with another request.",
    RateLimited = "429" => "`rate_limited`: more writes than `auth.max_writes_per_second` for this token, or (upgrades) over the connection caps.",
    Unavailable = "503" => "`unavailable`: the database cannot be reached; try again.",
}

/// Each set is one `IntoResponses` type that a handler's `responses(...)`
/// lists beside its success responses: every status of the set, each a
/// reference to its reusable response above (exactly what
/// `(status = 400, response = BadRequest)` writes).
macro_rules! error_sets {
    ($($(#[doc = $doc:literal])* $set:ident = [$($error:ident),+ $(,)?];)*) => {$(
        $(#[doc = $doc])*
        pub struct $set;

        impl IntoResponses for $set {
            fn responses() -> BTreeMap<String, RefOr<Response>> {
                BTreeMap::from([$((
                    $error::STATUS.to_string(),
                    RefOr::Ref(Ref::from_response_name(<$error as ToResponse>::response().0)),
                )),+])
            }
        }
    )*};
}

error_sets! {
    /// A write that creates or replaces what its body names (`POST
    /// /api/projects`, a work item by id, a batch): every refusal of a
    /// write but 404.
    WriteErrors = [
        BadRequest, Unauthorized, Forbidden, Conflict, PayloadTooLarge,
        Unprocessable, RateLimited, Unavailable,
    ];
    /// A write to or under a resource that must exist (a session's
    /// messages, a collaborator, a user's token): [`WriteErrors`] and 404.
    ResourceWriteErrors = [
        BadRequest, Unauthorized, Forbidden, NotFound, Conflict, PayloadTooLarge,
        Unprocessable, RateLimited, Unavailable,
    ];
    /// A read of one resource (a project, a session, its messages).
    ResourceReadErrors = [BadRequest, Unauthorized, Forbidden, NotFound, Unavailable];
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::AppError;

    #[test]
    fn every_app_error_code_is_documented() {
        let documented: Vec<String> = ErrorCode::ALL
            .iter()
            .map(|c| serde_json::to_value(c).unwrap().to_string())
            .collect();
        let m = String::new;
        for err in [
            AppError::BadRequest(m()),
            AppError::Validation(m()),
            AppError::Unauthorized(m()),
            AppError::Forbidden(m()),
            AppError::NotFound(m()),
            AppError::MethodNotAllowed(m()),
            AppError::Conflict(m()),
            AppError::IdempotencyMismatch(m()),
            AppError::PayloadTooLarge(m()),
            AppError::RateLimited(m()),
            AppError::Unavailable(m()),
            AppError::Contended(m()),
            AppError::Internal(m()),
        ] {
            let code = format!("\"{}\"", err.code());
            assert!(documented.contains(&code), "{code} is not documented");
        }
    }
}
