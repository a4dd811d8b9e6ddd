//! PostgreSQL itself restarted under a three-node cluster: writes answer 503
//! while it is down, nothing is half-written, and afterwards everything flows
//! again on every node with no gap.
//!
//! This stops the local PostgreSQL server (`pg_ctlcluster`), so it is the
//! only test of its binary: `cargo test` runs test binaries one after
//! another, so no other test uses the server meanwhile. It waits for the
//! server to be back before it ends, even when it fails.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a failing test should panic"
)]

mod support;

use serde_json::{json, Value};
use std::cell::Cell;
use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;
use std::rc::Rc;
use std::time::{Duration, Instant};
use support::cluster::*;
use support::*;

/// How long PostgreSQL may take to come back before the test gives up.
const PG_START: Duration = Duration::from_secs(60);

/// The local PostgreSQL cluster (`/etc/postgresql/<version>/main`); started
/// again on drop if it is down.
struct LocalPostgres {
    version: String,
}

impl LocalPostgres {
    fn find() -> Option<LocalPostgres> {
        let url = std::env::var("HERALD_TEST_POSTGRES_URL").unwrap_or_default();
        let local = url.contains("@127.0.0.1:5432") || url.contains("@localhost:5432");
        let version = std::fs::read_dir("/etc/postgresql")
            .ok()
            .and_then(|mut dir| dir.next())
            .and_then(|entry| entry.ok())
            .map(|entry| entry.file_name().to_string_lossy().into_owned());
        match version {
            Some(version) if local => Some(LocalPostgres { version }),
            _ => {
                skip("no local PostgreSQL cluster on 127.0.0.1:5432 to restart");
                None
            }
        }
    }

    /// Runs `pg_ctlcluster VERSION main ACTION…` (blocking).
    fn ctl(version: &str, action: &[&str]) {
        let status = Command::new("pg_ctlcluster")
            .arg("--skip-systemctl-redirect")
            .args([version, "main"])
            .args(action)
            .status()
            .expect("cannot run pg_ctlcluster");
        assert!(status.success(), "pg_ctlcluster {action:?}: {status}");
    }

    fn ready() -> bool {
        Command::new("pg_isready")
            .args(["-q", "-h", "127.0.0.1", "-p", "5432"])
            .status()
            .is_ok_and(|s| s.success())
    }

