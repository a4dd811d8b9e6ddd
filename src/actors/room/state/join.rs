//! Joining: a fresh join gets the snapshot read with its seq; a resume gets
//! the gap from memory or from the log; a subscriber is live only once it has
//! everything up to the room's head.

use super::{ConnId, Effect, Joiner, Read, ReplayRead, RoomState, Sub, MAX_REPLAY, REPLAY_PAGE};
use crate::access::SessionAccess;
use crate::error::AppError;
use crate::metrics::Resume;
use crate::protocol::{self, Answer, Dialect};
use crate::types::Delivery;
use serde_json::Value;
use std::collections::VecDeque;
use std::sync::Arc;

/// A snapshot and its seq, or `None` when the reader may not see it.
pub type SnapshotResult = Result<Option<(Option<Value>, i64)>, AppError>;

impl RoomState {
    /// Input: a page of a subscriber's catch-up came back ([`Read::Replay`]).
    /// If the log no longer has it all, the subscriber gets a snapshot.
    pub fn replay_read(
        &mut self,
        read: ReplayRead,
        result: Result<Vec<Arc<Delivery>>, AppError>,
    ) -> Vec<Effect> {
        let id = read.conn;
        if !self.is_current(id, read.catch_up) {
            return self.effects();
        }
        match result {
            Ok(found)
                if found.len() as i64 == read.page
                    && found.first().is_none_or(|d| d.seq == read.from + 1) =>
            {
                if read.resume {
                    self.resumed(Resume::replayed);
                    self.send_subscribed(id, read.upto, true, None);
                }
                if let Some(sub) = self.subs.get_mut(&id) {
                    sub.cursor = read.from;
                }
                self.feed(id, found);
            }
            Ok(_) => {
                if read.resume {
                    self.resumed(Resume::snapshot);
                }
                self.snapshot(id);
            }
            Err(err) => self.fail(id, &err),
        }
        self.effects()
    }

    /// Input: a subscriber's snapshot came back ([`Read::Snapshot`]): it is
    /// answered `subscribed` (`recovered:false`) and live from that seq.
    pub fn snapshot_read(
        &mut self,
        id: ConnId,
        catch_up: u64,
        result: SnapshotResult,
    ) -> Vec<Effect> {
        if !self.is_current(id, catch_up) {
            return self.effects();
        }
        match result {
            // Access ended after the join was let in: the snapshot says so.
            Ok(None) => self.revoke(id),
            Ok(Some((snap, seq))) => {
                self.send_subscribed(id, seq, false, snap.as_ref());
                if let Some(sub) = self.subs.get_mut(&id) {
                    sub.cursor = seq;
                }
                self.go_live(id);
            }
            Err(err) => self.fail(id, &err),
        }
        self.effects()
    }

    /// Input: the access facts re-read for a join about to be refused
    /// ([`Read::Recheck`]). A join whose connection left meanwhile is dropped.
    pub fn rechecked(
        &mut self,
        joiner: Joiner,
        result: Result<Vec<SessionAccess>, AppError>,
    ) -> Vec<Effect> {
        let key = (joiner.conn, joiner.connection_join);
        let Some(at) = self.rechecking.iter().position(|k| *k == key) else {
            return self.effects();
        };
        self.rechecking.swap_remove(at);
        match result {
            Ok(facts) => self.learn(facts.into_iter().map(Arc::new).collect()),
            Err(err) => {
                log::warn!(room = self.name.as_str(); "room {}: cannot re-read access: {err}", self.name)
            }
        }
        self.admit_checked(joiner, false);
        self.effects()
    }

    /// Whether `catch_up` is the subscriber's current one (its read is not stale).
    fn is_current(&self, id: ConnId, catch_up: u64) -> bool {
        self.subs.get(&id).is_some_and(|s| s.catch_up == catch_up)
    }

