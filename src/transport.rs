//! The per-socket [`Outbox`] that rooms and the connection push encoded
//! frames into, and the close codes herald ends sockets with. Frames are
//! encoded by [`crate::frames`]; the outbox only queues them.
//!
//! The outbox is the back-pressure point. Its reader is the HTTP response body,
//! which the server polls only as fast as the client reads, so the bytes queued
//! here are the bytes a client is behind. Past the budget the queue is dropped
//! and the socket closed with 4008. Pushing never blocks and never waits for the
//! connection actor, so one slow socket cannot slow a room.

use bytes::Bytes;
use futures::Stream;
use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use crate::frames::close_frame;
/// Rooms encode a flush once and push the same bytes to every subscriber.
pub use crate::frames::text_frame;

/// Close code: the client stopped reading (resume with `since`).
pub const CLOSE_SLOW_CONSUMER: u16 = 4008;
/// Close code: the token the socket was opened with stopped being valid.
pub const CLOSE_UNAUTHORIZED: u16 = 4001;
/// Close code: the caller's access to the socket's room was revoked.
pub const CLOSE_REVOKED: u16 = 4003;
/// Close code: server shutting down.
pub const CLOSE_GOING_AWAY: u16 = 1001;
/// Close code: frame too big.
pub const CLOSE_TOO_BIG: u16 = 1009;
/// Close code: normal closure.
pub const CLOSE_NORMAL: u16 = 1000;
/// Close code: protocol error.
pub const CLOSE_PROTOCOL: u16 = 1002;

/// Why a push was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushError {
    /// The budget was exceeded: the queue was dropped and a 4008 close queued.
    Overflow,
    /// The socket is already closing.
    Closed,
}

#[derive(Default)]
struct Inner {
    queue: VecDeque<Bytes>,
    queued: usize,
    closing: bool,
    waker: Option<Waker>,
}

/// The queue of encoded frames waiting for one socket.
pub struct Outbox {
    inner: Mutex<Inner>,
    budget: usize,
}

impl Outbox {
    /// An open outbox that holds at most `budget` bytes.
    pub fn new(budget: usize) -> Arc<Outbox> {
        Arc::new(Outbox {
            inner: Mutex::new(Inner::default()),
            budget,
        })
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Queues a frame. Over budget, drops everything queued, queues a 4008 close
    /// and refuses all further frames. A frame larger than the whole budget is
    /// still taken when nothing is queued: the client is not behind, the
    /// frame is just big.
    pub fn push(&self, frame: Bytes) -> Result<(), PushError> {
        let mut inner = self.lock();
        if inner.closing {
            return Err(PushError::Closed);
        }
        if inner.queued > 0 && inner.queued + frame.len() > self.budget {
            inner.queue.clear();
            inner.queued = 0;
            Self::close_locked(&mut inner, CLOSE_SLOW_CONSUMER, "slow consumer");
            return Err(PushError::Overflow);
        }
        inner.queued += frame.len();
        inner.queue.push_back(frame);
        let waker = inner.waker.take();
        drop(inner);
        // Woken outside the lock, so the reader never waits on the pusher.
        if let Some(waker) = waker {
            waker.wake();
        }
        Ok(())
    }

    /// Queues a text frame.
    pub fn push_text(&self, text: &str) -> Result<(), PushError> {
        self.push(text_frame(text.as_bytes()))
    }

    /// Queues a close frame after what is queued; nothing more is accepted.
    pub fn close(&self, code: u16, reason: &str) {
        let mut inner = self.lock();
        if !inner.closing {
            Self::close_locked(&mut inner, code, reason);
        }
    }

    /// Ends the stream after what is queued, without a close frame (the peer is
    /// gone or already got one).
    pub fn finish(&self) {
        let mut inner = self.lock();
        inner.closing = true;
        if let Some(waker) = inner.waker.take() {
            waker.wake();
        }
    }

    /// Takes at most `max` of the frames queued now, without waiting; `true`
    /// with them when the outbox is closing and nothing is left in it
    /// (nothing more will come).
    pub fn drain(&self, max: usize) -> (Vec<Bytes>, bool) {
        let mut inner = self.lock();
        let take = max.min(inner.queue.len());
        let frames: Vec<Bytes> = inner.queue.drain(..take).collect();
        let taken: usize = frames.iter().map(Bytes::len).sum();
        inner.queued = inner.queued.saturating_sub(taken);
        (frames, inner.closing && inner.queue.is_empty())
    }

    /// Wakes whoever waits on this outbox, without queueing anything (a
    /// reader that should look elsewhere now).
    pub fn wake(&self) {
        if let Some(waker) = self.lock().waker.take() {
            waker.wake();
        }
    }

    /// True once a close was queued or the stream finished.
    pub fn is_closing(&self) -> bool {
        self.lock().closing
    }

    /// Bytes waiting to be written.
    pub fn queued_bytes(&self) -> usize {
        self.lock().queued
    }

    /// Bytes that may still be queued before the budget is reached.
    pub fn room_left(&self) -> usize {
        self.budget.saturating_sub(self.lock().queued)
    }

    fn close_locked(inner: &mut Inner, code: u16, reason: &str) {
        let frame = close_frame(code, reason);
        inner.queued += frame.len();
        inner.queue.push_back(frame);
        inner.closing = true;
        if let Some(waker) = inner.waker.take() {
            waker.wake();
        }
    }
}

/// The response body of a WebSocket: drains an [`Outbox`] as the client reads.
pub struct OutboxStream(pub Arc<Outbox>);

impl Stream for OutboxStream {
    type Item = Result<Bytes, actix_web::Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let mut inner = self.0.lock();
        if let Some(frame) = inner.queue.pop_front() {
            inner.queued -= frame.len();
            return Poll::Ready(Some(Ok(frame)));
        }
        if inner.closing {
            return Poll::Ready(None);
        }
        inner.waker = Some(cx.waker().clone());
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::StreamExt;

    #[test]
    fn a_big_frame_passes_an_empty_queue_only() {
        let outbox = Outbox::new(100);
        outbox.push_text(&"a".repeat(500)).unwrap();
        assert_eq!(outbox.room_left(), 0);
        assert_eq!(outbox.push_text("b"), Err(PushError::Overflow));
    }

    #[test]
    fn overflow_drops_queue_and_closes() {
        let outbox = Outbox::new(100);
        outbox.push_text(&"a".repeat(50)).unwrap();
        assert_eq!(outbox.push_text(&"b".repeat(60)), Err(PushError::Overflow));
        assert_eq!(outbox.push_text("c"), Err(PushError::Closed));
        let frames: Vec<Bytes> = futures::executor::block_on(
            OutboxStream(outbox).map(|f| f.unwrap()).collect::<Vec<_>>(),
        );
        assert_eq!(frames.len(), 1);
        assert_eq!(&frames[0][..4], &[0x88, 15, 0x0f, 0xa8]);
    }
}
