//! One fanout subscriber: connects, subscribes, and accounts for every event
//! it receives until told to stop.
//!
//! Each client keeps its own counters and histogram (no shared lock per
//! event); only a few phase counters are shared, as atomics.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::time::timeout;

use crate::scan;
use crate::stats::{Bitset, Histogram};
use crate::ws::{self, Decoded, MaskGen};

/// Initial (and usual) read buffer size per connection.
const READ_BUF: usize = 4096;
/// Time allowed for the TCP connect plus the upgrade handshake.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Time allowed for the goodbye close frame.
const CLOSE_TIMEOUT: Duration = Duration::from_millis(200);

/// Current unix time in microseconds.
pub fn unix_micros() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
}

/// Phase of the run, broadcast to every client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Connecting, subscribing and receiving.
    Run,
    /// Publishing is over: this many events were confirmed by the server.
    Drain(u64),
    /// Stop now and hand in the results.
    Stop,
}

/// Counters shared by all clients.
#[derive(Debug, Default)]
pub struct Shared {
    /// Clients that received their `subscribed` answer.
    pub subscribed: AtomicUsize,
    /// Clients that failed before being subscribed.
    pub failed: AtomicUsize,
    /// Subscribed clients that lost their connection before the stop.
    pub dropped: AtomicUsize,
    /// Clients that have received every confirmed event (during the drain).
    pub complete: AtomicUsize,
}

/// Static settings of every client.
#[derive(Debug)]
pub struct ClientConfig {
    /// Server address.
    pub addr: SocketAddr,
    /// `Host` header.
    pub host: String,
    /// WebSocket path.
    pub ws_path: String,
    /// Pre-encoded subscribe message.
    pub subscribe: Vec<u8>,
    /// Socket.IO: join the namespace first, answer Engine.IO pings.
    pub socketio: bool,
    /// Counters `n` at or above this were not published by this run.
    pub n_limit: u64,
    /// Churn: the room, and how long on average a client stays connected
    /// before it drops and resumes with `since` (native protocol only).
    pub churn: Option<(String, Duration)>,
}

/// Everything one client observed.
#[derive(Debug, Default)]
pub struct ClientReport {
    /// Got its `subscribed` answer.
    pub subscribed: bool,
    /// Why the client ended early, if it did.
    pub error: Option<String>,
    /// Close code sent by the server, if it closed the connection.
    pub close_code: Option<u16>,
    /// Data frames received.
    pub frames: u64,
    /// Data frames that carried at least one event.
    pub event_frames: u64,
    /// `error` messages sent by the server.
    pub server_errors: u64,
    /// The first of them (shortened).
    pub server_error: Option<String>,
    /// Counters seen at least once.
    pub seen: Bitset,
    /// Number of members of `seen`.
    pub unique: u64,
    /// Event envelopes received (first deliveries, duplicates and foreign).
    pub envelopes: u64,
    /// Events received again after a first delivery.
    pub duplicates: u64,
    /// Events whose counter this run never published.
    pub foreign: u64,
    /// Publish-to-receive latency of first deliveries, in microseconds.
    pub latency: Histogram,
    /// Times it dropped its connection and resumed (churn).
    pub resumes: u64,
    /// Resumes the server answered with `recovered: false`.
    pub not_recovered: u64,
    /// The last seq it received.
    pub last_seq: u64,
}

impl ClientReport {
    /// Accounts for one event envelope.
    fn record(&mut self, n: u64, t_us: u64, now_us: u64, limit: u64) {
        self.envelopes += 1;
        if n >= limit {
            self.foreign += 1;
        } else if self.seen.insert(n) {
            self.unique += 1;
            self.latency.record(now_us.saturating_sub(t_us));
        } else {
            self.duplicates += 1;
        }
    }
}

/// A client connection and its state.
struct Client {
    id: u32,
    cfg: Arc<ClientConfig>,
    shared: Arc<Shared>,
    masks: MaskGen,
    buf: Vec<u8>,
    filled: usize,
    out: Vec<u8>,
    target: Option<u64>,
    complete: bool,
    report: ClientReport,
}

/// Runs client `id` until [`Phase::Stop`] or a failure, and returns what it saw.
pub async fn run(
    id: u32,
    cfg: Arc<ClientConfig>,
    shared: Arc<Shared>,
    phase: watch::Receiver<Phase>,
) -> ClientReport {
    let mut client = Client {
        id,
        cfg,
        shared,
        masks: MaskGen::new(id),
        buf: Vec::new(),
        filled: 0,
        out: Vec::new(),
        target: None,
        complete: false,
        report: ClientReport::default(),
    };
    if let Err(e) = client.drive(phase).await {
        let counter = if client.report.subscribed {
            &client.shared.dropped
        } else {
            &client.shared.failed
        };
        counter.fetch_add(1, Ordering::Relaxed);
        log::debug!("client {}: {e}", client.id);
        client.report.error = Some(e.to_string());
    }
    client.report
}

