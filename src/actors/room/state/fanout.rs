//! Fan-out: rendering runs of deliveries once and handing the same bytes to
//! every subscriber at the same position; evicting subscribers whose outbox
//! overflowed or closed.

use super::guard::redact;
use super::{ConnId, Effect, RoomState, RECENT_BYTES};
use crate::protocol::{self, Dialect};
use crate::transport::{text_frame, PushError};
use crate::types::{Delivery, RoomName};
use bytes::Bytes;
use std::collections::HashMap;
use std::sync::Arc;

/// Recent deliveries kept in memory so joins and flushes rarely read the log.
const RECENT_CAPACITY: usize = 4096;

impl RoomState {
    /// Input: a push to a connection's outbox was refused. An overflow (the
    /// outbox queued a 4008 close) or a closed socket drops the subscriber.
    pub fn push_failed(&mut self, id: ConnId, error: PushError) -> Vec<Effect> {
        match error {
            PushError::Overflow => self.overflowed(id),
            PushError::Closed => self.evict(id, false),
        }
        self.effects()
    }

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
    pub(super) fn flush(&mut self) {
        if self.flush_timer {
            self.flush_timer = false;
            self.emit(Effect::Cancel(super::Timer::Flush));
        }
        if self.fenced {
            return;
        }
        let mut by_cursor: HashMap<(i64, Dialect), Vec<ConnId>> = HashMap::new();
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
            let Some(run) = self.run_since(cursor) else {
                for id in ids {
                    self.catch_up(id, cursor, false);
                }
                continue;
            };
            for (hidden, ids) in self.audiences(&run, ids) {
                let frames: Arc<[Bytes]> =
                    render(dialect, &self.name, &redact(&run, &hidden)).into();
                // Counted once per audience, never per socket.
                let bytes = frames.iter().map(Bytes::len).sum();
                let metrics = self.stats.metrics();
                metrics.frames_sent(dialect, frames.len(), bytes, ids.len());
                queued += frames.len() * ids.len();
                for id in ids {
                    self.send(id, frames.clone(), self.head);
                }
            }
        }
        if queued > 0 {
            self.time_delivered();
        }
        self.latency_observed = self.head;
        self.stats.frames_sent(queued);
        self.trim_recent();
    }

    /// Observes commit→queued latency of the deliveries first sent by this
    /// flush (once per delivery and room, not per subscriber). The only
    /// clock the state reads: for a metric, never for a decision.
    fn time_delivered(&self) {
        let now = crate::time::now_ms();
        let metrics = self.stats.metrics();
        let fresh = self.recent.iter().rev();
        for d in fresh.take_while(|d| d.seq > self.latency_observed) {
            metrics.delivered_after_ms(now - d.event.created_at);
        }
    }

    /// Keeps `recent` within [`RECENT_CAPACITY`] deliveries and
    /// [`RECENT_BYTES`]; what falls out is read from the log when needed.
    pub(super) fn trim_recent(&mut self) {
        while self.recent.len() > RECENT_CAPACITY
            || (self.recent_bytes > RECENT_BYTES && self.recent.len() > 1)
        {
            if let Some(d) = self.recent.pop_front() {
                self.recent_bytes = self.recent_bytes.saturating_sub(d.weight());
            }
        }
    }

    /// Pushes frames to one subscriber and moves its cursor to `to`, the
    /// last seq the frames carry. Should the push fail, the subscriber is
    /// dropped ([`RoomState::push_failed`]), so the cursor never lies.
    pub(super) fn send(&mut self, id: ConnId, frames: Arc<[Bytes]>, to: i64) {
        if let Some(sub) = self.subs.get_mut(&id) {
            sub.cursor = to;
            self.emit(Effect::Push { conn: id, frames });
        }
    }

    /// Drops a subscriber whose socket was closed with 4008 (slow consumer).
    pub(super) fn overflowed(&mut self, id: ConnId) {
        if self.subs.contains_key(&id) {
            self.stats.metrics().slow_consumer_closed();
        }
        self.evict(id, true);
    }

    /// Drops a subscriber and tells its connection.
    pub(super) fn evict(&mut self, id: ConnId, slow: bool) {
        let Some(sub) = self.subs.remove(&id) else {
            return;
        };
        self.emit(Effect::Evicted {
            conn: id,
            connection_join: sub.connection_join,
            slow,
        });
        self.subscribers_changed();
        self.idle_check();
        self.forget_if_gone(id);
    }
}

/// Renders a run of deliveries as text frames of a dialect.
pub(super) fn render(dialect: Dialect, room: &RoomName, run: &[Arc<Delivery>]) -> Vec<Bytes> {
    protocol::render(dialect, room, run)
        .iter()
        .map(|text| text_frame(text.as_bytes()))
        .collect()
}
