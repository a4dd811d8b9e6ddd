//! Three herald nodes on one fresh PostgreSQL database behave as one server
//! (DESIGN §9): every commit reaches every node's subscribers once, in seq
//! order, with no gap; a lost notification is repaired within
//! `cluster.reconcile_ms`; revocation and ended tokens act on every node
//! within a second; `/api/stats` lists the live nodes.
//!
//! Real `herald serve` processes (tests/support/cluster.rs). Without
//! `HERALD_TEST_POSTGRES_URL` the tests are skipped, but fail under CI.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a failing test should panic"
)]

mod support;

use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use support::cluster::*;
use support::*;

/// Writes of the load test, and how many writers make them.
const WRITES: usize = 1_000;
const WRITERS: usize = 8;

/// Creates a project and a session through `base`; returns their ids.
async fn project_and_session_on(base: &str) -> (String, String) {
    let (st, p) = post(&format!("{base}/api/projects"), json!({"name": "P"})).await;
    assert_eq!(st, 201, "{p}");
    let pid = p["id"].as_str().unwrap().to_string();
    let url = format!("{base}/api/projects/{pid}/sessions");
    let (st, s) = post(&url, json!({"title": "S"})).await;
    assert_eq!(st, 201, "{s}");
    (pid, s["id"].as_str().unwrap().to_string())
}

/// A native socket on `node` subscribed to `rooms`; returns it with each
/// room's seq at subscription.
async fn subscriber(node: &Node, rooms: &[String]) -> (Ws, BTreeMap<String, i64>) {
    let mut ws = native(&node.ws_url(""), "/ws").await;
    let mut at = BTreeMap::new();
    for room in rooms {
        let sub = ws.subscribe(room, None).await;
        at.insert(room.clone(), sub["seq"].as_i64().unwrap());
    }
    (ws, at)
}

#[actix_web::test]
async fn a_thousand_writes_through_three_nodes_reach_every_client_once_in_order() {
    let Some(cluster) = Cluster::start().await else {
        return;
    };
    cluster.wait_formed().await;
    let (pid, sid) = project_and_session_on(&cluster.nodes[0].url("")).await;
    let rooms = vec![format!("session:{sid}"), format!("project:{pid}")];

    // On every node: one socket that subscribes to both rooms, one that is
    // auto-subscribed to the project room by its URL.
    let mut readers = Vec::new();
    for node in &cluster.nodes {
        let (ws, at) = subscriber(node, &rooms).await;
        readers.push((format!("{}/both", node.id), ws, at));
        let mut auto = native(&node.ws_url(""), &format!("/ws?projectId={pid}")).await;
        let sub = auto.next_json().await;
        assert_eq!(sub["type"], "subscribed", "{sub}");
        let at = BTreeMap::from([(rooms[1].clone(), sub["seq"].as_i64().unwrap())]);
        readers.push((format!("{}/auto", node.id), auto, at));
    }
    let readers: Vec<_> = readers
        .into_iter()
        .map(|(name, mut ws, at)| {
            // Each message adds one delivery to each of the two rooms.
            let until = at
                .iter()
                .map(|(room, seq)| (room.clone(), seq + WRITES as i64))
                .collect();
            actix_web::rt::spawn(async move {
                let got = collect(&mut ws, &until).await;
                (name, ws, at, got)
            })
        })
        .collect();

    // Eight writers, each message through the next node in turn.
    let bases: Vec<String> = cluster.nodes.iter().map(|n| n.url("")).collect();
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let (bases, sid) = (bases.clone(), sid.clone());
            actix_web::rt::spawn(async move {
                for n in 0..WRITES / WRITERS {
                    let base = &bases[(w + n) % bases.len()];
                    let url = format!("{base}/api/sessions/{sid}/messages");
                    let (st, body) = post(&url, json!({"prompt": format!("w{w} n{n}")})).await;
                    assert_eq!(st, 201, "{body}");
                }
            })
        })
        .collect();
    for writer in writers {
        writer.await.unwrap();
    }

    let mut logs = BTreeMap::new();
    for room in &rooms {
        logs.insert(room.clone(), room_log(&bases[1], room, 0).await);
    }
    for reader in readers {
        let (name, mut ws, at, got) = reader.await.unwrap();
        for (room, since) in &at {
            let log: Vec<Value> = logs[room]
                .iter()
                .filter(|e| e["seq"].as_i64().unwrap() > *since)
                .cloned()
                .collect();
            assert_eq!(log.len(), WRITES, "{room}: the log holds {}", log.len());
            assert_is_log(&format!("{name} {room}"), &got[room], &log, *since);
        }
        assert_quiet(&mut ws, Duration::from_millis(300)).await;
    }
}

