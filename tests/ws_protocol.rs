//! The native socket: batching, priority, bad input, limits, heartbeats,
//! timeouts and slow consumers.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a failing test should panic"
)]

mod support;

use awc::ws::Message;
use serde_json::json;
use std::time::{Duration, Instant};
use support::*;

#[actix_web::test]
async fn quick_events_arrive_in_a_few_batch_updates() {
    let srv = TestServer::start_with(|s| s.ws.batch_window_ms = 200);
    let mut ws = Ws::open(&srv).await;
    ws.subscribe("batched", None).await;
    concurrent_writes(&srv, "batched", 5, 10).await;
    let mut frames = 0;
    let mut seqs = Vec::new();
    while seqs.len() < 50 {
        let v = ws.next_json().await;
        frames += 1;
        match v["type"].as_str() {
            Some("batch-update") => {
                assert_eq!(v["room"], "batched");
                for u in v["updates"].as_array().unwrap() {
                    assert_eq!(u["type"], "event");
                    seqs.push(u["seq"].as_i64().unwrap());
                }
            }
            Some("event") => seqs.push(v["seq"].as_i64().unwrap()),
            _ => panic!("unexpected {v}"),
        }
    }
    assert_eq!(seqs, (1..=50).collect::<Vec<_>>());
    assert!(frames <= 10, "50 events took {frames} frames");
}

