//! Several real `herald serve` processes on one fresh PostgreSQL database,
//! optionally behind HAProxy running the shipped `deploy/haproxy.cfg`.
//!
//! * a fresh database per cluster ([`PgDatabase`], tests/support/pg.rs);
//! * [`Cluster`]: nodes `a`, `b`, `c` started from `config/node-a.toml` … with
//!   free ports and the test database put over them by environment
//!   variables, so the shipped node files are the ones tested; a node can be
//!   killed (`SIGKILL`) and started again on the same port.
//! * [`Balancer`]: `deploy/haproxy.cfg` with its addresses replaced by the
//!   test's ports, run in the foreground (`haproxy -f FILE -db`).
//!
//! Cluster tests in one test binary run one at a time (each holds
//! [`SERIAL`]): three nodes and their connections per test are what two cores
//! and PostgreSQL's 100 connections take with timing bounds of a second.

use super::pg::PgDatabase;
use super::process::{free_port, Herald, POLL};
use super::{client, get, WAIT};
use diesel::RunQueryDsl;
use serde_json::Value;
use std::collections::BTreeMap;
use std::fs::File;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// The repair bound the nodes are started with (`cluster.reconcile_ms`).
pub const RECONCILE: Duration = Duration::from_millis(1000);
/// The admin token of clusters started with auth.
pub const CLUSTER_ADMIN: &str = "test-admin-token";
/// Node ids, in order; node `i` uses `config/node-<id>.toml`.
pub const NODE_IDS: [&str; 3] = ["a", "b", "c"];

/// One cluster at a time per test binary.
static SERIAL: Mutex<()> = Mutex::new(());

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// `true` when a missing test dependency must fail rather than skip.
fn in_ci() -> bool {
    std::env::var_os("CI").is_some()
}

/// Skips the test (prints why) locally; fails it under CI.
pub fn skip(why: &str) {
    assert!(!in_ci(), "{why} (required under CI)");
    eprintln!("skipping: {why}");
}

// ---- PostgreSQL

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

/// Terminates the backend of every node's listener connection in `db`
/// (found by `application_name`); returns how many there were.
pub fn terminate_listeners(db: &PgDatabase) -> i64 {
    let sql = format!(
        "SELECT count(pg_terminate_backend(pid)) AS n FROM pg_stat_activity \
         WHERE application_name LIKE 'herald-listener-%' AND datname = '{}'",
        db.name()
    );
    diesel::sql_query(sql)
        .get_result::<Count>(&mut db.connect())
        .unwrap()
        .n
}

// ---- nodes

/// One `herald serve` process of a cluster.
pub struct Node {
    pub id: String,
    pub addr: SocketAddr,
    env: Vec<(String, String)>,
    dir: tempfile::TempDir,
    process: Option<Herald>,
}

