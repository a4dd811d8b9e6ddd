//! WebSocket frames, read and written one way: through actix-http's own ws
//! codec. Server frames are encoded by [`Parser::write_message`] (once, and
//! the bytes shared); client frames are read by [`Frames`], a stream over
//! the request payload that both the native connection and the Socket.IO
//! transport consume. It does not queue or send anything: that is the
//! [`Outbox`](crate::transport::Outbox).
//!
//! Client frames must be masked and at most `ws.max_frame_bytes`; the codec
//! reports anything else as a [`ProtocolError`], which the readers turn into
//! their close codes (1009 for [`ProtocolError::Overflow`], else 1002).

use actix_codec::Decoder;
use actix_http::ws::{CloseReason, Codec, Frame, OpCode, Parser, ProtocolError};
use actix_web::error::PayloadError;
use bytes::{Bytes, BytesMut};
use futures::Stream;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Longest close reason: a control frame carries at most 125 bytes, two of
/// them the code.
const MAX_CLOSE_REASON: usize = 123;

/// Encodes an unmasked server text frame.
pub fn text_frame(payload: &[u8]) -> Bytes {
    encode(OpCode::Text, payload)
}

/// Encodes a server ping.
pub fn ping_frame(payload: &[u8]) -> Bytes {
    encode(OpCode::Ping, payload)
}

/// Encodes a server pong.
pub fn pong_frame(payload: &[u8]) -> Bytes {
    encode(OpCode::Pong, payload)
}

/// Encodes a close frame with a code and a short reason (cut to 123 bytes,
/// on a character boundary).
pub fn close_frame(code: u16, reason: &str) -> Bytes {
    let mut cut = reason.len().min(MAX_CLOSE_REASON);
    while !reason.is_char_boundary(cut) {
        cut -= 1;
    }
    let reason = CloseReason {
        code: code.into(),
        description: Some(reason[..cut].to_string()),
    };
    let mut buf = BytesMut::with_capacity(4 + cut);
    Parser::write_close(&mut buf, Some(reason), false);
    buf.freeze()
}

fn encode(op: OpCode, payload: &[u8]) -> Bytes {
    let mut buf = BytesMut::with_capacity(payload.len() + 10);
    Parser::write_message(&mut buf, payload, op, true, false);
    buf.freeze()
}

/// A server frame as queued, read back as its opcode and payload: how a
/// transport that is not a WebSocket (Engine.IO long-polling) takes frames
/// from an outbox. `None` for anything but one whole unmasked frame.
pub fn unframe(frame: &[u8]) -> Option<(OpCode, Bytes)> {
    let mut buf = BytesMut::from(frame);
    match Parser::parse(&mut buf, false, frame.len()) {
        Ok(Some((true, op, payload))) if buf.is_empty() => {
            Some((op, payload.map(BytesMut::freeze).unwrap_or_default()))
        }
        _ => None,
    }
}

/// The frames a client sends on a WebSocket, decoded from the request
/// payload by actix-http's server codec (masking, control-frame and size
/// checks). Ends after the payload ends or after the first error.
pub struct Frames<S> {
    /// The request body: the bytes of the socket.
    payload: S,
    /// The server-side codec, with the socket's frame size limit.
    codec: Codec,
    /// Bytes read and not yet decoded.
    buf: BytesMut,
    /// The payload ended: what is in `buf` is all there will be.
    eof: bool,
    /// An error was reported or the payload ended: nothing more comes.
    done: bool,
}

impl<S> Frames<S> {
    /// Frames of at most `max_size` bytes from `payload`.
    pub fn new(payload: S, max_size: usize) -> Self {
        Frames {
            payload,
            codec: Codec::new().max_size(max_size),
            buf: BytesMut::new(),
            eof: false,
            done: false,
        }
    }
}

