//! Hostile pages, hostile clients and retries (DESIGN §10): a foreign
//! `Origin` or `Host`, bodies of the wrong shape, payloads over the caps,
//! Engine.IO sessions that flood, stall or borrow another's sid, and random
//! bytes at a live server. Each test starts a real herald on 127.0.0.1:0.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a failing test should panic"
)]

#[path = "../support/mod.rs"]
mod support;

mod bodies;
mod engineio;
mod fuzz;
mod holes;
mod origin;
mod payloads;

use serde_json::Value;
use support::*;

/// A request with extra headers and an optional raw body; status and JSON
/// (or the text as a JSON string).
pub async fn send(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
) -> (u16, Value) {
    let mut req = client().request(method.parse().unwrap(), url);
    for (name, value) in headers {
        req = req.insert_header((*name, *value));
    }
    let mut resp = match body {
        Some(b) => req.send_body(b.to_vec()).await.unwrap(),
        None => req.send().await.unwrap(),
    };
    let bytes = resp.body().limit(64 * 1024 * 1024).await.unwrap();
    let json = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()));
    (resp.status().as_u16(), json)
}

/// The HTTP status of a WebSocket upgrade of `url` with these headers (101 when it opened).
pub async fn upgrade_status(url: &str, headers: &[(&str, &str)]) -> u16 {
    let mut req = client().ws(url);
    for (name, value) in headers {
        req = req.set_header(*name, *value);
    }
    match req.connect().await {
        Ok((resp, _)) => resp.status().as_u16(),
        Err(awc::error::WsClientError::InvalidResponseStatus(status)) => status.as_u16(),
        Err(other) => panic!("upgrade of {url} failed: {other}"),
    }
}

/// Waits until `/api/stats` counts `n` connections.
pub async fn connections(srv: &TestServer, n: u64) {
    wait_stats(srv, |s| s["connections"] == n).await;
}