    /// Waits (blocking) until the server accepts connections.
    fn wait_ready() {
        let deadline = Instant::now() + PG_START;
        while !Self::ready() {
            assert!(Instant::now() < deadline, "PostgreSQL did not come back");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for LocalPostgres {
    fn drop(&mut self) {
        if !Self::ready() {
            let _ = Command::new("pg_ctlcluster")
                .arg("--skip-systemctl-redirect")
                .args([self.version.as_str(), "main", "start"])
                .status();
        }
        let deadline = Instant::now() + PG_START;
        while !Self::ready() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

#[actix_web::test]
async fn postgres_restarted_under_load_answers_503_then_flows_again_without_a_gap() {
    let Some(pg) = LocalPostgres::find() else {
        return;
    };
    let Some(cluster) = Cluster::start().await else {
        return;
    };
    cluster.wait_formed().await;
    let base = cluster.nodes[0].url("");
    let (st, p) = post(&format!("{base}/api/projects"), json!({"name": "P"})).await;
    assert_eq!(st, 201, "{p}");
    let pid = p["id"].as_str().unwrap().to_string();
    let url = format!("{base}/api/projects/{pid}/sessions");
    let (st, s) = post(&url, json!({"id": "pg1"})).await;
    assert_eq!(st, 201, "{s}");
    let rooms = ["session:pg1".to_string(), format!("project:{pid}")];

    let mut readers = Vec::new();
    for node in &cluster.nodes {
        let mut ws = native(&node.ws_url(""), "/ws").await;
        let mut at = BTreeMap::new();
        for room in &rooms {
            at.insert(
                room.clone(),
                ws.subscribe(room, None).await["seq"].as_i64().unwrap(),
            );
        }
        readers.push((node.id.clone(), ws, at));
    }

    // Writers on a and b until told to stop: 201 or 503, nothing else.
    let (acked_tx, mut acked) = futures::channel::mpsc::unbounded::<i64>();
    let unavailable = Rc::new(Cell::new(0usize));
    let stop = Rc::new(Cell::new(false));
    let writers: Vec<_> = cluster.nodes[..2]
        .iter()
        .map(|node| {
            let url = node.url("/api/sessions/pg1/messages");
            let (acked_tx, unavailable, stop) =
                (acked_tx.clone(), unavailable.clone(), stop.clone());
            actix_web::rt::spawn(async move {
                let mut n = 0;
                while !stop.get() {
                    n += 1;
                    let (st, body) = post(&url, json!({"prompt": format!("m{n}")})).await;
                    match st {
                        201 => {
                            let id = body["events"][0]["id"].as_i64().unwrap();
                            let _ = acked_tx.unbounded_send(id);
                        }
                        503 => {
                            assert_eq!(body["error"]["code"], "unavailable", "{body}");
                            unavailable.set(unavailable.get() + 1);
                            // A pause between retries, not a wait for an event.
                            actix_web::rt::time::sleep(Duration::from_millis(20)).await;
                        }
                        _ => panic!("{url} answered {st}: {body}"),
                    }
                }
            })
        })
        .collect();
    drop(acked_tx);
    let mut acknowledged = BTreeSet::new();
    let mut take_acks = async |n: usize| {
        use futures::StreamExt;
        for _ in 0..n {
            let id = actix_web::rt::time::timeout(WAIT, acked.next()).await;
            acknowledged.insert(id.expect("writes stalled").expect("writers ended"));
        }
    };
    take_acks(50).await;

    // Down: every node answers writes and readiness with 503.
    let version = pg.version.clone();
    actix_web::rt::task::spawn_blocking(move || {
        LocalPostgres::ctl(&version, &["stop", "-m", "fast"])
    })
    .await
    .unwrap();
    for node in &cluster.nodes {
        let (st, body) = post(
            &node.url("/api/sessions/pg1/messages"),
            json!({"prompt": "while down"}),
        )
        .await;
        assert_eq!(
            (st, &body["error"]["code"]),
            (503, &json!("unavailable")),
            "{body}"
        );
        assert_eq!(get(&node.url("/readyz")).await.0, 503, "node {}", node.id);
    }

    // Back: writes succeed again on every node, then the load goes on.
    let version = pg.version.clone();
    actix_web::rt::task::spawn_blocking(move || {
        LocalPostgres::ctl(&version, &["start"]);
        LocalPostgres::wait_ready();
    })
    .await
    .unwrap();
    take_acks(50).await;
    stop.set(true);
    for writer in writers {
        writer.await.unwrap();
    }
    {
        use futures::StreamExt;
        while let Some(id) = acked.next().await {
            acknowledged.insert(id);
        }
    }
    assert!(unavailable.get() > 0, "no writer saw the server down");

    // Nothing half-written: each message is in both rooms, or in neither.
    let mut logs = BTreeMap::new();
    for room in &rooms {
        logs.insert(
            room.clone(),
            room_log(&cluster.nodes[2].url(""), room, 0).await,
        );
    }
    let ids = |room: &str| -> BTreeSet<i64> {
        logs[room]
            .iter()
            .filter(|e| e["event_type"] == "message_created")
            .map(|e| e["id"].as_i64().unwrap())
            .collect()
    };
    let (in_session, in_project) = (ids(&rooms[0]), ids(&rooms[1]));
    assert_eq!(in_session, in_project, "a message in one room only");
    let lost: Vec<_> = acknowledged.difference(&in_session).collect();
    assert!(lost.is_empty(), "acknowledged but not in the log: {lost:?}");

    // Every subscriber on every node has the whole log, once, in order.
    for (id, mut ws, at) in readers {
        let until = rooms
            .iter()
            .map(|room| {
                (
                    room.clone(),
                    logs[room].last().unwrap()["seq"].as_i64().unwrap(),
                )
            })
            .collect();
        let got = collect(&mut ws, &until).await;
        for room in &rooms {
            let since = at[room];
            let log: Vec<Value> = logs[room]
                .iter()
                .filter(|e| e["seq"].as_i64().unwrap() > since)
                .cloned()
                .collect();
            assert_is_log(&format!("{id} {room}"), &got[room], &log, since);
        }
    }
}