impl<S> Stream for Frames<S>
where
    S: Stream<Item = Result<Bytes, PayloadError>> + Unpin,
{
    type Item = Result<Frame, ProtocolError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        loop {
            if this.done {
                return Poll::Ready(None);
            }
            match this.codec.decode(&mut this.buf) {
                Ok(Some(frame)) => return Poll::Ready(Some(Ok(frame))),
                Ok(None) if this.eof => this.done = true,
                Ok(None) => match Pin::new(&mut this.payload).poll_next(cx) {
                    Poll::Ready(Some(Ok(chunk))) => this.buf.extend_from_slice(&chunk),
                    Poll::Ready(Some(Err(err))) => {
                        this.done = true;
                        let err = std::io::Error::other(err.to_string());
                        return Poll::Ready(Some(Err(ProtocolError::Io(err))));
                    }
                    Poll::Ready(None) => this.eof = true,
                    Poll::Pending => return Poll::Pending,
                },
                Err(err) => {
                    this.done = true;
                    return Poll::Ready(Some(Err(err)));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::StreamExt;

    /// A client frame: masked, as RFC 6455 requires.
    fn masked(op: OpCode, payload: &[u8]) -> Bytes {
        let mut buf = BytesMut::new();
        Parser::write_message(&mut buf, payload, op, true, true);
        buf.freeze()
    }

    fn read(chunks: Vec<Bytes>, max: usize) -> Vec<Result<Frame, ProtocolError>> {
        let payload = futures::stream::iter(chunks.into_iter().map(Ok::<_, PayloadError>));
        futures::executor::block_on(Frames::new(payload, max).collect())
    }

    #[test]
    fn frame_headers_follow_rfc6455() {
        assert_eq!(&text_frame(b"hi")[..], &[0x81, 2, b'h', b'i']);
        let mid = text_frame(&[b'x'; 300]);
        assert_eq!(&mid[..4], &[0x81, 126, 1, 44]);
        let big = text_frame(&vec![b'x'; 70_000]);
        assert_eq!(&big[..2], &[0x81, 127]);
        assert_eq!(u64::from_be_bytes(big[2..10].try_into().unwrap()), 70_000);
        assert_eq!(&close_frame(4008, "")[..], &[0x88, 2, 0x0f, 0xa8]);
        assert_eq!(&ping_frame(b"")[..], &[0x89, 0]);
        assert_eq!(&pong_frame(b"p")[..], &[0x8a, 1, b'p']);
        let long = close_frame(1000, &"é".repeat(100));
        assert_eq!(long.len(), 2 + 2 + 122, "cut on a character boundary");
    }

    #[test]
    fn frames_read_back() {
        for len in [0, 5, 125, 126, 300, 70_000] {
            let payload = vec![b'x'; len];
            let framed = text_frame(&payload);
            assert_eq!(unframe(&framed), Some((OpCode::Text, Bytes::from(payload))));
        }
        let (op, body) = unframe(&close_frame(4003, "Access revoked")).unwrap();
        assert_eq!(
            (op, &body[..2]),
            (OpCode::Close, &4003u16.to_be_bytes()[..])
        );
        assert_eq!(unframe(&[0x81, 5, b'x']), None);
        assert_eq!(unframe(&[]), None);
    }

    #[test]
    fn client_frames_are_decoded_across_chunks() {
        let frame = masked(OpCode::Text, b"hello");
        let (a, b) = frame.split_at(3);
        let got = read(
            vec![Bytes::copy_from_slice(a), Bytes::copy_from_slice(b)],
            100,
        );
        assert!(matches!(&got[..], [Ok(Frame::Text(t))] if &t[..] == b"hello"));
    }

    #[test]
    fn bad_client_frames_end_the_stream_with_their_error() {
        let over = read(vec![masked(OpCode::Text, &[b'x'; 101])], 100);
        assert!(matches!(&over[..], [Err(ProtocolError::Overflow)]));
        let unmasked = read(vec![text_frame(b"hi"), masked(OpCode::Text, b"x")], 100);
        assert!(matches!(&unmasked[..], [Err(ProtocolError::UnmaskedFrame)]));
        let mut first = BytesMut::new();
        Parser::write_message(&mut first, b"a", OpCode::Text, false, true);
        let fragments = read(vec![first.freeze(), masked(OpCode::Text, b"b")], 100);
        assert!(matches!(
            &fragments[..],
            [
                Ok(Frame::Continuation(_)),
                Err(ProtocolError::ContinuationStarted)
            ]
        ));
    }
}
