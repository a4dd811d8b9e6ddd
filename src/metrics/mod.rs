//! Prometheus metrics (`GET /metrics`, docs/operations.md): the families,
//! the calls that move them, and their rendering in the Prometheus text
//! format. Built on `prometheus-client`, the Prometheus project's own Rust
//! client: counters and histograms are plain atomics, labelled series are
//! resolved once where the label set is small and fixed (dialects,
//! outcomes), and the text encoding follows the exposition format that
//! `promtool check metrics` checks.
//!
//! Counting stays off the per-subscriber path: rooms count frames and bytes
//! once per flush and audience (frames × sockets), never per socket push.
//! Gauges that mirror state kept elsewhere (rooms, subscriptions, the read
//! pool, the cluster's view) are read when scraped, by [`Metrics::render`].
//!
//! This module does not decide who may scrape (`http::metrics` does).

mod labels;

pub use labels::{CatchUp, Resume, Revocation};

use crate::protocol::Dialect;
use labels::{
    dialect_index, DialectLabel, KindLabel, OutcomeLabel, ReasonLabel, RequestLabels, RouteLabels,
    DIALECTS,
};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use std::time::Duration;

/// The `Content-Type` of [`Metrics::render`]'s output.
pub const CONTENT_TYPE: &str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

/// The state scraped gauges mirror, read at each scrape.
#[derive(Debug, Default, Clone, Copy)]
pub struct Snapshot {
    /// Rooms with at least one subscriber.
    pub rooms: usize,
    /// Subscriptions (a socket in a room) in all rooms.
    pub subscriptions: usize,
    /// Read-pool connections handed out.
    pub pool_in_use: u32,
    /// Read-pool connections open (in use or idle).
    pub pool_open: u32,
    /// The cluster listener is up (always false on SQLite).
    pub listener_connected: bool,
    /// Live nodes as of the last heartbeat (0 on SQLite).
    pub nodes: usize,
}