#[actix_web::test]
async fn stats_on_every_node_list_the_three_nodes_and_heartbeats_count_the_cluster() {
    let Some(cluster) = Cluster::start_with(Options {
        env: vec![("HERALD__WS__HEARTBEAT_INTERVAL_MS".into(), "300".into())],
        ..Options::default()
    })
    .await
    else {
        return;
    };
    cluster.wait_formed().await;
    for node in &cluster.nodes {
        let (st, stats) = get(&node.url("/api/stats")).await;
        assert_eq!(st, 200, "{stats}");
        assert_eq!(stats["node"], node.id.as_str(), "{stats}");
        assert_eq!(live_nodes(&stats), ["a", "b", "c"], "{stats}");
        for entry in stats["nodes"].as_array().unwrap() {
            assert!(entry["connections"].is_u64(), "{entry}");
            assert!(is_timestamp(&entry["seen_at"]), "{entry}");
        }
    }

    // 1 socket on a, 2 on b, 3 on c: a's heartbeat counts all six, while a's
    // own stats count its one.
    let mut sockets = Vec::new();
    for (i, node) in cluster.nodes.iter().enumerate() {
        for _ in 0..=i {
            sockets.push(native(&node.ws_url(""), "/ws").await);
        }
    }
    let deadline = Instant::now() + WAIT;
    loop {
        let frame = match sockets[0].recv().await {
            Incoming::Json(v) => v,
            other => panic!("{other:?}"),
        };
        if frame["type"] == "heartbeat" && frame["connections"] == 6 {
            break;
        }
        assert!(Instant::now() < deadline, "last heartbeat: {frame}");
    }
    let (_, stats) = get(&cluster.nodes[0].url("/api/stats")).await;
    assert_eq!(stats["connections"], 1, "{stats}");
}

#[actix_web::test]
async fn a_killed_listener_loses_nothing_and_is_repaired_within_the_reconcile_interval() {
    let Some(cluster) = Cluster::start().await else {
        return;
    };
    cluster.wait_formed().await;
    let room = "lost".to_string();
    const EACH: usize = 200;

    // Writers on a and b; c only ever hears of events through the cluster.
    let mut readers = Vec::new();
    for node in &cluster.nodes {
        let (mut ws, at) = subscriber(node, std::slice::from_ref(&room)).await;
        let until = BTreeMap::from([(room.clone(), (2 * EACH) as i64)]);
        let name = node.id.clone();
        readers.push(actix_web::rt::spawn(async move {
            let got = collect(&mut ws, &until).await;
            (name, at[&"lost".to_string()], got, Instant::now())
        }));
    }
    let (acked_tx, mut acked) = futures::channel::mpsc::unbounded::<()>();
    let writers: Vec<_> = cluster.nodes[..2]
        .iter()
        .map(|node| {
            let (url, acked_tx) = (node.url("/api/rooms/lost/events"), acked_tx.clone());
            actix_web::rt::spawn(async move {
                for n in 0..EACH {
                    let body = json!({"event_type": "note", "payload": {"n": n}});
                    let (st, answer) = post(&url, body).await;
                    assert_eq!(st, 201, "{answer}");
                    let _ = acked_tx.unbounded_send(());
                }
            })
        })
        .collect();
    drop(acked_tx);

    // A quarter of the way in, every node's listener connection is cut.
    use futures::StreamExt;
    for _ in 0..EACH / 2 {
        actix_web::rt::time::timeout(WAIT, acked.next())
            .await
            .expect("writes stalled");
    }
    assert_eq!(terminate_listeners(&cluster.db), 3, "one listener per node");
    for writer in writers {
        writer.await.unwrap();
    }
    let written_at = Instant::now();

    let log = room_log(&cluster.nodes[2].url(""), &room, 0).await;
    assert_eq!(log.len(), 2 * EACH);
    for reader in readers {
        let (name, since, got, done_at) = reader.await.unwrap();
        assert_is_log(&name, &got[&room], &log, since);
        let late = done_at.saturating_duration_since(written_at);
        assert!(
            late <= RECONCILE + Duration::from_secs(1),
            "node {name} complete {late:?} after the last write"
        );
    }
}

