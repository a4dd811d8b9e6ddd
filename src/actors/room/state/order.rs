//! Ordering: how deliveries reach the room's head. Commit notifications
//! can arrive out of order or with a gap (a room that just started, a
//! notification from another node); they wait in the stash and the room
//! reads the missing seqs from the log. Another node's head (`Behind`)
//! makes the room read up to it.

use super::{Effect, Read, RoomState, Timer, RETRY_LOAD};
use crate::access::SessionAccess;
use crate::error::AppError;
use crate::types::Delivery;
use std::sync::Arc;

impl RoomState {
    /// Input: deliveries to this room that just committed, in seq order,
    /// and the access facts those commits changed (applied first).
    pub fn publish(
        &mut self,
        deliveries: Vec<Arc<Delivery>>,
        access: Vec<Arc<SessionAccess>>,
    ) -> Vec<Effect> {
        self.learn(access);
        let mut urgent = false;
        for d in deliveries {
            if d.seq > self.head {
                urgent |= d.event.priority;
                self.stash.insert(d.seq, d);
            }
        }
        if self.loaded {
            self.absorb();
            self.flush_soon(urgent);
        }
        self.effects()
    }

    /// Input: another node committed up to `seq` in this room.
    pub fn behind(&mut self, seq: i64) -> Vec<Effect> {
        if seq > self.head {
            self.committed = self.committed.max(seq);
            if self.loaded {
                self.fetch_gap();
            }
        }
        self.effects()
    }

    /// Input: the room's last seq and access facts ([`Read::Head`]). The
    /// first one sets the head (the room begins there); a later one (a
    /// refresh) is a seq to read up to, and lifts the fence if asked.
    pub fn head_read(
        &mut self,
        unfence: bool,
        result: Result<(i64, Vec<SessionAccess>), AppError>,
    ) -> Vec<Effect> {
        let (seq, book) = match result {
            Ok(read) => read,
            Err(err) => {
                log::warn!(room = self.name.as_str(); "room {}: cannot read head: {err}", self.name);
                self.emit(Effect::Schedule {
                    after: RETRY_LOAD,
                    what: Timer::RetryHead { unfence },
                });
                return self.effects();
            }
        };
        self.learn(book.into_iter().map(Arc::new).collect());
        if self.loaded {
            self.committed = self.committed.max(seq);
        } else {
            self.head = self.head.max(seq);
            self.loaded = true;
        }
        if unfence {
            self.fenced = false;
        }
        self.absorb();
        if self.head < self.committed {
            self.fetch_gap();
        }
        if !self.fenced {
            for joiner in std::mem::take(&mut self.waiting) {
                self.admit(joiner);
            }
            if unfence {
                self.pay_all();
            }
        }
        self.flush();
        self.effects()
    }

    /// Input: a page of the log past the head ([`Read::Gap`]) and the
    /// access facts read with it.
    pub fn gap_read(
        &mut self,
        result: Result<(Vec<Arc<Delivery>>, Vec<SessionAccess>), AppError>,
    ) -> Vec<Effect> {
        self.fetching = false;
        let (found, facts) = match result {
            Ok(read) => read,
            Err(err) => {
                log::warn!(room = self.name.as_str(); "room {}: cannot read gap: {err}", self.name);
                self.emit(Effect::Schedule {
                    after: RETRY_LOAD,
                    what: Timer::RetryGap,
                });
                return self.effects();
            }
        };
        // Facts as of this read: whatever changed access before these
        // events committed (on any node) applies first.
        self.learn(facts.into_iter().map(Arc::new).collect());
        if found.is_empty() {
            // The log has nothing past the head: a hint was stale.
            self.committed = self.head;
        }
        if let Some(first) = found.first().filter(|d| d.seq > self.head + 1) {
            log::warn!(
                room = self.name.as_str();
                "room {}: seqs {}..{} pruned",
                self.name,
                self.head + 1,
                first.seq
            );
            self.head = first.seq - 1;
            self.recent.clear();
            self.recent_bytes = 0;
        }
        // Events other nodes committed wait for the batching window like
        // this node's own.
        let urgent = found.iter().any(|d| d.event.priority);
        for d in found {
            self.stash.insert(d.seq, d);
        }
        self.absorb();
        self.flush_soon(urgent);
        if self.head < self.committed {
            self.fetch_gap();
        } else {
            for joiner in std::mem::take(&mut self.deferred) {
                self.admit_now(joiner);
            }
        }
        self.effects()
    }

    /// Moves contiguous stashed deliveries into `recent`; reads the log on a gap.
    pub(super) fn absorb(&mut self) {
        while let Some(entry) = self.stash.first_entry() {
            let seq = *entry.key();
            if seq <= self.head {
                entry.remove();
            } else if seq == self.head + 1 {
                let d = entry.remove();
                self.recent_bytes += d.weight();
                self.recent.push_back(d);
                self.head = seq;
            } else {
                self.fetch_gap();
                break;
            }
        }
        self.trim_recent();
    }

    /// Reads the log past the head, unless such a read is in flight.
    pub(super) fn fetch_gap(&mut self) {
        if !self.fetching {
            self.fetching = true;
            let from = self.head;
            self.emit(Effect::Read(Read::Gap { from }));
        }
    }

    /// Flushes now if `urgent` (a priority event) or without a batching
    /// window; else once the window is over.
    pub(super) fn flush_soon(&mut self, urgent: bool) {
        let window = self.settings.batch_window;
        if urgent || window.is_zero() {
            self.flush();
        } else if !self.flush_timer {
            self.flush_timer = true;
            self.emit(Effect::Schedule {
                after: window,
                what: Timer::Flush,
            });
        }
    }
}
