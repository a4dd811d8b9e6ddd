//! The server under test: address, `Host` header and request paths, all
//! derived from `--url`.

use std::net::SocketAddr;

/// Where the server lives. The address is resolved once; every connection
/// the tool opens goes to exactly this address.
#[derive(Debug, Clone)]
pub struct Target {
    /// Resolved socket address.
    pub addr: SocketAddr,
    /// `Host` header value (`host:port`).
    pub host: String,
    /// Path prefix from the URL, without a trailing slash (usually empty).
    pub base: String,
}

/// Splits `http://host[:port][/base]` into host, port and base path.
pub fn parse_url(url: &str) -> crate::Result<(String, u16, String)> {
    let rest = url
        .strip_prefix("http://")
        .ok_or("--url must start with http:// (plain HTTP only)")?;
    let (authority, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (host, after) = v6.split_once(']').ok_or("unclosed '[' in --url")?;
        (host, after.strip_prefix(':'))
    } else {
        match authority.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    if host.is_empty() {
        return Err("--url has no host".into());
    }
    let port = match port {
        Some(p) => p.parse().map_err(|_| format!("bad port in --url: {p:?}"))?,
        None => 80,
    };
    Ok((host.to_owned(), port, path.trim_end_matches('/').to_owned()))
}

/// Percent-encodes a path segment (everything but RFC 3986 unreserved bytes).
pub fn encode_segment(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for b in segment.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

impl Target {
    /// Parses `url` and resolves its host to one address.
    pub async fn resolve(url: &str) -> crate::Result<Self> {
        let (host, port, base) = parse_url(url)?;
        let addr = tokio::net::lookup_host((host.as_str(), port))
            .await?
            .next()
            .ok_or_else(|| format!("{host} did not resolve to any address"))?;
        let host = if host.contains(':') {
            format!("[{host}]:{port}")
        } else {
            format!("{host}:{port}")
        };
        Ok(Target { addr, host, base })
    }

    /// Path of the WebSocket endpoint.
    pub fn ws_path(&self) -> String {
        format!("{}/ws", self.base)
    }

    /// Path of a Socket.IO session opened directly on a WebSocket.
    pub fn socketio_path(&self) -> String {
        format!("{}/socket.io/?EIO=4&transport=websocket", self.base)
    }

    /// Path that publishes an event into `room`.
    pub fn events_path(&self, room: &str) -> String {
        format!("{}/api/rooms/{}/events", self.base, encode_segment(room))
    }

    /// Path of the batch route (each item names its room).
    pub fn batch_path(&self) -> String {
        format!("{}/api/rooms/events:batch", self.base)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let ok = |u: &str| parse_url(u).ok();
        assert_eq!(
            ok("http://127.0.0.1:8080"),
            Some(("127.0.0.1".into(), 8080, String::new()))
        );
        assert_eq!(
            ok("http://localhost/herald/"),
            Some(("localhost".into(), 80, "/herald".into()))
        );
        assert_eq!(
            ok("http://[::1]:9000"),
            Some(("::1".into(), 9000, String::new()))
        );
        assert!(ok("https://x").is_none());
        assert!(ok("http://:80").is_none());
        assert!(ok("http://h:port").is_none());
    }

    #[test]
    fn segments() {
        assert_eq!(encode_segment("bench-w1"), "bench-w1");
        assert_eq!(encode_segment("a b/c"), "a%20b%2Fc");
    }
}
