//! Resume: a client that drops gets exactly what it missed, in order, once —
//! also while writes keep committing during its re-join.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a failing test should panic"
)]

mod support;

use serde_json::json;
use support::*;

#[actix_web::test]
async fn resubscribe_with_since_gets_exactly_the_missed_events() {
    let srv = TestServer::start();
    let mut ws = Ws::open(&srv).await;
    ws.subscribe("r", None).await;
    for n in 0..5 {
        publish(&srv, "r", json!({"n": n})).await;
    }
    let seen = ws.events(5).await;
    let last = seen.last().unwrap()["seq"].as_i64().unwrap();
    drop(ws);

    for n in 5..12 {
        publish(&srv, "r", json!({"n": n})).await;
    }
    let mut ws = Ws::open(&srv).await;
    let sub = ws.subscribe("r", Some(last)).await;
    assert_eq!(sub["recovered"], true);
    assert_eq!(sub["snapshot"], serde_json::Value::Null);
    assert_eq!(sub["seq"], 12);
    let missed = ws.events(7).await;
    assert_eq!(seqs_of(&missed), (6..=12).collect::<Vec<_>>());
    assert_eq!(missed[0]["payload"]["n"], 5);
    // Nothing more: the next frame is the next live event.
    publish(&srv, "r", json!({"n": 12})).await;
    assert_eq!(seqs_of(&ws.events(1).await), vec![13]);
}

#[actix_web::test]
async fn a_resume_that_missed_nothing_goes_live_at_once() {
    let srv = TestServer::start();
    let mut first = Ws::open(&srv).await;
    first.subscribe("r", None).await;
    for n in 0..3 {
        publish(&srv, "r", json!({"n": n})).await;
    }
    assert_eq!(seqs_of(&first.events(3).await), vec![1, 2, 3]);
    drop(first);
    // Back before anything new was written: nothing is owed, and the next
    // event must arrive live at once (it used to wait for a stall to end).
    for (room, since, next_seq) in [("r", 3, 4), ("empty", 0, 1)] {
        let mut ws = Ws::open(&srv).await;
        let sub = ws.subscribe(room, Some(since)).await;
        assert_eq!(sub["recovered"], true, "{sub}");
        publish(&srv, room, json!({"n": 9})).await;
        match ws.recv_within(std::time::Duration::from_secs(2)).await {
            Some(Incoming::Json(v)) => assert_eq!(v["seq"], next_seq, "{v}"),
            other => panic!("no live event after a resume at the head: {other:?}"),
        }
    }
}

#[actix_web::test]
async fn resume_from_a_cold_room_reads_the_log() {
    let srv = TestServer::start();
    for n in 0..30 {
        publish(&srv, "cold", json!({"n": n})).await;
    }
    // No one was ever subscribed: the room actor starts on this join.
    let mut ws = Ws::open(&srv).await;
    let sub = ws.subscribe("cold", Some(10)).await;
    assert_eq!(
        (sub["recovered"].clone(), sub["seq"].clone()),
        (json!(true), json!(30))
    );
    assert_eq!(seqs_of(&ws.events(20).await), (11..=30).collect::<Vec<_>>());
}

#[actix_web::test]
async fn resume_while_writes_keep_arriving_loses_and_doubles_nothing() {
    let srv = TestServer::start();
    for n in 0..10 {
        publish(&srv, "race", json!({"n": n})).await;
    }
    let total = 300;
    let url = srv.url("/api/rooms/race/events");
    let writer = actix_web::rt::spawn(async move {
        for n in 10..total {
            let (st, _) = post(&url, json!({"event_type": "note", "payload": {"n": n}})).await;
            assert_eq!(st, 201);
        }
    });
    // Several clients re-join at different moments while the writer runs.
    let mut clients = Vec::new();
    for since in [3, 7, 10] {
        let mut ws = Ws::open(&srv).await;
        let sub = ws.subscribe("race", Some(since)).await;
        assert_eq!(sub["recovered"], true, "{sub}");
        clients.push((since, ws));
    }
    writer.await.unwrap();
    for (since, mut ws) in clients {
        let got = ws.events((total - since) as usize).await;
        assert_eq!(seqs_of(&got), (since + 1..=total).collect::<Vec<_>>());
        assert!(ws.recv_within(std::time::Duration::from_millis(300)).await.is_none_or(
            |f| !matches!(f, Incoming::Json(ref v) if v["type"] == "event" || v["type"] == "batch-update")
        ));
    }
}

