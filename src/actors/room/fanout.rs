//! Fan-out: rendering runs of deliveries once and pushing the same bytes to
//! every subscriber at the same position; evicting subscribers whose outbox
//! overflowed or closed.

use super::guard::redact;
use super::{CheckIdle, Room};
use crate::actors::client::RoomEvicted;
use crate::protocol::{self, Dialect};
use crate::transport::{text_frame, PushError};
use crate::types::{Delivery, RoomName};
use actix::prelude::*;
use bytes::Bytes;
use std::collections::HashMap;
use std::sync::Arc;

/// Recent deliveries kept in memory so joins and flushes rarely read the log.
const RECENT_CAPACITY: usize = 4096;

impl Room {
    /// Deliveries `(from, head]` from memory, or `None` if not all are there.
    pub(super) fn run_since(&self, from: i64) -> Option<Vec<Arc<Delivery>>> {
        if from >= self.head {
            return Some(Vec::new());
        }
        let first = self.recent.front()?.seq;
        if from + 1 < first {
            return None;
        }
        let skip = (from + 1 - first) as usize;
        Some(self.recent.iter().skip(skip).cloned().collect())
    }

    /// Sends every live subscriber what it has not had yet.
    pub(super) fn flush(&mut self, ctx: &mut Context<Self>) {
        if let Some(timer) = self.timer.take() {
            ctx.cancel_future(timer);
        }
        if self.fenced {
            return;
        }
        let mut by_cursor: HashMap<(i64, Dialect), Vec<u64>> = HashMap::new();
        for (id, sub) in &self.subs {
            if sub.live && sub.cursor < self.head {
                by_cursor
                    .entry((sub.cursor, sub.dialect))
                    .or_default()
                    .push(*id);
            }
        }
        let mut queued = 0;
        for ((cursor, dialect), ids) in by_cursor {
            match self.run_since(cursor) {
                Some(run) => {
                    for (hidden, ids) in self.audiences(&run, ids) {
                        let frames = render(dialect, &self.name, &redact(&run, &hidden));
                        // Counted once per audience, never per socket.
                        let bytes = frames.iter().map(Bytes::len).sum();
                        let metrics = self.env.stats.metrics();
                        metrics.frames_sent(dialect, frames.len(), bytes, ids.len());
                        queued += frames.len() * ids.len();
                        for id in ids {
                            self.send(id, &frames, self.head);
                        }
                    }
                }
                None => {
                    for id in ids {
                        self.catch_up(id, cursor, false, ctx);
                    }
                }
            }
        }
        if queued > 0 {
            self.time_delivered();
        }
        self.timed = self.head;
        self.env.stats.frames_sent(queued);
        self.trim_recent();
    }

    /// Observes commit→queued latency of the deliveries first sent by this
    /// flush (once per delivery and room, not per subscriber).
    fn time_delivered(&self) {
        let now = crate::time::now_ms();
        let metrics = self.env.stats.metrics();
        for d in self.recent.iter().rev().take_while(|d| d.seq > self.timed) {
            metrics.delivered_after_ms(now - d.event.created_at);
        }
    }

    /// Keeps `recent` within [`RECENT_CAPACITY`] deliveries and
    /// [`super::RECENT_BYTES`]; what falls out is read from the log when needed.
    pub(super) fn trim_recent(&mut self) {
        while self.recent.len() > RECENT_CAPACITY
            || (self.recent_bytes > super::RECENT_BYTES && self.recent.len() > 1)
        {
            if let Some(d) = self.recent.pop_front() {
                self.recent_bytes = self.recent_bytes.saturating_sub(d.weight());
            }
        }
    }

    /// Pushes frames to one subscriber and moves its cursor to `to`, the
    /// last seq the frames carry.
    pub(super) fn send(&mut self, id: u64, frames: &[Bytes], to: i64) {
        let Some(sub) = self.subs.get_mut(&id) else {
            return;
        };
        for frame in frames {
            match sub.outbox.push(frame.clone()) {
                Ok(()) => {}
                Err(PushError::Overflow) => return self.overflowed(id),
                Err(PushError::Closed) => return self.evict(id, false),
            }
        }
        sub.cursor = to;
    }

    /// Pushes one control frame (`subscribed`, `unsubscribed`, `error`).
    pub(super) fn push_text(&mut self, id: u64, text: &str) {
        let Some(sub) = self.subs.get(&id) else {
            return;
        };
        match sub.outbox.push(text_frame(text.as_bytes())) {
            Ok(()) => {}
            Err(PushError::Overflow) => self.overflowed(id),
            Err(PushError::Closed) => self.evict(id, false),
        }
    }

    /// Drops a subscriber whose socket was closed with 4008 (slow consumer).
    pub(super) fn overflowed(&mut self, id: u64) {
        self.env.stats.metrics().slow_consumer_closed();
        self.evict(id, true);
    }

    /// Drops a subscriber and tells its connection.
    pub(super) fn evict(&mut self, id: u64, slow: bool) {
        if let Some(sub) = self.subs.remove(&id) {
            sub.conn.do_send(RoomEvicted {
                room: self.name.clone(),
                slow,
                generation: sub.generation,
            });
            self.subscribers_changed();
            if self.subs.is_empty() {
                if let Some(me) = &self.me {
                    me.do_send(CheckIdle);
                }
            }
        }
    }

    /// Publishes the subscriber count to the live counters.
    pub(super) fn subscribers_changed(&mut self) {
        self.env.stats.set_room(self.name.as_str(), self.subs.len());
    }
}

/// Renders a run of deliveries as text frames of a dialect.
pub(super) fn render(dialect: Dialect, room: &RoomName, run: &[Arc<Delivery>]) -> Vec<Bytes> {
    protocol::render(dialect, room, run)
        .iter()
        .map(|text| text_frame(text.as_bytes()))
        .collect()
}