// ---- access on every node

/// A user created by the admin through `base`.
async fn user_on(base: &str, email: &str) -> User {
    let (st, body) = call_as(
        Some(CLUSTER_ADMIN),
        "POST",
        &format!("{base}/api/users"),
        Some(json!({"email": email, "name": email})),
    )
    .await;
    assert_eq!(st, 201, "{body}");
    User {
        id: body["id"].as_str().unwrap().into(),
        email: body["email"].as_str().unwrap().into(),
        token: body["token"].as_str().unwrap().into(),
    }
}

/// Reads `ws` until `stop` holds for a frame (returned) or the socket
/// closes (`Err(code)`); no frame may be a `message_created`.
async fn until_without_messages(
    ws: &mut Ws,
    stop: impl Fn(&Value) -> bool,
) -> Result<Value, Option<u16>> {
    loop {
        match ws.recv().await {
            Incoming::Close(code) => return Err(code),
            Incoming::Json(frame) => {
                let kind = frame["type"].as_str().unwrap_or_default().to_string();
                assert!(
                    kind != "message_created" && frame["event_type"] != "message_created",
                    "shown after the revocation: {frame}"
                );
                if stop(&frame) {
                    return Ok(frame);
                }
            }
            Incoming::Ping => {}
        }
    }
}

#[actix_web::test]
async fn a_collaborator_removed_on_one_node_is_revoked_on_another_within_a_second() {
    let Some(cluster) = Cluster::start_with(Options {
        auth: true,
        env: vec![("HERALD__WS__BATCH_WINDOW_MS".into(), "0".into())],
        ..Options::default()
    })
    .await
    else {
        return;
    };
    cluster.wait_formed().await;
    let [a, b, _] = &cluster.nodes[..] else {
        unreachable!()
    };
    let owner = user_on(&a.url(""), "owner@x.io").await;
    let viewer = user_on(&b.url(""), "viewer@x.io").await;
    let (st, p) = owner
        .call("POST", &a.url("/api/projects"), Some(json!({"name": "t"})))
        .await;
    assert_eq!(st, 201, "{p}");
    let pid = p["id"].as_str().unwrap();
    let sessions = a.url(&format!("/api/projects/{pid}/sessions"));
    let (st, s) = owner
        .call("POST", &sessions, Some(json!({"id": "shared"})))
        .await;
    assert_eq!(st, 201, "{s}");
    let collaborators = a.url("/api/sessions/shared/collaborators");
    let body = json!({"email": "viewer@x.io", "role": "viewer"});
    let (st, c) = owner.call("POST", &collaborators, Some(body)).await;
    assert_eq!(st, 201, "{c}");
    let cid = c["id"].as_i64().unwrap();

    // The viewer reads on b in two dialects; a message written on a arrives.
    let flat_url = with_token(&b.ws_url("/ws/sessions/shared"), &viewer.token);
    let mut flat = Ws::connect(&flat_url).await;
    assert_eq!(flat.next_json().await["type"], "subscribed");
    let mut multi = native(&b.ws_url(""), &format!("/ws?token={}", viewer.token)).await;
    multi.subscribe("session:shared", None).await;
    multi.subscribe("other", None).await;
    let messages = a.url("/api/sessions/shared/messages");
    let (st, _) = owner
        .call("POST", &messages, Some(json!({"prompt": "before"})))
        .await;
    assert_eq!(st, 201);
    assert_eq!(
        next_of(&mut flat, "message_created").await["content"],
        "before"
    );
    let seen = multi.events(1).await;
    assert_eq!(seen[0]["event_type"], "message_created", "{seen:?}");

    // Removed on a; a message right after is never shown on b.
    let removed_at = Instant::now();
    let (st, body) = owner
        .call("DELETE", &format!("{collaborators}/{cid}"), None)
        .await;
    assert_eq!(st, 200, "{body}");
    let (st, _) = owner
        .call("POST", &messages, Some(json!({"prompt": "after"})))
        .await;
    assert_eq!(st, 201);
    let closed = until_without_messages(&mut flat, |_| false).await;
    assert_eq!(closed, Err(Some(4003)));
    let unsubscribed = until_without_messages(&mut multi, |f| f["type"] == "unsubscribed").await;
    assert_eq!(
        unsubscribed,
        Ok(
            json!({"type": "unsubscribed", "room": "session:shared", "reason": "revoked", "code": 4003})
        )
    );
    let took = removed_at.elapsed();
    assert!(took < Duration::from_secs(1), "revoked after {took:?}");

    // Refused on every node, in both dialects; b's socket keeps its other room.
    for node in &cluster.nodes {
        let url = with_token(&node.ws_url("/ws/sessions/shared"), &viewer.token);
        assert_eq!(upgrade_status(&url).await, 403, "node {}", node.id);
        let mut ws = native(&node.ws_url(""), &format!("/ws?token={}", viewer.token)).await;
        ws.send_json(json!({"type": "subscribe", "room": "session:shared"}))
            .await;
        let refused = ws.next_json().await;
        assert_eq!(
            (&refused["type"], &refused["code"]),
            (&json!("error"), &json!("forbidden")),
            "node {}: {refused}",
            node.id
        );
    }
    let (st, _) = call_as(
        Some(CLUSTER_ADMIN),
        "POST",
        &a.url("/api/rooms/other/events"),
        Some(json!({"event_type": "note", "payload": {}})),
    )
    .await;
    assert_eq!(st, 201);
    assert_eq!(multi.events(1).await[0]["room"], "other");
}