    /// Adds a subscriber: again to a room it is in (answered, nothing resent),
    /// resuming from memory, resuming from the log, or fresh with a snapshot.
    pub(super) fn admit(&mut self, joiner: Joiner) {
        // A resume past the head names a seq another node committed that
        // this room has not read yet: read the log up to it first.
        if let Some(since) = joiner.since.filter(|s| *s > self.head) {
            if !self.subs.contains_key(&joiner.conn) {
                self.committed = self.committed.max(since);
                self.deferred.push(joiner);
                return self.fetch_gap();
            }
        }
        self.admit_now(joiner);
    }

    /// [`RoomState::admit`] at the room's current head.
    pub(super) fn admit_now(&mut self, joiner: Joiner) {
        self.admit_checked(joiner, true);
    }

    /// [`RoomState::admit`]; a refusal is first checked against the database
    /// when `recheck` (the room may not have learned a grant that just committed).
    fn admit_checked(&mut self, joiner: Joiner, recheck: bool) {
        let id = joiner.conn;
        if self.subs.contains_key(&id) {
            return self.join_again(joiner);
        }
        if !self.may_join(&joiner.identity) {
            if recheck {
                self.rechecking.push((id, joiner.connection_join));
                return self.emit(Effect::Read(Read::Recheck(Box::new(joiner))));
            }
            self.refuse(&joiner);
            return self.idle_check();
        }
        self.catch_ups_started += 1;
        self.subs.insert(
            id,
            Sub {
                identity: joiner.identity,
                acks: joiner.ack.into_iter().collect(),
                dialect: joiner.dialect,
                connection_join: joiner.connection_join,
                cursor: 0,
                live: false,
                answered: false,
                catch_up: self.catch_ups_started,
                owed: VecDeque::new(),
                stalled_since: None,
            },
        );
        self.subscribers_changed();
        match joiner.since {
            Some(since) if self.can_replay(since) => match self.run_since(since) {
                Some(run) => {
                    self.resumed(Resume::replayed);
                    self.send_subscribed(id, self.head, true, None);
                    if let Some(sub) = self.subs.get_mut(&id) {
                        sub.cursor = since;
                    }
                    self.feed(id, run);
                }
                None => self.catch_up(id, since, true),
            },
            since => {
                if since.is_some() {
                    self.resumed(Resume::snapshot);
                }
                self.snapshot(id)
            }
        }
    }

    /// Counts how a resume was answered (`/metrics`).
    fn resumed(&self, outcome: Resume) {
        self.stats.metrics().resumed(outcome);
    }

    /// A subscribe from a connection already in the room. Nothing is ever
    /// sent twice. Before its first `subscribed` went out, that answer
    /// answers this one too. Without `since`, a native or Socket.IO
    /// subscriber gets a fresh snapshot (`recovered:false`) whose seq becomes
    /// its cursor: any read or replay in flight for it is dropped (a new
    /// catch-up), and since the snapshot is read after every event it was
    /// sent committed, its seq is at or past the cursor (the events in
    /// between are in the snapshot; the ones after follow). With `since`, or
    /// on a single-room dialect (no snapshot there), it is answered with the
    /// subscriber's position.
    fn join_again(&mut self, joiner: Joiner) {
        let id = joiner.conn;
        let next = self.catch_ups_started + 1;
        let Some(sub) = self.subs.get_mut(&id) else {
            return;
        };
        if !sub.answered {
            sub.acks.extend(joiner.ack);
            return;
        }
        if joiner.since.is_none() && matches!(sub.dialect, Dialect::Native | Dialect::SocketIo) {
            self.catch_ups_started = next;
            sub.catch_up = next;
            sub.owed.clear();
            sub.stalled_since = None;
            sub.acks.extend(joiner.ack);
            return self.snapshot(id);
        }
        let answer = Answer {
            dialect: sub.dialect,
            ack: joiner.ack,
        };
        let frame = protocol::subscribed_frame(answer, &self.name, sub.cursor, true, None);
        self.emit(Effect::Text {
            conn: id,
            text: frame,
        });
    }