/// herald's metrics. One per server, shared by every actor that counts.
pub struct Metrics {
    registry: Registry,
    connections: [Gauge; 4],
    frames_sent: [Counter; 4],
    bytes_sent: [Counter; 4],
    rooms: Gauge,
    subscriptions: Gauge,
    events_committed: Counter,
    commit_duration: Histogram,
    commit_group: Histogram,
    commit_failures: Counter,
    delivery_latency: Histogram,
    resumes: [Counter; 2],
    slow_consumer_closes: Counter,
    revocations: [Counter; 2],
    http_requests: Family<RequestLabels, Counter>,
    http_duration: Family<RouteLabels, Histogram>,
    pool_in_use: Gauge,
    pool_open: Gauge,
    listener_connected: Gauge,
    notifications: Counter,
    catch_ups: Family<ReasonLabel, Counter>,
    nodes: Gauge,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

/// Seconds buckets from 100 µs doubling to about 3 s (commits, HTTP).
fn fast_buckets() -> impl Iterator<Item = f64> {
    exponential_buckets(0.0001, 2.0, 16)
}

/// Registers a per-dialect family and hands back one series per dialect.
fn per_dialect<M>(registry: &mut Registry, name: &str, help: &str) -> [M; 4]
where
    M: prometheus_client::metrics::TypedMetric
        + prometheus_client::encoding::EncodeMetric
        + Default
        + Clone
        + Send
        + Sync
        + std::fmt::Debug
        + 'static,
{
    let family = Family::<DialectLabel, M>::default();
    registry.register(name, help, family.clone());
    DIALECTS.map(|d| {
        family
            .get_or_create(&DialectLabel { dialect: d.name() })
            .clone()
    })
}

impl Metrics {
    /// Every family registered, every fixed series at zero.
    pub fn new() -> Metrics {
        let mut r = Registry::with_prefix("herald");
        let connections = per_dialect(&mut r, "connections", "Open sockets on this node");
        let frames_sent = per_dialect(&mut r, "frames_sent", "Event frames queued to sockets");
        let bytes_sent = per_dialect(&mut r, "sent_bytes", "Bytes of event frames queued");
        let rooms = Gauge::default();
        r.register("rooms", "Rooms with at least one subscriber", rooms.clone());
        let subscriptions = Gauge::default();
        let help = "Subscriptions (a socket in a room)";
        r.register("subscriptions", help, subscriptions.clone());
        let events_committed = Counter::default();
        let help = "Events committed by this node's writer";
        r.register("events_committed", help, events_committed.clone());
        let commit_duration = Histogram::new(fast_buckets());
        let help = "Time one group commit took (its transaction)";
        r.register("commit_duration_seconds", help, commit_duration.clone());
        let commit_group = Histogram::new(exponential_buckets(1.0, 2.0, 10));
        let help = "Commands in one group commit";
        r.register("commit_group_size", help, commit_group.clone());
        let commit_failures = Counter::default();
        let help = "Group commits that failed (every command answered 503)";
        r.register("commit_failures", help, commit_failures.clone());
        let delivery_latency = Histogram::new(exponential_buckets(0.001, 2.0, 15));
        let help = "From an event's commit to its frame queued for the first socket, per room";
        r.register("delivery_latency_seconds", help, delivery_latency.clone());
        let resumes = Family::<OutcomeLabel, Counter>::default();
        r.register("resumes", "Resumes (subscribe with since)", resumes.clone());
        let resumes = [Resume::replayed, Resume::snapshot]
            .map(|outcome| resumes.get_or_create(&OutcomeLabel { outcome }).clone());
        let slow_consumer_closes = Counter::default();
        let help = "Sockets closed with 4008 (slow consumer)";
        r.register("slow_consumer_closes", help, slow_consumer_closes.clone());
        let revocations = Family::<KindLabel, Counter>::default();
        let help = "Subscribers or sockets whose access ended";
        r.register("revocations", help, revocations.clone());
        let revocations = [Revocation::access, Revocation::token]
            .map(|kind| revocations.get_or_create(&KindLabel { kind }).clone());
        let http_requests = Family::default();
        let help = "HTTP requests by route pattern and status";
        r.register("http_requests", help, http_requests.clone());
        let http_duration = Family::<RouteLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(fast_buckets())
        });
        let help = "HTTP request durations by route pattern (to the response head)";
        r.register("http_request_duration_seconds", help, http_duration.clone());
        let pool_in_use = Gauge::default();
        let help = "Read-pool connections in use";
        r.register("db_pool_connections_in_use", help, pool_in_use.clone());
        let pool_open = Gauge::default();
        let help = "Read-pool connections open";
        r.register("db_pool_connections", help, pool_open.clone());
        let listener_connected = Gauge::default();
        let help = "1 while the cluster listener is connected (PostgreSQL)";
        r.register(
            "cluster_listener_connected",
            help,
            listener_connected.clone(),
        );
        let notifications = Counter::default();
        let help = "Cluster wake-ups received (every node's, this one's too)";
        r.register(
            "cluster_notifications_received",
            help,
            notifications.clone(),
        );
        let catch_ups = Family::<ReasonLabel, Counter>::default();
        let help = "Cluster catch-ups of every live room, by reason";
        r.register("cluster_catch_ups", help, catch_ups.clone());
        for reason in [CatchUp::listener, CatchUp::behind] {
            let _ = catch_ups.get_or_create(&ReasonLabel { reason });
        }
        let nodes = Gauge::default();
        let help = "Live cluster nodes as of the last heartbeat";
        r.register("cluster_nodes", help, nodes.clone());
        Metrics {
            registry: r,
            connections,
            frames_sent,
            bytes_sent,
            rooms,
            subscriptions,
            events_committed,
            commit_duration,
            commit_group,
            commit_failures,
            delivery_latency,
            resumes,
            slow_consumer_closes,
            revocations,
            http_requests,
            http_duration,
            pool_in_use,
            pool_open,
            listener_connected,
            notifications,
            catch_ups,
            nodes,
        }
    }

    /// A socket of `dialect` opened.
    pub fn connection_opened(&self, dialect: Dialect) {
        self.connections[dialect_index(dialect)].inc();
    }

    /// A socket of `dialect` closed.
    pub fn connection_closed(&self, dialect: Dialect) {
        self.connections[dialect_index(dialect)].dec();
    }

    /// One flush queued `frames` frames of `bytes` bytes to each of
    /// `sockets` sockets: counted once, not per socket.
    pub fn frames_sent(&self, dialect: Dialect, frames: usize, bytes: usize, sockets: usize) {
        let i = dialect_index(dialect);
        self.frames_sent[i].inc_by((frames * sockets) as u64);
        self.bytes_sent[i].inc_by((bytes * sockets) as u64);
    }

    /// A group of `commands` committed in `took`, with `events` events.
    pub fn committed(&self, commands: usize, events: usize, took: Duration) {
        self.commit_group.observe(commands as f64);
        self.commit_duration.observe(took.as_secs_f64());
        self.events_committed.inc_by(events as u64);
    }

    /// A group commit failed.
    pub fn commit_failed(&self) {
        self.commit_failures.inc();
    }

    /// An event committed `ms` milliseconds ago was queued to a room's sockets.
    pub fn delivered_after_ms(&self, ms: i64) {
        self.delivery_latency.observe(ms.max(0) as f64 / 1000.0);
    }

    /// A resume was answered.
    pub fn resumed(&self, outcome: Resume) {
        self.resumes[outcome as usize].inc();
    }

    /// A socket was closed with 4008.
    pub fn slow_consumer_closed(&self) {
        self.slow_consumer_closes.inc();
    }

    /// A subscriber (access) or a socket (token) lost its access.
    pub fn revoked(&self, kind: Revocation) {
        self.revocations[kind as usize].inc();
    }

    /// An HTTP request was answered; `route` is its pattern (bounded), not its path.
    pub fn http_request(&self, method: &str, route: &str, status: u16, took: Duration) {
        let route = RouteLabels {
            method: method.to_string(),
            route: route.to_string(),
        };
        self.http_duration
            .get_or_create(&route)
            .observe(took.as_secs_f64());
        let labels = RequestLabels {
            method: route.method,
            route: route.route,
            status,
        };
        self.http_requests.get_or_create(&labels).inc();
    }

    /// A cluster wake-up arrived.
    pub fn notification_received(&self) {
        self.notifications.inc();
    }

    /// Cluster wake-ups received since start.
    pub fn notifications(&self) -> u64 {
        self.notifications.get()
    }

    /// The cluster node started a catch-up.
    pub fn caught_up(&self, reason: CatchUp) {
        self.catch_ups.get_or_create(&ReasonLabel { reason }).inc();
    }

    /// Events committed since start.
    pub fn events_committed(&self) -> u64 {
        self.events_committed.get()
    }

    /// Every metric in the Prometheus text format, with the mirrored gauges
    /// set from `now`.
    pub fn render(&self, now: Snapshot) -> Result<String, std::fmt::Error> {
        self.rooms.set(now.rooms as i64);
        self.subscriptions.set(now.subscriptions as i64);
        self.pool_in_use.set(i64::from(now.pool_in_use));
        self.pool_open.set(i64::from(now.pool_open));
        self.listener_connected
            .set(i64::from(now.listener_connected));
        self.nodes.set(now.nodes as i64);
        let mut out = String::new();
        prometheus_client::encoding::prometheus_text::encode(&mut out, &self.registry)?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_appear_under_prometheus_names() {
        let m = Metrics::new();
        m.connection_opened(Dialect::Native);
        m.connection_opened(Dialect::SocketIo);
        m.connection_closed(Dialect::SocketIo);
        m.frames_sent(Dialect::Native, 2, 100, 3);
        m.committed(4, 5, Duration::from_millis(2));
        m.resumed(Resume::snapshot);
        m.revoked(Revocation::token);
        m.http_request("GET", "/api/sessions/{id}", 404, Duration::from_millis(1));
        let text = m.render(Snapshot::default()).unwrap();
        for line in [
            "herald_connections{dialect=\"native\"} 1",
            "herald_connections{dialect=\"socketio\"} 0",
            "herald_frames_sent_total{dialect=\"native\"} 6",
            "herald_sent_bytes_total{dialect=\"native\"} 300",
            "herald_events_committed_total 5",
            "herald_commit_group_size_count 1",
            "herald_resumes_total{outcome=\"snapshot\"} 1",
            "herald_resumes_total{outcome=\"replayed\"} 0",
            "herald_revocations_total{kind=\"token\"} 1",
            "herald_http_requests_total{method=\"GET\",route=\"/api/sessions/{id}\",status=\"404\"} 1",
            "herald_cluster_listener_connected 0",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} missing in\n{text}");
        }
    }
}
