//! Item: smaller holes. Token totals that would overflow, herald's own event
//! types on the generic route, and the dashboard's security headers.

use super::*;
use serde_json::json;

#[actix_web::test]
async fn token_totals_that_would_overflow_are_422_and_the_writer_carries_on() {
    let srv = TestServer::start();
    let (_, sid) = project_and_session(&srv).await;
    let usage = srv.url(&format!("/api/sessions/{sid}/token-usage"));
    let max = i64::MAX;
    // One report that alone overflows the total (input + output).
    let got = post(&usage, json!({"input_tokens": max, "output_tokens": 1})).await;
    assert_error(&got, 422, "validation_failed");
    // Up to the limit is fine; one more token past it is not.
    let (st, body) = post(&usage, json!({"input_tokens": max, "output_tokens": 0})).await;
    assert_eq!(st, 201, "{body}");
    let got = post(&usage, json!({"input_tokens": 1, "output_tokens": 0})).await;
    assert_error(&got, 422, "validation_failed");
    let got = post(&usage, json!({"input_tokens": 0, "output_tokens": 1})).await;
    assert_error(&got, 422, "validation_failed");
    // The same through a hook's usage.
    let hook = json!({"hook_event_name": "Stop", "session_id": sid,
                      "usage": {"input_tokens": 5, "output_tokens": 5}});
    let got = post(&srv.url("/api/hooks"), hook).await;
    assert_error(&got, 422, "validation_failed");
    let (_, s) = get(&srv.url(&format!("/api/sessions/{sid}"))).await;
    assert_eq!(s["tokens_total"], json!(max), "{s}");
    still_serving(&srv).await;
}

#[actix_web::test]
async fn herald_event_types_cannot_be_published_through_the_generic_route() {
    let srv = TestServer::start();
    let before = events_total(&srv).await;
    for event_type in [
        "session_created",
        "session_updated",
        "status_changed",
        "message_created",
        "unsubscribed",
        "subscribed",
        "error",
        "event",
        "batch-update",
        "welcome",
        "heartbeat",
        "redacted",
        "connect",
        "disconnect",
    ] {
        let body = json!({"event_type": event_type, "payload": {"room": "lobby"}});
        let got = post(&srv.url("/api/rooms/lobby/events"), body).await;
        assert_eq!(got.0, 422, "{event_type}: {}", got.1);
        assert_error(&got, 422, "validation_failed");
    }
    assert_eq!(events_total(&srv).await, before);
    // Names of the application's own stay free.
    publish(&srv, "lobby", json!({"a": 1})).await;
    let body = json!({"event_type": "test_started", "payload": {}});
    assert_eq!(post(&srv.url("/api/rooms/lobby/events"), body).await.0, 201);
}

#[actix_web::test]
async fn the_dashboard_is_served_with_security_headers() {
    let srv = TestServer::start();
    for path in [
        "/",
        "/ui/app.js",
        "/ui/ui.js",
        "/ui/session.js",
        "/ui/board.js",
        "/ui/ops.js",
        "/ui/chart.js",
        "/ui/style.css",
        "/client/herald.js",
    ] {
        let resp = client().get(srv.url(path)).send().await.unwrap();
        assert_eq!(resp.status().as_u16(), 200, "{path}");
        let header = |name: &str| {
            resp.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        assert_eq!(
            header("content-security-policy").as_deref(),
            Some("default-src 'self'; frame-ancestors 'none'"),
            "{path}"
        );
        assert_eq!(header("x-content-type-options").as_deref(), Some("nosniff"));
        assert_eq!(header("referrer-policy").as_deref(), Some("no-referrer"));
    }
    // Only the dashboard's own files: no path walks out of the table.
    for path in ["/ui/herald.js", "/ui/..%2FCargo.toml", "/ui/app.js.map"] {
        let resp = client().get(srv.url(path)).send().await.unwrap();
        assert_eq!(resp.status().as_u16(), 404, "{path}");
    }
}
