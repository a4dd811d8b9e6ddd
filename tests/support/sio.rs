//! A raw Engine.IO long-polling client, for the Socket.IO tests that need to
//! see exact packets (bad input, refusals) rather than a library's view.

use super::*;
use serde_json::Value;

/// One polling session.
pub struct Polling {
    pub base: String,
    pub sid: String,
}

impl Polling {
    /// Handshake; returns the session and the `open` packet's data.
    pub async fn open(srv: &TestServer, token: Option<&str>) -> (Polling, Value) {
        let mut url = srv.url("/socket.io/?EIO=4&transport=polling");
        if let Some(token) = token {
            url = format!("{url}&token={token}");
        }
        let (st, body) = get_text(&url).await;
        assert_eq!(st, 200, "{body}");
        let open: Value =
            serde_json::from_str(body.strip_prefix('0').expect("an open packet")).unwrap();
        let sid = open["sid"].as_str().unwrap().to_string();
        // Like client libraries, every request repeats the handshake's query.
        let mut base = srv.url(&format!("/socket.io/?EIO=4&transport=polling&sid={sid}"));
        if let Some(token) = token {
            base = format!("{base}&token={token}");
        }
        (Polling { base, sid }, open)
    }

    /// POSTs packets; returns the status.
    pub async fn send(&self, packets: &[&str]) -> u16 {
        let body = packets.join("\u{1e}");
        client()
            .post(&self.base)
            .send_body(body)
            .await
            .unwrap()
            .status()
            .as_u16()
    }

    /// One poll: the packets it returned (its status must be 200).
    pub async fn poll(&self) -> Vec<String> {
        let (st, body) = get_text(&self.base).await;
        assert_eq!(st, 200, "{body}");
        body.split('\u{1e}').map(str::to_string).collect()
    }

    /// Polls (answering pings) until a packet starts with `prefix`; returns it.
    pub async fn until(&self, prefix: &str) -> String {
        let deadline = std::time::Instant::now() + WAIT;
        loop {
            for packet in self.poll().await {
                if packet.starts_with(prefix) {
                    return packet;
                }
                if packet == "2" {
                    self.send(&["3"]).await;
                }
            }
            assert!(std::time::Instant::now() < deadline, "no {prefix}… packet");
        }
    }

    /// The data of the next Socket.IO event named `name` (`42["name",data]`).
    pub async fn event(&self, name: &str) -> Value {
        let packet = self.until(&format!("42[\"{name}\"")).await;
        let args: Value = serde_json::from_str(&packet[2..]).unwrap();
        args[1].clone()
    }
}

/// GET as text, with the status.
pub async fn get_text(url: &str) -> (u16, String) {
    let mut resp = client().get(url).send().await.unwrap();
    let body = resp.body().limit(64 * 1024 * 1024).await.unwrap();
    (
        resp.status().as_u16(),
        String::from_utf8_lossy(&body).into_owned(),
    )
}
