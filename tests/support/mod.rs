//! Shared test harness: a real herald on 127.0.0.1:0 with a temporary SQLite
//! file, real HTTP and WebSocket clients, and bounded waits (no sleeps).
#![allow(dead_code)]

mod auth;
pub mod clients;
pub mod cluster;
mod http;
pub mod pg;
pub mod process;
mod sio;

#[allow(unused_imports, reason = "only the access tests use these")]
pub use auth::*;
#[allow(unused_imports, reason = "only the HTTP API tests use these")]
pub use http::*;
#[allow(unused_imports, reason = "only the Socket.IO tests use these")]
pub use sio::*;

use actix_codec::Framed;
use actix_http::ws::{CloseCode, Frame};
use awc::ws::{Codec, Message};
use awc::BoxedSocket;
use futures::{SinkExt, StreamExt};
use herald::config::Settings;
use serde_json::Value;
use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::time::Duration;

/// How long any single wait in a test may take before it fails.
pub const WAIT: Duration = Duration::from_secs(10);

/// A running server.
pub struct TestServer {
    pub addr: SocketAddr,
    pub db_path: PathBuf,
    stop: Option<futures::channel::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<std::io::Result<()>>>,
    _dir: tempfile::TempDir,
}

/// Settings for tests: a temporary database, short heartbeats where asked.
pub fn settings(dir: &tempfile::TempDir) -> Settings {
    let mut s = Settings::default();
    s.database.url = format!("sqlite://{}", dir.path().join("herald.db").display());
    s.server.workers = 2;
    s.server.shutdown_timeout_ms = 5_000;
    s
}

impl TestServer {
    /// Starts herald with default test settings.
    pub fn start() -> TestServer {
        Self::start_with(|_| {})
    }

    /// Starts herald after `tweak` adjusted the settings.
    pub fn start_with(tweak: impl FnOnce(&mut Settings)) -> TestServer {
        let dir = tempfile::tempdir().unwrap();
        let mut s = settings(&dir);
        tweak(&mut s);
        s.validate().unwrap();
        Self::start_in(dir, s)
    }

    /// Starts herald on a given folder and settings (used to restart on the same database).
    pub fn start_in(dir: tempfile::TempDir, s: Settings) -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = futures::channel::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(herald::run(s, listener, async move {
                let _ = rx.await;
            }))
        });
        TestServer {
            addr,
            db_path: dir.path().join("herald.db"),
            stop: Some(tx),
            thread: Some(thread),
            _dir: dir,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub fn ws_url(&self, path: &str) -> String {
        format!("ws://{}{}", self.addr, path)
    }

    /// Sends the shutdown signal and waits for `run` to return.
    pub fn shutdown(&mut self) -> std::io::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match self.thread.take() {
            Some(thread) => thread.join().unwrap(),
            None => Ok(()),
        }
    }

    /// Stops the server and hands back its folder and a settings pointing at it.
    pub fn into_dir(mut self) -> tempfile::TempDir {
        self.shutdown().unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::mem::replace(&mut self._dir, dir)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        let _ = self.shutdown();
    }
}

/// An HTTP client with a bounded timeout.
pub fn client() -> awc::Client {
    awc::Client::builder().timeout(WAIT).finish()
}

/// Sends a request with an optional JSON body; returns status and JSON (Null if none).
pub async fn call(method: &str, url: &str, body: Option<Value>) -> (u16, Value) {
    call_as(None, method, url, body).await
}

pub async fn post(url: &str, body: Value) -> (u16, Value) {
    call("POST", url, Some(body)).await
}

pub async fn get(url: &str) -> (u16, Value) {
    call("GET", url, None).await
}

/// Creates a project and a session in it; returns (project_id, session_id).
pub async fn project_and_session(srv: &TestServer) -> (String, String) {
    let (st, p) = post(&srv.url("/api/projects"), serde_json::json!({"name": "P"})).await;
    assert_eq!(st, 201, "{p}");
    let pid = p["id"].as_str().unwrap().to_string();
    let (st, s) = post(
        &srv.url(&format!("/api/projects/{pid}/sessions")),
        serde_json::json!({"title": "S"}),
    )
    .await;
    assert_eq!(st, 201, "{s}");
    (pid, s["id"].as_str().unwrap().to_string())
}

/// Publishes to a free room; returns the event's seq in that room.
pub async fn publish(srv: &TestServer, room: &str, payload: Value) -> i64 {
    let (st, body) = post(
        &srv.url(&format!("/api/rooms/{room}/events")),
        serde_json::json!({"event_type": "note", "payload": payload}),
    )
    .await;
    assert_eq!(st, 201, "{body}");
    body["events"][0]["seq"].as_i64().unwrap()
}

/// What a test reads from a socket.
#[derive(Debug)]
pub enum Incoming {
    Json(Value),
    Close(Option<u16>),
    Ping,
}

/// A native WebSocket client.
pub struct Ws {
    framed: Framed<BoxedSocket, Codec>,
    /// Answer protocol pings automatically.
    pub auto_pong: bool,
}

impl Ws {
    pub async fn connect(url: &str) -> Ws {
        let (_resp, framed) = client()
            .ws(url)
            .max_frame_size(64 * 1024 * 1024)
            .connect()
            .await
            .unwrap();
        Ws {
            framed,
            auto_pong: true,
        }
    }