impl Client {
    /// Connects, subscribes and processes frames until stopped; with churn,
    /// drops the connection now and then and resumes after its last seq.
    async fn drive(&mut self, mut phase: watch::Receiver<Phase>) -> crate::Result<()> {
        let mut stream = timeout(CONNECT_TIMEOUT, self.connect())
            .await
            .map_err(|_| "connect/handshake timed out")??;
        let mask = self.masks.next_mask();
        // Socket.IO subscribes once the namespace answers `40{…}`.
        let first: &[u8] = if self.cfg.socketio {
            b"40"
        } else {
            &self.cfg.subscribe
        };
        ws::encode(ws::OP_TEXT, first, mask, &mut self.out);
        let mut churning = true;
        let mut drop_at = self.next_drop(0.0);
        loop {
            self.process(unix_micros())?;
            if !self.out.is_empty() {
                stream.write_all(&self.out).await?;
                self.out.clear();
            }
            if let Some(code) = self.report.close_code {
                return Err(format!("closed by the server (code {code})").into());
            }
            if !self.report.subscribed {
                if let Some(refusal) = &self.report.server_error {
                    return Err(format!("subscribe refused: {refusal}").into());
                }
            }
            self.check_complete();
            let churn_due = async {
                match drop_at.filter(|_| churning && self.report.subscribed) {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                biased;
                changed = phase.changed() => {
                    let now = if changed.is_ok() { *phase.borrow_and_update() } else { Phase::Stop };
                    match now {
                        Phase::Run => {}
                        Phase::Drain(total) => {
                            churning = false;
                            self.target = Some(total);
                        }
                        Phase::Stop => return self.goodbye(&mut stream).await,
                    }
                }
                () = churn_due => {
                    // Gone without a close frame, as a dropped network is.
                    drop(stream);
                    stream = self.resume().await?;
                    drop_at = self.next_drop(0.5);
                }
                read = stream.read(&mut self.buf[self.filled..]) => {
                    match read? {
                        0 => return Err("connection closed by the server without a close frame".into()),
                        n => self.filled += n,
                    }
                }
            }
        }
    }

    /// When this client drops next (churn): `low..low + 1` times the mean
    /// interval (the first drops spread evenly over the first interval, so
    /// the rate is steady from the start).
    fn next_drop(&mut self, low: f64) -> Option<tokio::time::Instant> {
        let (_, mean) = self.cfg.churn.as_ref()?;
        // Randomness from the mask generator.
        let spread = f64::from(self.masks.next_mask()[0]) / 255.0 + low;
        Some(tokio::time::Instant::now() + mean.mul_f64(spread))
    }

    /// Reconnects and subscribes again with `since` = the last seq received.
    async fn resume(&mut self) -> crate::Result<TcpStream> {
        let Some((room, _)) = self.cfg.churn.clone() else {
            return Err("resume without churn".into());
        };
        self.out.clear();
        let stream = timeout(CONNECT_TIMEOUT, self.connect())
            .await
            .map_err(|_| "reconnect timed out")??;
        let since = self.report.last_seq;
        let subscribe = serde_json::json!({"type": "subscribe", "room": room, "since": since});
        let mask = self.masks.next_mask();
        ws::encode(
            ws::OP_TEXT,
            subscribe.to_string().as_bytes(),
            mask,
            &mut self.out,
        );
        self.report.resumes += 1;
        Ok(stream)
    }

    /// Opens the TCP connection and performs the WebSocket upgrade.
    async fn connect(&mut self) -> crate::Result<TcpStream> {
        let mut stream = TcpStream::connect(self.cfg.addr).await?;
        stream.set_nodelay(true)?;
        let key = self.masks.handshake_key();
        let early = ws::handshake(&mut stream, &self.cfg.host, &self.cfg.ws_path, &key).await?;
        self.buf = early;
        self.filled = self.buf.len();
        self.buf.resize(self.filled.max(READ_BUF), 0);
        Ok(stream)
    }

    /// Sends a normal close frame, best effort.
    async fn goodbye(&mut self, stream: &mut TcpStream) -> crate::Result<()> {
        let mut frame = Vec::with_capacity(8);
        ws::encode(
            ws::OP_CLOSE,
            &1000u16.to_be_bytes(),
            self.masks.next_mask(),
            &mut frame,
        );
        let _ = timeout(CLOSE_TIMEOUT, stream.write_all(&frame)).await;
        Ok(())
    }

    /// Marks the client complete once it holds every confirmed event.
    fn check_complete(&mut self) {
        if let Some(total) = self.target {
            if !self.complete && self.report.unique >= total {
                self.complete = true;
                self.shared.complete.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Handles every complete frame in the buffer, then compacts it. The
    /// buffer grows only to hold a frame larger than [`READ_BUF`] and goes
    /// back to that size afterwards, so 10,000 clients stay small.
    fn process(&mut self, now_us: u64) -> crate::Result<()> {
        let mut at = 0;
        let mut need = 0;
        while self.report.close_code.is_none() {
            match ws::decode(&mut self.buf[at..self.filled])? {
                Decoded::Need(total) => {
                    need = total;
                    break;
                }
                Decoded::Frame(frame) => {
                    let payload = at + frame.payload.start..at + frame.payload.end;
                    self.handle(frame.opcode, frame.fin, payload, now_us);
                    at += frame.len();
                }
            }
        }
        self.buf.copy_within(at..self.filled, 0);
        self.filled -= at;
        let size = need.max(READ_BUF);
        if size > self.buf.len() {
            self.buf.resize(size, 0);
        } else if self.buf.len() > size && self.filled <= size {
            self.buf.truncate(size);
            self.buf.shrink_to_fit();
        }
        Ok(())
    }

    /// Handles one frame whose payload is `self.buf[payload]`.
    fn handle(&mut self, opcode: u8, fin: bool, payload: std::ops::Range<usize>, now_us: u64) {
        let body = &self.buf[payload];
        match opcode {
            ws::OP_TEXT if fin => {
                self.report.frames += 1;
                if self.cfg.socketio {
                    // Engine.IO ping, and the namespace joined: answered here.
                    let reply: Option<&[u8]> = match body {
                        b"2" => Some(b"3"),
                        [b'4', b'0', ..] => Some(&self.cfg.subscribe),
                        _ => None,
                    };
                    if let Some(reply) = reply {
                        let mask = self.masks.next_mask();
                        ws::encode(ws::OP_TEXT, reply, mask, &mut self.out);
                        return;
                    }
                }
                let limit = self.cfg.n_limit;
                handle_text(&mut self.report, &self.shared, body, now_us, limit);
            }
            ws::OP_TEXT | ws::OP_BINARY | ws::OP_CONTINUATION => self.report.frames += 1,
            ws::OP_PING => ws::encode(ws::OP_PONG, body, self.masks.next_mask(), &mut self.out),
            ws::OP_CLOSE => {
                let code = match body {
                    [hi, lo, ..] => u16::from_be_bytes([*hi, *lo]),
                    _ => 1005,
                };
                self.report.close_code = Some(code);
                let echo = &body[..body.len().min(2)];
                ws::encode(ws::OP_CLOSE, echo, self.masks.next_mask(), &mut self.out);
            }
            _ => {}
        }
    }
}

/// Handles one complete text message.
fn handle_text(report: &mut ClientReport, shared: &Shared, text: &[u8], now_us: u64, limit: u64) {
    match scan::message_type(text) {
        Some(b"subscribed") if !report.subscribed => {
            report.subscribed = true;
            shared.subscribed.fetch_add(1, Ordering::Relaxed);
        }
        Some(b"subscribed") => {
            if find(text, b"\"recovered\":false") {
                report.not_recovered += 1;
            }
        }
        Some(b"welcome" | b"heartbeat" | b"pong") => {}
        Some(b"error") => {
            report.server_errors += 1;
            if report.server_error.is_none() {
                let text = String::from_utf8_lossy(text);
                report.server_error = Some(text.chars().take(300).collect());
            }
        }
        _ => {
            let before = report.envelopes;
            scan::scan_events(text, |n, t_us| report.record(n, t_us, now_us, limit));
            if let Some(seq) = scan::max_seq(text) {
                report.last_seq = report.last_seq.max(seq);
            }
            if report.envelopes > before {
                report.event_frames += 1;
            }
        }
    }
}

/// Whether `needle` occurs in `text`.
fn find(text: &[u8], needle: &[u8]) -> bool {
    text.windows(needle.len()).any(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accounts_for_messages() {
        let shared = Shared::default();
        let mut r = ClientReport::default();
        let welcome = br#"{"type":"welcome","connection_id":"c","heartbeat_ms":30000}"#;
        handle_text(&mut r, &shared, welcome, 0, 10);
        let subscribed =
            br#"{"type":"subscribed","room":"bench","seq":0,"recovered":false,"snapshot":null}"#;
        handle_text(&mut r, &shared, subscribed, 0, 10);
        assert!(r.subscribed);
        assert_eq!(shared.subscribed.load(Ordering::Relaxed), 1);
        let batch = br#"{"type":"batch-update","updates":[{"type":"event","payload":{"n":1,"t_us":1000}},{"type":"event","payload":{"n":1,"t_us":1000}},{"type":"event","payload":{"n":12,"t_us":1000}}]}"#;
        handle_text(&mut r, &shared, batch, 3500, 10);
        assert_eq!((r.unique, r.duplicates, r.foreign), (1, 1, 1));
        assert_eq!((r.envelopes, r.event_frames), (3, 1));
        assert_eq!(r.latency.max(), 2500);
        handle_text(&mut r, &shared, br#"{"type":"error","code":"x"}"#, 0, 10);
        assert_eq!(r.server_errors, 1);
        assert!(r.server_error.is_some());
    }
}
