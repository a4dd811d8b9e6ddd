//! Stopping: sockets are told (1001), every acknowledged write survives, and
//! connections are counted down as clients leave.
#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly on the first surprise"
)]

mod support;

use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use support::*;

/// Stops `srv` on a blocking thread (shutdown joins the server's thread) and
/// hands it back once `run` returned.
fn stop_in_background(
    mut srv: TestServer,
) -> actix_web::rt::task::JoinHandle<(TestServer, std::io::Result<()>)> {
    actix_web::rt::task::spawn_blocking(move || {
        let result = srv.shutdown();
        (srv, result)
    })
}

/// Restarts herald on the database of a stopped server.
fn restart(srv: TestServer) -> TestServer {
    let dir = srv.into_dir();
    let s = settings(&dir);
    TestServer::start_in(dir, s)
}

/// Posts without panicking on a refused or reset connection.
async fn try_publish(url: &str, n: usize) -> Option<(u16, Value)> {
    let body = json!({"event_type": "w", "payload": {"n": n}});
    let mut resp = client().post(url).send_json(&body).await.ok()?;
    let status = resp.status().as_u16();
    let json = resp.json::<Value>().await.ok()?;
    Some((status, json))
}

#[actix_web::test]
async fn subscribers_are_closed_with_1001_on_shutdown() {
    let srv = TestServer::start();
    let mut plain = Ws::open(&srv).await;
    let mut subscribed = Ws::open(&srv).await;
    subscribed.subscribe("news", None).await;
    let mut auto = Ws::connect(&srv.ws_url("/ws?projectId=p1")).await;
    assert_eq!(auto.next_json().await["type"], "welcome");
    assert_eq!(auto.next_json().await["type"], "subscribed");
    wait_stats(&srv, |s| s["connections"] == 3).await;

    let stopping = stop_in_background(srv);
    for ws in [&mut subscribed, &mut plain, &mut auto] {
        assert_eq!(ws.closed().await, Some(1001));
    }
    let (_srv, result) = stopping.await.unwrap();
    result.unwrap();
}

#[actix_web::test]
async fn every_acknowledged_write_survives_shutdown() {
    const WRITERS: usize = 4;
    const MAX_PER_WRITER: usize = 2_000;
    let srv = TestServer::start();
    let acked = Arc::new(AtomicUsize::new(0));
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let url = srv.url(&format!("/api/rooms/w{w}/events"));
            let acked = acked.clone();
            actix_web::rt::spawn(async move {
                // (seq, n) of every write answered 201.
                let mut mine = Vec::new();
                for n in 0..MAX_PER_WRITER {
                    match try_publish(&url, n).await {
                        Some((201, body)) => {
                            let ev = &body["events"][0];
                            assert_eq!(ev["room"], format!("w{w}"), "{body}");
                            mine.push((ev["seq"].as_i64().unwrap(), n));
                            acked.fetch_add(1, Ordering::SeqCst);
                        }
                        // Refused while stopping: allowed, and the end of this writer.
                        Some((503, _)) | None => break,
                        Some((st, body)) => panic!("unexpected answer {st}: {body}"),
                    }
                }
                mine
            })
        })
        .collect();

    // Stop while writes are flowing.
    let deadline = std::time::Instant::now() + WAIT;
    while acked.load(Ordering::SeqCst) < 40 {
        assert!(
            std::time::Instant::now() < deadline,
            "writes never got going"
        );
        actix_web::rt::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    let stopping = stop_in_background(srv);
    let mut acknowledged: BTreeMap<String, Vec<(i64, usize)>> = BTreeMap::new();
    for (w, writer) in writers.into_iter().enumerate() {
        let mine = writer.await.unwrap();
        assert!(
            mine.len() < MAX_PER_WRITER,
            "writer {w} never saw the server stop"
        );
        acknowledged.insert(format!("w{w}"), mine);
    }
    let (srv, result) = stopping.await.unwrap();
    result.unwrap();

    let srv = restart(srv);
    let mut total = 0;
    for (room, mine) in &acknowledged {
        let (st, log) = get(&srv.url(&format!("/api/rooms/{room}/events?limit=1000"))).await;
        assert_eq!(st, 200, "{log}");
        let stored: BTreeMap<i64, i64> = log
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["seq"].as_i64().unwrap(),
                    e["payload"]["n"].as_i64().unwrap(),
                )
            })
            .collect();
        for (seq, n) in mine {
            assert_eq!(
                stored.get(seq),
                Some(&(*n as i64)),
                "{room}: acknowledged seq {seq} (write {n}) lost after shutdown"
            );
        }
        // What is stored is contiguous: no hole left by the stop.
        let seqs: Vec<i64> = stored.keys().copied().collect();
        assert_eq!(seqs, (1..=seqs.len() as i64).collect::<Vec<_>>(), "{room}");
        total += mine.len();
    }
    assert!(total >= 40, "only {total} writes acknowledged");
}

#[actix_web::test]
async fn stats_count_connections_down_to_zero_as_clients_leave() {
    let srv = TestServer::start();
    let mut a = Ws::open(&srv).await;
    let mut b = Ws::open(&srv).await;
    a.subscribe("lobby", None).await;
    b.subscribe("lobby", None).await;
    b.subscribe("side", None).await;
    wait_stats(&srv, |s| {
        s["connections"] == 2
            && s["rooms"]
                .as_array()
                .is_some_and(|r| r.contains(&json!({"room": "lobby", "connections": 2})))
    })
    .await;

    // A clean close.
    a.send(awc::ws::Message::Close(None)).await;
    assert!(matches!(a.recv().await, Incoming::Close(_)));
    drop(a);
    wait_stats(&srv, |s| {
        s["connections"] == 1
            && s["rooms"]
                .as_array()
                .is_some_and(|r| r.contains(&json!({"room": "lobby", "connections": 1})))
    })
    .await;

    // A client that just goes away.
    drop(b);
    // The socket count and the rooms' counts are updated by different actors;
    // both reach zero.
    wait_stats(&srv, |s| s["connections"] == 0 && s["rooms"] == json!([])).await;
}
