//! A session's agent activity: messages, token usage, todos and tool calls,
//! written over HTTP and seen live in the session and project rooms.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a failing test should panic"
)]

mod support;

use serde_json::{json, Value};
use std::time::{Duration, Instant};
use support::*;

#[actix_web::test]
async fn a_message_reaches_session_and_project_rooms_and_is_listed() {
    let srv = TestServer::start_with(|s| s.ws.batch_window_ms = 0);
    let (pid, sid) = project_and_session(&srv).await;
    let mut session_room = Ws::open(&srv).await;
    session_room
        .subscribe(&format!("session:{sid}"), None)
        .await;
    let mut project_room = Ws::open(&srv).await;
    project_room
        .subscribe(&format!("project:{pid}"), None)
        .await;

    let (st, body) = post(
        &srv.url(&format!("/api/sessions/{sid}/messages")),
        json!({"prompt": "Add a feature"}),
    )
    .await;
    assert_eq!(st, 201, "{body}");
    assert_eq!(
        (body["role"].clone(), body["content"].clone()),
        (json!("user"), json!("Add a feature"))
    );
    // The seed-004 alias, with {role, content}.
    let (st, _) = post(
        &srv.url(&format!("/sessions/{sid}/messages")),
        json!({"role": "assistant", "content": "Done"}),
    )
    .await;
    assert_eq!(st, 201);
    for ws in [&mut session_room, &mut project_room] {
        let evs = ws.events(2).await;
        assert_eq!(evs[0]["event_type"], "message_created");
        assert_eq!(evs[0]["payload"]["content"], "Add a feature");
        assert_eq!(evs[0]["payload"]["session_id"], sid.as_str());
        assert_eq!(evs[1]["payload"]["role"], "assistant");
    }
    let (st, list) = get(&srv.url(&format!("/api/sessions/{sid}/messages"))).await;
    assert_eq!(st, 200);
    assert_eq!(list.as_array().unwrap().len(), 2);
    let (_, snap) = get(&srv.url(&format!("/api/sessions/{sid}/snapshot"))).await;
    assert_eq!(snap["messages"][1]["content"], "Done");
}

#[actix_web::test]
async fn bad_activity_input_is_refused_and_writes_nothing() {
    let srv = TestServer::start();
    let (_pid, sid) = project_and_session(&srv).await;
    let before = get(&srv.url("/api/stats")).await.1["events_total"].clone();
    let cases = [
        (
            "POST",
            format!("/api/sessions/{sid}/messages"),
            json!({}),
            400,
        ),
        (
            "POST",
            format!("/api/sessions/{sid}/messages"),
            json!({"role": "robot", "content": "x"}),
            422,
        ),
        (
            "POST",
            format!("/api/sessions/{sid}/messages"),
            json!({"prompt": ""}),
            422,
        ),
        (
            "POST",
            "/api/sessions/nope/messages".to_string(),
            json!({"prompt": "x"}),
            404,
        ),
        (
            "POST",
            format!("/api/sessions/{sid}/token-usage"),
            json!({"input_tokens": 5}),
            400,
        ),
        (
            "POST",
            format!("/api/sessions/{sid}/token-usage"),
            json!({"input_tokens": -1, "output_tokens": 1}),
            422,
        ),
        (
            "POST",
            format!("/api/sessions/{sid}/token-usage"),
            json!({"input_tokens": "5", "output_tokens": 1}),
            400,
        ),
        (
            "PUT",
            format!("/api/sessions/{sid}/todos"),
            json!({"todos": []}),
            400,
        ),
        (
            "PUT",
            format!("/api/sessions/{sid}/todos"),
            json!([{"content": "x", "status": "someday"}]),
            422,
        ),
        (
            "POST",
            format!("/api/sessions/{sid}/tool-calls"),
            json!({"tool_call_id": "t", "tool_name": "Bash", "state": "running", "input": {}}),
            422,
        ),
        (
            "POST",
            format!("/api/sessions/{sid}/tool-calls"),
            json!({"tool_call_id": "t", "state": "input-available", "input": {}}),
            400,
        ),
    ];
    for (method, path, body, want) in cases {
        let (st, answer) = call(method, &srv.url(&path), Some(body.clone())).await;
        assert_eq!(st, want, "{method} {path} {body} → {answer}");
        assert!(answer["error"]["code"].is_string(), "{answer}");
    }
    assert_eq!(get(&srv.url("/api/stats")).await.1["events_total"], before);
}