    /// Connects and reads the `welcome` frame.
    pub async fn open(srv: &TestServer) -> Ws {
        let mut ws = Ws::connect(&srv.ws_url("/ws")).await;
        let welcome = ws.next_json().await;
        assert_eq!(welcome["type"], "welcome", "{welcome}");
        ws
    }

    pub async fn send_json(&mut self, v: Value) {
        self.framed
            .send(Message::Text(v.to_string().into()))
            .await
            .unwrap();
    }

    pub async fn send(&mut self, m: Message) {
        self.framed.send(m).await.unwrap();
    }

    /// The next frame, or panics after [`WAIT`].
    pub async fn recv(&mut self) -> Incoming {
        self.recv_within(WAIT)
            .await
            .expect("timed out waiting for a frame")
    }

    /// The next frame within `limit`, `None` if none came.
    pub async fn recv_within(&mut self, limit: Duration) -> Option<Incoming> {
        loop {
            let frame = match actix_web::rt::time::timeout(limit, self.framed.next()).await {
                Err(_) => return None,
                Ok(None) => return Some(Incoming::Close(None)),
                Ok(Some(frame)) => frame,
            };
            match frame {
                Ok(Frame::Text(bytes)) => {
                    return Some(Incoming::Json(serde_json::from_slice(&bytes).unwrap()))
                }
                Ok(Frame::Close(reason)) => {
                    return Some(Incoming::Close(reason.map(|r| u16::from(r.code))))
                }
                Ok(Frame::Ping(p)) => {
                    if self.auto_pong {
                        let _ = self.framed.send(Message::Pong(p)).await;
                    } else {
                        return Some(Incoming::Ping);
                    }
                }
                Ok(_) => {}
                Err(_) => return Some(Incoming::Close(None)),
            }
        }
    }

    /// The next JSON frame that is not a heartbeat.
    pub async fn next_json(&mut self) -> Value {
        loop {
            match self.recv().await {
                Incoming::Json(v) if v["type"] == "heartbeat" => continue,
                Incoming::Json(v) => return v,
                Incoming::Ping => continue,
                other => panic!("expected a JSON frame, got {other:?}"),
            }
        }
    }

    /// Subscribes and returns the `subscribed` frame.
    pub async fn subscribe(&mut self, room: &str, since: Option<i64>) -> Value {
        let mut msg = serde_json::json!({"type": "subscribe", "room": room});
        if let Some(s) = since {
            msg["since"] = s.into();
        }
        self.send_json(msg).await;
        let v = self.next_json().await;
        assert_eq!(v["type"], "subscribed", "{v}");
        v
    }

    /// Reads event envelopes (unpacking `batch-update`) until `n` arrived.
    pub async fn events(&mut self, n: usize) -> Vec<Value> {
        let mut out = Vec::new();
        while out.len() < n {
            let v = self.next_json().await;
            match v["type"].as_str() {
                Some("event") => out.push(v),
                Some("batch-update") => {
                    out.extend(v["updates"].as_array().unwrap().iter().cloned())
                }
                _ => panic!("expected events, got {v}"),
            }
        }
        out
    }

    /// Waits for the close frame and returns its code.
    pub async fn closed(&mut self) -> Option<u16> {
        loop {
            match self.recv().await {
                Incoming::Close(code) => return code,
                _ => continue,
            }
        }
    }
}

/// `CloseCode` as a number, for asserts.
pub fn code(c: CloseCode) -> u16 {
    c.into()
}

/// Polls `/api/stats` until `check` holds, or panics after [`WAIT`].
pub async fn wait_stats(srv: &TestServer, check: impl Fn(&Value) -> bool) -> Value {
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let (_, stats) = get(&srv.url("/api/stats")).await;
        if check(&stats) {
            return stats;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "stats never matched: {stats}"
        );
        actix_web::rt::time::sleep(Duration::from_millis(20)).await;
    }
}

// ---- concurrent writers and sequences

/// `writers` tasks each publish `each` events to `room` at the same time;
/// returns once every write was answered 201.
pub async fn concurrent_writes(srv: &TestServer, room: &str, writers: usize, each: usize) {
    let tasks: Vec<_> = (0..writers)
        .map(|w| {
            let url = srv.url(&format!("/api/rooms/{room}/events"));
            actix_web::rt::spawn(async move {
                for n in 0..each {
                    let body = serde_json::json!({"event_type": "w", "payload": {"w": w, "n": n}});
                    let (st, answer) = post(&url, body).await;
                    assert_eq!(st, 201, "{answer}");
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
}

/// The `seq` of each envelope, in order.
pub fn seqs_of(envelopes: &[Value]) -> Vec<i64> {
    envelopes
        .iter()
        .map(|e| e["seq"].as_i64().unwrap())
        .collect()
}

/// The seqs `GET /api/rooms/{room}/events` lists (first 1000).
pub async fn stored_seqs(srv: &TestServer, room: &str) -> Vec<i64> {
    let (st, list) = get(&srv.url(&format!("/api/rooms/{room}/events?limit=1000"))).await;
    assert_eq!(st, 200, "{list}");
    seqs_of(list.as_array().unwrap())
}
