//! Minimal RFC 6455 WebSocket client pieces: the HTTP upgrade handshake and
//! a frame codec (client frames masked, server frames unmasked).

use std::fmt;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Continuation frame opcode.
pub const OP_CONTINUATION: u8 = 0x0;
/// Text frame opcode.
pub const OP_TEXT: u8 = 0x1;
/// Binary frame opcode.
pub const OP_BINARY: u8 = 0x2;
/// Close frame opcode.
pub const OP_CLOSE: u8 = 0x8;
/// Ping frame opcode.
pub const OP_PING: u8 = 0x9;
/// Pong frame opcode.
pub const OP_PONG: u8 = 0xA;

/// Frames larger than this are refused, which keeps memory bounded.
pub const MAX_PAYLOAD: u64 = 64 * 1024 * 1024;
/// Largest accepted handshake answer.
const MAX_HANDSHAKE: usize = 16 * 1024;

/// A frame that violates the protocol or our limits.
#[derive(Debug, PartialEq, Eq)]
pub enum FrameError {
    /// Reserved bits set (no extension was negotiated).
    ReservedBits,
    /// Declared payload length exceeds [`MAX_PAYLOAD`].
    TooLarge(u64),
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FrameError::ReservedBits => write!(f, "frame with reserved bits set"),
            FrameError::TooLarge(n) => write!(f, "frame payload of {n} bytes is too large"),
        }
    }
}

impl std::error::Error for FrameError {}

/// A complete frame found at the start of a buffer.
#[derive(Debug, PartialEq, Eq)]
pub struct Frame {
    /// FIN bit.
    pub fin: bool,
    /// Opcode (low 4 bits of the first byte).
    pub opcode: u8,
    /// Payload position inside the decoded slice (already unmasked).
    pub payload: std::ops::Range<usize>,
}

impl Frame {
    /// Total bytes occupied by the frame (header and payload).
    pub fn len(&self) -> usize {
        self.payload.end
    }
}

/// Result of trying to decode one frame.
#[derive(Debug, PartialEq, Eq)]
pub enum Decoded {
    /// A whole frame is present.
    Frame(Frame),
    /// More input is needed: the frame needs at least this many bytes in total.
    Need(usize),
}

/// Decodes the frame at the start of `buf`, unmasking its payload in place
/// if the frame is masked.
pub fn decode(buf: &mut [u8]) -> Result<Decoded, FrameError> {
    if buf.len() < 2 {
        return Ok(Decoded::Need(2));
    }
    let (b0, b1) = (buf[0], buf[1]);
    if b0 & 0x70 != 0 {
        return Err(FrameError::ReservedBits);
    }
    let masked = b1 & 0x80 != 0;
    let (len, mut header) = match b1 & 0x7F {
        126 if buf.len() < 4 => return Ok(Decoded::Need(4)),
        126 => (u64::from(u16::from_be_bytes([buf[2], buf[3]])), 4),
        127 if buf.len() < 10 => return Ok(Decoded::Need(10)),
        127 => {
            let mut raw = [0u8; 8];
            raw.copy_from_slice(&buf[2..10]);
            (u64::from_be_bytes(raw), 10)
        }
        short => (u64::from(short), 2),
    };
    if len > MAX_PAYLOAD {
        return Err(FrameError::TooLarge(len));
    }
    let mask_at = header;
    if masked {
        header += 4;
    }
    // Bounded by MAX_PAYLOAD, so the cast cannot truncate.
    let total = header + len as usize;
    if buf.len() < total {
        return Ok(Decoded::Need(total));
    }
    if masked {
        let mut mask = [0u8; 4];
        mask.copy_from_slice(&buf[mask_at..mask_at + 4]);
        apply_mask(&mut buf[header..total], mask);
    }
    Ok(Decoded::Frame(Frame {
        fin: b0 & 0x80 != 0,
        opcode: b0 & 0x0F,
        payload: header..total,
    }))
}

/// XORs `data` with the repeating 4-byte `mask`.
pub fn apply_mask(data: &mut [u8], mask: [u8; 4]) {
    for (i, byte) in data.iter_mut().enumerate() {
        *byte ^= mask[i % 4];
    }
}

/// Appends a final (FIN) masked frame carrying `payload` to `out`.
pub fn encode(opcode: u8, payload: &[u8], mask: [u8; 4], out: &mut Vec<u8>) {
    out.push(0x80 | (opcode & 0x0F));
    let len = payload.len();
    if len < 126 {
        out.push(0x80 | len as u8);
    } else if let Ok(short) = u16::try_from(len) {
        out.push(0x80 | 126);
        out.extend_from_slice(&short.to_be_bytes());
    } else {
        out.push(0x80 | 127);
        out.extend_from_slice(&(len as u64).to_be_bytes());
    }
    out.extend_from_slice(&mask);
    let start = out.len();
    out.extend_from_slice(payload);
    apply_mask(&mut out[start..], mask);
}

/// Small xorshift generator for masks and handshake keys (not for secrets).
#[derive(Debug, Clone)]
pub struct MaskGen(u32);

impl MaskGen {
    /// Creates a generator; any seed works.
    pub fn new(seed: u32) -> Self {
        MaskGen(seed.wrapping_mul(0x9E37_79B9) | 1)
    }

    /// Next four pseudo-random bytes.
    pub fn next_mask(&mut self) -> [u8; 4] {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.0 = x;
        x.to_le_bytes()
    }

    /// A `Sec-WebSocket-Key` value: base64 of 16 pseudo-random bytes.
    pub fn handshake_key(&mut self) -> String {
        let mut raw = [0u8; 16];
        for chunk in raw.chunks_mut(4) {
            chunk.copy_from_slice(&self.next_mask());
        }
        base64(&raw)
    }
}

