//! Access inside a room: who may join, who is removed when access changes
//! (revocation), and which events a project-room subscriber gets redacted.
//!
//! The room keeps the access facts of the sessions it carries (`book`): read
//! with its head when it starts, then replaced by the newer facts that come
//! with each commit that changed them (in commit order, with the deliveries).
//! Revocation is therefore driven by the committed change itself, whichever
//! writer made it. Decisions use the facts current when a frame is rendered:
//! a session made private stops showing at once, also in replays.

use super::{Room, Subscriber};
use crate::access::{self, Identity, SessionAccess};
use crate::actors::client::RoomEvicted;
use crate::db::{access as aq, events, read_tx, DbConn};
use crate::error::AppError;
use crate::protocol::{self, Answer, Dialect};
use crate::transport::CLOSE_REVOKED;
use crate::types::{Delivery, RoomKind, RoomName};
use diesel::QueryResult;
use std::borrow::Cow;
use std::sync::Arc;

/// Session ids a subscriber may not read, in the order the run names them.
pub(super) type Hidden = Vec<String>;

/// The room's head and the access facts of its sessions, read together.
pub(super) fn read_start(
    conn: &mut DbConn,
    room: &RoomName,
) -> QueryResult<(i64, Vec<SessionAccess>)> {
    read_tx(conn, |c| {
        let seq = events::last_seq(c, room.as_str())?;
        Ok((seq, read_facts(c, room)?))
    })
}

/// The access facts of the sessions a room carries, inside the caller's
/// read transaction. Each fact carries its session's access version, read in
/// this snapshot: it compares with the facts later commits bring.
fn read_facts(c: &mut DbConn, room: &RoomName) -> QueryResult<Vec<SessionAccess>> {
    Ok(match room.kind() {
        RoomKind::Session(id) => aq::session_access(c, id)?.into_iter().collect(),
        RoomKind::Project(id) => aq::project_access(c, id)?,
        RoomKind::Broadcasts | RoomKind::Free => Vec::new(),
    })
}

/// A room's deliveries after `from` (at most [`super::REPLAY_PAGE`]) and the
/// access facts of its sessions, read together: facts at least as new as
/// the events, so a revocation committed before them (on any node) is
/// applied before they are sent.
pub(super) fn read_gap(
    conn: &mut DbConn,
    room: &RoomName,
    from: i64,
) -> QueryResult<(Vec<Arc<Delivery>>, Vec<SessionAccess>)> {
    read_tx(conn, |c| {
        let found = events::replay(c, room, from, super::REPLAY_PAGE)?;
        let book = match room.kind() {
            RoomKind::Session(_) | RoomKind::Project(_) if !found.is_empty() => {
                read_facts(c, room)?
            }
            _ => Vec::new(),
        };
        Ok((found, book))
    })
}

impl Room {
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
    pub(super) fn refuse(&self, sub: Subscriber) {
        let single_room = is_single_room(sub.dialect);
        if single_room {
            sub.outbox.close(CLOSE_REVOKED, "Access revoked");
        } else {
            let err = AppError::Forbidden(format!("you may not read {}", self.name));
            let answer = Answer {
                dialect: sub.dialect,
                ack: sub.ack,
            };
            let _ = sub
                .outbox
                .push_text(&protocol::error_frame(answer, &err, Some(&self.name)));
        }
        sub.conn.do_send(RoomEvicted {
            room: self.name.clone(),
            slow: single_room,
            generation: sub.generation,
        });
    }

    /// Session rooms: removes every subscriber that may no longer read.
    fn enforce(&mut self) {
        let Some(session) = self.own_session() else {
            return;
        };
        let revoked: Vec<u64> = self
            .subs
            .iter()
            .filter(|(_, sub)| !session.can_read(&sub.identity))
            .map(|(id, _)| *id)
            .collect();
        for id in revoked {
            self.revoke(id);
        }
    }

    /// Removes a subscriber whose access ended: `unsubscribed` with reason
    /// `revoked` and code 4003 on the native socket (its other rooms stay),
    /// a 4003 "Access revoked" close on a single-room socket.
    pub(super) fn revoke(&mut self, id: u64) {
        let Some(sub) = self.subs.get(&id) else {
            return;
        };
        log::debug!(
            room = self.name.as_str(), connection_id = id;
            "room {}: access revoked for connection {id}", self.name
        );
        let metrics = self.env.stats.metrics();
        metrics.revoked(crate::metrics::Revocation::access);
        if !is_single_room(sub.dialect) {
            let dialect = sub.dialect;
            // A `subscribe` still waiting for its ack gets a failed one.
            let err = AppError::Forbidden(format!("you may not read {}", self.name));
            for answer in self.answers(id).into_iter().filter(|a| a.ack.is_some()) {
                let frame = protocol::error_frame(answer, &err, Some(&self.name));
                self.push_text(id, &frame);
            }
            let answer = Answer::plain(dialect);
            let frame =
                protocol::unsubscribed_frame(answer, &self.name, "revoked", Some(CLOSE_REVOKED));
            self.push_text(id, &frame);
            self.evict(id, false);
        } else {
            sub.outbox.close(CLOSE_REVOKED, "Access revoked");
            self.evict(id, true);
        }
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
        ids: Vec<u64>,
    ) -> Vec<(Hidden, Vec<u64>)> {
        let private = self.private_in(run);
        if private.is_empty() {
            return vec![(Vec::new(), ids)];
        }
        let mut groups: Vec<(Hidden, Vec<u64>)> = Vec::new();
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
    pub(super) fn hidden_from(&self, id: u64, run: &[Arc<Delivery>]) -> Hidden {
        let private = self.private_in(run);
        match self.subs.get(&id) {
            Some(sub) if !private.is_empty() => self.hidden_for(&sub.identity, &private),
            _ => Vec::new(),
        }
    }
}

/// A socket bound to one room (closed on refusal or revocation) rather than
/// a multi-room connection (which loses that room only).
fn is_single_room(dialect: Dialect) -> bool {
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
