//! `GET /metrics` (who may scrape, what the scrape reads) and the
//! middleware that counts every HTTP request by route pattern and status,
//! and writes the access log when `log.access` is on.
//! The metrics themselves are `crate::metrics`.

use super::{extract, AppState};
use crate::auth::hash_token;
use crate::error::AppResult;
use crate::metrics::{Snapshot, CONTENT_TYPE};
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::{web, HttpRequest, HttpResponse};
use std::time::Instant;

#[utoipa::path(
    get, path = "/metrics", tag = "ops",
    responses(
        (status = 200, description = "Prometheus text format (admins, or the bearer of `metrics.token`)", content_type = "text/plain", body = String),
        (status = 401, response = super::openapi::errors::Unauthorized),
        (status = 403, response = super::openapi::errors::Forbidden),
    )
)]
/// `GET /metrics`: Prometheus text format. With auth required, admins and
/// the bearer of `metrics.token` only.
pub async fn scrape(state: web::Data<AppState>, req: HttpRequest) -> AppResult<HttpResponse> {
    let scraper = match (
        state.settings.metrics.token.as_deref(),
        extract::bearer(&req),
    ) {
        (Some(want), Some(got)) => crate::auth::same(&hash_token(want), &hash_token(got)),
        _ => false,
    };
    if !scraper {
        state.admin(&req).await?;
    }
    let stats = &state.stats;
    let rooms = stats.rooms();
    let pool = state.pool.state();
    let now = Snapshot {
        rooms: rooms.len(),
        subscriptions: rooms.iter().map(|(_, n)| n).sum(),
        pool_in_use: pool.connections.saturating_sub(pool.idle_connections),
        pool_open: pool.connections,
        listener_connected: stats.listening(),
        nodes: stats.nodes().len(),
    };
    let text = stats
        .metrics()
        .render(now)
        .map_err(|e| crate::error::AppError::Internal(format!("cannot render metrics: {e}")))?;
    Ok(HttpResponse::Ok().content_type(CONTENT_TYPE).body(text))
}

/// A method as a label: the standard ones by name, any other as `other`
/// (a client may send any token as a method; labels must stay bounded).
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// Middleware, outermost: counts the request under its route pattern
/// (`/api/sessions/{id}`, never the raw path; `unmatched` for no route)
/// and its status, times it to the response head, and logs it when
/// `log.access` is on.
pub async fn observe(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let method = method_label(req.method());
    let path = state
        .as_ref()
        .filter(|s| s.settings.log.access)
        .map(|_| req.path().to_string());
    let answer = next.call(req).await;
    // Asked after routing: actix then reads the pattern from the route it
    // took, where before it would match the path against every route again.
    let (status, route) = match &answer {
        Ok(res) => (res.status(), res.request().match_pattern()),
        Err(err) => (err.as_response_error().status_code(), None),
    };
    let took = started.elapsed();
    let route = route.as_deref().unwrap_or("unmatched");
    if let Some(state) = state {
        let metrics = state.stats.metrics();
        metrics.http_request(method, route, status.as_u16(), took);
    }
    if let Some(path) = path {
        let ms = took.as_micros() as f64 / 1000.0;
        log::info!(
            target: "herald::access",
            method, route, path = path.as_str(), status = status.as_u16(), duration_ms = ms;
            "{method} {path} {} {ms:.1}ms", status.as_u16()
        );
    }
    answer
}
