//! Three herald nodes behind HAProxy running the shipped
//! `deploy/haproxy.cfg`: health checks on `/readyz`, round robin, Socket.IO
//! long-polling kept on its node, every dialect fed by other nodes' commits,
//! and a killed node's clients resuming through the balancer on another node.
//!
//! Real `herald serve` and `haproxy` processes (tests/support/cluster.rs).
//! Without `HERALD_TEST_POSTGRES_URL` or haproxy the tests are skipped, but
//! fail under CI.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a failing test should panic"
)]

mod support;

use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;
use support::cluster::*;
use support::*;

fn with_balancer(env: &[(&str, &str)]) -> Options {
    Options {
        balancer: true,
        env: env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        ..Options::default()
    }
}

#[test]
fn the_shipped_node_files_pass_check_config() {
    let dir = tempfile::tempdir().unwrap();
    for id in NODE_IDS {
        let file = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("config/node-{id}.toml"));
        let file = file.display().to_string();
        let done = process::run(dir.path(), &["check-config", "--config", &file], &[]);
        done.assert_ok();
        assert!(
            done.stdout.contains(&format!("node_id = \"{id}\"")),
            "{}",
            done.stdout
        );
    }
}

#[actix_web::test]
async fn haproxy_checks_readyz_round_robins_and_takes_a_killed_node_out_and_back() {
    let Some(mut cluster) = Cluster::start_with(with_balancer(&[])).await else {
        return;
    };
    // Every server passed an HTTP check (L7OK: /readyz answered 200).
    let servers = cluster.lb().servers().await.unwrap();
    for (id, row) in &servers {
        assert_eq!(
            (row["check_status"].as_str(), row["check_code"].as_str()),
            ("L7OK", "200"),
            "{id}: {row:?}"
        );
    }
    let stats_url = cluster.lb().url("/api/stats");
    let nodes_answering = |n: usize| {
        let url = stats_url.clone();
        async move {
            let mut seen = BTreeSet::new();
            for _ in 0..n {
                let (st, stats) = get(&url).await;
                assert_eq!(st, 200, "{stats}");
                seen.insert(stats["node"].as_str().unwrap().to_string());
            }
            seen
        }
    };
    let all: BTreeSet<String> = ["a", "b", "c"].map(String::from).into();
    assert_eq!(nodes_answering(12).await, all);

    // b dies: no request through the balancer fails, b leaves the rotation.
    cluster.nodes[1].kill();
    let seen = nodes_answering(12).await;
    assert!(!seen.is_empty() && !seen.contains("b"), "{seen:?}");
    cluster.lb().wait_status("b", "DOWN").await;
    let seen = nodes_answering(6).await;
    assert_eq!(seen, ["a", "c"].map(String::from).into());

    // b comes back on its port: in rotation again once its checks pass.
    cluster.nodes[1].restart().await;
    cluster.lb().wait_status("b", "UP").await;
    assert_eq!(nodes_answering(12).await, all);
}

// ---- Socket.IO long-polling through the balancer

/// One Engine.IO polling session through the balancer, from a chosen
/// loopback source address (HAProxy picks the node by it).
struct Polling {
    http: awc::Client,
    url: String,
    sid: String,
    /// The node HAProxy's `herald_node` cookie names.
    node: String,
}

impl Polling {
    fn client(ip: IpAddr) -> awc::Client {
        awc::Client::builder()
            .local_address(ip)
            .timeout(WAIT)
            .finish()
    }

    async fn open(lb: &Balancer, ip: IpAddr) -> Polling {
        let http = Self::client(ip);
        let mut resp = http
            .get(lb.url("/socket.io/?EIO=4&transport=polling"))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        let cookie = resp
            .headers()
            .get("set-cookie")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let node = cookie
            .split(';')
            .next()
            .and_then(|c| c.strip_prefix("herald_node="))
            .unwrap_or_else(|| panic!("no herald_node cookie: {cookie:?}"))
            .to_string();
        let body = resp.body().await.unwrap();
        let open: Value = serde_json::from_slice(&body[1..]).unwrap();
        let sid = open["sid"].as_str().unwrap().to_string();
        let url = lb.url(&format!("/socket.io/?EIO=4&transport=polling&sid={sid}"));
        Polling {
            http,
            url,
            sid,
            node,
        }
    }

    /// POSTs packets with `http` and an optional cookie; returns the status.
    async fn send_with(&self, http: &awc::Client, cookie: Option<&str>, packets: &[&str]) -> u16 {
        let mut req = http.post(&self.url);
        if let Some(cookie) = cookie {
            req = req.insert_header(("cookie", cookie));
        }
        req.send_body(packets.join("\u{1e}"))
            .await
            .unwrap()
            .status()
            .as_u16()
    }