#[actix_web::test]
async fn token_usage_totals_add_up_across_concurrent_posts() {
    let srv = TestServer::start();
    let (_pid, sid) = project_and_session(&srv).await;
    let url = srv.url(&format!("/api/sessions/{sid}/token-usage"));
    // A hundred posts in flight at once.
    let posts = (0..100).map(|_| {
        let body = json!({"input_tokens": 3, "output_tokens": 7,
                          "cache_read_input_tokens": 1, "model": "m"});
        post(&url, body)
    });
    let answers = futures::future::join_all(posts).await;
    assert!(answers.iter().all(|(st, _)| *st == 201), "{answers:?}");
    // Every post kept its own row and produced its own two events.
    let ids: std::collections::BTreeSet<i64> = answers
        .iter()
        .map(|(_, b)| b["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids.len(), 100);
    assert!(answers
        .iter()
        .all(|(_, b)| b["events"].as_array().map(Vec::len) == Some(4)));
    let (_, s) = get(&srv.url(&format!("/api/sessions/{sid}"))).await;
    assert_eq!(
        (s["tokens_input"].clone(), s["tokens_output"].clone()),
        (json!(300), json!(700))
    );
    assert_eq!(
        (s["tokens_total"].clone(), s["tokens_cache_read"].clone()),
        (json!(1000), json!(100))
    );

    // Listed, oldest first, page by page.
    let list_url = srv.url(&format!("/api/sessions/{sid}/token-usage"));
    let (st, all) = get(&format!("{list_url}?limit=1000")).await;
    assert_eq!(st, 200, "{all}");
    let all = all.as_array().unwrap();
    assert_eq!(all.len(), 100);
    let ids: Vec<i64> = all.iter().map(|u| u["id"].as_i64().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "not oldest first");
    let input: i64 = all
        .iter()
        .map(|u| u["input_tokens"].as_i64().unwrap())
        .sum();
    assert_eq!(json!(input), s["tokens_input"]);
    let (_, page) = get(&format!("{list_url}?after={}&limit=10", ids[49])).await;
    let page: Vec<i64> = page
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_i64().unwrap())
        .collect();
    assert_eq!(page, ids[50..60]);
    assert_error(
        &get(&srv.url("/api/sessions/nope/token-usage")).await,
        404,
        "not_found",
    );

    // Live: token_usage then session_updated with the new totals.
    let mut ws = Ws::open(&srv).await;
    ws.subscribe(&format!("session:{sid}"), None).await;
    post(&url, json!({"input_tokens": 1, "output_tokens": 1})).await;
    let evs = ws.events(2).await;
    assert_eq!(evs[0]["event_type"], "token_usage");
    assert_eq!(evs[1]["event_type"], "session_updated");
    assert_eq!(evs[1]["payload"]["tokens_total"], 1002);
}

#[actix_web::test]
async fn todos_arrive_at_once_even_with_a_long_batching_window() {
    let srv = TestServer::start_with(|s| s.ws.batch_window_ms = 1_000);
    let (_pid, sid) = project_and_session(&srv).await;
    let mut ws = Ws::open(&srv).await;
    ws.subscribe(&format!("session:{sid}"), None).await;
    // The window is in force: an ordinary event waits for it.
    let started = Instant::now();
    let msg = srv.url(&format!("/api/sessions/{sid}/messages"));
    assert_eq!(post(&msg, json!({"prompt": "hi"})).await.0, 201);
    assert_eq!(ws.events(1).await[0]["event_type"], "message_created");
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "the window did not hold an ordinary event"
    );
    let started = Instant::now();
    let list = json!([
        {"content": "Write tests", "status": "completed"},
        {"content": "Ship", "status": "in_progress", "activeForm": "Shipping"}
    ]);
    let (st, body) = call(
        "PUT",
        &srv.url(&format!("/api/sessions/{sid}/todos")),
        Some(list),
    )
    .await;
    assert_eq!(st, 200, "{body}");
    let ev = ws.events(1).await;
    assert!(
        started.elapsed() < Duration::from_millis(900),
        "todos were held"
    );
    assert_eq!(ev[0]["event_type"], "todos_updated");
    assert_eq!(ev[0]["payload"]["todos"][1]["active_form"], "Shipping");
    let (_, snap) = get(&srv.url(&format!("/api/sessions/{sid}/snapshot"))).await;
    assert_eq!(snap["todos"].as_array().unwrap().len(), 2);
    // Replaced whole.
    call(
        "PUT",
        &srv.url(&format!("/api/sessions/{sid}/todos")),
        Some(json!([])),
    )
    .await;
    let (_, snap) = get(&srv.url(&format!("/api/sessions/{sid}/snapshot"))).await;
    assert_eq!(snap["todos"], json!([]));
}

