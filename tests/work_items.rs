//! Work items (seed 003): features, status, links, comments, delete, tracks
//! and spikes reach every `broadcasts` subscriber identically and the audit
//! trail records them with their writer.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a failing test should panic"
)]

mod support;

use serde_json::{json, Value};
use support::*;

async fn send(srv: &TestServer, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    let c = client();
    let req = c
        .request(method.parse().unwrap(), srv.url(path))
        .insert_header(("X-Agent-ID", "claude-1"))
        .insert_header(("X-Session-ID", "sess-1"));
    let mut resp = match body {
        Some(b) => req.send_json(&b).await.unwrap(),
        None => req.send().await.unwrap(),
    };
    let json = resp.json::<Value>().await.unwrap_or(Value::Null);
    (resp.status().as_u16(), json)
}

#[actix_web::test]
async fn the_seed_003_flow_reaches_two_clients_identically_and_the_audit_trail() {
    let srv = TestServer::start_with(|s| s.ws.batch_window_ms = 0);
    let mut a = Ws::open(&srv).await;
    let mut b = Ws::open(&srv).await;
    for ws in [&mut a, &mut b] {
        let sub = ws.subscribe("broadcasts", None).await;
        assert_eq!(
            sub["snapshot"],
            json!({"features": [], "tracks": [], "spikes": []})
        );
    }
    // The writer's session exists, so its room gets the work-item events too.
    let (_, p) = post(&srv.url("/api/projects"), json!({"name": "agents"})).await;
    let pid = p["id"].as_str().unwrap();
    create_session(&srv, pid, json!({"id": "sess-1"})).await;
    let mut session = Ws::open(&srv).await;
    session.subscribe("session:sess-1", None).await;

    let f = "/api/broadcast/features/feat-123";
    assert_eq!(
        send(
            &srv,
            "POST",
            f,
            Some(json!({"title": "Auth", "status": "todo"}))
        )
        .await
        .0,
        201
    );
    assert_eq!(
        send(&srv, "POST", f, Some(json!({"title": "Auth v2"})))
            .await
            .0,
        200
    );
    assert_eq!(
        send(
            &srv,
            "POST",
            &format!("{f}/status"),
            Some(json!({"new_status": "in_progress"}))
        )
        .await
        .0,
        200
    );
    let link = json!({"linked_feature_id": "feat-456", "link_type": "depends_on"});
    assert_eq!(
        send(&srv, "POST", &format!("{f}/links"), Some(link))
            .await
            .0,
        201
    );
    let (st, comment) = send(
        &srv,
        "POST",
        &format!("{f}/comments"),
        Some(json!({"comment_text": "LGTM"})),
    )
    .await;
    assert_eq!(st, 201);
    assert_eq!(comment["author"], "claude-1");
    assert_eq!(send(&srv, "DELETE", f, None).await.0, 200);

    let expected = [
        "feature_created",
        "feature_updated",
        "status_changed",
        "link_added",
        "comment_added",
        "feature_deleted",
    ];
    let seen_a = a.events(6).await;
    let seen_b = b.events(6).await;
    let types: Vec<&str> = seen_a
        .iter()
        .map(|e| e["event_type"].as_str().unwrap())
        .collect();
    assert_eq!(types, expected);
    assert_eq!(seen_a, seen_b, "two clients saw different streams");
    assert_eq!(seen_a[0]["agent_id"], "claude-1");
    assert_eq!(seen_a[2]["payload"]["old_status"], "todo");
    assert_eq!(seen_a[2]["payload"]["new_status"], "in_progress");
    assert_eq!(seen_a[5]["payload"], json!({"feature_id": "feat-123"}));
    // The writer's session room got them too.
    assert_eq!(session.events(6).await.len(), 6);

    let (st, trail) = get(&srv.url("/api/broadcast/events")).await;
    assert_eq!(st, 200);
    let trail = trail.as_array().unwrap();
    assert_eq!(trail.len(), 6);
    assert_eq!(trail[0]["event_type"], "feature_deleted", "newest first");
    assert!(trail
        .iter()
        .all(|r| r["agent_id"] == "claude-1" && r["session_id"] == "sess-1"));
    let (_, only) = get(&srv.url("/api/broadcast/events?event_type=status_changed")).await;
    assert_eq!(only.as_array().unwrap().len(), 1);
}

#[actix_web::test]
async fn tracks_and_spikes_emit_on_every_post_and_fill_the_snapshot() {
    let srv = TestServer::start();
    let track = json!({"title": "Q4", "description": "Ship auth"});
    assert_eq!(
        send(
            &srv,
            "POST",
            "/api/broadcast/tracks/trk-1",
            Some(track.clone())
        )
        .await
        .0,
        201
    );
    let (st, body) = send(&srv, "POST", "/api/broadcast/tracks/trk-1", Some(track)).await;
    assert_eq!(st, 200);
    assert_eq!(body["events"][0]["event_type"], "track_updated");
    let spike = json!({"title": "Try OAuth", "findings": "works"});
    assert_eq!(
        send(&srv, "POST", "/api/broadcast/spikes/spk-1", Some(spike))
            .await
            .0,
        201
    );
    assert_eq!(
        send(&srv, "POST", "/api/broadcast/features/f-1", Some(json!({})))
            .await
            .0,
        201
    );
    let mut ws = Ws::open(&srv).await;
    let snap = ws.subscribe("broadcasts", None).await["snapshot"].clone();
    assert_eq!(snap["tracks"][0]["description"], "Ship auth");
    assert_eq!(snap["spikes"][0]["findings"], "works");
    assert_eq!(snap["features"][0]["status"], "todo");
}

#[actix_web::test]
async fn bad_work_item_input_is_refused_and_writes_nothing() {
    let srv = TestServer::start();
    for (method, path, body, want) in [
        (
            "POST",
            "/api/broadcast/features/nope/status",
            Some(json!({"new_status": "done"})),
            404,
        ),
        (
            "POST",
            "/api/broadcast/features/nope/links",
            Some(json!({"linked_feature_id": "x", "link_type": "blocks"})),
            404,
        ),
        (
            "POST",
            "/api/broadcast/features/nope/comments",
            Some(json!({"comment_text": "x"})),
            404,
        ),
        ("DELETE", "/api/broadcast/features/nope", None, 404),
        (
            "POST",
            "/api/broadcast/features/f",
            Some(json!({"title": 5})),
            400,
        ),
        (
            "POST",
            "/api/broadcast/features/f",
            Some(json!({"title": "x".repeat(201)})),
            422,
        ),
        (
            "POST",
            "/api/broadcast/features/bad%20id",
            Some(json!({})),
            422,
        ),
        (
            "POST",
            "/api/broadcast/features/f",
            Some(json!({"status": "no/slash"})),
            422,
        ),
        (
            "POST",
            "/api/broadcast/tracks/t",
            Some(json!({"description": "no title"})),
            400,
        ),
    ] {
        let (st, answer) = send(&srv, method, path, body.clone()).await;
        assert_eq!(st, want, "{method} {path} {body:?} → {answer}");
    }
    assert_eq!(get(&srv.url("/api/stats")).await.1["events_total"], 0);
}
