//! `GET /metrics`: values that move with what clients do, who may scrape,
//! `promtool check metrics`, and a real Prometheus scraping a test herald.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a failing test should panic"
)]

mod support;

use awc::ws::Message;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use support::*;

/// The scrape body, and its status.
async fn scrape_as(srv: &TestServer, token: Option<&str>) -> (u16, String) {
    let mut req = client().get(srv.url("/metrics"));
    if let Some(token) = token {
        req = req.insert_header(("Authorization", format!("Bearer {token}")));
    }
    let mut resp = req.send().await.unwrap();
    let body = resp.body().limit(16 * 1024 * 1024).await.unwrap();
    (
        resp.status().as_u16(),
        String::from_utf8(body.to_vec()).unwrap(),
    )
}

/// The value of one series (`name` or `name{labels}`, exactly as printed).
fn value(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .map(|v| v.trim().parse().unwrap())
}

/// Polls `/metrics` until `series` satisfies `check`; panics after [`WAIT`].
async fn wait_metric(srv: &TestServer, series: &str, check: impl Fn(f64) -> bool) -> String {
    let deadline = Instant::now() + WAIT;
    loop {
        let (status, text) = scrape_as(srv, None).await;
        assert_eq!(status, 200, "{text}");
        if value(&text, series).is_some_and(&check) {
            return text;
        }
        assert!(
            Instant::now() < deadline,
            "{series} never matched: {:?}",
            value(&text, series)
        );
        actix_web::rt::time::sleep(Duration::from_millis(20)).await;
    }
}

const NATIVE: &str = "herald_connections{dialect=\"native\"}";

#[actix_web::test]
async fn metrics_move_as_sockets_open_and_close_and_events_commit() {
    let srv = TestServer::start_with(|s| s.ws.batch_window_ms = 0);
    let mut sockets = Vec::new();
    for _ in 0..3 {
        let mut ws = Ws::open(&srv).await;
        ws.subscribe("metered", None).await;
        sockets.push(ws);
    }
    wait_metric(&srv, NATIVE, |v| v == 3.0).await;
    for n in 0..4 {
        publish(&srv, "metered", json!({"n": n})).await;
    }
    for ws in &mut sockets {
        ws.events(4).await;
    }
    let text = wait_metric(&srv, "herald_events_committed_total", |v| v == 4.0).await;
    assert_eq!(value(&text, "herald_rooms"), Some(1.0));
    assert_eq!(value(&text, "herald_subscriptions"), Some(3.0));
    assert_eq!(value(&text, "herald_commit_group_size_sum"), Some(4.0));
    // Every event went out once per socket, and was timed once per room.
    let frames = value(&text, "herald_frames_sent_total{dialect=\"native\"}").unwrap();
    assert_eq!(
        frames, 12.0,
        "batch_window_ms = 0: one frame per event and socket"
    );
    assert!(value(&text, "herald_sent_bytes_total{dialect=\"native\"}").unwrap() > 12.0 * 50.0);
    assert_eq!(
        value(&text, "herald_delivery_latency_seconds_count"),
        Some(4.0)
    );

    for mut ws in sockets.drain(..2) {
        ws.send(Message::Close(None)).await;
        ws.closed().await;
    }
    wait_metric(&srv, NATIVE, |v| v == 1.0).await;
    // The rooms learn of the closes after the connection count does.
    wait_metric(&srv, "herald_subscriptions", |v| v == 1.0).await;
}

#[actix_web::test]
async fn resumes_are_counted_by_outcome() {
    let srv = TestServer::start();
    publish(&srv, "r", json!({"n": 1})).await;
    publish(&srv, "r", json!({"n": 2})).await;
    let mut ws = Ws::open(&srv).await;
    assert_eq!(ws.subscribe("r", Some(0)).await["recovered"], true);
    let mut ahead = Ws::open(&srv).await;
    assert_eq!(ahead.subscribe("r", Some(1000)).await["recovered"], false);
    let mut fresh = Ws::open(&srv).await;
    fresh.subscribe("r", None).await;
    let text = wait_metric(&srv, "herald_resumes_total{outcome=\"snapshot\"}", |v| {
        v == 1.0
    })
    .await;
    assert_eq!(
        value(&text, "herald_resumes_total{outcome=\"replayed\"}"),
        Some(1.0)
    );
}

