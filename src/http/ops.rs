//! Operations: liveness, readiness (the database answers), live counters
//! and their last minutes.

use super::AppState;
use crate::db::cluster::NodeRow;
use crate::db::events;
use crate::error::{AppError, AppResult};
use crate::time::{now_ms, rfc3339};
use actix_web::{web, HttpRequest, HttpResponse};
use diesel::connection::SimpleConnection;
use serde::Deserialize;
use serde_json::json;

/// `GET /healthz`: the process serves HTTP.
#[utoipa::path(
    get, path = "/healthz", tag = "ops",
    security(()),
    responses(
        (status = 200, description = "The process serves HTTP", body = super::openapi::schemas::Status),
        (status = 403, response = super::openapi::errors::Forbidden),
    )
)]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

/// `GET /readyz`: the database answers (503 otherwise).
#[utoipa::path(
    get, path = "/readyz", tag = "ops",
    security(()),
    responses(
        (status = 200, description = "The database answers", body = super::openapi::schemas::Status),
        (status = 403, response = super::openapi::errors::Forbidden),
        (status = 503, response = super::openapi::errors::Unavailable),
    )
)]
pub async fn readyz(state: web::Data<AppState>) -> AppResult<HttpResponse> {
    state
        .read(|conn| {
            conn.batch_execute("SELECT 1")
                .map_err(|e| AppError::Unavailable(format!("database unavailable: {e}")))
        })
        .await?;
    Ok(HttpResponse::Ok().json(json!({"status": "ready"})))
}

/// `GET /api/stats`.
/// Admins only: room names name private sessions.
#[utoipa::path(
    get, path = "/api/stats", tag = "ops",
    responses(
        (status = 200, description = "Live counters (admins only)", body = super::openapi::schemas::Stats),
        (status = 401, response = super::openapi::errors::Unauthorized),
        (status = 403, response = super::openapi::errors::Forbidden),
        (status = 503, response = super::openapi::errors::Unavailable),
    )
)]
pub async fn stats(state: web::Data<AppState>, req: HttpRequest) -> AppResult<HttpResponse> {
    state.admin(&req).await?;
    let total = state.read(|conn| Ok(events::count(conn)?)).await?;
    let rooms: Vec<_> = state
        .stats
        .rooms()
        .into_iter()
        .map(|(room, connections)| json!({"room": room, "connections": connections}))
        .collect();
    let mut nodes = state.stats.nodes();
    if nodes.is_empty() {
        // One node (SQLite), or a cluster node before its first heartbeat.
        nodes.push(NodeRow {
            id: state.stats.node().to_string(),
            connections: state.stats.connections() as i64,
            started_at: 0,
            seen_at: now_ms(),
        });
    }
    let nodes: Vec<_> = nodes
        .iter()
        .map(|n| json!({"id": n.id, "connections": n.connections, "seen_at": rfc3339(n.seen_at)}))
        .collect();
    Ok(HttpResponse::Ok().json(json!({
        "node": state.stats.node(),
        "nodes": nodes,
        "cluster": {
            "listening": state.stats.listening(),
            "fenced": state.stats.fenced(),
            "notifications_received": state.stats.notifications(),
        },
        "connections": state.stats.connections(),
        "rooms": rooms,
        "events_total": total,
        "uptime_s": state.stats.uptime_s(),
    })))
}

/// `GET /api/stats/history` filter.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HistoryQuery {
    /// Only samples taken after this time (unix milliseconds).
    after: Option<i64>,
}

#[utoipa::path(
    get, path = "/api/stats/history", tag = "ops", params(HistoryQuery),
    responses(
        (status = 200, description = "The last minutes of the counters, one sample a second (admins only)", body = super::openapi::schemas::History),
        (status = 400, response = super::openapi::errors::BadRequest),
        (status = 401, response = super::openapi::errors::Unauthorized),
        (status = 403, response = super::openapi::errors::Forbidden),
    )
)]
/// `GET /api/stats/history?after=`: the last minutes of the counters, one
/// sample a second, oldest first. Admins only, like `/api/stats`.
pub async fn history(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: web::Query<HistoryQuery>,
) -> AppResult<HttpResponse> {
    state.admin(&req).await?;
    Ok(HttpResponse::Ok().json(super::openapi::schemas::History {
        interval_ms: crate::history::SAMPLE_EVERY.as_millis() as i64,
        samples: state.stats.history().after(query.after.unwrap_or(i64::MIN)),
    }))
}
