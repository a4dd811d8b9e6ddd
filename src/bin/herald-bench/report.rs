//! Report structures and formatting shared by both modes.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

use crate::stats::Histogram;

/// Latency summary in milliseconds.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Latency {
    /// Samples.
    pub samples: u64,
    /// Median.
    pub p50: Option<f64>,
    /// 99th percentile.
    pub p99: Option<f64>,
    /// Maximum.
    pub max: Option<f64>,
    /// Mean.
    pub mean: Option<f64>,
}

impl Latency {
    /// Summarises a histogram of microseconds.
    pub fn from_micros(h: &Histogram) -> Self {
        let ms = |us: u64| us as f64 / 1000.0;
        let any = h.count() > 0;
        Latency {
            samples: h.count(),
            p50: h.percentile(50.0).map(ms),
            p99: h.percentile(99.0).map(ms),
            max: any.then(|| ms(h.max())),
            mean: any.then(|| h.mean() / 1000.0),
        }
    }
}

impl fmt::Display for Latency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.samples == 0 {
            return write!(f, "no samples");
        }
        write!(
            f,
            "p50 {} ms, p99 {} ms, max {} ms, mean {} ms",
            fmt_opt(self.p50, 2),
            fmt_opt(self.p99, 2),
            fmt_opt(self.max, 2),
            fmt_opt(self.mean, 2)
        )
    }
}

/// Formats an optional number with `digits` decimals, or `n/a`.
pub fn fmt_opt(value: Option<f64>, digits: usize) -> String {
    value.map_or_else(|| "n/a".to_owned(), |v| format!("{v:.digits$}"))
}

/// Result of a fanout run, printed as text and as one JSON line.
#[derive(Debug, Serialize)]
pub struct FanoutReport {
    /// Always `"fanout"`.
    pub mode: &'static str,
    /// Server URL.
    pub url: String,
    /// Room.
    pub room: String,
    /// Clients requested.
    pub clients: usize,
    /// Clients that got their `subscribed` answer.
    pub subscribed: usize,
    /// Clients that failed to connect or subscribe.
    pub connect_failures: usize,
    /// Subscribed clients that lost their connection before the end.
    pub dropped: usize,
    /// Close codes sent by the server, by code.
    pub close_codes: BTreeMap<u16, u64>,
    /// First client failure, if any.
    pub first_client_error: Option<String>,
    /// `error` messages received from the server.
    pub server_error_messages: u64,
    /// The first of them, if any.
    pub first_server_error: Option<String>,
    /// Events per second requested.
    pub rate: f64,
    /// Publish phase length requested, seconds.
    pub secs: f64,
    /// Publisher connections.
    pub publisher_connections: usize,
    /// Events attempted.
    pub publish_attempted: u64,
    /// Events confirmed by a 2xx answer.
    pub published: u64,
    /// Failed publishes.
    pub publish_errors: u64,
    /// First publish error, if any.
    pub first_publish_error: Option<String>,
    /// Largest lag behind the publish schedule, ms.
    pub max_publish_lag_ms: f64,
    /// Publish HTTP request latency.
    pub publish_request_ms: Latency,
    /// From the first publish to the last answer, seconds.
    pub publish_window_s: f64,
    /// `published × subscribed`.
    pub expected_deliveries: u64,
    /// Confirmed events received, first delivery only.
    pub delivered: u64,
    /// `expected_deliveries − delivered`.
    pub lost: u64,
    /// Repeated deliveries.
    pub duplicates: u64,
    /// Deliveries of counters without a 2xx answer or outside this run.
    pub unconfirmed: u64,
    /// Publish (before the HTTP request) to receive, first deliveries.
    pub latency_ms: Latency,
    /// `delivered / publish_window_s`.
    pub delivered_per_s: f64,
    /// Data frames received by all clients.
    pub frames: u64,
    /// Frames carrying at least one event.
    pub event_frames: u64,
    /// Server RSS before connecting, bytes.
    pub server_rss_before: Option<u64>,
    /// Server RSS with every client connected and idle, bytes.
    pub server_rss_idle: Option<u64>,
    /// `(idle − before) / subscribed`, bytes.
    pub server_rss_per_idle_conn: Option<f64>,
    /// Server RSS at the end, bytes.
    pub server_rss_end: Option<u64>,
    /// CPU of this tool over the publish window, % of one core.
    pub tool_cpu_pct: Option<f64>,
    /// CPU of the server over the publish window, % of one core.
    pub server_cpu_pct: Option<f64>,
    /// With several `--subscribe-url`s: delivery and latency per node.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub per_node: Vec<NodeLatency>,
    /// `--churn`: clients per second asked to drop and resume.
    pub churn_per_s: Option<f64>,
    /// Drops followed by a resume with `since`.
    pub resumes: u64,
    /// Resumes answered `recovered: false` (a snapshot instead of a replay).
    pub resumes_not_recovered: u64,
}

