//! Paced catch-up: what a subscriber is owed before it goes live (a replay
//! from the log or from memory) is handed to its outbox only as fast as the
//! socket drains, so a large resume never trips the slow-consumer budget.
//! A subscriber whose outbox does not drain at all for [`STALL_LIMIT`] is
//! closed with 4008 like any slow consumer.

use super::guard::redact;
use super::Room;
use crate::transport::{PushError, CLOSE_SLOW_CONSUMER};
use crate::types::Delivery;
use actix::prelude::*;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How often owed events are offered to outboxes that were full.
const PUMP_EVERY: Duration = Duration::from_millis(10);
/// A catching-up subscriber whose outbox takes nothing for this long is closed.
const STALL_LIMIT: Duration = Duration::from_secs(10);

impl Room {
    /// Owes `run` (contiguous, after the subscriber's cursor) to a subscriber
    /// and sends what its outbox can take now; it goes live once paid.
    pub(super) fn feed(&mut self, id: u64, run: Vec<Arc<Delivery>>, ctx: &mut Context<Self>) {
        let Some(sub) = self.subs.get_mut(&id) else {
            return;
        };
        sub.live = false;
        sub.owed.extend(run);
        self.pay(id, ctx);
    }

    /// Sends owed events while the outbox has room; goes live when done.
    fn pay(&mut self, id: u64, ctx: &mut Context<Self>) {
        let Some(sub) = self.subs.get_mut(&id) else {
            return;
        };
        if sub.owed.is_empty() {
            // A resume that missed nothing: live at once.
            return self.go_live(id, ctx);
        }
        if self.fenced {
            // Nothing is sent while the node may have missed a revocation;
            // the catch-up that lifts the fence pays every owed subscriber.
            return;
        }
        // Half of what is left, so frame overhead can never tip it over; at
        // least one envelope when the outbox is empty, however large.
        let allowance = sub.outbox.room_left() / 2;
        let empty = sub.outbox.queued_bytes() == 0;
        let mut slice = Vec::new();
        let mut bytes = 0;
        while let Some(size) = sub.owed.front().map(|d| d.native().len()) {
            if bytes + size > allowance && !(slice.is_empty() && empty) {
                break;
            }
            bytes += size;
            slice.extend(sub.owed.pop_front());
        }
        if slice.is_empty() {
            let stalled = *sub.stalled_since.get_or_insert_with(Instant::now);
            if stalled.elapsed() > STALL_LIMIT {
                sub.outbox.close(CLOSE_SLOW_CONSUMER, "slow consumer");
                return self.overflowed(id);
            }
            return self.schedule_pay(ctx);
        }
        sub.stalled_since = None;
        let to = slice.last().map_or(sub.cursor, |d| d.seq);
        let dialect = sub.dialect;
        let hidden = self.hidden_from(id, &slice);
        let frames = super::fanout::render(dialect, &self.name, &redact(&slice, &hidden));
        self.env.stats.frames_sent(frames.len());
        let Some(sub) = self.subs.get_mut(&id) else {
            return;
        };
        let bytes = frames.iter().map(|f| f.len()).sum();
        let metrics = self.env.stats.metrics();
        metrics.frames_sent(dialect, frames.len(), bytes, 1);
        for frame in frames {
            match sub.outbox.push(frame) {
                Ok(()) => {}
                Err(PushError::Overflow) => return self.overflowed(id),
                Err(PushError::Closed) => return self.evict(id, false),
            }
        }
        sub.cursor = to;
        if sub.owed.is_empty() {
            self.go_live(id, ctx);
        } else {
            self.schedule_pay(ctx);
        }
    }

    fn schedule_pay(&mut self, ctx: &mut Context<Self>) {
        if self.pay_timer.is_some() {
            return;
        }
        self.pay_timer = Some(ctx.run_later(PUMP_EVERY, |act, ctx| {
            act.pay_timer = None;
            act.pay_all(ctx);
        }));
    }

    /// Offers every subscriber that is owed events what its outbox can take.
    pub(super) fn pay_all(&mut self, ctx: &mut Context<Self>) {
        let owing: Vec<u64> = self
            .subs
            .iter()
            .filter(|(_, s)| !s.owed.is_empty())
            .map(|(id, _)| *id)
            .collect();
        for id in owing {
            self.pay(id, ctx);
        }
    }
}