impl Node {
    fn new(id: &str, db_url: &str, extra: &[(String, String)]) -> Node {
        let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
        let mut env: Vec<(String, String)> = [
            ("HERALD__SERVER__BIND", addr.to_string()),
            ("HERALD__SERVER__WORKERS", "1".into()),
            ("HERALD__SERVER__SHUTDOWN_TIMEOUT_MS", "2000".into()),
            ("HERALD__DATABASE__URL", db_url.into()),
            ("HERALD__DATABASE__POOL_SIZE", "3".into()),
            ("HERALD__CLUSTER__NODE_ID", id.into()),
            (
                "HERALD__CLUSTER__RECONCILE_MS",
                RECONCILE.as_millis().to_string(),
            ),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        env.extend(extra.iter().cloned());
        Node {
            id: id.into(),
            addr,
            env,
            dir: tempfile::tempdir().unwrap(),
            process: None,
        }
    }

    fn spawn(&mut self) {
        let config = repo(&format!("config/node-{}.toml", self.id));
        let config = config.display().to_string();
        let env: Vec<(&str, &str)> = self
            .env
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        self.process = Some(Herald::spawn(
            self.dir.path(),
            &["serve", "--config", &config],
            &env,
        ));
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn ws_url(&self, path: &str) -> String {
        format!("ws://{}{path}", self.addr)
    }

    /// Sets (or replaces) one of the node's variables for its next start.
    pub fn set_env(&mut self, key: &str, value: &str) {
        self.env.retain(|(k, _)| k != key);
        self.env.push((key.into(), value.into()));
    }

    /// `SIGKILL`: the node dies mid-work, as in a crash.
    pub fn kill(&mut self) {
        if let Some(mut process) = self.process.take() {
            process.kill();
        }
    }

    /// Starts the node again on the same port and waits until it is ready.
    pub async fn restart(&mut self) {
        self.kill();
        self.spawn();
        self.wait_ready().await;
    }

    /// Polls `/readyz` until it answers 200; fails if the process exits first.
    pub async fn wait_ready(&mut self) {
        let deadline = Instant::now() + WAIT;
        let url = self.url("/readyz");
        loop {
            if let Some(done) = self.process.as_mut().and_then(Herald::exited) {
                panic!("node {} exited before serving: {done:?}", self.id);
            }
            let answered = client().get(&url).send().await;
            if answered.is_ok_and(|r| r.status().as_u16() == 200) {
                return;
            }
            assert!(Instant::now() < deadline, "node {} never ready", self.id);
            actix_web::rt::time::sleep(POLL).await;
        }
    }
}

// ---- the cluster

/// How to start a cluster.
#[derive(Default)]
pub struct Options {
    /// Number of nodes (1 to 3; default 3).
    pub nodes: usize,
    /// `auth.required = true` with [`CLUSTER_ADMIN`] as the admin token.
    pub auth: bool,
    /// HAProxy in front of the nodes.
    pub balancer: bool,
    /// More `HERALD__…` variables for every node.
    pub env: Vec<(String, String)>,
}

/// Nodes on one fresh database (fields drop in order: nodes, balancer, database).
pub struct Cluster {
    pub nodes: Vec<Node>,
    pub balancer: Option<Balancer>,
    pub db: PgDatabase,
    /// The admin token when the nodes require one.
    pub admin: Option<&'static str>,
    _serial: MutexGuard<'static, ()>,
}

impl Cluster {
    /// Three nodes without auth or balancer; `None` when the test is skipped.
    pub async fn start() -> Option<Cluster> {
        Self::start_with(Options::default()).await
    }

    pub async fn start_with(options: Options) -> Option<Cluster> {
        let db = PgDatabase::create()?;
        Self::start_on(db, options).await
    }

    /// Starts the nodes at the same instant on `db`, then waits until each is ready.
    pub async fn start_on(db: PgDatabase, options: Options) -> Option<Cluster> {
        if options.balancer && !Balancer::installed() {
            skip("haproxy not installed (apt-get install haproxy)");
            return None;
        }
        let count = if options.nodes == 0 { 3 } else { options.nodes };
        assert!(count <= NODE_IDS.len(), "at most {} nodes", NODE_IDS.len());
        let mut env = options.env;
        if options.auth {
            env.push(("HERALD__AUTH__REQUIRED".into(), "true".into()));
            env.push(("HERALD__AUTH__ADMIN_TOKEN".into(), CLUSTER_ADMIN.into()));
            env.push(("HERALD__AUTH__MAX_WRITES_PER_SECOND".into(), "0".into()));
        }
        let nodes = NODE_IDS[..count]
            .iter()
            .map(|id| Node::new(id, &db.url(), &env))
            .collect();
        let mut cluster = Cluster {
            nodes,
            balancer: None,
            db,
            admin: options.auth.then_some(CLUSTER_ADMIN),
            _serial: SERIAL.lock().unwrap_or_else(|e| e.into_inner()),
        };
        // The first node migrates the new database; the others then start
        // at the same instant. (Starting all at once on an empty database
        // is a test of its own, not every test's set-up.)
        let (first, rest) = cluster.nodes.split_at_mut(1);
        first[0].spawn();
        first[0].wait_ready().await;
        for node in rest.iter_mut() {
            node.spawn();
        }
        for node in rest {
            node.wait_ready().await;
        }
        if options.balancer {
            let addrs: Vec<SocketAddr> = cluster.nodes.iter().map(|n| n.addr).collect();
            let lb = Balancer::start(&addrs);
            lb.wait_all(|ids| ids.len() == count).await;
            cluster.balancer = Some(lb);
        }
        Some(cluster)
    }

    /// The balancer (the cluster must have been started with one).
    pub fn lb(&self) -> &Balancer {
        self.balancer.as_ref().expect("started without a balancer")
    }

    /// Waits until every node's `/api/stats` lists every node as live.
    pub async fn wait_formed(&self) {
        let mut want: Vec<String> = self.nodes.iter().map(|n| n.id.clone()).collect();
        want.sort();
        for node in &self.nodes {
            let deadline = Instant::now() + WAIT;
            loop {
                let url = node.url("/api/stats");
                let (_, stats) = super::call_as(self.admin, "GET", &url, None).await;
                if live_nodes(&stats) == want {
                    break;
                }
                assert!(
                    Instant::now() < deadline,
                    "node {} never listed {want:?}: {stats}",
                    node.id
                );
                actix_web::rt::time::sleep(POLL).await;
            }
        }
    }
}

/// The ids of `stats["nodes"]`, sorted.
pub fn live_nodes(stats: &Value) -> Vec<String> {
    let mut ids: Vec<String> = stats["nodes"]
        .as_array()
        .map(|nodes| {
            nodes
                .iter()
                .filter_map(|n| n["id"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    ids.sort();
    ids
}

// ---- HAProxy

/// HAProxy running `deploy/haproxy.cfg` with the test's ports.
pub struct Balancer {
    child: Child,
    pub addr: SocketAddr,
    stats: SocketAddr,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

/// The addresses `deploy/haproxy.cfg` ships with: the frontend, the nodes
/// `a`, `b`, `c`, and the stats page.
const SHIPPED_FRONTEND: &str = "127.0.0.1:8080";
const SHIPPED_NODES: [&str; 3] = ["127.0.0.1:8081", "127.0.0.1:8082", "127.0.0.1:8083"];
const SHIPPED_STATS: &str = "127.0.0.1:8404";

impl Balancer {
    fn installed() -> bool {
        Command::new("haproxy")
            .arg("-v")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }

    /// `deploy/haproxy.cfg` with its addresses replaced; unused node lines
    /// point at a port nobody listens on.
    pub fn render(frontend: SocketAddr, stats: SocketAddr, nodes: &[SocketAddr]) -> String {
        let shipped = std::fs::read_to_string(repo("deploy/haproxy.cfg")).unwrap();
        let mut map = BTreeMap::new();
        map.insert(SHIPPED_FRONTEND.to_string(), frontend.to_string());
        map.insert(SHIPPED_STATS.to_string(), stats.to_string());
        for (i, shipped_node) in SHIPPED_NODES.iter().enumerate() {
            let addr = nodes
                .get(i)
                .map_or_else(|| format!("127.0.0.1:{}", free_port()), |a| a.to_string());
            map.insert(shipped_node.to_string(), addr);
        }
        // Every address in the file must be one the tests replace: a new
        // fixed port would make parallel tests collide.
        for (at, _) in shipped.match_indices("127.0.0.1:") {
            let port: String = shipped[at + 10..]
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            let addr = format!("127.0.0.1:{port}");
            assert!(
                map.contains_key(&addr),
                "deploy/haproxy.cfg names {addr}, which the test harness does not replace"
            );
        }
        shipped
            .lines()
            .map(|line| {
                map.iter()
                    .fold(line.to_string(), |l, (from, to)| l.replace(from, to))
            })
            .collect::<Vec<_>>()
            .join("\n")
            + "\n"
    }

    /// Starts HAProxy in the foreground in front of `nodes` (at most three).
    pub fn start(nodes: &[SocketAddr]) -> Balancer {
        let dir = tempfile::tempdir().unwrap();
        let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
        let stats: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
        let cfg = dir.path().join("haproxy.cfg");
        std::fs::write(&cfg, Self::render(addr, stats, nodes)).unwrap();
        let log = dir.path().join("haproxy.log");
        let child = Command::new("haproxy")
            .arg("-f")
            .arg(&cfg)
            .arg("-db")
            .stdin(Stdio::null())
            .stdout(File::create(&log).unwrap())
            .stderr(File::create(dir.path().join("haproxy.err")).unwrap())
            .spawn()
            .expect("cannot start haproxy");
        Balancer {
            child,
            addr,
            stats,
            log,
            _dir: dir,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn ws_url(&self, path: &str) -> String {
        format!("ws://{}{path}", self.addr)
    }

    /// HAProxy's request log so far (one line per request, naming the server).
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The `herald` backend's servers as HAProxy sees them: id → row of
    /// the stats CSV (column name → value). `None` while HAProxy is not up.
    pub async fn servers(&self) -> Option<BTreeMap<String, BTreeMap<String, String>>> {
        let url = format!("http://{}/;csv", self.stats);
        let mut resp = client().get(url).send().await.ok()?;
        let body = resp.body().await.ok()?;
        let text = String::from_utf8_lossy(&body);
        let mut lines = text.lines();
        let header: Vec<&str> = lines.next()?.trim_start_matches("# ").split(',').collect();
        let mut out = BTreeMap::new();
        for line in lines {
            let row: BTreeMap<String, String> = header
                .iter()
                .zip(line.split(','))
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            let is_server = row.get("pxname").is_some_and(|p| p == "herald")
                && row
                    .get("svname")
                    .is_some_and(|s| s != "FRONTEND" && s != "BACKEND");
            if is_server {
                out.insert(row["svname"].clone(), row);
            }
        }
        Some(out)
    }

    /// Waits until the set of servers that passed their last HTTP check
    /// satisfies `check`; returns it.
    pub async fn wait_all(&self, check: impl Fn(&[String]) -> bool) -> Vec<String> {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(servers) = self.servers().await {
                let up: Vec<String> = servers
                    .iter()
                    .filter(|(_, row)| row["status"] == "UP" && row["check_status"] == "L7OK")
                    .map(|(id, _)| id.clone())
                    .collect();
                if check(&up) {
                    return up;
                }
                assert!(Instant::now() < deadline, "haproxy servers: {servers:?}");
            } else {
                assert!(Instant::now() < deadline, "haproxy never answered");
            }
            actix_web::rt::time::sleep(POLL).await;
        }
    }

    /// Waits until HAProxy's status for server `id` is `status` (`UP`, `DOWN`).
    pub async fn wait_status(&self, id: &str, status: &str) {
        let deadline = Instant::now() + WAIT;
        loop {
            let servers = self.servers().await.unwrap_or_default();
            if servers.get(id).is_some_and(|row| row["status"] == status) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "server {id} never {status}: {servers:?}"
            );
            actix_web::rt::time::sleep(POLL).await;
        }
    }
}

impl Drop for Balancer {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("haproxy's log:\n{}", self.log());
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ---- clients and checks

/// A native socket on `base` (`ws://host:port`), past its `welcome`.
pub async fn native(ws_base: &str, path: &str) -> super::Ws {
    let mut ws = super::Ws::connect(&format!("{ws_base}{path}")).await;
    let welcome = ws.next_json().await;
    assert_eq!(welcome["type"], "welcome", "{welcome}");
    ws
}

/// The envelopes a native socket receives (batches unpacked) until each
/// room of `until` reached its seq, per room. Fails on a close.
pub async fn collect(
    ws: &mut super::Ws,
    until: &BTreeMap<String, i64>,
) -> BTreeMap<String, Vec<Value>> {
    let mut got: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    let done = |got: &BTreeMap<String, Vec<Value>>| {
        until.iter().all(|(room, seq)| {
            got.get(room)
                .and_then(|evs| evs.last())
                .is_some_and(|last| last["seq"].as_i64() >= Some(*seq))
        })
    };
    while !done(&got) {
        let frame = ws.next_json().await;
        let envelopes = match frame["type"].as_str() {
            Some("event") => vec![frame],
            Some("batch-update") => frame["updates"].as_array().unwrap().clone(),
            _ => panic!("expected events, got {frame}"),
        };
        for e in envelopes {
            let room = e["room"].as_str().unwrap().to_string();
            got.entry(room).or_default().push(e);
        }
    }
    got
}

/// Asserts that nothing but heartbeats arrives within `quiet` (no late duplicate).
pub async fn assert_quiet(ws: &mut super::Ws, quiet: Duration) {
    let deadline = Instant::now() + quiet;
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        match ws.recv_within(left).await {
            None => return,
            Some(super::Incoming::Json(v)) if v["type"] == "heartbeat" => {}
            Some(super::Incoming::Ping) => {}
            Some(other) => panic!("unexpected after the last event: {other:?}"),
        }
    }
}

/// Every delivery of `room` after `since`, oldest first, read from the log
/// through `base` (`http://host:port`).
pub async fn room_log(base: &str, room: &str, since: i64) -> Vec<Value> {
    let mut out: Vec<Value> = Vec::new();
    let mut after = since;
    loop {
        let url = format!("{base}/api/rooms/{room}/events?since={after}&limit=1000");
        let (st, page) = get(&url).await;
        assert_eq!(st, 200, "{page}");
        let page = page.as_array().unwrap().clone();
        let Some(last) = page.last() else {
            return out;
        };
        after = last["seq"].as_i64().unwrap();
        out.extend(page);
    }
}

/// `(seq, id, event_type)` of each envelope: what must match the log.
pub fn keys(envelopes: &[Value]) -> Vec<(i64, i64, String)> {
    envelopes
        .iter()
        .map(|e| {
            (
                e["seq"].as_i64().unwrap(),
                e["id"].as_i64().unwrap(),
                e["event_type"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// Asserts that `got` is exactly the log after `since`: every delivery once,
/// in seq order, seqs contiguous from `since + 1`.
#[track_caller]
pub fn assert_is_log(who: &str, got: &[Value], log: &[Value], since: i64) {
    let seqs: Vec<i64> = got.iter().map(|e| e["seq"].as_i64().unwrap()).collect();
    let want: Vec<i64> = (since + 1..=since + got.len() as i64).collect();
    assert!(
        seqs == want,
        "{who}: seqs not contiguous from {}: {seqs:?}",
        since + 1
    );
    let (got, log) = (keys(got), keys(log));
    assert!(
        got == log,
        "{who}: got {} deliveries, the log has {}; first difference at {:?}",
        got.len(),
        log.len(),
        got.iter().zip(&log).position(|(a, b)| a != b)
    );
}