    async fn send(&self, packets: &[&str]) -> u16 {
        self.send_with(&self.http, None, packets).await
    }

    /// One poll; its status and packets.
    async fn poll_with(&self, http: &awc::Client, cookie: Option<&str>) -> (u16, Vec<String>) {
        let mut req = http.get(&self.url);
        if let Some(cookie) = cookie {
            req = req.insert_header(("cookie", cookie));
        }
        let mut resp = req.send().await.unwrap();
        let body = resp.body().await.unwrap();
        let packets = String::from_utf8_lossy(&body)
            .split('\u{1e}')
            .map(str::to_string)
            .collect();
        (resp.status().as_u16(), packets)
    }

    /// Polls (answering pings) until a packet starts with `prefix`; every
    /// request must be answered 200, so every one reached this session's node.
    async fn until(&self, prefix: &str) -> String {
        let deadline = std::time::Instant::now() + WAIT;
        loop {
            let (st, packets) = self.poll_with(&self.http, None).await;
            assert_eq!(st, 200, "session {} lost its node: {packets:?}", self.sid);
            for packet in packets {
                if packet.starts_with(prefix) {
                    return packet;
                }
                if packet == "2" {
                    assert_eq!(self.send(&["3"]).await, 200);
                }
            }
            assert!(std::time::Instant::now() < deadline, "no {prefix}… packet");
        }
    }
}