#[actix_web::test]
async fn a_user_deleted_or_given_a_new_token_on_one_node_is_closed_4001_on_another() {
    let Some(cluster) = Cluster::start_with(Options {
        auth: true,
        ..Options::default()
    })
    .await
    else {
        return;
    };
    cluster.wait_formed().await;
    let [a, b, c] = &cluster.nodes[..] else {
        unreachable!()
    };
    let dora = user_on(&a.url(""), "dora@x.io").await;
    let ana = user_on(&a.url(""), "ana@x.io").await;
    let mut dora_ws = native(&c.ws_url(""), &format!("/ws?token={}", dora.token)).await;
    let mut ana_ws = native(&b.ws_url(""), &format!("/ws?token={}", ana.token)).await;
    assert_eq!(dora.call("GET", &c.url("/api/me"), None).await.0, 200);
    assert_eq!(ana.call("GET", &b.url("/api/me"), None).await.0, 200);

    // Dora is deleted on a: closed on c within a second, refused there.
    let deleted_at = Instant::now();
    let url = a.url(&format!("/api/users/{}", dora.id));
    let (st, body) = call_as(Some(CLUSTER_ADMIN), "DELETE", &url, None).await;
    assert_eq!(st, 200, "{body}");
    assert_eq!(dora_ws.closed().await, Some(4001));
    let took = deleted_at.elapsed();
    assert!(took < Duration::from_secs(1), "closed after {took:?}");
    assert_eq!(dora.call("GET", &c.url("/api/me"), None).await.0, 401);
    let upgrade = with_token(&c.ws_url("/ws"), &dora.token);
    assert_eq!(upgrade_status(&upgrade).await, 401);

    // Ana gets a new token on a: the old one closes on b and is refused there.
    let renewed_at = Instant::now();
    let url = a.url(&format!("/api/users/{}/token", ana.id));
    let (st, renewed) = ana.call("POST", &url, None).await;
    assert_eq!(st, 200, "{renewed}");
    assert_eq!(ana_ws.closed().await, Some(4001));
    let took = renewed_at.elapsed();
    assert!(took < Duration::from_secs(1), "closed after {took:?}");
    assert_eq!(ana.call("GET", &b.url("/api/me"), None).await.0, 401);
    let fresh = renewed["token"].as_str().unwrap();
    let (st, me) = call_as(Some(fresh), "GET", &b.url("/api/me"), None).await;
    assert_eq!((st, &me["email"]), (200, &json!("ana@x.io")));
}

/// A TCP forwarder to PostgreSQL that the test can cut: every connection
/// through it is dropped, and new ones are refused, until it is restored.
struct Cuttable {
    addr: std::net::SocketAddr,
    open: std::sync::Arc<std::sync::atomic::AtomicBool>,
    cuts: tokio::sync::watch::Sender<u64>,
}

