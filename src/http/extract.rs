//! Request extraction with herald's error shapes: a JSON body read under the
//! size limit (413), parsed into a type (400 on bad shape), the writer headers,
//! and query/path errors turned into JSON.

use super::AppState;
use crate::domain::idempotency::IdempotencyKey;
use crate::domain::CommandCtx;
use crate::error::AppError;
use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest};
use futures::future::LocalBoxFuture;
use futures::StreamExt;
use serde::de::DeserializeOwned;

/// Longest `X-Agent-ID` / `X-Session-ID`.
const MAX_HEADER_ID: usize = 200;
/// The header that makes a write idempotent.
const IDEMPOTENCY_KEY: &str = "idempotency-key";

/// A JSON object body. An empty body reads as `{}`, so all-optional bodies
/// may be left out; an array or a scalar is 400 even when its items would
/// fill the fields (serde would otherwise read `[1,2]` as a struct).
pub struct Body<T>(pub T);

/// A JSON array body (`PUT /api/sessions/{id}/todos`); anything else is 400.
pub struct Items<T>(pub Vec<T>);

/// The JSON value a route takes at the top of its body.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Shape {
    /// `{…}`
    Object,
    /// `[…]`
    Array,
}

impl<T: DeserializeOwned + 'static> FromRequest for Body<T> {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let body = read(req, payload);
        Box::pin(async move { parse(&body.await?, Shape::Object).map(Body) })
    }
}

impl<T: DeserializeOwned + 'static> FromRequest for Items<T> {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let body = read(req, payload);
        Box::pin(async move { parse(&body.await?, Shape::Array).map(Items) })
    }
}

/// Reads the whole body under `server.max_body_bytes` (413 over it).
fn read(
    req: &HttpRequest,
    payload: &mut Payload,
) -> LocalBoxFuture<'static, Result<web::BytesMut, AppError>> {
    let limit = req
        .app_data::<web::Data<AppState>>()
        .map(|s| s.settings.server.max_body_bytes)
        .unwrap_or(1024 * 1024);
    let declared = req
        .headers()
        .get(actix_web::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    let mut payload = payload.take();
    let req = req.clone();
    Box::pin(async move {
        let too_large = || AppError::PayloadTooLarge(format!("body over {limit} bytes"));
        if declared.is_some_and(|n| n > limit) {
            return Err(too_large());
        }
        let mut body = web::BytesMut::new();
        while let Some(chunk) = payload.next().await {
            let chunk = chunk.map_err(|e| AppError::BadRequest(format!("body: {e}")))?;
            if body.len() + chunk.len() > limit {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        // Only a keyed write compares its body with the first one's.
        if req.headers().contains_key(IDEMPOTENCY_KEY) {
            req.extensions_mut()
                .insert(BodyHash(crate::auth::hash_bytes(&body)));
        }
        Ok(body)
    })
}

/// Parses a body that must be JSON of `shape` at the top: a value, or 400
/// `bad_request` (422 for an enum value outside its vocabulary:
/// [`crate::validate::parse_json`]). An empty (or all white space) object
/// body reads as `{}`.
pub fn parse<T: DeserializeOwned>(body: &[u8], shape: Shape) -> Result<T, AppError> {
    let first = body.iter().find(|b| !b.is_ascii_whitespace());
    let text: &[u8] = match (first, shape) {
        (None, Shape::Object) => b"{}",
        (Some(b'{'), Shape::Object) | (Some(b'['), Shape::Array) => body,
        (_, Shape::Object) => {
            return Err(AppError::BadRequest(
                "the body must be a JSON object".into(),
            ))
        }
        (_, Shape::Array) => {
            return Err(AppError::BadRequest("the body must be a JSON array".into()))
        }
    };
    crate::validate::parse_json(text)
}

/// SHA-256 (hex) of the request body, kept by [`Body`] for idempotent writes.
#[derive(Clone)]
pub struct BodyHash(pub String);

/// The `Idempotency-Key` of `req` with the request's fingerprint, if any.
fn idempotency_key(req: &HttpRequest) -> Result<Option<IdempotencyKey>, AppError> {
    let Some(value) = req.headers().get(IDEMPOTENCY_KEY) else {
        return Ok(None);
    };
    let key = value
        .to_str()
        .map_err(|_| AppError::BadRequest("Idempotency-Key is not text".into()))?;
    IdempotencyKey::validate(key)?;
    let body_hash = req
        .extensions()
        .get::<BodyHash>()
        .map_or_else(|| crate::auth::hash_bytes(b""), |h| h.0.clone());
    let path = req
        .uri()
        .path_and_query()
        .map_or_else(|| req.path().to_string(), |p| p.as_str().to_string());
    Ok(Some(IdempotencyKey {
        key: key.to_string(),
        method: req.method().as_str().to_string(),
        path,
        body_hash,
    }))
}

/// The writer's identity headers, recorded on the events.
pub fn command_ctx(req: &HttpRequest) -> Result<CommandCtx, AppError> {
    let header = |name: &str| -> Result<Option<String>, AppError> {
        match req.headers().get(name) {
            None => Ok(None),
            Some(value) => {
                let value = value
                    .to_str()
                    .map_err(|_| AppError::BadRequest(format!("{name} is not text")))?;
                if value.is_empty() || value.len() > MAX_HEADER_ID {
                    return Err(AppError::Validation(format!(
                        "{name} must be 1-{MAX_HEADER_ID} characters"
                    )));
                }
                Ok(Some(value.to_string()))
            }
        }
    };
    Ok(CommandCtx {
        agent_id: header("X-Agent-ID")?,
        origin_session_id: header("X-Session-ID")?,
        idempotency: idempotency_key(req)?.map(std::sync::Arc::new),
        ..CommandCtx::default()
    })
}

/// The token of `Authorization: Bearer <token>`, if any.
pub fn bearer(req: &HttpRequest) -> Option<&str> {
    let value = req
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// Query-string errors as 400 JSON.
pub fn query_config() -> web::QueryConfig {
    web::QueryConfig::default()
        .error_handler(|err, _| AppError::BadRequest(format!("query: {err}")).into())
}

/// Path errors as 400 JSON.
pub fn path_config() -> web::PathConfig {
    web::PathConfig::default()
        .error_handler(|err, _| AppError::BadRequest(format!("path: {err}")).into())
}