#[actix_web::test]
async fn the_same_tool_call_posted_twice_reaches_clients_once() {
    let srv = TestServer::start_with(|s| s.ws.batch_window_ms = 0);
    let (_pid, sid) = project_and_session(&srv).await;
    let mut ws = Ws::open(&srv).await;
    ws.subscribe(&format!("session:{sid}"), None).await;
    let url = srv.url(&format!("/api/sessions/{sid}/tool-calls"));
    let call_in = json!({"tool_call_id": "tc-1", "name": "Bash", "state": "input-available",
                         "input": {"command": "ls"}});
    assert_eq!(post(&url, call_in.clone()).await.0, 201);
    let call_in_again = call_in.clone();
    let (st, repeat) = post(&url, call_in).await;
    assert_eq!(st, 200);
    assert_eq!(repeat["events"], json!([]));
    let done = json!({"tool_call_id": "tc-1", "tool_name": "Bash", "state": "output-available",
                      "input": {"command": "ls"}, "output": {"stdout": "a b"}});
    assert_eq!(post(&url, done.clone()).await.0, 200);
    assert_eq!(post(&url, done).await.1["events"], json!([]));
    // A late input (a resent PreToolUse) does not take the call back.
    let (st, late) = post(&url, call_in_again).await;
    assert_eq!((st, &late["events"]), (200, &json!([])));
    assert_eq!(late["state"], "output-available");
    let evs = ws.events(2).await;
    assert_eq!(evs[0]["event_type"], "tool_call_created");
    assert_eq!(evs[0]["payload"]["input"]["command"], "ls");
    assert_eq!(evs[1]["event_type"], "tool_call_updated");
    assert_eq!(evs[1]["payload"]["output"]["stdout"], "a b");
    // Nothing else: the next frame answers a ping.
    ws.send_json(json!({"type": "ping"})).await;
    assert_eq!(ws.next_json().await["type"], "pong");
    let (_, snap) = get(&srv.url(&format!("/api/sessions/{sid}/snapshot"))).await;
    assert_eq!(snap["tool_calls"].as_array().unwrap().len(), 1);
    assert_eq!(snap["tool_calls"][0]["state"], "output-available");
    // A session with activity can be deleted.
    assert_eq!(
        call("DELETE", &srv.url(&format!("/api/sessions/{sid}")), None)
            .await
            .0,
        200
    );
}

#[actix_web::test]
async fn a_session_snapshot_after_navigation_carries_the_agent_metadata() {
    let srv = TestServer::start_with(|s| s.ws.batch_window_ms = 0);
    let (st, p) = post(
        &srv.url("/api/projects"),
        json!({"name": "LLM Monitoring Landing Page"}),
    )
    .await;
    assert_eq!(st, 201);
    let pid = p["id"].as_str().unwrap().to_string();
    let resp = client()
        .post(srv.url(&format!("/api/projects/{pid}/sessions")))
        .insert_header(("X-Agent-ID", "claude-code"))
        .send_json(&json!({"id": "build-1"}))
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 201);
    let mut first = Ws::open(&srv).await;
    first.subscribe("session:build-1", None).await;
    let usage = json!({"input_tokens": 1, "output_tokens": 2, "model": "claude-haiku-4-5"});
    post(&srv.url("/api/sessions/build-1/token-usage"), usage).await;
    let updated = &first.events(2).await[1];
    assert_eq!(updated["event_type"], "session_updated");
    assert_eq!(updated["payload"]["agent_id"], "claude-code");
    assert_eq!(updated["payload"]["model_id"], "claude-haiku-4-5");
    assert_eq!(
        updated["payload"]["project_name"],
        "LLM Monitoring Landing Page"
    );
    // Navigate away and back: a fresh join's snapshot has it all.
    drop(first);
    let mut back = Ws::open(&srv).await;
    let snap = back.subscribe("session:build-1", None).await["snapshot"]["session"].clone();
    assert_eq!(snap["agent_id"], "claude-code");
    assert_eq!(snap["model_id"], "claude-haiku-4-5");
    assert_eq!(snap["project_name"], "LLM Monitoring Landing Page");
    // A project rename reaches the sessions' copy, live and in GET.
    let renaming = call(
        "PATCH",
        &srv.url(&format!("/api/projects/{pid}")),
        Some(json!({"name": "Landing"})),
    )
    .await;
    assert_eq!(renaming.0, 200, "{}", renaming.1);
    let renamed = &back.events(1).await[0];
    assert_eq!(renamed["event_type"], "session_updated");
    assert_eq!(renamed["payload"]["project_name"], "Landing");
    assert_eq!(renamed["payload"]["agent_id"], "claude-code");
    let (_, got) = get(&srv.url("/api/sessions/build-1")).await;
    assert_eq!(got["project_name"], "Landing");
}

#[actix_web::test]
async fn a_tool_call_nested_deeper_than_subscribers_parse_is_refused() {
    let srv = TestServer::start();
    let (_pid, sid) = project_and_session(&srv).await;
    let url = srv.url(&format!("/api/sessions/{sid}/tool-calls"));
    let nested = |depth: usize| -> Value {
        serde_json::from_str(&format!("{}{}", "[".repeat(depth), "]".repeat(depth))).unwrap()
    };
    let call = |id: &str, depth: usize| json!({"tool_call_id": id, "name": "Bash", "state": "input-available", "input": nested(depth)});
    // The event payload wraps the input in one object: 64 in all pass.
    let (st, body) = post(&url, call("tc-ok", 63)).await;
    assert_eq!(st, 201, "{body}");
    let got = post(&url, call("tc-deep", 100)).await;
    assert_error(&got, 422, "validation_failed");
    let (_, snap) = get(&srv.url(&format!("/api/sessions/{sid}/snapshot"))).await;
    assert_eq!(
        snap["tool_calls"].as_array().unwrap().len(),
        1,
        "nothing written"
    );
}
