//! Live counters shared by actors and read by `/api/stats` and heartbeats.
//! Plain atomics and one small map: reading them never waits for an actor.
//! Their last minutes are kept in [`History`] for the operator page. The
//! Prometheus metrics (`crate::metrics`) travel with them, so every actor
//! that counts already holds them.

use crate::db::cluster::NodeRow;
use crate::history::History;
use crate::metrics::Metrics;
use crate::protocol::Dialect;
use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
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
    /// The rooms hold deliveries until a catch-up (cluster only).
    fenced: AtomicBool,
    /// Clients admitted and not yet gone: in all, and by peer address.
    admitted: Mutex<(usize, HashMap<IpAddr, usize>)>,
    /// Event frames queued for sockets since start (counted once per flush).
    frames: AtomicU64,
    /// The last minutes of these counters.
    history: History,
    /// What `/metrics` shows.
    metrics: Metrics,
}

impl Default for Stats {
    fn default() -> Self {
        Stats::new(String::new())
    }
}

/// A client's place under `server.max_connections` and
/// `server.max_connections_per_ip`, from its upgrade or handshake until it
/// is dropped (with the connection it was given to).
pub struct Admission {
    stats: Arc<Stats>,
    ip: Option<IpAddr>,
}

impl Drop for Admission {
    fn drop(&mut self) {
        let mut admitted = self
            .stats
            .admitted
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        admitted.0 = admitted.0.saturating_sub(1);
        if let Some(ip) = self.ip {
            if let Some(n) = admitted.1.get_mut(&ip) {
                *n -= 1;
                if *n == 0 {
                    admitted.1.remove(&ip);
                }
            }
        }
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
            fenced: AtomicBool::new(false),
            admitted: Mutex::new((0, HashMap::new())),
            frames: AtomicU64::new(0),
            history: History::default(),
            metrics: Metrics::new(),
        }
    }

    /// `n` event frames were queued for sockets (a flush's or a catch-up's
    /// total: one add per flush, not one per frame).
    pub fn frames_sent(&self, n: usize) {
        if n > 0 {
            self.frames.fetch_add(n as u64, Ordering::Relaxed);
        }
    }

    /// Event frames queued for sockets since start.
    pub fn frames_total(&self) -> u64 {
        self.frames.load(Ordering::Relaxed)
    }

    /// The sampled history of these counters.
    pub fn history(&self) -> &History {
        &self.history
    }

    /// The Prometheus metrics.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
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
        self.metrics.notification_received();
    }

    /// Wake-ups heard from the cluster listener since start (every node's,
    /// this one's too).
    pub fn notifications(&self) -> u64 {
        self.metrics.notifications()
    }

    /// The rooms were fenced (true) or caught up (false).
    pub fn set_fenced(&self, fenced: bool) {
        self.fenced.store(fenced, Ordering::Relaxed);
    }

    /// Whether the rooms hold deliveries until a catch-up.
    pub fn fenced(&self) -> bool {
        self.fenced.load(Ordering::Relaxed)
    }

    /// Whether the cluster listener is up.
    pub fn listening(&self) -> bool {
        self.listening.load(Ordering::Relaxed)
    }

    /// A socket of `dialect` opened.
    pub fn connection_opened(&self, dialect: Dialect) {
        self.connections.fetch_add(1, Ordering::Relaxed);
        self.metrics.connection_opened(dialect);
    }

    /// A socket of `dialect` closed.
    pub fn connection_closed(&self, dialect: Dialect) {
        self.connections.fetch_sub(1, Ordering::Relaxed);
        self.metrics.connection_closed(dialect);
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

    /// A place for one more client from `ip`, or `None` when `max` clients
    /// in all or `max_per_ip` from that address are already connected.
    pub fn admit(
        self: &Arc<Self>,
        ip: Option<IpAddr>,
        max: usize,
        max_per_ip: usize,
    ) -> Option<Admission> {
        let mut admitted = self.admitted.lock().unwrap_or_else(|p| p.into_inner());
        let from_ip = ip.map_or(0, |ip| admitted.1.get(&ip).copied().unwrap_or(0));
        if admitted.0 >= max || from_ip >= max_per_ip {
            return None;
        }
        admitted.0 += 1;
        if let Some(ip) = ip {
            *admitted.1.entry(ip).or_default() += 1;
        }
        Some(Admission {
            stats: self.clone(),
            ip,
        })
    }

    /// Whole seconds since start.
    pub fn uptime_s(&self) -> u64 {
        self.started.elapsed().as_secs()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admissions_are_capped_in_all_and_per_address_and_given_back() {
        let stats = Arc::new(Stats::default());
        let a: IpAddr = [10, 0, 0, 1].into();
        let b: IpAddr = [10, 0, 0, 2].into();
        let first = stats.admit(Some(a), 3, 2).unwrap();
        let _second = stats.admit(Some(a), 3, 2).unwrap();
        assert!(stats.admit(Some(a), 3, 2).is_none());
        let _third = stats.admit(Some(b), 3, 2).unwrap();
        assert!(stats.admit(Some(b), 3, 2).is_none(), "the total cap");
        drop(first);
        assert!(stats.admit(Some(a), 3, 2).is_some());
    }
}
