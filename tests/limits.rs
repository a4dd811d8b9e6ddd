//! Memory an authenticated writer can pin is bounded (DESIGN §10): a room
//! full of events near the payload cap keeps its memory window within
//! `RECENT_BYTES` (16 MiB) and reads replays page by page, so the server's
//! resident memory stays within a documented bound however much is written.
#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly on the first surprise"
)]

mod support;

use serde_json::json;
use support::process::*;
use support::*;

/// Events written, each with a payload just under the 256 KiB cap.
const EVENTS: usize = 400;
const PAYLOAD_BYTES: usize = 240 * 1024;
/// Growth of resident memory the test allows: the 16 MiB window (held once
/// as read and once rendered), one replay page per reader, buffers.
const RSS_BOUND: u64 = 96 * 1024 * 1024;

fn rss_bytes(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap();
    kb * 1024
}

#[actix_web::test]
async fn a_room_full_of_large_events_keeps_memory_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let bind = format!("127.0.0.1:{port}");
    let mut herald = Herald::spawn(
        dir.path(),
        &["serve"],
        &[
            ("HERALD__SERVER__BIND", bind.as_str()),
            ("HERALD__DATABASE__URL", "sqlite://herald.db"),
            ("HERALD__WS__BATCH_WINDOW_MS", "0"),
        ],
    );
    herald.wait_healthy(&base).await;
    let ws_url = format!("ws://127.0.0.1:{port}/ws");
    let mut live = Ws::connect(&ws_url).await;
    live.next_json().await;
    live.subscribe("big", None).await;
    let before = rss_bytes(herald.pid());

    let filler = "x".repeat(PAYLOAD_BYTES);
    let url = format!("{base}/api/rooms/big/events");
    for chunk in 0..EVENTS / 4 {
        let writes = (0..4).map(|i| {
            let body =
                json!({"event_type": "blob", "payload": {"n": chunk * 4 + i, "blob": filler}});
            post(&url, body)
        });
        for (status, body) in futures::future::join_all(writes).await {
            assert_eq!(status, 201, "{body}");
        }
        // The live reader keeps up, as a dashboard would.
        assert_eq!(live.events(4).await.len(), 4);
    }

    // A reader that resumes from the start is paid out page by page.
    let mut late = Ws::connect(&ws_url).await;
    late.next_json().await;
    let answer = late.subscribe("big", Some(0)).await;
    assert_eq!(answer["recovered"], true, "{answer}");
    let replayed = late.events(EVENTS).await;
    let seqs: Vec<i64> = replayed
        .iter()
        .map(|e| e["seq"].as_i64().unwrap())
        .collect();
    assert_eq!(seqs, (1..=EVENTS as i64).collect::<Vec<_>>());

    let after = rss_bytes(herald.pid());
    let written = (EVENTS * PAYLOAD_BYTES) as u64;
    assert!(
        after.saturating_sub(before) < RSS_BOUND,
        "resident memory grew by {} MiB after {} MiB of events (bound {} MiB)",
        after.saturating_sub(before) >> 20,
        written >> 20,
        RSS_BOUND >> 20
    );
}

#[actix_web::test]
async fn a_listing_of_large_events_is_cut_near_8_mib_and_pages_on() {
    let srv = TestServer::start();
    let filler = "y".repeat(PAYLOAD_BYTES);
    let url = srv.url("/api/rooms/pages/events");
    for n in 0..40 {
        let (status, body) = post(
            &url,
            json!({"event_type": "blob", "payload": {"n": n, "blob": filler}}),
        )
        .await;
        assert_eq!(status, 201, "{body}");
    }
    let mut seqs = Vec::new();
    let mut pages = 0;
    while seqs.len() < 40 {
        let since = seqs.last().copied().unwrap_or(0);
        let mut resp = client()
            .get(format!("{url}?since={since}&limit=1000"))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 200);
        let body = resp.body().limit(64 * 1024 * 1024).await.unwrap();
        assert!(
            body.len() < 9 * 1024 * 1024,
            "a page of {} bytes",
            body.len()
        );
        let page: Vec<serde_json::Value> = serde_json::from_slice(&body).unwrap();
        assert!(!page.is_empty());
        seqs.extend(page.iter().map(|e| e["seq"].as_i64().unwrap()));
        pages += 1;
    }
    assert_eq!(seqs, (1..=40).collect::<Vec<i64>>());
    assert!(pages >= 2, "40 events of 240 KiB came in one page");
}
