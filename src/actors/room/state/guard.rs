//! Access inside a room: who may join, who is removed when access changes
//! (revocation), and which events a project-room subscriber gets redacted.
//!
//! The room keeps the access facts of the sessions it carries (`book`): read
//! with its head when it starts, then replaced by the newer facts that come
//! with each commit that changed them (in commit order, with the deliveries).
//! Revocation is therefore driven by the committed change itself, whichever
//! writer made it. Decisions use the facts current when a frame is rendered:
//! a session made private stops showing at once, also in replays.

use super::{ConnId, Effect, Joiner, RoomState};
use crate::access::{self, Identity, SessionAccess};
use crate::error::AppError;
use crate::protocol::{self, Answer, Dialect};
use crate::transport::CLOSE_REVOKED;
use crate::types::{Delivery, RoomKind};
use std::borrow::Cow;
use std::sync::Arc;

/// Session ids a subscriber may not read, in the order the run names them.
pub(super) type Hidden = Vec<String>;

impl RoomState {
    /// Takes access facts; a newer version replaces an older one, an older
    /// one (a commit that reached this room after a later one) is dropped. A
    /// session room then removes whoever may no longer read it.
    pub(super) fn learn(&mut self, facts: Vec<Arc<SessionAccess>>) {
        if facts.is_empty() {
            return;
        }
        for f in facts {
            if self
                .book
                .get(&f.session_id)
                .is_none_or(|known| f.supersedes(known))
            {
                self.book.insert(f.session_id.clone(), f);
            }
        }
        self.enforce();
    }

    /// A session room's own session, once it exists.
    fn own_session(&self) -> Option<&SessionAccess> {
        match self.name.kind() {
            RoomKind::Session(id) => self.book.get(id).map(|a| &**a),
            _ => None,
        }
    }

    /// Whether `who` may join this room now.
    pub(super) fn may_join(&self, who: &Identity) -> bool {
        access::may_read_room(who, self.name.kind(), self.own_session())
    }

    /// Answers a join that may not happen: an `error` frame `forbidden` on
    /// the native socket (which stays open), a 4003 close on a single-room one.
    pub(super) fn refuse(&mut self, joiner: &Joiner) {
        let conn = joiner.conn;
        let single_room = is_single_room(joiner.dialect);
        if single_room {
            self.emit(Effect::Close {
                conn,
                code: CLOSE_REVOKED,
                reason: "Access revoked",
            });
        } else {
            let err = AppError::Forbidden(format!("you may not read {}", self.name));
            let answer = Answer {
                dialect: joiner.dialect,
                ack: joiner.ack,
            };
            let text = protocol::error_frame(answer, &err, Some(&self.name));
            self.emit(Effect::Text { conn, text });
        }
        self.emit(Effect::Evicted {
            conn,
            connection_join: joiner.connection_join,
            slow: single_room,
        });
        self.forget_if_gone(conn);
    }

    /// Session rooms: removes every subscriber that may no longer read.
    fn enforce(&mut self) {
        let Some(session) = self.own_session() else {
            return;
        };
        let mut revoked: Vec<ConnId> = self
            .subs
            .iter()
            .filter(|(_, sub)| !session.can_read(&sub.identity))
            .map(|(id, _)| *id)
            .collect();
        revoked.sort_unstable();
        for id in revoked {
            self.revoke(id);
        }
    }