impl Cuttable {
    async fn to(target: &str) -> Cuttable {
        use std::sync::atomic::Ordering;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let open = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
        let (cuts, watch) = tokio::sync::watch::channel(0u64);
        let (gate, target) = (open.clone(), target.to_string());
        actix_web::rt::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                if !gate.load(Ordering::SeqCst) {
                    continue; // dropped: refused
                }
                let (target, mut cut) = (target.clone(), watch.clone());
                // Only cuts from now on end this connection.
                cut.borrow_and_update();
                actix_web::rt::spawn(async move {
                    let Ok(mut server) = tokio::net::TcpStream::connect(&target).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                        _ = cut.changed() => {}
                    }
                });
            }
        });
        Cuttable { addr, open, cuts }
    }

    fn cut(&self) {
        self.open.store(false, std::sync::atomic::Ordering::SeqCst);
        self.cuts.send_modify(|n| *n += 1);
    }

    fn restore(&self) {
        self.open.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

/// Polls `node`'s `/api/stats` until `check` holds for its `cluster` block.
async fn wait_cluster_state(node: &Node, check: impl Fn(&Value) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (_, stats) = call_as(Some(CLUSTER_ADMIN), "GET", &node.url("/api/stats"), None).await;
        if check(&stats["cluster"]) {
            return;
        }
        assert!(Instant::now() < deadline, "node {}: {stats}", node.id);
        actix_web::rt::time::sleep(Duration::from_millis(20)).await;
    }
}

#[actix_web::test]
async fn a_node_that_cannot_hear_the_others_holds_its_rooms_and_revokes_before_it_delivers() {
    let Some(mut cluster) = Cluster::start_with(Options {
        auth: true,
        env: vec![("HERALD__WS__BATCH_WINDOW_MS".into(), "0".into())],
        ..Options::default()
    })
    .await
    else {
        return;
    };
    // Node b's listener goes through a forwarder the test can cut, while
    // its pool and writer keep talking to PostgreSQL directly.
    let pg = cluster.db.url();
    let host = pg
        .split('@')
        .nth(1)
        .and_then(|r| r.split('/').next())
        .unwrap()
        .to_string();
    let proxy = Cuttable::to(&host).await;
    let listen_url = pg.replacen(&host, &proxy.addr.to_string(), 1);
    cluster.nodes[1].set_env("HERALD__CLUSTER__LISTEN_URL", &listen_url);
    cluster.nodes[1].restart().await;
    cluster.wait_formed().await;
    let [a, b, _] = &cluster.nodes[..] else {
        unreachable!()
    };
    wait_cluster_state(b, |c| c["listening"] == true && c["fenced"] == false).await;

    let owner = user_on(&a.url(""), "owner@x.io").await;
    let viewer = user_on(&a.url(""), "viewer@x.io").await;
    let (st, p) = owner
        .call("POST", &a.url("/api/projects"), Some(json!({"name": "t"})))
        .await;
    assert_eq!(st, 201, "{p}");
    let sessions = a.url(&format!(
        "/api/projects/{}/sessions",
        p["id"].as_str().unwrap()
    ));
    let (st, _) = owner
        .call("POST", &sessions, Some(json!({"id": "held"})))
        .await;
    assert_eq!(st, 201);
    let body = json!({"email": "viewer@x.io", "role": "viewer"});
    let collaborators = a.url("/api/sessions/held/collaborators");
    let (st, c) = owner.call("POST", &collaborators, Some(body)).await;
    assert_eq!(st, 201, "{c}");
    let mut reader = native(&b.ws_url(""), &format!("/ws?token={}", viewer.token)).await;
    reader.subscribe("session:held", None).await;
    let mut watcher = native(&b.ws_url(""), &format!("/ws?token={CLUSTER_ADMIN}")).await;
    watcher.subscribe("pub", None).await;
    let messages = a.url("/api/sessions/held/messages");
    let (st, _) = owner
        .call("POST", &messages, Some(json!({"prompt": "before"})))
        .await;
    assert_eq!(st, 201);
    assert_eq!(reader.events(1).await[0]["event_type"], "message_created");

    // b can no longer hear a: after a second it holds every room.
    proxy.cut();
    wait_cluster_state(b, |c| c["listening"] == false && c["fenced"] == true).await;
    // One note from a, one from b itself: b's own commit is held too.
    for (n, node) in [a, b].into_iter().enumerate() {
        let (st, _) = call_as(
            Some(CLUSTER_ADMIN),
            "POST",
            &node.url("/api/rooms/pub/events"),
            Some(json!({"event_type": "note", "payload": {"n": n}})),
        )
        .await;
        assert_eq!(st, 201);
    }
    // The viewer is removed on a, and messages follow on a and on b itself.
    let (st, _) = owner
        .call("DELETE", &format!("{collaborators}/{}", c["id"]), None)
        .await;
    assert_eq!(st, 200);
    for node in [a, b] {
        let url = node.url("/api/sessions/held/messages");
        let (st, _) = owner
            .call("POST", &url, Some(json!({"prompt": "after"})))
            .await;
        assert_eq!(st, 201);
    }
    // Nothing from a is delivered on b while it cannot hear a. The viewer
    // may be revoked now (b's own write made its room read the log, and the
    // access facts with it) or once b hears a again, but never shown "after".
    assert_quiet(&mut watcher, Duration::from_millis(1500)).await;
    let revoked = actix_web::rt::spawn(async move {
        let unsubscribed =
            until_without_messages(&mut reader, |f| f["type"] == "unsubscribed").await;
        assert_eq!(unsubscribed.unwrap()["reason"], "revoked");
    });

    // Heard again: b catches up, then delivers what it held, once.
    proxy.restore();
    revoked.await.unwrap();
    wait_cluster_state(b, |c| c["listening"] == true && c["fenced"] == false).await;
    let held = watcher.events(2).await;
    assert_eq!(seqs_of(&held), vec![1, 2], "{held:?}");
    assert_eq!(
        (&held[0]["payload"]["n"], &held[1]["payload"]["n"]),
        (&json!(0), &json!(1))
    );
    wait_cluster_state(b, |c| c["listening"] == true && c["fenced"] == false).await;
    assert_quiet(&mut watcher, Duration::from_millis(300)).await;
}

