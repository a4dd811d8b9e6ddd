//! Paced catch-up: what a subscriber is owed before it goes live (a replay
//! from the log or from memory) is handed to its outbox only as fast as the
//! socket drains, so a large resume never trips the slow-consumer budget.
//! A subscriber whose outbox does not drain at all for [`STALL_LIMIT`] is
//! closed with 4008 like any slow consumer.

use super::guard::redact;
use super::{Budget, ConnId, Effect, RoomState, Timer};
use crate::transport::CLOSE_SLOW_CONSUMER;
use crate::types::Delivery;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How often owed events are offered to outboxes that were full.
pub const PUMP_EVERY: Duration = Duration::from_millis(10);
/// A catching-up subscriber whose outbox takes nothing for this long is closed.
pub const STALL_LIMIT: Duration = Duration::from_secs(10);

impl RoomState {
    /// Input: how much a subscriber's outbox can take now (the answer to
    /// [`Effect::Measure`]), at `now`. Sends owed events while it has room;
    /// the subscriber goes live when paid.
    pub fn drained(&mut self, id: ConnId, budget: Budget, now: Instant) -> Vec<Effect> {
        self.pay(id, budget, now);
        self.effects()
    }

    /// Owes `run` (contiguous, after the subscriber's cursor) to a subscriber
    /// and asks how much its outbox can take now; it goes live once paid.
    pub(super) fn feed(&mut self, id: ConnId, run: Vec<Arc<Delivery>>) {
        let Some(sub) = self.subs.get_mut(&id) else {
            return;
        };
        sub.live = false;
        sub.owed.extend(run);
        if sub.owed.is_empty() {
            // A resume that missed nothing: live at once.
            return self.go_live(id);
        }
        if !self.fenced {
            self.emit(Effect::Measure { conn: id });
        }
    }

    /// Sends owed events that fit in `budget`; goes live when done.
    fn pay(&mut self, id: ConnId, budget: Budget, now: Instant) {
        // Nothing is sent while the node may have missed a revocation; the
        // catch-up that lifts the fence pays every owed subscriber.
        if self.fenced {
            return;
        }
        let Some(sub) = self.subs.get_mut(&id).filter(|s| !s.owed.is_empty()) else {
            return;
        };
        // Half of what is left, so frame overhead can never tip it over; at
        // least one envelope when the outbox is empty, however large.
        let allowance = budget.room_left / 2;
        let mut slice = Vec::new();
        let mut bytes = 0;
        while let Some(size) = sub.owed.front().map(|d| d.native().len()) {
            if bytes + size > allowance && !(slice.is_empty() && budget.empty) {
                break;
            }
            bytes += size;
            slice.extend(sub.owed.pop_front());
        }
        if slice.is_empty() {
            let stalled = *sub.stalled_since.get_or_insert(now);
            if now.saturating_duration_since(stalled) > STALL_LIMIT {
                self.emit(Effect::Close {
                    conn: id,
                    code: CLOSE_SLOW_CONSUMER,
                    reason: "slow consumer",
                });
                return self.overflowed(id);
            }
            return self.schedule_pay();
        }
        sub.stalled_since = None;
        let dialect = sub.dialect;
        let hidden = self.hidden_from(id, &slice);
        let frames = super::fanout::render(dialect, &self.name, &redact(&slice, &hidden));
        self.stats.frames_sent(frames.len());
        let bytes = frames.iter().map(|f| f.len()).sum();
        self.stats
            .metrics()
            .frames_sent(dialect, frames.len(), bytes, 1);
        let to = slice.last().map_or(0, |d| d.seq);
        self.send(id, frames.into(), to);
        match self.subs.get(&id) {
            Some(sub) if sub.owed.is_empty() => self.go_live(id),
            Some(_) => self.schedule_pay(),
            None => {}
        }
    }

    /// Offers owed events again after [`PUMP_EVERY`].
    fn schedule_pay(&mut self) {
        if !self.pay_timer {
            self.pay_timer = true;
            self.emit(Effect::Schedule {
                after: PUMP_EVERY,
                what: Timer::Pay,
            });
        }
    }

    /// Asks how much each subscriber that is owed events can take now.
    pub(super) fn pay_all(&mut self) {
        let mut owing: Vec<ConnId> = self
            .subs
            .iter()
            .filter(|(_, s)| !s.owed.is_empty())
            .map(|(id, _)| *id)
            .collect();
        owing.sort_unstable();
        for conn in owing {
            self.emit(Effect::Measure { conn });
        }
    }
}
