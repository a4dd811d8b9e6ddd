//! HTTP helpers for the API tests: raw requests, error-shape checks,
//! timestamps and event lists.

use super::*;
use serde_json::Value;

// Shared by tests/http_projects.rs, tests/http_sessions.rs and
// tests/http_rooms_and_errors.rs.

/// Sends raw bytes (or nothing) with an optional content type; returns status and JSON.
pub async fn raw(
    method: &str,
    url: &str,
    content_type: Option<&str>,
    body: Option<Vec<u8>>,
) -> (u16, Value) {
    let mut req = client().request(method.parse().unwrap(), url);
    if let Some(ct) = content_type {
        req = req.insert_header(("content-type", ct));
    }
    let mut resp = match body {
        Some(b) => req.send_body(b).await.unwrap(),
        None => req.send().await.unwrap(),
    };
    let bytes = resp.body().limit(64 * 1024 * 1024).await.unwrap();
    let json = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()));
    (resp.status().as_u16(), json)
}

pub async fn patch(url: &str, body: Value) -> (u16, Value) {
    call("PATCH", url, Some(body)).await
}

pub async fn delete(url: &str) -> (u16, Value) {
    call("DELETE", url, None).await
}

/// Asserts an error answer: its status and the `{"error":{"code","message"}}` shape.
#[track_caller]
pub fn assert_error(got: &(u16, Value), status: u16, code: &str) {
    let (st, body) = got;
    assert_eq!(*st, status, "{body}");
    assert_eq!(body["error"]["code"], code, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "error without a message: {body}"
    );
    assert_eq!(body.as_object().unwrap().len(), 1, "extra keys: {body}");
}

/// `2026-11-22T12:00:00.123Z`: RFC 3339, UTC, exactly three fractional digits.
pub fn is_timestamp(v: &Value) -> bool {
    let template = b"0000-00-00T00:00:00.000Z";
    v.as_str().is_some_and(|s| {
        s.len() == template.len()
            && s.bytes().zip(template).all(|(c, t)| match t {
                b'0' => c.is_ascii_digit(),
                t => c == *t,
            })
    })
}

/// How many events the log holds.
pub async fn events_total(srv: &TestServer) -> i64 {
    let (st, stats) = get(&srv.url("/api/stats")).await;
    assert_eq!(st, 200, "{stats}");
    stats["events_total"].as_i64().unwrap()
}

/// `(event_type, room)` of each entry of a write's `events`, checking each entry's shape.
#[track_caller]
pub fn event_list(body: &Value) -> Vec<(String, String)> {
    body["events"]
        .as_array()
        .unwrap_or_else(|| panic!("no events in {body}"))
        .iter()
        .map(|e| {
            assert!(e["id"].as_i64().is_some_and(|id| id > 0), "{e}");
            assert!(e["seq"].as_i64().is_some_and(|seq| seq > 0), "{e}");
            (
                e["event_type"].as_str().unwrap().to_string(),
                e["room"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

pub fn pair(event_type: &str, room: &str) -> (String, String) {
    (event_type.to_string(), room.to_string())
}

/// Proves the server still serves: a write succeeds.
pub async fn still_serving(srv: &TestServer) {
    let (st, body) = post(
        &srv.url("/api/projects"),
        serde_json::json!({"name": "after"}),
    )
    .await;
    assert_eq!(st, 201, "server stopped serving writes: {body}");
}

pub async fn create_session(srv: &TestServer, pid: &str, body: Value) -> Value {
    let (st, s) = post(&srv.url(&format!("/api/projects/{pid}/sessions")), body).await;
    assert_eq!(st, 201, "{s}");
    s
}