#[actix_web::test]
async fn a_forged_wake_up_grants_nothing_and_closes_nothing() {
    use diesel::RunQueryDsl;
    let Some(cluster) = Cluster::start_with(Options {
        auth: true,
        nodes: 2,
        ..Options::default()
    })
    .await
    else {
        return;
    };
    cluster.wait_formed().await;
    let [a, b] = &cluster.nodes[..] else {
        unreachable!()
    };
    let owner = user_on(&a.url(""), "owner@x.io").await;
    let eve = user_on(&a.url(""), "eve@x.io").await;
    let (st, p) = owner
        .call("POST", &a.url("/api/projects"), Some(json!({"name": "t"})))
        .await;
    assert_eq!(st, 201, "{p}");
    let pid = p["id"].as_str().unwrap().to_string();
    let sessions = a.url(&format!("/api/projects/{pid}/sessions"));
    let (st, _) = owner
        .call("POST", &sessions, Some(json!({"id": "secret"})))
        .await;
    assert_eq!(st, 201);
    let mut ws = native(&b.ws_url(""), &format!("/ws?token={}", eve.token)).await;
    ws.send_json(json!({"type": "subscribe", "room": "session:secret"}))
        .await;
    assert_eq!(ws.next_json().await["code"], "forbidden");

    // Anyone who can connect to the database can NOTIFY: facts that would
    // make the session public, in every shape a wake-up has had, and Eve's
    // "ended" token.
    let facts = json!({"session_id": "secret", "project_id": pid, "owner_id": null,
        "public": true, "collaborators": [], "exists": true, "version": 1_000_000_000_000_i64});
    let forged = [
        json!({"n": "zz", "a": [facts]}),
        json!({"n": "zz", "a": [["secret", pid]], "r": [["session:secret", 99]]}),
        json!({"n": "zz", "t": [eve.id]}),
        json!({"n": "zz", "x": true}),
    ];
    let mut db = cluster.db.connect();
    for payload in &forged {
        diesel::sql_query("SELECT pg_notify('herald', $1)")
            .bind::<diesel::sql_types::Text, _>(payload.to_string())
            .execute(&mut db)
            .unwrap();
    }
    // Eve's socket stays open and she is still refused, from the start too.
    for since in [None, Some(0)] {
        let mut frame = json!({"type": "subscribe", "room": "session:secret"});
        if let Some(since) = since {
            frame["since"] = json!(since);
        }
        ws.send_json(frame).await;
        let answer = ws.next_json().await;
        assert_eq!(answer["code"], "forbidden", "{answer}");
    }
    ws.send_json(json!({"type": "ping"})).await;
    assert_eq!(ws.next_json().await["type"], "pong");
    assert_eq!(eve.call("GET", &b.url("/api/me"), None).await.0, 200);
}
