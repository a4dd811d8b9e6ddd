//! Joining: a fresh join gets the snapshot read with its seq; a resume gets
//! the gap from memory or from the log; a subscriber is live only once it has
//! everything up to the room's head.

use super::{blocking, guard, Join, Room, Sub, MAX_REPLAY, REPLAY_PAGE};
use crate::db::events;
use crate::domain::snapshot;
use crate::error::AppError;
use crate::metrics::Resume;
use crate::protocol::{self, Answer, Dialect};
use actix::prelude::*;
use serde_json::Value;
use std::collections::VecDeque;
use std::sync::Arc;

impl Room {
    /// Adds a subscriber: again to a room it is in (answered, nothing resent),
    /// resuming from memory, resuming from the log, or fresh with a snapshot.
    pub(super) fn join(&mut self, msg: Join, ctx: &mut Context<Self>) {
        // A resume past the head names a seq another node committed that
        // this room has not read yet: read the log up to it first.
        if let Some(since) = msg.since.filter(|s| *s > self.head) {
            if !self.subs.contains_key(&msg.sub.conn_id) {
                self.target = self.target.max(since);
                self.deferred.push(msg);
                return self.fetch_gap(ctx);
            }
        }
        self.join_now(msg, ctx);
    }

    /// [`Room::join`] at the room's current head.
    pub(super) fn join_now(&mut self, msg: Join, ctx: &mut Context<Self>) {
        self.join_checked(msg, true, ctx);
    }

    /// [`Room::join`]; a refusal is first checked against the database when
    /// `recheck` (the room may not have learned a grant that just committed).
    fn join_checked(&mut self, msg: Join, recheck: bool, ctx: &mut Context<Self>) {
        let id = msg.sub.conn_id;
        if self.subs.contains_key(&id) {
            return self.join_again(id, msg, ctx);
        }
        if !self.may_join(&msg.sub.identity) {
            if recheck {
                return self.recheck(msg, ctx);
            }
            self.refuse(msg.sub);
            return self.idle_check(ctx);
        }
        self.tokens += 1;
        self.subs.insert(
            id,
            Sub {
                identity: msg.sub.identity,
                acks: msg.sub.ack.into_iter().collect(),
                outbox: msg.sub.outbox,
                dialect: msg.sub.dialect,
                generation: msg.sub.generation,
                conn: msg.sub.conn,
                cursor: 0,
                live: false,
                answered: false,
                token: self.tokens,
                owed: VecDeque::new(),
                stalled_since: None,
            },
        );
        self.subscribers_changed();
        match msg.since {
            Some(since) if self.can_replay(since) => match self.run_since(since) {
                Some(run) => {
                    self.resumed(Resume::replayed);
                    self.send_subscribed(id, self.head, true, None);
                    if let Some(sub) = self.subs.get_mut(&id) {
                        sub.cursor = since;
                    }
                    self.feed(id, run, ctx);
                }
                None => self.catch_up(id, since, true, ctx),
            },
            since => {
                if since.is_some() {
                    self.resumed(Resume::snapshot);
                }
                self.snapshot(id, ctx)
            }
        }
    }

    /// Counts how a resume was answered (`/metrics`).
    fn resumed(&self, outcome: Resume) {
        self.env.stats.metrics().resumed(outcome);
    }

    /// A subscribe from a connection already in the room. Nothing is ever
    /// sent twice. Before its first `subscribed` went out, that answer
    /// answers this one too. Without `since`, a native or Socket.IO
    /// subscriber gets a fresh snapshot (`recovered:false`) whose seq becomes
    /// its cursor: any read or replay in flight for it is dropped (a new
    /// token), and since the snapshot is read after every event it was sent
    /// committed, its seq is at or past the cursor (the events in between
    /// are in the snapshot; the ones after follow). With `since`, or on a
    /// single-room dialect (no snapshot there), it is answered with the
    /// subscriber's position.
    fn join_again(&mut self, id: u64, msg: Join, ctx: &mut Context<Self>) {
        let Some(sub) = self.subs.get_mut(&id) else {
            return;
        };
        if !sub.answered {
            sub.acks.extend(msg.sub.ack);
            return;
        }
        if msg.since.is_none() && matches!(sub.dialect, Dialect::Native | Dialect::SocketIo) {
            self.tokens += 1;
            sub.token = self.tokens;
            sub.owed.clear();
            sub.stalled_since = None;
            sub.acks.extend(msg.sub.ack);
            return self.snapshot(id, ctx);
        }
        let answer = Answer {
            dialect: sub.dialect,
            ack: msg.sub.ack,
        };
        let frame = protocol::subscribed_frame(answer, &self.name, sub.cursor, true, None);
        self.push_text(id, &frame);
    }

    /// Whether a resume after `since` can be served as a replay: not ahead of
    /// the room, not further behind than [`MAX_REPLAY`], and within what
    /// `events.retention_per_room` keeps.
    fn can_replay(&self, since: i64) -> bool {
        let behind = self.head - since;
        let retention = self.env.retention;
        (0..=MAX_REPLAY).contains(&behind) && (retention == 0 || behind <= retention as i64)
    }

