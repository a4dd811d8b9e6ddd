//! Live counters shared by actors and read by `/api/stats` and heartbeats.
//! Plain atomics and one small map: reading them never waits for an actor.

use crate::db::cluster::NodeRow;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

/// Server-wide counters.
pub struct Stats {
    connections: AtomicUsize,
    rooms: Mutex<BTreeMap<String, usize>>,
    started: Instant,
    /// This node's id (`cluster.node_id`, or generated).
    node: String,
    /// The live nodes as of the last heartbeat; empty on a single node.
    nodes: Mutex<Vec<NodeRow>>,
    /// The cluster listener is up (always false on a single node).
    listening: AtomicBool,
    /// Wake-ups heard from the cluster listener (every node's, this one's too).
    notifications: AtomicUsize,
}

impl Default for Stats {
    fn default() -> Self {
        Stats::new(String::new())
    }
}

impl Stats {
    /// Counters of the node `node`.
    pub fn new(node: String) -> Stats {
        Stats {
            connections: AtomicUsize::new(0),
            rooms: Mutex::new(BTreeMap::new()),
            started: Instant::now(),
            node,
            nodes: Mutex::new(Vec::new()),
            listening: AtomicBool::new(false),
            notifications: AtomicUsize::new(0),
        }
    }

    /// This node's id.
    pub fn node(&self) -> &str {
        &self.node
    }

    /// The live nodes, as of the last heartbeat (with this node's latest
    /// count in place of its report).
    pub fn nodes(&self) -> Vec<NodeRow> {
        let mut nodes = self.nodes.lock().unwrap_or_else(|p| p.into_inner()).clone();
        for n in nodes.iter_mut().filter(|n| n.id == self.node) {
            n.connections = self.connections() as i64;
        }
        nodes
    }

    /// The live nodes read by the last heartbeat.
    pub fn set_nodes(&self, nodes: Vec<NodeRow>) {
        *self.nodes.lock().unwrap_or_else(|p| p.into_inner()) = nodes;
    }

    /// Open sockets on every live node: the others' last reports plus this
    /// node's count now. On a single node, this node's count.
    pub fn cluster_connections(&self) -> usize {
        let nodes = self.nodes.lock().unwrap_or_else(|p| p.into_inner());
        let others: i64 = nodes
            .iter()
            .filter(|n| n.id != self.node)
            .map(|n| n.connections)
            .sum();
        self.connections() + others.max(0) as usize
    }

    /// The cluster listener went up or down.
    pub fn set_listening(&self, up: bool) {
        self.listening.store(up, Ordering::Relaxed);
    }

    /// A wake-up arrived on the cluster channel.
    pub fn notification_received(&self) {
        self.notifications.fetch_add(1, Ordering::Relaxed);
    }

    /// Wake-ups received since start.
    pub fn notifications(&self) -> usize {
        self.notifications.load(Ordering::Relaxed)
    }

    /// Whether the cluster listener is up.
    pub fn listening(&self) -> bool {
        self.listening.load(Ordering::Relaxed)
    }

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
