//! The state machine's vocabulary: what comes in besides plain values (a
//! [`Joiner`], a [`Budget`]) and what goes out ([`Effect`], and the
//! [`Read`]s and [`Timer`]s effects name).

use super::{CatchUpId, ConnId};
use crate::access::Identity;
use crate::protocol::Dialect;
use bytes::Bytes;
use std::sync::Arc;
use std::time::Duration;

/// A join as the room sees it: who, how they read, from where.
#[derive(Clone, Debug)]
pub struct Joiner {
    /// The connection.
    pub conn: ConnId,
    /// The connection's number for this join, echoed in
    /// [`Effect::Evicted`]: the connection ignores the eviction of a join
    /// it has since replaced by a later one.
    pub connection_join: u64,
    /// How its frames are rendered.
    pub dialect: Dialect,
    /// Who it is: decides whether it may join and what it may read.
    pub identity: Arc<Identity>,
    /// The Socket.IO ack its `subscribe` asked for, answered by `subscribed`.
    pub ack: Option<u64>,
    /// Resume after this seq, or `None` for a snapshot.
    pub since: Option<i64>,
}

/// How much an outbox can take now (the answer to [`Effect::Measure`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Budget {
    /// Bytes that may still be queued before its budget is reached.
    pub room_left: usize,
    /// Nothing is queued in it.
    pub empty: bool,
}

/// Something the room wants done. The actor carries effects out in order.
#[derive(Debug)]
pub enum Effect {
    /// Queue these frames to the connection, in order. Every connection of
    /// one audience gets the same shared bytes.
    Push {
        /// To whom.
        conn: ConnId,
        /// Encoded WebSocket text frames.
        frames: Arc<[Bytes]>,
    },
    /// Queue one control frame (`subscribed`, `unsubscribed`, `error`).
    Text {
        /// To whom.
        conn: ConnId,
        /// The frame's JSON text.
        text: String,
    },
    /// Queue a close frame after what is queued (the socket ends).
    Close {
        /// Whose socket.
        conn: ConnId,
        /// The close code (4003, 4008).
        code: u16,
        /// The close reason.
        reason: &'static str,
    },
    /// Tell the connection the room dropped its join.
    Evicted {
        /// Which connection.
        conn: ConnId,
        /// The join that ended ([`Joiner::connection_join`]).
        connection_join: u64,
        /// The socket was closed: the connection stops.
        slow: bool,
    },
    /// The room knows nothing more of this connection: forget its outbox.
    Forget {
        /// Which connection.
        conn: ConnId,
    },
    /// Look how much the connection's outbox can take now and answer with
    /// [`RoomState::drained`](super::RoomState::drained) (a catch-up is paid out as it drains).
    Measure {
        /// Which connection.
        conn: ConnId,
    },
    /// Start a database read; its result comes back as an input.
    Read(Read),
    /// Call [`RoomState::timer`](super::RoomState::timer) with `what` after `after`.
    Schedule {
        /// How long to wait.
        after: Duration,
        /// What is due then.
        what: Timer,
    },
    /// The timer scheduled for `what` is no longer wanted.
    Cancel(Timer),
    /// The room has been empty for [`IDLE_AFTER`](super::IDLE_AFTER): ask the registry to
    /// stop it, unless joins beyond `joins` are on their way.
    Idle {
        /// The joins this room has received.
        joins: u64,
    },
}

/// A database read the room needs; each result returns to the input of
/// the same name.
#[derive(Debug)]
pub enum Read {
    /// The room's last seq and access facts → [`RoomState::head_read`](super::RoomState::head_read).
    Head {
        /// It answers a [`RoomState::refresh`](super::RoomState::refresh): lift the fence after it.
        unfence: bool,
    },
    /// One page of deliveries after `from`, with the facts current as of
    /// them → [`RoomState::gap_read`](super::RoomState::gap_read).
    Gap {
        /// The room's head when the read started.
        from: i64,
    },
    /// One page of a subscriber's catch-up → [`RoomState::replay_read`](super::RoomState::replay_read).
    Replay(ReplayRead),
    /// A subscriber's snapshot and its seq → [`RoomState::snapshot_read`](super::RoomState::snapshot_read).
    Snapshot {
        /// For whom.
        conn: ConnId,
        /// The catch-up it belongs to.
        catch_up: CatchUpId,
        /// Whose view of the snapshot.
        identity: Arc<Identity>,
    },
    /// The room's access facts again, before a join is refused (a grant
    /// may just have committed) → [`RoomState::rechecked`](super::RoomState::rechecked).
    Recheck(Box<Joiner>),
}

/// A page of the log read for one subscriber, and what it was read for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReplayRead {
    /// For whom.
    pub conn: ConnId,
    /// The catch-up it belongs to.
    pub catch_up: CatchUpId,
    /// Read after this seq.
    pub from: i64,
    /// At most this many deliveries.
    pub page: i64,
    /// The room's head when the read started.
    pub upto: i64,
    /// A resume: `subscribed` goes out once the page is known to be there.
    pub resume: bool,
}

/// What a scheduled wake-up is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Timer {
    /// The batching window is over.
    Flush,
    /// Offer owed events to outboxes that were full.
    Pay,
    /// Check whether the room is still empty.
    Idle,
    /// Read the head again after a failed read.
    RetryHead {
        /// As in [`Read::Head`].
        unfence: bool,
    },
    /// Read a gap again after a failed read.
    RetryGap,
}
