//! Item: random bytes and random WebSocket frames thrown at a live server,
//! on every entrance, after which it still serves every dialect.

use super::*;
use awc::ws::Message;
use futures::SinkExt;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A small deterministic generator (xorshift64*), so a failure repeats.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn bytes(&mut self, max: usize) -> Vec<u8> {
        let n = self.below(max + 1);
        (0..n).map(|_| self.next() as u8).collect()
    }

    /// Text that looks a little like what clients send.
    fn text(&mut self, max: usize) -> String {
        const PIECES: &[&str] = &[
            "{",
            "}",
            "[",
            "]",
            "\"",
            ":",
            ",",
            "type",
            "subscribe",
            "unsubscribe",
            "ping",
            "room",
            "since",
            "session:",
            "project:",
            "broadcasts",
            "-1",
            "1e999",
            "null",
            "4",
            "0",
            "2",
            "3",
            "probe",
            "/",
            "\u{1e}",
            "😀",
            "\\u0000",
            " ",
        ];
        let mut out = String::new();
        while out.len() < max && self.below(12) != 0 {
            if self.below(3) == 0 {
                out.push(char::from_u32(self.next() as u32 % 0x11_0000).unwrap_or('?'));
            } else {
                out.push_str(PIECES[self.below(PIECES.len())]);
            }
        }
        out
    }
}

/// Writes `bytes` on a fresh TCP connection (after `preamble`), closes the
/// writing half, and reads whatever comes back until the server closes.
async fn raw(srv: &TestServer, preamble: Vec<u8>, bytes: Vec<u8>) {
    let mut stream = tokio::net::TcpStream::connect(srv.addr).await.unwrap();
    let _ = stream.write_all(&preamble).await;
    let _ = stream.write_all(&bytes).await;
    let _ = stream.shutdown().await;
    let mut buf = [0u8; 4096];
    let reading = async { while matches!(stream.read(&mut buf).await, Ok(n) if n > 0) {} };
    let _ = actix_web::rt::time::timeout(WAIT, reading).await;
}

fn upgrade_request(path: &str) -> Vec<u8> {
    format!(
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    .into_bytes()
}

/// Random frames of every kind on one WebSocket.
async fn frames(url: &str, rng: &mut Rng, count: usize) {
    let Ok((_, mut framed)) = client().ws(url).connect().await else {
        return;
    };
    for _ in 0..count {
        let message = match rng.below(5) {
            0 => Message::Binary(rng.bytes(300).into()),
            1 => Message::Ping(rng.bytes(100).into()),
            2 => Message::Pong(rng.bytes(100).into()),
            _ => Message::Text(rng.text(400).into()),
        };
        if framed.send(message).await.is_err() {
            return;
        }
    }
    let _ = framed.close().await;
}

#[actix_web::test]
async fn random_input_never_stops_the_server() {
    let srv = TestServer::start();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut garbage = Vec::new();
    for i in 0..40 {
        let preamble = match i % 4 {
            0 => Vec::new(),
            1 => upgrade_request("/ws"),
            2 => upgrade_request("/socket.io/?EIO=4&transport=websocket"),
            _ => b"POST /api/rooms/lobby/events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 30\r\n\r\n"
                .to_vec(),
        };
        garbage.push(raw(&srv, preamble, rng.bytes(3000)));
    }
    futures::future::join_all(garbage).await;
    for path in [
        "/ws",
        "/ws/sessions/s1",
        "/ws/broadcasts",
        "/socket.io/?EIO=4&transport=websocket",
    ] {
        frames(&srv.ws_url(path), &mut rng, 150).await;
    }
    let (session, _) = Polling::open(&srv, None).await;
    for _ in 0..30 {
        let body = rng.text(500);
        let _ = send("POST", &session.base, &[], Some(body.as_bytes())).await;
    }
    for _ in 0..30 {
        let path = format!("/api/rooms/{}/events", rng.below(3));
        let body = rng.bytes(200);
        let _ = send("POST", &srv.url(&path), &[], Some(&body)).await;
    }
    let _ = send("POST", &session.base, &[], Some(b"1")).await;
    connections(&srv, 0).await;
    still_serves_every_dialect(&srv).await;
}

/// Native, single-session, broadcasts, Socket.IO and HTTP all work.
async fn still_serves_every_dialect(srv: &TestServer) {
    still_serving(srv).await;
    let mut native = Ws::open(srv).await;
    native.subscribe("lobby", None).await;
    let mut single = Ws::connect(&srv.ws_url("/ws/sessions/s1")).await;
    assert_eq!(single.next_json().await["type"], "subscribed");
    let mut broadcasts = Ws::connect(&srv.ws_url("/ws/broadcasts")).await;
    assert_eq!(broadcasts.next_json().await["type"], "subscribed");
    let (sio, _) = Polling::open(srv, None).await;
    sio.send(&["40"]).await;
    sio.until("40").await;
    sio.send(&[r#"421["subscribe",{"room":"lobby"}]"#]).await;
    assert!(sio.until("431").await.contains(r#""ok":true"#));
    let seq = publish(srv, "lobby", json!({"after": "fuzz"})).await;
    let got = native.events(1).await;
    assert_eq!(got[0]["seq"], seq);
    let data = sio.event("note").await;
    assert_eq!(data["after"], "fuzz");
}