#[actix_web::test]
async fn a_priority_event_is_not_held_by_the_window() {
    // A long window: an ordinary event would wait 5 s.
    let srv = TestServer::start_with(|s| s.ws.batch_window_ms = 5_000);
    let mut ws = Ws::open(&srv).await;
    ws.subscribe("urgent", None).await;
    let started = Instant::now();
    let (st, _) = post(
        &srv.url("/api/rooms/urgent/events"),
        json!({"event_type": "alarm", "payload": {}, "priority": true}),
    )
    .await;
    assert_eq!(st, 201);
    let ev = ws.events(1).await;
    assert_eq!(ev[0]["event_type"], "alarm");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "priority event was held"
    );

    // session_created is a priority type too.
    let (pid, _) = project_and_session(&srv).await;
    let mut ws = Ws::open(&srv).await;
    ws.subscribe(&format!("project:{pid}"), None).await;
    let started = Instant::now();
    let (st, _) = post(
        &srv.url(&format!("/api/projects/{pid}/sessions")),
        json!({}),
    )
    .await;
    assert_eq!(st, 201);
    assert_eq!(ws.events(1).await[0]["event_type"], "session_created");
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[actix_web::test]
async fn bad_input_gets_an_error_frame_and_the_socket_keeps_working() {
    let srv = TestServer::start();
    let mut ws = Ws::open(&srv).await;
    let cases = vec![
        Message::Text("{not json".into()),
        Message::Binary(vec![1u8, 2, 3].into()),
        Message::Text(r#"{"type":"dance"}"#.into()),
        Message::Text(r#"{"type":"subscribe","room":"bad room!"}"#.into()),
        Message::Text(r#"{"type":"subscribe"}"#.into()),
        Message::Text(r#"{"type":"subscribe","room":"ok","since":-1}"#.into()),
    ];
    for case in cases {
        ws.send(case).await;
        let err = ws.next_json().await;
        assert_eq!(err["type"], "error", "{err}");
        assert_eq!(err["code"], "bad_request", "{err}");
        assert!(err["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
    ws.send_json(json!({"type": "ping"})).await;
    let pong = ws.next_json().await;
    assert_eq!(pong["type"], "pong");
    assert!(pong["ts"].as_str().is_some_and(|t| t.ends_with('Z')));
    ws.subscribe("still-works", None).await;
    publish(&srv, "still-works", json!({"ok": true})).await;
    assert_eq!(ws.events(1).await[0]["payload"]["ok"], true);
    ws.send_json(json!({"type": "unsubscribe", "room": "still-works"}))
        .await;
    let un = ws.next_json().await;
    assert_eq!(
        (un["type"].clone(), un["reason"].clone()),
        (json!("unsubscribed"), json!("client"))
    );
}

#[actix_web::test]
async fn an_oversized_frame_closes_with_1009() {
    let srv = TestServer::start_with(|s| s.ws.max_frame_bytes = 4096);
    let mut ws = Ws::open(&srv).await;
    let big = format!(r#"{{"type":"subscribe","room":"{}"}}"#, "x".repeat(8000));
    ws.send(Message::Text(big.into())).await;
    assert_eq!(ws.closed().await, Some(1009));
    // The server is still up.
    assert_eq!(get(&srv.url("/healthz")).await.0, 200);
}

#[actix_web::test]
async fn joining_one_room_too_many_is_refused() {
    let srv = TestServer::start();
    let mut ws = Ws::open(&srv).await;
    for n in 0..100 {
        ws.send_json(json!({"type": "subscribe", "room": format!("room-{n}")}))
            .await;
    }
    let mut subscribed = 0;
    while subscribed < 100 {
        let v = ws.next_json().await;
        assert_eq!(v["type"], "subscribed", "{v}");
        subscribed += 1;
    }
    ws.send_json(json!({"type": "subscribe", "room": "room-100"}))
        .await;
    let err = ws.next_json().await;
    assert_eq!(
        (err["type"].clone(), err["code"].clone()),
        (json!("error"), json!("too_many_rooms"))
    );
    // Re-joining a room already joined is not one more.
    ws.subscribe("room-5", None).await;
}

#[actix_web::test]
async fn a_silent_client_is_dropped_and_a_pong_only_client_is_kept() {
    let srv = TestServer::start_with(|s| {
        s.ws.heartbeat_interval_ms = 100;
        s.ws.client_timeout_ms = 400;
    });
    let mut silent = Ws::open(&srv).await;
    silent.auto_pong = false;
    silent.subscribe("hb", None).await;
    let mut alive = Ws::open(&srv).await;
    alive.subscribe("hb", None).await;
    wait_stats(&srv, |s| s["connections"] == 2).await;

    // The live client keeps reading (and answering pings) on its own task for
    // the whole test, as a real client would.
    let (stop, mut stopped) = futures::channel::oneshot::channel::<()>();
    let keeper = actix_web::rt::spawn(async move {
        let mut heartbeats = Vec::new();
        while !matches!(stopped.try_recv(), Ok(Some(()))) {
            match alive.recv_within(Duration::from_millis(50)).await {
                Some(Incoming::Json(v)) if v["type"] == "heartbeat" => heartbeats.push(v),
                Some(Incoming::Close(code)) => panic!("live client closed: {code:?}"),
                _ => {}
            }
        }
        (alive, heartbeats)
    });
    // The silent one is closed within the timeout (plus one heartbeat).
    let closing = Instant::now();
    assert!(silent.closed().await.is_some());
    assert!(closing.elapsed() < Duration::from_secs(3));
    // The room hears of the leave after the socket count fell: wait for both.
    let one = json!([{"room": "hb", "connections": 1}]);
    wait_stats(&srv, |s| s["connections"] == 1 && s["rooms"] == one).await;

    // Three timeouts later, the client that only answers pings is still served.
    actix_web::rt::time::sleep(Duration::from_millis(1200)).await;
    stop.send(()).unwrap();
    let (mut alive, heartbeats) = keeper.await.unwrap();
    assert!(heartbeats.len() >= 5, "{} heartbeats", heartbeats.len());
    assert!(heartbeats
        .iter()
        .all(|h| h["connections"].as_u64().unwrap() >= 1));
    publish(&srv, "hb", json!({"n": 1})).await;
    assert_eq!(alive.events(1).await[0]["seq"], 1);
}

#[actix_web::test]
async fn a_subscriber_that_stops_reading_is_closed_with_4008_and_others_get_everything() {
    let srv = TestServer::start_with(|s| {
        s.ws.outbound_buffer_bytes = 1024 * 1024;
        s.ws.batch_window_ms = 0;
    });
    let mut stuck = Ws::open(&srv).await;
    stuck.subscribe("flood", None).await;
    let mut reader = Ws::open(&srv).await;
    reader.subscribe("flood", None).await;

    // Large events fill the kernel buffers, then the outbox of the stuck client.
    let blob = "x".repeat(32 * 1024);
    // Enough to fill the loopback socket buffers (a few MiB) and then the budget.
    let total = 600;
    let url = srv.url("/api/rooms/flood/events");
    let writer = actix_web::rt::spawn(async move {
        for n in 0..total {
            let body = json!({"event_type": "big", "payload": {"n": n, "blob": blob}});
            assert_eq!(post(&url, body).await.0, 201);
        }
    });
    let got = reader.events(total).await;
    writer.await.unwrap();
    let seqs: Vec<i64> = got.iter().map(|e| e["seq"].as_i64().unwrap()).collect();
    assert_eq!(seqs, (1..=total as i64).collect::<Vec<_>>());
    // The stuck client reads now: some events, then 4008.
    assert_eq!(stuck.closed().await, Some(4008));
    wait_stats(&srv, |s| s["connections"] == 1).await;
}

#[actix_web::test]
async fn after_unsubscribe_no_event_of_that_room_arrives() {
    let srv = TestServer::start_with(|s| s.ws.batch_window_ms = 0);
    let mut ws = Ws::open(&srv).await;
    ws.subscribe("left", None).await;
    ws.subscribe("kept", None).await;
    ws.send_json(json!({"type": "unsubscribe", "room": "left"}))
        .await;
    let un = ws.next_json().await;
    assert_eq!(
        (un["type"].clone(), un["room"].clone()),
        (json!("unsubscribed"), json!("left"))
    );
    publish(&srv, "left", json!({"n": 1})).await;
    publish(&srv, "kept", json!({"n": 2})).await;
    // The first event to arrive is the kept room's; the left room's never comes.
    let ev = ws.events(1).await;
    assert_eq!(ev[0]["room"], "kept");
    ws.send_json(json!({"type": "ping"})).await;
    assert_eq!(ws.next_json().await["type"], "pong");
    let stats = wait_stats(&srv, |s| {
        s["rooms"].as_array().is_some_and(|r| r.len() == 1)
    })
    .await;
    assert_eq!(stats["rooms"], json!([{"room": "kept", "connections": 1}]));
}