#[actix_web::test]
async fn a_slow_consumer_close_is_counted() {
    let srv = TestServer::start_with(|s| {
        s.ws.outbound_buffer_bytes = 256 * 1024;
        s.ws.batch_window_ms = 0;
    });
    let mut stuck = Ws::open(&srv).await;
    stuck.subscribe("flood", None).await;
    let (_, before) = scrape_as(&srv, None).await;
    assert_eq!(
        value(&before, "herald_slow_consumer_closes_total"),
        Some(0.0)
    );
    // More than the kernel's socket buffers and the outbox budget together.
    let blob = "x".repeat(32 * 1024);
    for n in 0..400 {
        let body = json!({"event_type": "big", "payload": {"n": n, "blob": blob}});
        assert_eq!(post(&srv.url("/api/rooms/flood/events"), body).await.0, 201);
    }
    assert_eq!(stuck.closed().await, Some(4008));
    let text = wait_metric(&srv, "herald_slow_consumer_closes_total", |v| v == 1.0).await;
    assert_eq!(value(&text, NATIVE), Some(0.0));
}

#[actix_web::test]
async fn http_requests_are_counted_by_route_pattern_not_path() {
    let srv = TestServer::start();
    for id in ["a1", "b2", "c3"] {
        assert_eq!(get(&srv.url(&format!("/api/sessions/{id}"))).await.0, 404);
    }
    assert_eq!(get(&srv.url("/no/such/route")).await.0, 404);
    let (_, text) = scrape_as(&srv, None).await;
    let series =
        "herald_http_requests_total{method=\"GET\",route=\"/api/sessions/{id}\",status=\"404\"}";
    assert_eq!(value(&text, series), Some(3.0), "{text}");
    let unmatched = "herald_http_requests_total{method=\"GET\",route=\"unmatched\",status=\"404\"}";
    assert_eq!(value(&text, unmatched), Some(1.0));
    assert!(
        !text.contains("a1") && !text.contains("/no/such"),
        "raw paths leak"
    );
    let count =
        "herald_http_request_duration_seconds_count{method=\"GET\",route=\"/api/sessions/{id}\"}";
    assert_eq!(value(&text, count), Some(3.0));
}

#[actix_web::test]
async fn metrics_need_the_admin_token_or_the_scrape_token_when_auth_is_required() {
    const SCRAPE: &str = "scrape-token-for-prometheus";
    let srv = start_with_auth(|s| s.metrics.token = Some(SCRAPE.into()));
    let user = create_user(&srv, "reader@example.com").await;
    assert_eq!(scrape_as(&srv, None).await.0, 401);
    assert_eq!(scrape_as(&srv, Some("not-a-token")).await.0, 401);
    assert_eq!(scrape_as(&srv, Some(&user.token)).await.0, 403);
    let (status, text) = scrape_as(&srv, Some(SCRAPE)).await;
    assert_eq!(status, 200);
    assert!(value(&text, "herald_events_committed_total").is_some());
    assert_eq!(scrape_as(&srv, Some(ADMIN)).await.0, 200);

    // Without metrics.token, only admins.
    let srv = start_with_auth(|_| {});
    assert_eq!(scrape_as(&srv, Some(SCRAPE)).await.0, 401);
    assert_eq!(scrape_as(&srv, Some(ADMIN)).await.0, 200);
}

#[actix_web::test]
async fn cluster_metrics_show_the_listener_the_nodes_and_wake_ups() {
    let Some(db) = pg::PgDatabase::create() else {
        return;
    };
    let node = |id: &'static str| {
        let url = db.url();
        TestServer::start_with(move |s| {
            s.database.url = url;
            s.cluster.node_id = id.into();
            s.cluster.heartbeat_ms = 100;
        })
    };
    let a = node("node-a");
    wait_metric(&a, "herald_cluster_listener_connected", |v| v == 1.0).await;
    let b = node("node-b");
    wait_metric(&a, "herald_cluster_nodes", |v| v == 2.0).await;
    let (_, before) = scrape_as(&a, None).await;
    let heard = value(&before, "herald_cluster_notifications_received_total").unwrap();
    publish(&b, "across", json!({"n": 1})).await;
    let text = wait_metric(&a, "herald_cluster_notifications_received_total", |v| {
        v > heard
    })
    .await;
    let caught = value(&text, "herald_cluster_catch_ups_total{reason=\"listener\"}").unwrap();
    assert!(caught >= 1.0, "the listener's first connect is a catch-up");
    // Events are counted by the node whose writer committed them.
    assert_eq!(value(&text, "herald_events_committed_total"), Some(0.0));
    let (_, on_b) = scrape_as(&b, None).await;
    assert_eq!(value(&on_b, "herald_events_committed_total"), Some(1.0));
}

// ---- a real Prometheus