/// Standard base64 with padding.
pub fn base64(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Checks a complete-or-partial upgrade answer. Returns the header length
/// once the blank line has arrived, `None` while more bytes are needed.
pub fn parse_upgrade_answer(buf: &[u8]) -> crate::Result<Option<usize>> {
    let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
        if buf.len() > MAX_HANDSHAKE {
            return Err("handshake answer too large".into());
        }
        return Ok(None);
    };
    let status_line = buf[..end].split(|b| *b == b'\r').next().unwrap_or(&[]);
    let mut parts = status_line.split(|b| *b == b' ');
    let version = parts.next().unwrap_or(&[]);
    let status = parts.next().unwrap_or(&[]);
    if !version.starts_with(b"HTTP/1.") || status != b"101" {
        let line = String::from_utf8_lossy(status_line);
        return Err(format!("upgrade refused: {line}").into());
    }
    Ok(Some(end + 4))
}

/// Performs the upgrade on `stream` and returns any bytes already received
/// after the answer's headers (the first frames may arrive with them).
pub async fn handshake(
    stream: &mut TcpStream,
    host: &str,
    path: &str,
    key: &str,
) -> crate::Result<Vec<u8>> {
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\n\
         Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n\
         Sec-WebSocket-Version: 13\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await?;
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    loop {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Err("connection closed during the WebSocket handshake".into());
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(header_len) = parse_upgrade_answer(&buf)? {
            return Ok(buf.split_off(header_len));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip(len: usize) -> Result<(), FrameError> {
        let payload: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
        let mut wire = Vec::new();
        encode(OP_TEXT, &payload, [0xA1, 0xB2, 0xC3, 0xD4], &mut wire);
        assert_eq!(wire[0], 0x81);
        assert_eq!(wire[1] & 0x80, 0x80, "client frames must be masked");
        let header = match len {
            0..=125 => 6,
            126..=65535 => 8,
            _ => 14,
        };
        assert_eq!(wire.len(), header + len);
        if len > 0 {
            assert_ne!(&wire[header..], &payload[..], "payload must be masked");
        }
        for cut in [0, 1, header - 1, wire.len() - 1] {
            assert!(matches!(
                decode(&mut wire[..cut].to_vec())?,
                Decoded::Need(_)
            ));
        }
        match decode(&mut wire)? {
            Decoded::Frame(f) => {
                assert!(f.fin);
                assert_eq!(f.opcode, OP_TEXT);
                assert_eq!(f.len(), header + len);
                assert_eq!(&wire[f.payload], &payload[..]);
            }
            Decoded::Need(n) => panic!("incomplete: {n}"),
        }
        Ok(())
    }

    #[test]
    fn masked_roundtrip_all_length_forms() -> Result<(), FrameError> {
        for len in [0, 5, 125, 126, 300, 65535, 65536, 70_000] {
            roundtrip(len)?;
        }
        Ok(())
    }

    #[test]
    fn decodes_unmasked_server_frames() -> Result<(), FrameError> {
        let mut small = b"\x81\x05hello\x89\x00".to_vec();
        let Decoded::Frame(f) = decode(&mut small)? else {
            panic!("expected a frame")
        };
        assert_eq!(&small[f.payload.clone()], b"hello");
        let Decoded::Frame(ping) = decode(&mut small[f.len()..])? else {
            panic!("expected a ping")
        };
        assert_eq!((ping.opcode, ping.payload), (OP_PING, 2..2));

        let mut mid = vec![0x81, 126, 0x01, 0x00];
        mid.extend(std::iter::repeat_n(b'x', 256));
        assert_eq!(decode(&mut mid[..100])?, Decoded::Need(260));
        assert!(matches!(decode(&mut mid)?, Decoded::Frame(f) if f.payload == (4..260)));

        let mut big = vec![0x82, 127, 0, 0, 0, 0, 0, 1, 0, 0];
        assert_eq!(decode(&mut big)?, Decoded::Need(10 + 65536));
        big.resize(10 + 65536, 7);
        assert!(matches!(decode(&mut big)?, Decoded::Frame(f) if f.payload == (10..65546)));
        Ok(())
    }

    #[test]
    fn rejects_bad_frames() {
        let mut reserved = vec![0xC1, 0x00];
        assert_eq!(decode(&mut reserved), Err(FrameError::ReservedBits));
        let mut huge = vec![0x81, 127, 0, 0, 0, 1, 0, 0, 0, 0];
        assert!(matches!(decode(&mut huge), Err(FrameError::TooLarge(_))));
    }

    #[test]
    fn close_frame_code() -> Result<(), FrameError> {
        let mut wire = Vec::new();
        encode(OP_CLOSE, &1008u16.to_be_bytes(), [1, 2, 3, 4], &mut wire);
        let Decoded::Frame(f) = decode(&mut wire)? else {
            panic!("expected a frame")
        };
        assert_eq!(f.opcode, OP_CLOSE);
        assert_eq!(&wire[f.payload], &[0x03, 0xF0]);
        Ok(())
    }

    #[test]
    fn base64_vectors() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
        assert_eq!(MaskGen::new(7).handshake_key().len(), 24);
    }

    #[test]
    fn upgrade_answer() {
        let ok = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\x81\x00";
        assert_eq!(parse_upgrade_answer(ok).ok(), Some(Some(ok.len() - 2)));
        assert_eq!(parse_upgrade_answer(b"HTTP/1.1 101 Sw").ok(), Some(None));
        assert!(parse_upgrade_answer(b"HTTP/1.1 404 Not Found\r\n\r\n").is_err());
    }
}
