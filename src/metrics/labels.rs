//! The label values and label sets of herald's metric families: what a
//! series is keyed by. The dialect and outcome sets are small and fixed, so
//! [`super::Metrics`] resolves their series once; route labels come from
//! the route table's patterns, never from request paths.

use crate::protocol::Dialect;
use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue};

/// Every dialect, in the order of `Metrics`'s per-dialect arrays.
pub(super) const DIALECTS: [Dialect; 4] = [
    Dialect::Native,
    Dialect::Flat,
    Dialect::Broadcast,
    Dialect::SocketIo,
];

/// A dialect's place in those arrays.
pub(super) fn dialect_index(dialect: Dialect) -> usize {
    match dialect {
        Dialect::Native => 0,
        Dialect::Flat => 1,
        Dialect::Broadcast => 2,
        Dialect::SocketIo => 3,
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(super) struct DialectLabel {
    pub(super) dialect: &'static str,
}

/// How a resume (`subscribe` with `since`) was answered.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq, EncodeLabelValue)]
#[expect(non_camel_case_types, reason = "label values as Prometheus shows them")]
pub enum Resume {
    /// The missed events were replayed (`recovered: true`).
    replayed,
    /// Too far behind, ahead, or pruned: a snapshot (`recovered: false`).
    snapshot,
}

/// What ended a subscriber's access.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq, EncodeLabelValue)]
#[expect(non_camel_case_types, reason = "label values as Prometheus shows them")]
pub enum Revocation {
    /// It may no longer read the room (4003 / `unsubscribed` revoked).
    access,
    /// Its token ended (4001).
    token,
}

/// Why a cluster node caught up on every live room.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq, EncodeLabelValue)]
#[expect(non_camel_case_types, reason = "label values as Prometheus shows them")]
pub enum CatchUp {
    /// The listener (re)connected: whatever committed meanwhile is only in the log.
    listener,
    /// On the reconcile tick, the node was behind: a wake-up said "catch up
    /// on everything", the listener had dropped, or a catch-up failed.
    behind,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(super) struct OutcomeLabel {
    pub(super) outcome: Resume,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(super) struct KindLabel {
    pub(super) kind: Revocation,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(super) struct ReasonLabel {
    pub(super) reason: CatchUp,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(super) struct RouteLabels {
    pub(super) method: String,
    pub(super) route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(super) struct RequestLabels {
    pub(super) method: String,
    pub(super) route: String,
    pub(super) status: u16,
}
