//! The dashboard and the JavaScript client, embedded in the binary (from
//! `web/`), so running herald needs no Node and no files beside it.

use actix_web::HttpResponse;

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

/// `GET /ui/app.js`.
#[utoipa::path(
    get, path = "/ui/app.js", tag = "dashboard",
    security(()),
    responses(
        (status = 200, description = "The dashboard's script", content_type = "text/javascript", body = String),
        (status = 403, response = super::openapi::errors::Forbidden),
    )
)]
pub async fn app() -> HttpResponse {
    asset(JAVASCRIPT, include_str!("../../web/app.js"))
}

/// `GET /ui/style.css`.
#[utoipa::path(
    get, path = "/ui/style.css", tag = "dashboard",
    security(()),
    responses(
        (status = 200, description = "The dashboard's styles", content_type = "text/css", body = String),
        (status = 403, response = super::openapi::errors::Forbidden),
    )
)]
pub async fn style() -> HttpResponse {
    asset(
        "text/css; charset=utf-8",
        include_str!("../../web/style.css"),
    )
}

#[utoipa::path(
    get, path = "/ui/chart.js", tag = "dashboard", security(()),
    responses(
        (status = 200, description = "The dashboard's charts", content_type = "text/javascript", body = String),
        (status = 403, response = super::openapi::errors::Forbidden),
    )
)]
/// `GET /ui/chart.js`: the dashboard's SVG charts.
pub async fn chart() -> HttpResponse {
    asset(JAVASCRIPT, include_str!("../../web/chart.js"))
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