    /// Reads `(from, head]` from the log for one subscriber, one page
    /// ([`REPLAY_PAGE`]) at a time: the next page is read once this one was
    /// sent (`go_live` comes back here while the cursor is behind). A
    /// `resume` sends `subscribed` first; if the log no longer has it all, a
    /// snapshot is sent.
    pub(super) fn catch_up(&mut self, id: u64, from: i64, resume: bool, ctx: &mut Context<Self>) {
        let Some(sub) = self.subs.get_mut(&id) else {
            return;
        };
        sub.live = false;
        let token = sub.token;
        let (pool, room, upto) = (self.env.pool.clone(), self.name.clone(), self.head);
        let page = (upto - from).min(REPLAY_PAGE);
        let read = blocking(move || Ok(events::replay(&mut *pool.get()?, &room, from, page)?));
        ctx.spawn(read.into_actor(self).map(move |result, act, ctx| {
            if act.subs.get(&id).is_none_or(|s| s.token != token) {
                return;
            }
            match result {
                Ok(found)
                    if found.len() as i64 == page
                        && found.first().is_none_or(|d| d.seq == from + 1) =>
                {
                    if resume {
                        act.resumed(Resume::replayed);
                        act.send_subscribed(id, upto, true, None);
                    }
                    if let Some(sub) = act.subs.get_mut(&id) {
                        sub.cursor = from;
                    }
                    act.feed(id, found, ctx);
                }
                Ok(_) => {
                    if resume {
                        act.resumed(Resume::snapshot);
                    }
                    act.snapshot(id, ctx)
                }
                Err(err) => act.fail(id, &err),
            }
        }));
    }

    /// Re-reads the room's access facts, learns them, then joins or refuses.
    fn recheck(&mut self, msg: Join, ctx: &mut Context<Self>) {
        let (pool, room) = (self.env.pool.clone(), self.name.clone());
        let read = blocking(move || Ok(guard::read_start(&mut *pool.get()?, &room)?));
        ctx.spawn(read.into_actor(self).map(move |result, act, ctx| {
            match result {
                Ok((_, facts)) => act.learn(facts.into_iter().map(Arc::new).collect()),
                Err(err) => log::warn!(room = act.name.as_str(); "room {}: cannot re-read access: {err}", act.name),
            }
            act.join_checked(msg, false, ctx);
        }));
    }

    /// Marks a subscriber live and sends what arrived meanwhile.
    pub(super) fn go_live(&mut self, id: u64, ctx: &mut Context<Self>) {
        let Some(sub) = self.subs.get_mut(&id) else {
            return;
        };
        sub.live = true;
        let cursor = sub.cursor;
        if cursor < self.head {
            match self.run_since(cursor) {
                Some(run) => self.feed(id, run, ctx),
                None => self.catch_up(id, cursor, false, ctx),
            }
        }
    }

    /// Reads the room's snapshot and seq for one subscriber, then sends
    /// `subscribed` (`recovered:false`) and makes it live from that seq.
    pub(super) fn snapshot(&mut self, id: u64, ctx: &mut Context<Self>) {
        let Some(sub) = self.subs.get_mut(&id) else {
            return;
        };
        sub.live = false;
        let token = sub.token;
        let (pool, room) = (self.env.pool.clone(), self.name.clone());
        let who = sub.identity.clone();
        let read = blocking(move || Ok(snapshot::read(&mut *pool.get()?, &room, &who)?));
        ctx.spawn(read.into_actor(self).map(move |result, act, ctx| {
            if act.subs.get(&id).is_none_or(|s| s.token != token) {
                return;
            }
            match result {
                // Access ended after the join was let in: the snapshot says so.
                Ok(None) => act.revoke(id),
                Ok(Some((snap, seq))) => {
                    act.send_subscribed(id, seq, false, snap.as_ref());
                    if let Some(sub) = act.subs.get_mut(&id) {
                        sub.cursor = seq;
                    }
                    act.go_live(id, ctx);
                }
                Err(err) => act.fail(id, &err),
            }
        }));
    }

    /// How to answer this subscriber's pending `subscribe`s: one answer per
    /// Socket.IO ack it asked for (each answered once), else one plain answer.
    pub(super) fn answers(&mut self, id: u64) -> Vec<Answer> {
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
    fn send_subscribed(&mut self, id: u64, seq: i64, recovered: bool, snapshot: Option<&Value>) {
        if let Some(sub) = self.subs.get_mut(&id) {
            sub.answered = true;
        }
        for answer in self.answers(id) {
            let frame = protocol::subscribed_frame(answer, &self.name, seq, recovered, snapshot);
            self.push_text(id, &frame);
        }
    }

    /// A read for this subscriber failed: tell it and drop it from the room.
    fn fail(&mut self, id: u64, err: &AppError) {
        let answers = self.answers(id);
        let dialect = answers.first().map_or(Dialect::Native, |a| a.dialect);
        for answer in answers {
            let frame = protocol::error_frame(answer, err, Some(&self.name));
            self.push_text(id, &frame);
        }
        let plain = Answer::plain(dialect);
        let frame = protocol::unsubscribed_frame(plain, &self.name, "unavailable", None);
        self.push_text(id, &frame);
        self.evict(id, false);
    }
}
