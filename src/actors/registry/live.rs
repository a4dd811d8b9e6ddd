//! What the writer needs of the registry: its address, and the names of
//! its live rooms.

use super::Registry;
use crate::types::RoomName;
use actix::Addr;
use std::collections::HashSet;
use std::sync::{Arc, RwLock};

/// The names of the live rooms (those with a room actor), shared with the
/// writer: a group that delivers to none of them and changed no access and
/// no token is not sent to the registry, which would only drop it. The
/// registry adds a room before the room reads its head, and the writer looks
/// after its commit, so a room the writer did not see yet reads that commit
/// from the log.
#[derive(Debug, Default)]
pub struct LiveRoomNames(RwLock<HashSet<RoomName>>);

impl LiveRoomNames {
    /// Whether any of `rooms` is live.
    pub fn any<'a>(&self, mut rooms: impl Iterator<Item = &'a RoomName>) -> bool {
        let live = self
            .0
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        !live.is_empty() && rooms.any(|room| live.contains(room))
    }

    pub(super) fn insert(&self, room: &RoomName) {
        let mut live = self
            .0
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        live.insert(room.clone());
    }

    pub(super) fn remove(&self, room: &RoomName) {
        let mut live = self
            .0
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        live.remove(room);
    }
}

/// Where the writer reports commits: the registry, and which rooms it has.
#[derive(Clone)]
pub struct Handle {
    /// The registry.
    pub addr: Addr<Registry>,
    /// Its live rooms.
    pub live: Arc<LiveRoomNames>,
}