#[actix_web::test]
async fn fresh_join_snapshot_and_live_events_do_not_overlap() {
    let srv = TestServer::start();
    let (pid, _sid) = project_and_session(&srv).await;
    let room = format!("project:{pid}");
    let url = srv.url(&format!("/api/projects/{pid}/sessions"));
    let writer = actix_web::rt::spawn(async move {
        for n in 0..60 {
            let (st, _) = post(&url, json!({"title": format!("s{n}")})).await;
            assert_eq!(st, 201);
        }
    });
    let mut ws = Ws::open(&srv).await;
    let sub = ws.subscribe(&room, None).await;
    assert_eq!(sub["recovered"], false);
    let at = sub["seq"].as_i64().unwrap();
    let in_snapshot = sub["snapshot"]["sessions"].as_array().unwrap().len() as i64;
    // project_created is seq 1; each session_created after it is one more seq.
    assert_eq!(
        in_snapshot,
        at - 1,
        "snapshot does not match its seq: {sub}"
    );
    writer.await.unwrap();
    let last = 1 + 1 + 60;
    let got = ws.events((last - at) as usize).await;
    assert_eq!(seqs_of(&got), (at + 1..=last).collect::<Vec<_>>());
}

#[actix_web::test]
async fn a_since_beyond_retention_gets_a_snapshot() {
    let srv = TestServer::start_with(|s| s.events.retention_per_room = 5);
    for n in 0..20 {
        publish(&srv, "kept", json!({"n": n})).await;
    }
    let mut ws = Ws::open(&srv).await;
    let sub = ws.subscribe("kept", Some(2)).await;
    assert_eq!(sub["recovered"], false, "{sub}");
    assert_eq!(sub["seq"], 20);
    // Within retention, the replay works.
    let mut ws = Ws::open(&srv).await;
    let sub = ws.subscribe("kept", Some(17)).await;
    assert_eq!(sub["recovered"], true);
    assert_eq!(seqs_of(&ws.events(3).await), vec![18, 19, 20]);
}

#[actix_web::test]
async fn repeated_subscribe_without_since_gets_a_fresh_snapshot_and_no_duplicate() {
    let srv = TestServer::start();
    let mut ws = Ws::open(&srv).await;
    ws.subscribe("dup", None).await;
    publish(&srv, "dup", json!({"n": 1})).await;
    assert_eq!(seqs_of(&ws.events(1).await), vec![1]);
    // With `since`: answered with its position, nothing sent again.
    let again = ws.subscribe("dup", Some(0)).await;
    assert_eq!(
        (&again["seq"], &again["recovered"]),
        (&json!(1), &json!(true))
    );
    // Without: a fresh snapshot (a free room's is null) at its position.
    let fresh = ws.subscribe("dup", None).await;
    assert_eq!(
        (&fresh["seq"], &fresh["recovered"], &fresh["snapshot"]),
        (&json!(1), &json!(false), &json!(null))
    );
    publish(&srv, "dup", json!({"n": 2})).await;
    assert_eq!(seqs_of(&ws.events(1).await), vec![2]);
}

#[actix_web::test]
async fn repeated_subscribes_while_writes_commit_resend_and_skip_nothing() {
    const MESSAGES: i64 = 40;
    let srv = TestServer::start();
    let (_, sid) = project_and_session(&srv).await;
    let room = format!("session:{sid}");
    let mut ws = Ws::open(&srv).await;
    let first = ws.subscribe(&room, None).await;
    let mut cursor = first["seq"].as_i64().unwrap();
    let url = srv.url(&format!("/api/sessions/{sid}/messages"));
    let writer = actix_web::rt::spawn(async move {
        for n in 0..MESSAGES {
            assert_eq!(post(&url, json!({"prompt": format!("m{n}")})).await.0, 201);
        }
    });
    // Every frame in order: an event is the next seq; a `subscribed` is a
    // snapshot at or past what was delivered, holding every message up to its seq.
    let (mut snapshots, mut asked) = (0, 0);
    let last = cursor + MESSAGES;
    while cursor < last || snapshots < asked {
        if asked < 5 && asked == snapshots {
            ws.send_json(json!({"type": "subscribe", "room": room}))
                .await;
            asked += 1;
        }
        let frame = ws.next_json().await;
        let envelopes = match frame["type"].as_str() {
            Some("subscribed") => {
                assert_eq!(frame["recovered"], false, "{frame}");
                let seq = frame["seq"].as_i64().unwrap();
                assert!(seq >= cursor, "snapshot at {seq} behind delivered {cursor}");
                let held = frame["snapshot"]["messages"].as_array().unwrap().len() as i64;
                assert_eq!(held, seq - 1, "the snapshot at {seq} holds {held} messages");
                cursor = seq;
                snapshots += 1;
                continue;
            }
            Some("event") => vec![frame],
            Some("batch-update") => frame["updates"].as_array().unwrap().clone(),
            _ => panic!("unexpected {frame}"),
        };
        for e in seqs_of(&envelopes) {
            assert_eq!(e, cursor + 1, "after {cursor} came {e}");
            cursor = e;
        }
    }
    writer.await.unwrap();
    assert_eq!((cursor, snapshots), (last, asked));
}

