//! A server killed with SIGKILL in the middle of writes: after a restart on
//! the same database, every acknowledged write is there, each room's seqs have
//! no gap, and nothing is half-written (every delivery has its event).
#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly on the first surprise"
)]

mod support;

use futures::StreamExt;
use serde_json::json;
use std::collections::BTreeSet;
use support::process::*;
use support::*;

async fn start(dir: &std::path::Path) -> (Herald, String) {
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let bind = format!("127.0.0.1:{port}");
    let mut herald = Herald::spawn(
        dir,
        &["serve"],
        &[
            ("HERALD__SERVER__BIND", bind.as_str()),
            ("HERALD__DATABASE__URL", "sqlite://herald.db"),
            ("HERALD__SERVER__WORKERS", "2"),
        ],
    );
    herald.wait_healthy(&base).await;
    (herald, base)
}

#[actix_web::test]
async fn a_killed_server_loses_no_acknowledged_write_and_leaves_no_half_write() {
    let dir = tempfile::tempdir().unwrap();
    let (mut herald, base) = start(dir.path()).await;

    // Four writers, two rooms, until the server dies under them.
    let (acked_tx, mut acked_rx) = futures::channel::mpsc::unbounded::<(String, i64, i64)>();
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let (base, acked) = (base.clone(), acked_tx.clone());
            actix_web::rt::spawn(async move {
                let room = format!("crash-{}", w % 2);
                for n in 0.. {
                    let url = format!("{base}/api/rooms/{room}/events");
                    let body = json!({"event_type": "w", "payload": {"w": w, "n": n}});
                    let Ok(mut resp) = client().post(url).send_json(&body).await else {
                        return;
                    };
                    if resp.status().as_u16() != 201 {
                        return;
                    }
                    let Ok(answer) = resp.json::<serde_json::Value>().await else {
                        return;
                    };
                    let seq = answer["events"][0]["seq"].as_i64().unwrap();
                    acked
                        .unbounded_send((room.clone(), seq, w * 1_000_000 + n))
                        .unwrap();
                }
            })
        })
        .collect();
    drop(acked_tx);
    // Kill once a good number of writes were acknowledged.
    let mut acked = Vec::new();
    while acked.len() < 200 {
        let next = actix_web::rt::time::timeout(WAIT, acked_rx.next()).await;
        acked.push(next.unwrap().expect("writes are acknowledged"));
    }
    herald.kill();
    for w in writers {
        w.await.unwrap();
    }
    while let Some(late) = acked_rx.next().await {
        acked.push(late);
    }

    let (_restarted, base) = start(dir.path()).await;
    for room in ["crash-0", "crash-1"] {
        let (st, log) = get(&format!("{base}/api/rooms/{room}/events?limit=1000")).await;
        assert_eq!(st, 200);
        let mut seqs = Vec::new();
        let mut stored = BTreeSet::new();
        let mut since = 0;
        let mut page = log;
        loop {
            let entries = page.as_array().unwrap().clone();
            if entries.is_empty() {
                break;
            }
            for e in &entries {
                seqs.push(e["seq"].as_i64().unwrap());
                let id = e["payload"]["w"].as_i64().unwrap() * 1_000_000
                    + e["payload"]["n"].as_i64().unwrap();
                stored.insert((e["seq"].as_i64().unwrap(), id));
            }
            since = *seqs.last().unwrap();
            page = get(&format!(
                "{base}/api/rooms/{room}/events?since={since}&limit=1000"
            ))
            .await
            .1;
        }
        assert_eq!(seqs, (1..=since).collect::<Vec<_>>(), "gap in {room}");
        for (r, seq, id) in acked.iter().filter(|a| a.0 == room) {
            assert!(
                stored.contains(&(*seq, *id)),
                "acknowledged {r} seq {seq} lost"
            );
        }
    }
}
