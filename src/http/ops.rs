//! Operations: liveness, readiness (the database answers), live counters.

use super::AppState;
use crate::db::events;
use crate::error::{AppError, AppResult};
use actix_web::{web, HttpRequest, HttpResponse};
use diesel::connection::SimpleConnection;
use serde_json::json;

/// `GET /healthz`: the process serves HTTP.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

/// `GET /readyz`: the database answers (503 otherwise).
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
pub async fn stats(state: web::Data<AppState>, req: HttpRequest) -> AppResult<HttpResponse> {
    state.admin(&req).await?;
    let total = state.read(|conn| Ok(events::count(conn)?)).await?;
    let rooms: Vec<_> = state
        .stats
        .rooms()
        .into_iter()
        .map(|(room, connections)| json!({"room": room, "connections": connections}))
        .collect();
    Ok(HttpResponse::Ok().json(json!({
        "connections": state.stats.connections(),
        "rooms": rooms,
        "events_total": total,
        "uptime_s": state.stats.uptime_s(),
    })))
}
