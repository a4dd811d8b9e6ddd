//! Agent hooks (seed 000): unknown sessions are created on the spot, each hook
//! kind changes the session, and every change is broadcast.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a failing test should panic"
)]

mod support;

use serde_json::{json, Value};
use support::*;

async fn hook(srv: &TestServer, body: Value) -> Value {
    let (st, answer) = post(&srv.url("/api/hooks"), body).await;
    assert_eq!(st, 200, "{answer}");
    answer
}

fn types(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .map(|e| e["event_type"].as_str().unwrap().to_string())
        .collect()
}

#[actix_web::test]
async fn a_hook_for_an_unknown_session_reaches_a_client_waiting_on_its_project() {
    let srv = TestServer::start_with(|s| s.ws.batch_window_ms = 0);
    let mut ws = Ws::open(&srv).await;
    // Joined before the project exists.
    let sub = ws.subscribe("project:acme", None).await;
    assert_eq!(
        (sub["seq"].clone(), sub["snapshot"].clone()),
        (json!(0), Value::Null)
    );
    hook(
        &srv,
        json!({"hook_event_name": "SessionStart", "session_id": "s-1", "project_id": "acme"}),
    )
    .await;
    let evs = ws.events(2).await;
    assert_eq!(types(&evs), ["project_created", "session_created"]);
    assert_eq!(evs[1]["payload"]["id"], "s-1");
    assert_eq!(evs[1]["payload"]["status"], "active");
    assert_eq!(evs[1]["payload"]["agent_id"], "claude-code");
}

#[actix_web::test]
async fn two_concurrent_first_hooks_create_one_session() {
    let srv = TestServer::start();
    let tasks: Vec<_> = (0..2)
        .map(|_| {
            let url = srv.url("/api/hooks");
            actix_web::rt::spawn(async move {
                let body = json!({"hook_event_name": "UserPromptSubmit", "session_id": "twin",
                                  "cwd": "/work/twin-repo", "prompt": "go"});
                post(&url, body).await
            })
        })
        .collect();
    let mut created = 0;
    for t in tasks {
        let (st, body) = t.await.unwrap();
        assert_eq!(st, 200, "{body}");
        created += types(body["events"].as_array().unwrap())
            .iter()
            .filter(|t| *t == "session_created")
            .count();
    }
    // Each created event is listed once per room (session and project).
    assert_eq!(created, 2, "session created more than once");
    let (_, sessions) = get(&srv.url("/api/sessions")).await;
    assert_eq!(sessions.as_array().unwrap().len(), 1);
    let (_, projects) = get(&srv.url("/api/projects")).await;
    assert_eq!(projects[0]["name"], "twin-repo");
    let (_, msgs) = get(&srv.url("/api/sessions/twin/messages")).await;
    assert_eq!(msgs.as_array().unwrap().len(), 2);
}

#[actix_web::test]
async fn a_prompt_hook_sets_active_and_clears_attention_on_the_wire_and_in_get() {
    let srv = TestServer::start_with(|s| s.ws.batch_window_ms = 0);
    hook(
        &srv,
        json!({"hook_event_name": "Stop", "session_id": "s-2", "cwd": "/x/repo"}),
    )
    .await;
    let (_, snap) = get(&srv.url("/api/sessions/s-2")).await;
    assert_eq!(
        (snap["status"].clone(), snap["needs_attention"].clone()),
        (json!("idle"), json!(true))
    );
    let mut ws = Ws::open(&srv).await;
    ws.subscribe("session:s-2", None).await;
    hook(
        &srv,
        json!({"hook_event_name": "UserPromptSubmit", "session_id": "s-2", "prompt": "fix it"}),
    )
    .await;
    let evs = ws.events(3).await;
    assert_eq!(
        types(&evs),
        ["session_updated", "status_changed", "message_created"]
    );
    assert_eq!(evs[0]["payload"]["needs_attention"], false);
    // Its first prompt also titled it, in the same update.
    assert_eq!(evs[0]["payload"]["title"], "fix it");
    assert_eq!(evs[1]["payload"]["new_status"], "active");
    assert_eq!(evs[2]["payload"]["content"], "fix it");
    let (_, snap) = get(&srv.url("/api/sessions/s-2")).await;
    assert_eq!(
        (snap["status"].clone(), snap["needs_attention"].clone()),
        (json!("active"), json!(false))
    );
}

#[actix_web::test]
async fn a_hook_created_session_takes_its_first_prompt_s_first_line_as_title() {
    let srv = TestServer::start_with(|s| s.ws.batch_window_ms = 0);
    let start = json!({"hook_event_name": "SessionStart", "session_id": "t-1", "cwd": "/x/shop"});
    assert_eq!(hook(&srv, start).await["title"], "New session");
    let mut ws = Ws::open(&srv).await;
    ws.subscribe("session:t-1", None).await;
    let prompt =
        "\n  Add a pricing table to the landing page  \nwith three tiers, monthly and yearly";
    let answer = hook(
        &srv,
        json!({"hook_event_name": "UserPromptSubmit", "session_id": "t-1", "prompt": prompt}),
    )
    .await;
    assert_eq!(answer["title"], "Add a pricing table to the landing page");
    // One `session_updated` carries it, live.
    let evs = ws.events(2).await;
    assert_eq!(types(&evs), ["session_updated", "message_created"]);
    assert_eq!(
        evs[0]["payload"]["title"],
        "Add a pricing table to the landing page"
    );
    // Later prompts leave it alone.
    let later = json!({"hook_event_name": "UserPromptSubmit", "session_id": "t-1", "prompt": "now the FAQ"});
    assert_eq!(
        hook(&srv, later).await["title"],
        "Add a pricing table to the landing page"
    );
    let (_, listed) = get(&srv.url("/api/sessions")).await;
    assert_eq!(
        listed[0]["title"],
        "Add a pricing table to the landing page"
    );
}