    /// Removes a subscriber whose access ended: `unsubscribed` with reason
    /// `revoked` and code 4003 on the native socket (its other rooms stay),
    /// a 4003 "Access revoked" close on a single-room socket.
    pub(super) fn revoke(&mut self, id: ConnId) {
        let Some(sub) = self.subs.get(&id) else {
            return;
        };
        log::debug!(
            room = self.name.as_str(), connection_id = id;
            "room {}: access revoked for connection {id}", self.name
        );
        let metrics = self.stats.metrics();
        metrics.revoked(crate::metrics::Revocation::access);
        if is_single_room(sub.dialect) {
            self.emit(Effect::Close {
                conn: id,
                code: CLOSE_REVOKED,
                reason: "Access revoked",
            });
            return self.evict(id, true);
        }
        let dialect = sub.dialect;
        // A `subscribe` still waiting for its ack gets a failed one.
        let err = AppError::Forbidden(format!("you may not read {}", self.name));
        for answer in self.answers(id).into_iter().filter(|a| a.ack.is_some()) {
            let text = protocol::error_frame(answer, &err, Some(&self.name));
            self.emit(Effect::Text { conn: id, text });
        }
        let answer = Answer::plain(dialect);
        let text = protocol::unsubscribed_frame(answer, &self.name, "revoked", Some(CLOSE_REVOKED));
        self.emit(Effect::Text { conn: id, text });
        self.evict(id, false);
    }

    /// Project rooms: the sessions named in `run` that not everyone may read.
    fn private_in<'a>(&self, run: &'a [Arc<Delivery>]) -> Vec<&'a str> {
        if !matches!(self.name.kind(), RoomKind::Project(_)) {
            return Vec::new();
        }
        let mut private: Vec<&str> = Vec::new();
        for session in run.iter().filter_map(|d| d.event.session_id()) {
            let open = self.book.get(session).is_some_and(|a| a.public);
            if !open && !private.contains(&session) {
                private.push(session);
            }
        }
        private
    }

    /// Of `private`, the sessions `who` may not read. A session the room
    /// knows nothing of (deleted before the room started) is hidden from all
    /// but admins.
    fn hidden_for(&self, who: &Identity, private: &[&str]) -> Hidden {
        if who.admin {
            return Vec::new();
        }
        private
            .iter()
            .filter(|s| !self.book.get(**s).is_some_and(|a| a.can_read(who)))
            .map(|s| s.to_string())
            .collect()
    }

    /// Splits subscribers by what they may not see in `run`. When everyone
    /// may read everything (the common case) that is one group, so the run
    /// is still rendered once for all of them.
    pub(super) fn audiences(
        &self,
        run: &[Arc<Delivery>],
        ids: Vec<ConnId>,
    ) -> Vec<(Hidden, Vec<ConnId>)> {
        let private = self.private_in(run);
        if private.is_empty() {
            return vec![(Vec::new(), ids)];
        }
        let mut groups: Vec<(Hidden, Vec<ConnId>)> = Vec::new();
        for id in ids {
            let hidden = self
                .subs
                .get(&id)
                .map(|s| self.hidden_for(&s.identity, &private))
                .unwrap_or_default();
            match groups.iter_mut().find(|(h, _)| *h == hidden) {
                Some((_, group)) => group.push(id),
                None => groups.push((hidden, vec![id])),
            }
        }
        groups
    }

    /// What one subscriber may not see in `run`.
    pub(super) fn hidden_from(&self, id: ConnId, run: &[Arc<Delivery>]) -> Hidden {
        let private = self.private_in(run);
        match self.subs.get(&id) {
            Some(sub) if !private.is_empty() => self.hidden_for(&sub.identity, &private),
            _ => Vec::new(),
        }
    }
}

/// A socket bound to one room (closed on refusal or revocation) rather than
/// a multi-room connection (which loses that room only).
pub fn is_single_room(dialect: Dialect) -> bool {
    matches!(dialect, Dialect::Flat | Dialect::Broadcast)
}

/// `run` with the events of `hidden` sessions replaced by redacted twins.
pub(super) fn redact<'a>(run: &'a [Arc<Delivery>], hidden: &[String]) -> Cow<'a, [Arc<Delivery>]> {
    if hidden.is_empty() {
        return Cow::Borrowed(run);
    }
    Cow::Owned(
        run.iter()
            .map(|d| match d.event.session_id() {
                Some(s) if hidden.iter().any(|h| h == s) => d.redacted(),
                _ => d.clone(),
            })
            .collect(),
    )
}
