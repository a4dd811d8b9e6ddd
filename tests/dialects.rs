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

#[actix_web::test]
async fn the_seed_003_flow_reaches_two_broadcasts_clients_identically() {
    // A short retention too: the audit trail is the event log, never pruned.
    let srv = TestServer::start_with(|s| {
        s.ws.batch_window_ms = 200;
        s.events.retention_per_room = 2;
    });
    let mut a = Ws::connect(&srv.ws_url("/ws/broadcasts")).await;
    let mut b = Ws::connect(&srv.ws_url("/ws/broadcasts")).await;
    for ws in [&mut a, &mut b] {
        assert_eq!(ws.next_json().await["type"], "subscribed");
    }
    let steps: [(&str, &str, Option<serde_json::Value>); 6] = [
        (
            "POST",
            "/api/broadcast/features/feat-9",
            Some(json!({"title": "Search", "status": "todo"})),
        ),
        (
            "POST",
            "/api/broadcast/features/feat-9",
            Some(json!({"title": "Search v2", "status": "todo"})),
        ),
        (
            "POST",
            "/api/broadcast/features/feat-9/status",
            Some(json!({"new_status": "done"})),
        ),
        (
            "POST",
            "/api/broadcast/features/feat-9/links",
            Some(json!({"linked_feature_id": "feat-1", "link_type": "blocks"})),
        ),
        (
            "POST",
            "/api/broadcast/features/feat-9/comments",
            Some(json!({"comment_text": "ship it"})),
        ),
        ("DELETE", "/api/broadcast/features/feat-9", None),
    ];
    let c = client();
    for (method, path, body) in steps {
        let req = c
            .request(method.parse().unwrap(), srv.url(path))
            .insert_header(("X-Agent-ID", "claude-1"))
            .insert_header(("X-Session-ID", "sess-1"));
        let resp = match body {
            Some(b) => req.send_json(&b).await.unwrap(),
            None => req.send().await.unwrap(),
        };
        assert!(
            resp.status().is_success(),
            "{method} {path}: {}",
            resp.status()
        );
    }
    let mut seen = Vec::new();
    for ws in [&mut a, &mut b] {
        let mut frames = Vec::new();
        for _ in 0..6 {
            frames.push(ws.next_json().await);
        }
        seen.push(frames);
    }
    assert_eq!(seen[0], seen[1], "two clients saw different streams");
    let types: Vec<&str> = seen[0]
        .iter()
        .map(|f| f["event_type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        [
            "feature_created",
            "feature_updated",
            "status_changed",
            "link_added",
            "comment_added",
            "feature_deleted"
        ]
    );
    assert!(seen[0].iter().all(|f| f["type"] == "broadcast_event"
        && f["agent_id"] == "claude-1"
        && f["session_id"] == "sess-1"));
    assert_eq!(seen[0][2]["payload"]["old_status"], "todo");
    assert_eq!(seen[0][2]["payload"]["new_status"], "done");
    assert_eq!(seen[0][3]["payload"]["linked_feature_id"], "feat-1");
    assert_eq!(seen[0][3]["payload"]["link_type"], "blocks");
    assert_eq!(seen[0][4]["payload"]["comment_text"], "ship it");
    assert_eq!(seen[0][4]["payload"]["author"], "claude-1");
    let (_, rows) = get(&srv.url("/api/broadcast/events?resource_id=feat-9")).await;
    let rows = rows.as_array().unwrap();
    assert!(rows
        .iter()
        .all(|r| r["agent_id"] == "claude-1" && r["session_id"] == "sess-1"));
    let trail: Vec<&str> = rows
        .iter()
        .map(|r| r["event_type"].as_str().unwrap())
        .collect();
    assert_eq!(
        trail,
        [
            "feature_deleted",
            "comment_added",
            "link_added",
            "status_changed",
            "feature_updated",
            "feature_created"
        ]
    );
}
