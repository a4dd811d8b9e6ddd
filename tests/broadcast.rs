//! Fan-out: who receives what, and what a write's answer promises.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a failing test should panic"
)]

mod support;

use serde_json::json;
use support::*;

#[actix_web::test]
async fn two_clients_in_a_room_both_get_a_broadcast_and_another_room_does_not() {
    let srv = TestServer::start();
    let mut a = Ws::open(&srv).await;
    let mut b = Ws::open(&srv).await;
    let mut other = Ws::open(&srv).await;
    a.subscribe("team", None).await;
    b.subscribe("team", None).await;
    other.subscribe("elsewhere", None).await;

    publish(&srv, "team", json!({"text": "hello"})).await;
    for ws in [&mut a, &mut b] {
        let ev = ws.events(1).await;
        assert_eq!(ev[0]["room"], "team");
        assert_eq!(ev[0]["seq"], 1);
        assert_eq!(ev[0]["payload"]["text"], "hello");
    }
    // The other room's next frame is its own event, not the team's.
    publish(&srv, "elsewhere", json!({"text": "mine"})).await;
    let ev = other.events(1).await;
    assert_eq!(ev[0]["room"], "elsewhere");
    assert_eq!(ev[0]["payload"]["text"], "mine");
}

#[actix_web::test]
async fn session_events_reach_session_and_project_rooms() {
    let srv = TestServer::start();
    let (pid, sid) = project_and_session(&srv).await;
    let mut by_session = Ws::connect(&srv.ws_url(&format!("/ws?sessionId={sid}"))).await;
    let mut by_project = Ws::connect(&srv.ws_url(&format!("/ws?projectId={pid}"))).await;
    for ws in [&mut by_session, &mut by_project] {
        assert_eq!(ws.next_json().await["type"], "welcome");
        let sub = ws.next_json().await;
        assert_eq!(sub["type"], "subscribed");
        assert_eq!(sub["recovered"], false);
        assert!(sub["snapshot"].is_object(), "{sub}");
    }
    let (st, body) = call(
        "PATCH",
        &srv.url(&format!("/api/sessions/{sid}")),
        Some(json!({"title": "Renamed", "status": "idle"})),
    )
    .await;
    assert_eq!(st, 200, "{body}");
    let types: Vec<_> = body["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event_type"].clone())
        .collect();
    assert!(types.contains(&json!("session_updated")) && types.contains(&json!("status_changed")));
    for ws in [&mut by_session, &mut by_project] {
        let evs = ws.events(2).await;
        assert_eq!(evs[0]["event_type"], "session_updated");
        assert_eq!(evs[0]["payload"]["title"], "Renamed");
        assert_eq!(evs[1]["event_type"], "status_changed");
        assert_eq!(evs[1]["payload"]["old_status"], "active");
        assert_eq!(evs[1]["payload"]["new_status"], "idle");
    }
}

#[actix_web::test]
async fn a_writes_answer_comes_after_its_event_is_readable() {
    let srv = TestServer::start();
    for n in 0..20 {
        let (st, body) = post(
            &srv.url("/api/rooms/log/events"),
            json!({"event_type": "note", "payload": {"n": n}}),
        )
        .await;
        assert_eq!(st, 201);
        let ev = &body["events"][0];
        assert_eq!(ev["room"], "log");
        assert_eq!(ev["event_type"], "note");
        assert!(ev["id"].as_i64().unwrap() > 0);
        let seq = ev["seq"].as_i64().unwrap();
        let (st, list) = get(&srv.url(&format!("/api/rooms/log/events?since={}", seq - 1))).await;
        assert_eq!(st, 200);
        assert_eq!(
            list[0]["seq"], seq,
            "event {seq} not readable after its answer"
        );
        assert_eq!(list[0]["payload"]["n"], n);
    }
}

#[actix_web::test]
async fn seqs_are_contiguous_per_room_under_concurrent_writers() {
    let srv = TestServer::start();
    let mut ws = Ws::open(&srv).await;
    ws.subscribe("busy", None).await;
    concurrent_writes(&srv, "busy", 8, 25).await;
    assert_eq!(
        stored_seqs(&srv, "busy").await,
        (1..=200).collect::<Vec<_>>()
    );
    assert_eq!(
        seqs_of(&ws.events(200).await),
        (1..=200).collect::<Vec<_>>()
    );
}