/// One node's share of a fanout run over several nodes.
#[derive(Debug, Clone, Serialize)]
pub struct NodeLatency {
    /// The node's URL.
    pub url: String,
    /// Its clients that subscribed.
    pub subscribed: usize,
    /// Confirmed events its clients received.
    pub delivered: u64,
    /// Confirmed events its clients did not receive.
    pub lost: u64,
    /// Repeated deliveries.
    pub duplicates: u64,
    /// Publish to receive on this node.
    pub latency_ms: Latency,
}

/// Formats an optional CPU share.
pub fn pct(share: Option<f64>) -> String {
    share.map_or_else(
        || "n/a (needs /proc; server: --server-pid)".to_owned(),
        |v| format!("{v:.1} % of one core"),
    )
}

/// Formats an optional byte count in MiB.
fn mib(bytes: Option<u64>) -> String {
    bytes.map_or_else(
        || "n/a".to_owned(),
        |b| format!("{:.1} MiB", b as f64 / 1048576.0),
    )
}

impl FanoutReport {
    /// Prints the human-readable report.
    pub fn print(&self) {
        println!(
            "herald-bench fanout against {} room {:?}",
            self.url, self.room
        );
        println!(
            "  clients            {} requested, {} subscribed, {} failed to connect/subscribe, {} dropped later",
            self.clients, self.subscribed, self.connect_failures, self.dropped
        );
        if !self.close_codes.is_empty() {
            println!("  server close codes {:?}", self.close_codes);
        }
        if let Some(e) = &self.first_client_error {
            println!("  first client error {e}");
        }
        if let Some(e) = &self.first_server_error {
            println!(
                "  server errors      {} messages, first: {e}",
                self.server_error_messages
            );
        }
        self.print_publish();
        self.print_delivery();
        if let Some(per_s) = self.churn_per_s {
            println!(
                "  churn              {per_s}/s asked: {} drops resumed with since, {} not recovered",
                self.resumes, self.resumes_not_recovered
            );
        }
        for n in &self.per_node {
            println!(
                "  node {}  {} clients, {} delivered, {} lost, {} dup, latency {}",
                n.url, n.subscribed, n.delivered, n.lost, n.duplicates, n.latency_ms
            );
        }
        self.print_resources();
    }

    /// Prints the publish lines.
    fn print_publish(&self) {
        println!(
            "  published          {} of {} attempted ({} errors) at {}/s for {} s over {} connections",
            self.published, self.publish_attempted, self.publish_errors, self.rate, self.secs,
            self.publisher_connections
        );
        if let Some(e) = &self.first_publish_error {
            println!("  first publish error {e}");
        }
        println!("  publish requests   {}", self.publish_request_ms);
        println!("  max schedule lag   {:.2} ms", self.max_publish_lag_ms);
    }

    /// Prints the delivery lines.
    fn print_delivery(&self) {
        println!(
            "  expected           {} deliveries (published x subscribed)",
            self.expected_deliveries
        );
        println!("  delivered          {}", self.delivered);
        println!("  lost               {}", self.lost);
        println!("  duplicates         {}", self.duplicates);
        if self.unconfirmed > 0 {
            println!(
                "  unconfirmed        {} (events without a 2xx answer or not from this run)",
                self.unconfirmed
            );
        }
        println!("  latency            {}", self.latency_ms);
        println!("                     (publish -> receive; includes the HTTP commit)");
        println!(
            "  delivered events/s {:.0} over the {:.2} s publish window",
            self.delivered_per_s, self.publish_window_s
        );
        println!(
            "  frames received    {} ({} with events)",
            self.frames, self.event_frames
        );
    }

    /// Prints the resource lines.
    fn print_resources(&self) {
        println!(
            "  server RSS         before {}, idle {}, end {}; per idle connection {}",
            mib(self.server_rss_before),
            mib(self.server_rss_idle),
            mib(self.server_rss_end),
            self.server_rss_per_idle_conn
                .map_or_else(|| "n/a".to_owned(), |b| format!("{b:.0} bytes"))
        );
        println!(
            "  tool CPU           {} (publish window)",
            pct(self.tool_cpu_pct)
        );
        println!(
            "  server CPU         {} (publish window)",
            pct(self.server_cpu_pct)
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latency_summary() {
        let mut h = Histogram::default();
        assert_eq!(Latency::from_micros(&h).to_string(), "no samples");
        for us in [1000, 2000, 3000] {
            h.record(us);
        }
        let l = Latency::from_micros(&h);
        assert_eq!(l.samples, 3);
        assert_eq!(l.max, Some(3.0));
        assert!(l.p50.is_some_and(|p| (p - 2.0).abs() < 0.07));
    }
}