#[actix_web::test]
async fn a_repeated_subscribe_during_a_paced_resume_ends_it_with_a_snapshot() {
    let srv = TestServer::start_with(|s| s.ws.outbound_buffer_bytes = 64 * 1024);
    // 8 MB: more than the socket's kernel buffers take without a reader.
    let blob = "y".repeat(200_000);
    for n in 0..40 {
        publish(&srv, "paced", json!({"n": n, "blob": blob})).await;
    }
    let mut ws = Ws::open(&srv).await;
    // Answered, then paced: the socket is not read, so most of it is still owed.
    assert_eq!(ws.subscribe("paced", Some(0)).await["recovered"], true);
    ws.send_json(json!({"type": "subscribe", "room": "paced"}))
        .await;
    let mut cursor = 0;
    loop {
        let frame = ws.next_json().await;
        let envelopes = match frame["type"].as_str() {
            Some("subscribed") => {
                assert_eq!(
                    (&frame["recovered"], &frame["seq"]),
                    (&json!(false), &json!(40))
                );
                break;
            }
            Some("event") => vec![frame],
            Some("batch-update") => frame["updates"].as_array().unwrap().clone(),
            _ => panic!("unexpected {frame}"),
        };
        for e in seqs_of(&envelopes) {
            assert_eq!(e, cursor + 1);
            cursor = e;
        }
    }
    assert!(cursor < 40, "the whole replay was sent before the snapshot");
    // Nothing owed is sent after it: the next frame is the next live event.
    publish(&srv, "paced", json!({"n": 40})).await;
    assert_eq!(seqs_of(&ws.events(1).await), vec![41]);
}

#[actix_web::test]
async fn a_resume_larger_than_the_outbound_budget_is_paced_not_closed() {
    // 300 events of about 2 KiB: some 600 KiB to replay through a 64 KiB budget.
    let srv = TestServer::start_with(|s| s.ws.outbound_buffer_bytes = 64 * 1024);
    let blob = "y".repeat(2000);
    for n in 0..300 {
        publish(&srv, "big", json!({"n": n, "blob": blob})).await;
    }
    // From the log (the room is cold) …
    let mut cold = Ws::open(&srv).await;
    assert_eq!(cold.subscribe("big", Some(0)).await["recovered"], true);
    assert_eq!(
        seqs_of(&cold.events(300).await),
        (1..=300).collect::<Vec<_>>()
    );
    // … and from the room's memory (it is live now).
    let mut warm = Ws::open(&srv).await;
    assert_eq!(warm.subscribe("big", Some(0)).await["recovered"], true);
    assert_eq!(
        seqs_of(&warm.events(300).await),
        (1..=300).collect::<Vec<_>>()
    );
    // Both still live.
    publish(&srv, "big", json!({"n": 300})).await;
    assert_eq!(seqs_of(&cold.events(1).await), vec![301]);
    assert_eq!(seqs_of(&warm.events(1).await), vec![301]);
}

#[actix_web::test]
async fn an_event_larger_than_the_budget_still_reaches_a_reader() {
    let srv = TestServer::start_with(|s| s.ws.outbound_buffer_bytes = 4096);
    let mut ws = Ws::open(&srv).await;
    ws.subscribe("huge", None).await;
    publish(&srv, "huge", json!({"blob": "z".repeat(20_000)})).await;
    let ev = ws.events(1).await;
    assert_eq!(ev[0]["payload"]["blob"].as_str().unwrap().len(), 20_000);
}

#[actix_web::test]
async fn retention_applies_to_resumes_served_from_memory_too() {
    let srv = TestServer::start_with(|s| s.events.retention_per_room = 5);
    // A live subscriber keeps the room (and its recent events) in memory.
    let mut live = Ws::open(&srv).await;
    live.subscribe("kept", None).await;
    for n in 0..20 {
        publish(&srv, "kept", json!({"n": n})).await;
    }
    live.events(20).await;
    let mut late = Ws::open(&srv).await;
    let sub = late.subscribe("kept", Some(2)).await;
    assert_eq!(sub["recovered"], false, "{sub}");
    let mut recent = Ws::open(&srv).await;
    assert_eq!(recent.subscribe("kept", Some(16)).await["recovered"], true);
    assert_eq!(seqs_of(&recent.events(4).await), vec![17, 18, 19, 20]);
}
