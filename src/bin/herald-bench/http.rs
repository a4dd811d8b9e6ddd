//! Tiny HTTP/1.1 client: one keep-alive connection, one request in flight,
//! answers framed by `Content-Length`, chunked encoding or connection close.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;

/// Time allowed to open a connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Time allowed for one request, from writing it to the end of the answer.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// A connection idle for longer is replaced instead of reused, so a server
/// keep-alive timeout never turns into a failed request.
const MAX_IDLE: Duration = Duration::from_secs(2);
/// Largest accepted header block.
const MAX_HEADER: usize = 64 * 1024;
/// Largest accepted body.
const MAX_BODY: usize = 16 * 1024 * 1024;

/// A parsed HTTP answer.
#[derive(Debug, PartialEq, Eq)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Decoded body (chunked encoding removed).
    pub body: Vec<u8>,
    /// The server will close the connection after this answer.
    pub close: bool,
}

/// How the body of an answer is delimited.
enum Framing {
    Length(usize),
    Chunked,
    UntilClose,
}

/// Parses one answer at the start of `buf`. `eof` tells that the peer has
/// closed, which completes a body delimited by connection close. Returns the
/// answer and the bytes it used, or `None` while incomplete.
pub fn parse_response(buf: &[u8], eof: bool) -> crate::Result<Option<(Response, usize)>> {
    let Some(head_end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
        if buf.len() > MAX_HEADER {
            return Err("HTTP header block too large".into());
        }
        return Ok(None);
    };
    let (status, mut close, framing) = parse_head(std::str::from_utf8(&buf[..head_end])?)?;
    let body_at = head_end + 4;
    let rest = &buf[body_at..];
    let (body, used) = match framing {
        Framing::Length(len) if len > MAX_BODY => return Err("HTTP body too large".into()),
        Framing::Length(len) if rest.len() < len => return Ok(None),
        Framing::Length(len) => (rest[..len].to_vec(), len),
        Framing::Chunked => match parse_chunked(rest)? {
            Some(done) => done,
            None => return Ok(None),
        },
        Framing::UntilClose if !eof => return Ok(None),
        Framing::UntilClose => {
            close = true;
            (rest.to_vec(), rest.len())
        }
    };
    let response = Response {
        status,
        body,
        close,
    };
    Ok(Some((response, body_at + used)))
}

/// Parses the status line and headers: status, connection close, framing.
fn parse_head(head: &str) -> crate::Result<(u16, bool, Framing)> {
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next().unwrap_or_default();
    let status: u16 = match parts.next().map(str::parse) {
        Some(Ok(code)) if version.starts_with("HTTP/1.") => code,
        _ => return Err(format!("bad HTTP status line: {status_line:?}").into()),
    };
    let mut close = version == "HTTP/1.0";
    let mut framing = Framing::UntilClose;
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim().to_ascii_lowercase();
        match name.trim().to_ascii_lowercase().as_str() {
            "content-length" if !matches!(framing, Framing::Chunked) => {
                framing = Framing::Length(value.parse()?);
            }
            "transfer-encoding" if value.contains("chunked") => framing = Framing::Chunked,
            "connection" if value.contains("close") => close = true,
            "connection" if value.contains("keep-alive") => close = false,
            _ => {}
        }
    }
    if status == 204 || status == 304 || (100..200).contains(&status) {
        framing = Framing::Length(0);
    }
    Ok((status, close, framing))
}

/// Decodes a chunked body at the start of `buf`: the body and the bytes
/// used (including any trailers), or `None` while incomplete.
pub fn parse_chunked(buf: &[u8]) -> crate::Result<Option<(Vec<u8>, usize)>> {
    let mut body = Vec::new();
    let mut at = 0;
    loop {
        let Some(line_len) = buf[at..].windows(2).position(|w| w == b"\r\n") else {
            return Ok(None);
        };
        let line = std::str::from_utf8(&buf[at..at + line_len])?;
        let size_text = line.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_text, 16)
            .map_err(|_| format!("bad chunk size line: {line:?}"))?;
        at += line_len + 2;
        if size == 0 {
            // Either an empty line right away or trailers ending in a blank line.
            if buf[at..].starts_with(b"\r\n") {
                return Ok(Some((body, at + 2)));
            }
            return Ok(buf[at..]
                .windows(4)
                .position(|w| w == b"\r\n\r\n")
                .map(|end| (body, at + end + 4)));
        }
        if body.len() + size > MAX_BODY {
            return Err("HTTP body too large".into());
        }
        if buf.len() < at + size + 2 {
            return Ok(None);
        }
        if &buf[at + size..at + size + 2] != b"\r\n" {
            return Err("chunk not followed by CRLF".into());
        }
        body.extend_from_slice(&buf[at..at + size]);
        at += size + 2;
    }
}

