//! Item: every event payload is capped at `events.max_payload_bytes`
//! (262144 by default) on every route that takes one: 422, nothing written.
//! The body limit (1 MiB) alone let a 300 KiB tool input through.

use super::*;
use serde_json::json;

#[actix_web::test]
async fn every_route_caps_event_payloads() {
    let srv = TestServer::start();
    let (_, sid) = project_and_session(&srv).await;
    let url = |path: String| srv.url(&path);
    let big = "x".repeat(300 * 1024);
    // 100,000 characters is the text limit; four bytes each make 400 KB.
    let wide = "😀".repeat(70_000);
    let todos: Vec<Value> = (0..200)
        .map(|_| json!({"content": "y".repeat(1500), "status": "pending"}))
        .collect();
    let (st, _) = post(
        &srv.url("/api/broadcast/features/f1"),
        json!({"title": "F"}),
    )
    .await;
    assert_eq!(st, 201);
    let before = events_total(&srv).await;
    let cases: Vec<(&str, String, Value)> = vec![
        (
            "POST",
            format!("/api/sessions/{sid}/tool-calls"),
            json!({"tool_call_id": "t1", "tool_name": "Bash", "state": "input-available",
                   "input": {"command": big}}),
        ),
        (
            "POST",
            format!("/api/sessions/{sid}/tool-calls"),
            json!({"tool_call_id": "t2", "tool_name": "Bash", "state": "output-available",
                   "input": {}, "output": big}),
        ),
        (
            "POST",
            "/api/hooks".into(),
            json!({"hook_event_name": "PreToolUse", "session_id": sid, "tool_name": "Bash",
                   "tool_use_id": "t3", "tool_input": {"command": big}}),
        ),
        (
            "POST",
            "/api/hooks".into(),
            json!({"hook_event_name": "UserPromptSubmit", "session_id": "new-s", "prompt": wide}),
        ),
        (
            "POST",
            format!("/api/sessions/{sid}/messages"),
            json!({"role": "assistant", "content": wide}),
        ),
        (
            "POST",
            format!("/sessions/{sid}/messages"),
            json!({"prompt": wide}),
        ),
        ("PUT", format!("/api/sessions/{sid}/todos"), json!(todos)),
        (
            "POST",
            "/api/broadcast/features/f1".into(),
            json!({"title": "F", "description": wide}),
        ),
        (
            "POST",
            "/api/broadcast/features/f1/comments".into(),
            json!({"comment_text": wide}),
        ),
        (
            "POST",
            "/api/broadcast/tracks/t1".into(),
            json!({"title": "T", "description": wide}),
        ),
        (
            "POST",
            "/api/broadcast/spikes/k1".into(),
            json!({"title": "K", "findings": wide}),
        ),
        (
            "POST",
            "/api/rooms/lobby/events".into(),
            json!({"event_type": "note", "payload": {"big": big}}),
        ),
    ];
    for (method, path, body) in cases {
        let got = call(method, &url(path.clone()), Some(body)).await;
        assert_eq!(got.0, 422, "{method} {path}: {}", got.1);
        assert_error(&got, 422, "validation_failed");
        let message = got.1["error"]["message"].as_str().unwrap().to_string();
        assert!(message.contains("max_payload_bytes"), "{path}: {message}");
    }
    assert_eq!(
        events_total(&srv).await,
        before,
        "an oversized payload was written"
    );
    let (st, _) = get(&srv.url("/api/sessions/new-s")).await;
    assert_eq!(st, 404, "the refused hook created its session");
    // Just under the cap is fine.
    let fits = "x".repeat(200 * 1024);
    let body = json!({"tool_call_id": "t1", "tool_name": "Bash", "state": "input-available",
                      "input": {"command": fits}});
    let (st, answer) = post(&srv.url(&format!("/api/sessions/{sid}/tool-calls")), body).await;
    assert_eq!(st, 201, "{answer}");
}

#[actix_web::test]
async fn the_payload_cap_follows_the_config() {
    let srv = TestServer::start_with(|s| s.events.max_payload_bytes = 1024);
    let (_, sid) = project_and_session(&srv).await;
    let got = post(
        &srv.url(&format!("/api/sessions/{sid}/messages")),
        json!({"prompt": "z".repeat(2000)}),
    )
    .await;
    assert_error(&got, 422, "validation_failed");
    let got = post(
        &srv.url("/api/rooms/lobby/events"),
        json!({"event_type": "note", "payload": {"z": "z".repeat(2000)}}),
    )
    .await;
    assert_error(&got, 422, "validation_failed");
    let (st, _) = post(
        &srv.url(&format!("/api/sessions/{sid}/messages")),
        json!({"prompt": "short"}),
    )
    .await;
    assert_eq!(st, 201);
}