#[actix_web::test]
async fn a_prompt_title_is_at_most_80_characters_and_never_replaces_a_set_title() {
    let srv = TestServer::start();
    let long = "Refactor ".repeat(20);
    let first = json!({"hook_event_name": "UserPromptSubmit", "session_id": "t-2", "prompt": long});
    let title = hook(&srv, first).await["title"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(title.chars().count(), 80, "{title}");
    assert!(title.ends_with('…') && long.starts_with(title.trim_end_matches('…')));
    // A blank prompt leaves the default; the next real one names it.
    let blank =
        json!({"hook_event_name": "UserPromptSubmit", "session_id": "t-3", "prompt": " \n "});
    assert_eq!(hook(&srv, blank).await["title"], "New session");
    let named =
        json!({"hook_event_name": "UserPromptSubmit", "session_id": "t-3", "prompt": "Write docs"});
    assert_eq!(hook(&srv, named).await["title"], "Write docs");
    // Someone set a title before the first prompt: it stays.
    let start = json!({"hook_event_name": "SessionStart", "session_id": "t-4"});
    hook(&srv, start).await;
    let (st, _) = patch(
        &srv.url("/api/sessions/t-4"),
        json!({"title": "Release 2.0"}),
    )
    .await;
    assert_eq!(st, 200);
    let prompt = json!({"hook_event_name": "UserPromptSubmit", "session_id": "t-4", "prompt": "bump versions"});
    assert_eq!(hook(&srv, prompt).await["title"], "Release 2.0");
    // A session created with a title over HTTP keeps it too.
    let (pid, sid) = project_and_session(&srv).await;
    let prompt = json!({"hook_event_name": "UserPromptSubmit", "session_id": sid, "project_id": pid,
                        "prompt": "something else"});
    assert_eq!(hook(&srv, prompt).await["title"], "S");
}

#[actix_web::test]
async fn tool_and_usage_hooks_become_tool_calls_and_token_totals() {
    let srv = TestServer::start_with(|s| s.ws.batch_window_ms = 0);
    hook(
        &srv,
        json!({"hook_event_name": "SessionStart", "session_id": "s-3"}),
    )
    .await;
    let (_, projects) = get(&srv.url("/api/projects")).await;
    assert_eq!(projects[0]["id"], "default");
    let mut ws = Ws::open(&srv).await;
    ws.subscribe("session:s-3", None).await;
    let pre = json!({"hook_event_name": "PreToolUse", "session_id": "s-3", "tool_name": "Bash",
                     "tool_use_id": "tu-1", "tool_input": {"command": "ls"}});
    hook(&srv, pre.clone()).await;
    hook(&srv, pre).await; // a repeat changes nothing
    hook(
        &srv,
        json!({"hook_event_name": "PostToolUse", "session_id": "s-3", "tool_name": "Bash",
                      "tool_use_id": "tu-1", "tool_input": {"command": "ls"},
                      "tool_response": {"stdout": "ok"},
                      "usage": {"input_tokens": 10, "output_tokens": 5}}),
    )
    .await;
    let evs = ws.events(4).await;
    assert_eq!(
        types(&evs),
        [
            "tool_call_created",
            "tool_call_updated",
            "token_usage",
            "session_updated"
        ]
    );
    assert_eq!(evs[3]["payload"]["tokens_total"], 15);
    hook(
        &srv,
        json!({"hook_event_name": "SessionEnd", "session_id": "s-3"}),
    )
    .await;
    let evs = ws.events(2).await;
    assert_eq!(evs[1]["payload"]["new_status"], "ended");
}

#[actix_web::test]
async fn bad_hooks_are_refused_and_write_nothing() {
    let srv = TestServer::start();
    for (body, want) in [
        (json!({"hook_event_name": "Dance", "session_id": "s"}), 422),
        (json!({"hook_event_name": "SessionStart"}), 400),
        (
            json!({"hook_event_name": "SessionStart", "session_id": "bad id!"}),
            422,
        ),
        (
            json!({"hook_event_name": "PreToolUse", "session_id": "s"}),
            422,
        ),
        (
            json!({"hook_event_name": "Stop", "session_id": "s", "usage": {"input_tokens": -1, "output_tokens": 0}}),
            422,
        ),
    ] {
        let (st, answer) = post(&srv.url("/api/hooks"), body.clone()).await;
        assert_eq!(st, want, "{body} → {answer}");
    }
    let (_, stats) = get(&srv.url("/api/stats")).await;
    assert_eq!(
        stats["events_total"], 0,
        "a refused hook left events behind"
    );
    let (_, sessions) = get(&srv.url("/api/sessions")).await;
    assert_eq!(sessions, json!([]));
}