/// One keep-alive HTTP connection to the server, opened lazily.
pub struct HttpConn {
    addr: SocketAddr,
    host: String,
    stream: Option<TcpStream>,
    buf: Vec<u8>,
    last_used: Instant,
}

impl HttpConn {
    /// A connection to `addr`, sending `host` as the `Host` header.
    pub fn new(addr: SocketAddr, host: &str) -> Self {
        HttpConn {
            addr,
            host: host.to_owned(),
            stream: None,
            buf: Vec::with_capacity(4096),
            last_used: Instant::now(),
        }
    }

    /// POSTs a JSON `body` to `path` and waits for the answer, bounded by
    /// [`REQUEST_TIMEOUT`]. On any error the connection is dropped and the
    /// next request opens a new one.
    pub async fn post_json(&mut self, path: &str, body: &[u8]) -> crate::Result<Response> {
        let mut request = format!(
            "POST {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\n\r\n",
            self.host,
            body.len()
        )
        .into_bytes();
        request.extend_from_slice(body);
        let result = match timeout(REQUEST_TIMEOUT, self.exchange(&request)).await {
            Ok(result) => result,
            Err(_) => Err("request timed out".into()),
        };
        match &result {
            Ok(response) if !response.close => self.last_used = Instant::now(),
            _ => self.stream = None,
        }
        result
    }

    /// Writes `request` and reads one answer.
    async fn exchange(&mut self, request: &[u8]) -> crate::Result<Response> {
        if self.last_used.elapsed() > MAX_IDLE {
            self.stream = None;
        }
        let stream = match &mut self.stream {
            Some(stream) => stream,
            slot @ None => {
                let stream = timeout(CONNECT_TIMEOUT, TcpStream::connect(self.addr))
                    .await
                    .map_err(|_| "connect timed out")??;
                stream.set_nodelay(true)?;
                self.buf.clear();
                slot.insert(stream)
            }
        };
        stream.write_all(request).await?;
        let mut eof = false;
        loop {
            if let Some((response, used)) = parse_response(&self.buf, eof)? {
                self.buf.drain(..used);
                return Ok(response);
            }
            if eof {
                return Err("connection closed before a complete answer".into());
            }
            let filled = self.buf.len();
            self.buf.resize(filled + 4096, 0);
            let n = stream.read(&mut self.buf[filled..]).await;
            self.buf.truncate(filled + *n.as_ref().unwrap_or(&0));
            eof = n? == 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(raw: &[u8]) -> Option<(Response, usize)> {
        parse_response(raw, false).ok().flatten()
    }

    #[test]
    fn content_length() {
        let raw = b"HTTP/1.1 201 Created\r\ncontent-length: 9\r\ncontent-type: application/json\r\n\r\n{\"id\":42}HTTP/1.1";
        let (r, used) = parse(raw).unwrap_or_else(|| panic!("should parse"));
        assert_eq!((r.status, r.close), (201, false));
        assert_eq!(r.body, b"{\"id\":42}");
        assert_eq!(used, raw.len() - 8);
        assert!(parse(&raw[..raw.len() - 10]).is_none());
        assert!(parse(b"HTTP/1.1 201 Created\r\nContent-Len").is_none());
    }

    #[test]
    fn chunked() {
        let raw = b"HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n4\r\n{\"id\r\n5;ext=1\r\n\":42}\r\n0\r\n\r\n";
        let (r, used) = parse(raw).unwrap_or_else(|| panic!("should parse"));
        assert_eq!((r.status, r.close), (201, true));
        assert_eq!(r.body, b"{\"id\":42}");
        assert_eq!(used, raw.len());
        for cut in [raw.len() - 1, raw.len() - 3, raw.len() - 10] {
            assert!(parse(&raw[..cut]).is_none(), "cut at {cut}");
        }
        let trailers = b"3\r\nabc\r\n0\r\nX-Trailer: 1\r\n\r\n";
        let done = parse_chunked(trailers).ok().flatten();
        assert_eq!(done, Some((b"abc".to_vec(), trailers.len())));
        assert!(parse_chunked(b"3\r\nabcX\r\n").is_err());
        assert!(parse_chunked(b"zz\r\n").is_err());
    }

    #[test]
    fn close_delimited_and_empty_bodies() {
        let raw = b"HTTP/1.0 500 Oops\r\n\r\nboom";
        assert!(parse(raw).is_none());
        let done = parse_response(raw, true).ok().flatten();
        assert!(matches!(done, Some((r, 25)) if r.status == 500 && r.close && r.body == b"boom"));
        let empty = parse(b"HTTP/1.1 204 No Content\r\n\r\n");
        assert!(matches!(empty, Some((r, 27)) if r.body.is_empty() && !r.close));
    }

    #[test]
    fn bad_answers() {
        assert!(parse_response(b"SMTP ready\r\n\r\n", false).is_err());
        assert!(parse_response(b"HTTP/1.1 20x OK\r\n\r\n", false).is_err());
        assert!(parse_response(b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", false).is_err());
    }
}