/// Debian's `prometheus` and `promtool`, or `None` (outside CI the test
/// says it skipped; in CI, where `.ci/run` installs them, it fails).
fn prometheus_tool(name: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(name))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "{name} is missing; .ci/run installs Debian's prometheus package"
        );
        eprintln!("SKIPPED: {name} not found (apt-get install prometheus)");
    }
    found
}

/// A Prometheus server, stopped on drop.
struct Prometheus {
    child: Child,
    base: String,
    _dir: tempfile::TempDir,
}

impl Prometheus {
    /// Starts `prometheus` scraping `target` (`host:port`) every second.
    fn start(binary: &Path, target: &str) -> Prometheus {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("prometheus.yml");
        std::fs::write(
            &config,
            format!(
                "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n\
                 scrape_configs:\n  - job_name: herald\n    static_configs:\n      \
                 - targets: ['{target}']\n"
            ),
        )
        .unwrap();
        let port = process::free_port();
        let log = std::fs::File::create(dir.path().join("prometheus.log")).unwrap();
        let child = Command::new(binary)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        Prometheus {
            child,
            base: format!("http://127.0.0.1:{port}"),
            _dir: dir,
        }
    }

    /// The instant vector of `query`, or `None` while Prometheus is not
    /// answering yet.
    async fn query(&self, query: &str) -> Option<Vec<Value>> {
        let url = format!("{}/api/v1/query", self.base);
        let mut resp = client()
            .get(url)
            .query(&[("query", query)])
            .ok()?
            .send()
            .await
            .ok()?;
        let body: Value = resp.json().await.ok()?;
        body["data"]["result"].as_array().cloned()
    }

    /// Polls `query` until its result satisfies `check` (bounded).
    async fn wait_for(&self, query: &str, check: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let got = self.query(query).await;
            if let Some(result) = got.as_ref().filter(|r| check(r)) {
                return result.clone();
            }
            assert!(Instant::now() < deadline, "{query}: {got:?}");
            actix_web::rt::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A sample's value as a number.
fn sample(v: &Value) -> f64 {
    v["value"][1].as_str().unwrap().parse().unwrap()
}

#[actix_web::test]
async fn prometheus_scrapes_herald_and_reports_what_the_test_did() {
    let Some(binary) = prometheus_tool("prometheus") else {
        return;
    };
    let srv = TestServer::start();
    const SOCKETS: usize = 5;
    const EVENTS: usize = 7;
    let mut sockets = Vec::new();
    for _ in 0..SOCKETS {
        let mut ws = Ws::open(&srv).await;
        ws.subscribe("scraped", None).await;
        sockets.push(ws);
    }
    for n in 0..EVENTS {
        publish(&srv, "scraped", json!({"n": n})).await;
    }
    let prometheus = Prometheus::start(&binary, &srv.addr.to_string());
    let up = prometheus
        .wait_for("up{job=\"herald\"}", |r| r.iter().any(|s| sample(s) == 1.0))
        .await;
    assert_eq!(up.len(), 1);
    let committed = prometheus
        .wait_for("herald_events_committed_total", |r| !r.is_empty())
        .await;
    assert_eq!(sample(&committed[0]), EVENTS as f64);
    let connections = prometheus
        .wait_for("herald_connections", |r| !r.is_empty())
        .await;
    let total: f64 = connections.iter().map(sample).sum();
    assert_eq!(total, SOCKETS as f64, "{connections:?}");
    let native = connections
        .iter()
        .find(|s| s["metric"]["dialect"] == "native")
        .unwrap();
    assert_eq!(sample(native), SOCKETS as f64);
}

#[actix_web::test]
async fn promtool_accepts_the_metrics() {
    let Some(promtool) = prometheus_tool("promtool") else {
        return;
    };
    let srv = TestServer::start();
    let mut ws = Ws::open(&srv).await;
    ws.subscribe("linted", None).await;
    publish(&srv, "linted", json!({"n": 1})).await;
    ws.events(1).await;
    get(&srv.url("/api/sessions/missing")).await;
    let (_, text) = scrape_as(&srv, None).await;
    let mut child = Command::new(promtool)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let said =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && said.trim().is_empty(),
        "promtool: {said}\n{text}"
    );
}

#[test]
fn the_shipped_scrape_config_and_alerts_pass_promtool() {
    let Some(promtool) = prometheus_tool("promtool") else {
        return;
    };
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for args in [
        ["check", "config", "deploy/prometheus.yml"],
        ["check", "rules", "deploy/herald-alerts.yml"],
    ] {
        let out = Command::new(&promtool)
            .args(args)
            .current_dir(root)
            .output()
            .unwrap();
        assert!(out.status.success(), "{args:?}: {out:?}");
    }
}
