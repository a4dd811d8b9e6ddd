//! Live counters shared by actors and read by `/api/stats` and heartbeats.
//! Plain atomics and one small map: reading them never waits for an actor.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

/// Server-wide counters.
pub struct Stats {
    connections: AtomicUsize,
    rooms: Mutex<BTreeMap<String, usize>>,
    started: Instant,
}

impl Default for Stats {
    fn default() -> Self {
        Stats {
            connections: AtomicUsize::new(0),
            rooms: Mutex::new(BTreeMap::new()),
            started: Instant::now(),
        }
    }
}

impl Stats {
    /// A socket opened (any dialect).
    pub fn connection_opened(&self) {
        self.connections.fetch_add(1, Ordering::Relaxed);
    }

    /// A socket closed.
    pub fn connection_closed(&self) {
        self.connections.fetch_sub(1, Ordering::Relaxed);
    }

    /// Open sockets.
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::Relaxed)
    }

    /// A room's subscriber count changed; rooms at 0 are not listed.
    pub fn set_room(&self, room: &str, subscribers: usize) {
        let mut rooms = self.rooms.lock().unwrap_or_else(|p| p.into_inner());
        if subscribers == 0 {
            rooms.remove(room);
        } else {
            rooms.insert(room.to_string(), subscribers);
        }
    }

    /// Rooms with at least one subscriber, by name.
    pub fn rooms(&self) -> Vec<(String, usize)> {
        let rooms = self.rooms.lock().unwrap_or_else(|p| p.into_inner());
        rooms.iter().map(|(k, v)| (k.clone(), *v)).collect()
    }

    /// One room's subscriber count.
    pub fn room(&self, room: &str) -> usize {
        let rooms = self.rooms.lock().unwrap_or_else(|p| p.into_inner());
        rooms.get(room).copied().unwrap_or(0)
    }

    /// Whole seconds since start.
    pub fn uptime_s(&self) -> u64 {
        self.started.elapsed().as_secs()
    }
}
