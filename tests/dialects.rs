//! The seeds' own WebSocket clients, unchanged: `/ws/broadcasts` (seed 003)
//! and `/ws/sessions/{id}` (seed 002), on the same rooms as the native socket.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a failing test should panic"
)]

mod support;

use awc::ws::Message;
use serde_json::json;
use support::*;

#[actix_web::test]
async fn broadcasts_clients_get_broadcast_event_frames() {
    let srv = TestServer::start_with(|s| s.ws.batch_window_ms = 0);
    let mut ws = Ws::connect(&srv.ws_url("/ws/broadcasts")).await;
    let hello = ws.next_json().await;
    assert_eq!(
        hello,
        json!({"type": "subscribed", "room": "broadcasts", "seq": 0})
    );
    // The plain-text subscribe of seed 003's client is acknowledged, and is a no-op.
    ws.send(Message::Text("subscribe".into())).await;
    assert_eq!(ws.next_json().await["type"], "subscribed");

    let c = client();
    let resp = c
        .post(srv.url("/api/broadcast/features/feat-123"))
        .insert_header(("X-Agent-ID", "claude-1"))
        .insert_header(("X-Session-ID", "sess-1"))
        .send_json(&json!({"title": "Auth", "status": "in_progress"}))
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 201);
    let frame = ws.next_json().await;
    assert_eq!(frame["type"], "broadcast_event");
    assert_eq!(frame["event_type"], "feature_created");
    assert_eq!(frame["resource_id"], "feat-123");
    assert_eq!(frame["resource_type"], "feature");
    assert_eq!(frame["payload"]["status"], "in_progress");
    assert_eq!(
        (frame["agent_id"].clone(), frame["session_id"].clone()),
        (json!("claude-1"), json!("sess-1"))
    );
    assert_eq!(frame["seq"], 1);
    assert!(frame["timestamp"].as_str().unwrap().ends_with('Z'));
}

#[actix_web::test]
async fn session_clients_get_flat_frames() {
    let srv = TestServer::start_with(|s| s.ws.batch_window_ms = 0);
    let (_pid, sid) = project_and_session(&srv).await;
    let mut ws = Ws::connect(&srv.ws_url(&format!("/ws/sessions/{sid}"))).await;
    let hello = ws.next_json().await;
    assert_eq!(
        hello,
        json!({"type": "subscribed", "room": format!("session:{sid}"), "seq": 1})
    );
    post(
        &srv.url(&format!("/api/sessions/{sid}/messages")),
        json!({"prompt": "hi"}),
    )
    .await;
    let frame = ws.next_json().await;
    assert_eq!(frame["type"], "message_created");
    assert_eq!(frame["content"], "hi");
    assert_eq!(frame["session_id"], sid.as_str());
    assert_eq!(frame["seq"], 2);
    assert_eq!(frame["room"], format!("session:{sid}"));
    // Several events in one window still arrive as separate flat frames.
    call(
        "PATCH",
        &srv.url(&format!("/api/sessions/{sid}")),
        Some(json!({"status": "idle"})),
    )
    .await;
    assert_eq!(ws.next_json().await["type"], "session_updated");
    let changed = ws.next_json().await;
    assert_eq!(
        (changed["type"].clone(), changed["new_status"].clone()),
        (json!("status_changed"), json!("idle"))
    );
}