#[actix_web::test]
async fn socketio_polling_sessions_stay_on_their_node_through_haproxy() {
    let Some(cluster) = Cluster::start_with(with_balancer(&[
        ("HERALD__WS__HEARTBEAT_INTERVAL_MS", "300"),
        ("HERALD__WS__BATCH_WINDOW_MS", "0"),
    ]))
    .await
    else {
        return;
    };
    let lb = cluster.lb();
    // Clients from eight source addresses: spread over the nodes by address,
    // each kept on its node for every request of its session.
    let mut sessions = Vec::new();
    for last in 2..10u8 {
        let ip = IpAddr::from([127, 0, 0, last]);
        let s = Polling::open(lb, ip).await;
        assert_eq!(s.send(&["40"]).await, 200);
        s.until("40").await;
        let subscribe = r#"42["subscribe",{"room":"sticky"}]"#;
        assert_eq!(s.send(&[subscribe]).await, 200);
        s.until(r#"42["subscribed""#).await;
        sessions.push((ip, s));
    }
    let nodes: BTreeSet<&str> = sessions.iter().map(|(_, s)| s.node.as_str()).collect();
    assert!(
        nodes.len() >= 2,
        "every source address on one node: {nodes:?}"
    );

    // An event written on any node reaches every session, each on its node.
    let url = cluster.nodes[0].url("/api/rooms/sticky/events");
    let (st, body) = post(&url, json!({"event_type": "note", "payload": {"n": 1}})).await;
    assert_eq!(st, 201, "{body}");
    for (_, s) in &sessions {
        let packet = s.until(r#"42["note""#).await;
        assert!(packet.contains(r#""n":1"#), "{packet}");
    }

    // The cookie keeps a client on its node even from an address that
    // HAProxy would send elsewhere; without it that address goes elsewhere.
    let (_, first) = &sessions[0];
    let (other_ip, _) = sessions.iter().find(|(_, s)| s.node != first.node).unwrap();
    let elsewhere = Polling::client(*other_ip);
    let (st, body) = first.poll_with(&elsewhere, None).await;
    assert_eq!(st, 400, "{body:?}");
    let cookie = format!("herald_node={}", first.node);
    assert_eq!(
        first.send_with(&elsewhere, Some(&cookie), &["3"]).await,
        200
    );
    let (st, body) = first.poll_with(&elsewhere, Some(&cookie)).await;
    assert_eq!(st, 200, "{body:?}");
}

// ---- every dialect across nodes

async fn python_client(lb: &Balancer, transports: &str, room: &str, writers: &[String]) -> Value {
    let dir = clients::clients_dir();
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/clients/sio_cluster.py");
    let mut args = vec![
        script.display().to_string(),
        lb.url(""),
        transports.to_string(),
        room.to_string(),
        "30".to_string(),
    ];
    args.extend(writers.iter().cloned());
    let out = clients::run_client(dir.join("venv/bin/python"), args).await;
    serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("{e}: {out}"))
}

/// The client's `[[seq, n], …]` is the room's log after `subscribed_seq`.
async fn assert_python_saw_the_log(base: &str, room: &str, report: &Value) {
    let since = report["subscribed_seq"].as_i64().unwrap();
    let log: Vec<Value> = room_log(base, room, since)
        .await
        .iter()
        .map(|e| json!([e["seq"], e["payload"]["n"]]))
        .collect();
    assert_eq!(report["got"].as_array().unwrap(), &log, "{room}");
    let want: Vec<Value> = (0..30).map(|n| json!([since + 1 + n, n])).collect();
    assert_eq!(log, want, "{room}");
}

#[actix_web::test]
async fn every_dialect_receives_what_other_nodes_commit() {
    let Some(cluster) = Cluster::start_with(with_balancer(&[(
        "HERALD__WS__HEARTBEAT_INTERVAL_MS",
        "1000",
    )]))
    .await
    else {
        return;
    };
    cluster.wait_formed().await;
    let [a, b, c] = &cluster.nodes[..] else {
        unreachable!()
    };
    let (st, p) = post(&a.url("/api/projects"), json!({"name": "P"})).await;
    assert_eq!(st, 201, "{p}");
    let pid = p["id"].as_str().unwrap();
    let url = a.url(&format!("/api/projects/{pid}/sessions"));
    let (st, s) = post(&url, json!({"id": "d1"})).await;
    assert_eq!(st, 201, "{s}");

    // Flat on b, native on c; broadcasts on c and b.
    let mut flat = Ws::connect(&b.ws_url("/ws/sessions/d1")).await;
    let sub = flat.next_json().await;
    assert_eq!(sub["type"], "subscribed", "{sub}");
    let flat_since = sub["seq"].as_i64().unwrap();
    let mut nat = native(&c.ws_url(""), "/ws").await;
    let nat_since = nat.subscribe("session:d1", None).await["seq"]
        .as_i64()
        .unwrap();
    let mut casts = Vec::new();
    for node in [c, b] {
        let mut ws = Ws::connect(&node.ws_url("/ws/broadcasts")).await;
        let sub = ws.next_json().await;
        assert_eq!(sub["type"], "subscribed", "{sub}");
        casts.push((ws, sub["seq"].as_i64().unwrap()));
    }

    // Messages through a and c, features through a and b, in turn.
    for n in 0..20 {
        let via = if n % 2 == 0 { a } else { c };
        let url = via.url("/api/sessions/d1/messages");
        let (st, body) = post(&url, json!({"prompt": format!("m{n}")})).await;
        assert_eq!(st, 201, "{body}");
        let via = if n % 2 == 0 { a } else { b };
        let url = via.url(&format!("/api/broadcast/features/f{n}"));
        let (st, body) = post(&url, json!({"title": format!("f{n}")})).await;
        assert_eq!(st, 201, "{body}");
    }

    let log = room_log(&a.url(""), "session:d1", flat_since).await;
    let mut frames = Vec::new();
    while frames.len() < log.len() {
        frames.push(flat.next_json().await);
    }
    let got: Vec<(Value, Value, Value)> = frames
        .iter()
        .map(|f| (f["seq"].clone(), f["type"].clone(), f["content"].clone()))
        .collect();
    let want: Vec<(Value, Value, Value)> = log
        .iter()
        .map(|e| {
            let content = e["payload"]["content"].clone();
            (e["seq"].clone(), e["event_type"].clone(), content)
        })
        .collect();
    assert_eq!(got, want, "flat /ws/sessions/d1 on b");
    assert_eq!(log.len(), 20);

    let until = BTreeMap::from([("session:d1".to_string(), nat_since + 20)]);
    let got = collect(&mut nat, &until).await;
    let log = room_log(&b.url(""), "session:d1", nat_since).await;
    assert_is_log("native on c", &got["session:d1"], &log, nat_since);

    for (i, (ws, since)) in casts.iter_mut().enumerate() {
        let log = room_log(&c.url(""), "broadcasts", *since).await;
        assert_eq!(log.len(), 20);
        let mut got = Vec::new();
        while got.len() < log.len() {
            let f = ws.next_json().await;
            assert_eq!(f["type"], "broadcast_event", "{f}");
            got.push((
                f["seq"].clone(),
                f["event_type"].clone(),
                f["resource_id"].clone(),
            ));
        }
        let want: Vec<_> = log
            .iter()
            .map(|e| {
                (
                    e["seq"].clone(),
                    e["event_type"].clone(),
                    e["resource_id"].clone(),
                )
            })
            .collect();
        assert_eq!(got, want, "/ws/broadcasts #{i}");
    }

    // python-socketio through HAProxy, writes through every node.
    let writers: Vec<String> = cluster.nodes.iter().map(|n| n.url("")).collect();
    for (transports, room) in [
        ("polling", "sio-polling"),
        ("websocket", "sio-ws"),
        ("default", "sio-up"),
    ] {
        let report = python_client(cluster.lb(), transports, room, &writers).await;
        assert_python_saw_the_log(&a.url(""), room, &report).await;
    }
}

// ---- a node dies

#[actix_web::test]
async fn a_killed_node_s_clients_resume_through_haproxy_with_nothing_lost() {
    let Some(mut cluster) = Cluster::start_with(with_balancer(&[])).await else {
        return;
    };
    cluster.wait_formed().await;
    let room = "crash";

    // Two subscribers on each node; writers on a and on c; c is killed.
    let mut readers = Vec::new();
    for node in &cluster.nodes {
        for _ in 0..2 {
            let mut ws = native(&node.ws_url(""), "/ws").await;
            ws.subscribe(room, None).await;
            readers.push((node.id.clone(), ws));
        }
    }
    let (acked_tx, mut acked) = futures::channel::mpsc::unbounded::<(String, i64)>();
    // Set just before c is killed: from then on a write to c may fail (it
    // was never acknowledged); before, every write must succeed.
    let killed = std::rc::Rc::new(std::cell::Cell::new(false));
    let writer = |base: String, each: usize| {
        let (acked_tx, killed) = (acked_tx.clone(), killed.clone());
        actix_web::rt::spawn(async move {
            let url = format!("{base}/api/rooms/{room}/events");
            for n in 0..each {
                let body = json!({"event_type": "note", "payload": {"n": n}});
                let answered = match client().post(&url).send_json(&body).await {
                    Ok(mut resp) => {
                        let status = resp.status().as_u16();
                        (status, resp.json::<Value>().await.unwrap_or_default())
                    }
                    Err(e) => (0, json!(e.to_string())),
                };
                match answered {
                    (201, answer) => {
                        let seq = answer["events"][0]["seq"].as_i64().unwrap();
                        let _ = acked_tx.unbounded_send((base.clone(), seq));
                    }
                    _ if killed.get() => return,
                    (status, answer) => panic!("{base} answered {status}: {answer}"),
                }
            }
        })
    };
    let on_a = writer(cluster.nodes[0].url(""), 300);
    let on_c = writer(cluster.nodes[2].url(""), 1_000);
    drop(acked_tx);
    use futures::StreamExt;
    let mut acknowledged = BTreeSet::new();
    let c_url = cluster.nodes[2].url("");
    while acknowledged.iter().filter(|(b, _)| *b == c_url).count() < 100 {
        let next = actix_web::rt::time::timeout(WAIT, acked.next()).await;
        acknowledged.insert(next.expect("writes stalled").expect("writers ended"));
    }
    killed.set(true);
    cluster.nodes[2].kill();
    on_a.await.unwrap();
    on_c.await.unwrap();
    while let Some(ack) = acked.next().await {
        acknowledged.insert(ack);
    }

    let log = room_log(&cluster.nodes[0].url(""), room, 0).await;
    let logged: BTreeSet<i64> = log.iter().map(|e| e["seq"].as_i64().unwrap()).collect();
    for (via, seq) in &acknowledged {
        assert!(
            logged.contains(seq),
            "acknowledged by {via} but not in the log: {seq}"
        );
    }
    let head = log.last().unwrap()["seq"].as_i64().unwrap();
    let until = BTreeMap::from([(room.to_string(), head)]);
    for (id, mut ws) in readers {
        if id != "c" {
            let got = collect(&mut ws, &until).await;
            assert_is_log(&format!("on {id}"), &got[room], &log, 0);
            continue;
        }
        // c's clients read what reached them before the kill, then resume
        // through the balancer, which sends them to a live node.
        let mut last = 0;
        loop {
            match ws.recv().await {
                Incoming::Close(_) => break,
                Incoming::Json(v) if v["type"] == "event" => last = v["seq"].as_i64().unwrap(),
                Incoming::Json(v) if v["type"] == "batch-update" => {
                    last = v["updates"].as_array().unwrap().last().unwrap()["seq"]
                        .as_i64()
                        .unwrap()
                }
                _ => {}
            }
        }
        let mut again = native(&cluster.lb().ws_url(""), "/ws").await;
        let sub = again.subscribe(room, Some(last)).await;
        assert_eq!(sub["recovered"], true, "{sub}");
        let got = collect(&mut again, &until).await;
        let missed: Vec<Value> = log.iter().skip(last as usize).cloned().collect();
        assert_is_log("resumed from c", &got[room], &missed, last);
        assert_quiet(&mut again, Duration::from_millis(300)).await;
    }
}
