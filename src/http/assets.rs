//! The dashboard and the JavaScript client, embedded in the binary (from
//! `web/`), so running herald needs no Node and no files beside it.

use crate::error::{AppError, AppResult};
use actix_web::{web, HttpResponse};

/// `GET /`: the dashboard page.
#[utoipa::path(
    get, path = "/", tag = "dashboard",
    security(()),
    responses(
        (status = 200, description = "The dashboard", content_type = "text/html", body = String),
        (status = 403, response = super::openapi::errors::Forbidden),
    )
)]
pub async fn index() -> HttpResponse {
    asset(
        "text/html; charset=utf-8",
        include_str!("../../web/index.html"),
    )
}

/// The dashboard's files under `/ui/`: its modules, charts and styles.
const UI_FILES: &[(&str, &str, &str)] = &[
    ("app.js", JAVASCRIPT, include_str!("../../web/app.js")),
    ("ui.js", JAVASCRIPT, include_str!("../../web/ui.js")),
    (
        "session.js",
        JAVASCRIPT,
        include_str!("../../web/session.js"),
    ),
    ("board.js", JAVASCRIPT, include_str!("../../web/board.js")),
    ("ops.js", JAVASCRIPT, include_str!("../../web/ops.js")),
    ("chart.js", JAVASCRIPT, include_str!("../../web/chart.js")),
    (
        "style.css",
        "text/css; charset=utf-8",
        include_str!("../../web/style.css"),
    ),
];

/// `GET /ui/{file}`: one of the dashboard's files.
#[utoipa::path(
    get, path = "/ui/{file}", tag = "dashboard",
    security(()),
    params(("file" = String, Path, description = "The file",
        example = "app.js", pattern = "^(app|ui|session|board|ops|chart)\\.js$|^style\\.css$")),
    responses(
        (status = 200, description = "The dashboard's script or styles",
            content((String = "text/javascript"), (String = "text/css"))),
        (status = 403, response = super::openapi::errors::Forbidden),
        (status = 404, response = super::openapi::errors::NotFound),
    )
)]
pub async fn ui(file: web::Path<String>) -> AppResult<HttpResponse> {
    let (_, content_type, body) = UI_FILES
        .iter()
        .find(|(name, _, _)| *name == file.as_str())
        .ok_or_else(|| AppError::not_found("file", &file))?;
    Ok(asset(content_type, body))
}

/// `GET /client/herald.js`: the client as an ES module.
#[utoipa::path(
    get, path = "/client/herald.js", tag = "dashboard",
    security(()),
    responses(
        (status = 200, description = "The JavaScript client, an ES module", content_type = "text/javascript", body = String),
        (status = 403, response = super::openapi::errors::Forbidden),
    )
)]
pub async fn client() -> HttpResponse {
    asset(JAVASCRIPT, include_str!("../../web/herald.js"))
}

const JAVASCRIPT: &str = "text/javascript; charset=utf-8";

/// The dashboard's policy: its own scripts, styles and sockets only (no
/// inline code), never framed (no clickjacking).
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; frame-ancestors 'none'";

/// An embedded file; revalidated on every load, so an upgrade shows at once.
/// Served with the security headers: the CSP, no MIME sniffing, no referrer
/// (URLs may carry a `?token=`).
fn asset(content_type: &str, body: &'static str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(content_type)
        .insert_header(("Cache-Control", "no-cache"))
        .insert_header(("Content-Security-Policy", CONTENT_SECURITY_POLICY))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .insert_header(("Referrer-Policy", "no-referrer"))
        .body(body)
}