    /// Whether a resume after `since` can be served as a replay: not ahead of
    /// the room, not further behind than [`MAX_REPLAY`], and within what
    /// `events.retention_per_room` keeps.
    fn can_replay(&self, since: i64) -> bool {
        let behind = self.head - since;
        let retention = self.settings.retention;
        (0..=MAX_REPLAY).contains(&behind) && (retention == 0 || behind <= retention as i64)
    }

    /// Reads `(from, head]` from the log for one subscriber, one page
    /// ([`REPLAY_PAGE`]) at a time: the next page is read once this one was
    /// sent (`go_live` comes back here while the cursor is behind). A
    /// `resume` sends `subscribed` first.
    pub(super) fn catch_up(&mut self, id: ConnId, from: i64, resume: bool) {
        let upto = self.head;
        let Some(sub) = self.subs.get_mut(&id) else {
            return;
        };
        sub.live = false;
        let read = ReplayRead {
            conn: id,
            catch_up: sub.catch_up,
            from,
            page: (upto - from).min(REPLAY_PAGE),
            upto,
            resume,
        };
        self.emit(Effect::Read(Read::Replay(read)));
    }

    /// Marks a subscriber live and sends what arrived meanwhile.
    pub(super) fn go_live(&mut self, id: ConnId) {
        let Some(sub) = self.subs.get_mut(&id) else {
            return;
        };
        sub.live = true;
        let cursor = sub.cursor;
        if cursor < self.head {
            match self.run_since(cursor) {
                Some(run) => self.feed(id, run),
                None => self.catch_up(id, cursor, false),
            }
        }
    }

    /// Reads the room's snapshot and seq for one subscriber.
    pub(super) fn snapshot(&mut self, id: ConnId) {
        let Some(sub) = self.subs.get_mut(&id) else {
            return;
        };
        sub.live = false;
        let read = Read::Snapshot {
            conn: id,
            catch_up: sub.catch_up,
            identity: sub.identity.clone(),
        };
        self.emit(Effect::Read(read));
    }

    /// How to answer this subscriber's pending `subscribe`s: one answer per
    /// Socket.IO ack it asked for (each answered once), else one plain answer.
    pub(super) fn answers(&mut self, id: ConnId) -> Vec<Answer> {
        let Some(sub) = self.subs.get_mut(&id) else {
            return Vec::new();
        };
        let dialect = sub.dialect;
        if sub.acks.is_empty() {
            return vec![Answer::plain(dialect)];
        }
        sub.acks
            .drain(..)
            .map(|ack| Answer {
                dialect,
                ack: Some(ack),
            })
            .collect()
    }

    /// Sends `subscribed` as the subscriber wants it (once per pending ack).
    fn send_subscribed(&mut self, id: ConnId, seq: i64, recovered: bool, snapshot: Option<&Value>) {
        if let Some(sub) = self.subs.get_mut(&id) {
            sub.answered = true;
        }
        for answer in self.answers(id) {
            let text = protocol::subscribed_frame(answer, &self.name, seq, recovered, snapshot);
            self.emit(Effect::Text { conn: id, text });
        }
    }

    /// A read for this subscriber failed: tell it and drop it from the room.
    fn fail(&mut self, id: ConnId, err: &AppError) {
        let answers = self.answers(id);
        let dialect = answers.first().map_or(Dialect::Native, |a| a.dialect);
        for answer in answers {
            let text = protocol::error_frame(answer, err, Some(&self.name));
            self.emit(Effect::Text { conn: id, text });
        }
        let plain = Answer::plain(dialect);
        let text = protocol::unsubscribed_frame(plain, &self.name, "unavailable", None);
        self.emit(Effect::Text { conn: id, text });
        self.evict(id, false);
    }
}
