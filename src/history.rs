//! The last minutes of the live counters, for the operator page's charts
//! (`GET /api/stats/history`): one sample every [`SAMPLE_EVERY`], the newest
//! [`KEPT`] in memory. Nothing is written to the database and a restart
//! starts an empty history; Prometheus (`/metrics`) is the place for longer.
//!
//! Sampling reads counters that already exist ([`Stats`]) and, once per
//! sample, the event log's high-water mark: nothing is added to the paths
//! that write or deliver events.

use crate::db::{events, Pool};
use crate::stats::Stats;
use crate::time::{now_ms, serialize_rfc3339};
use serde::{Serialize, Serializer};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How often a sample is taken.
pub const SAMPLE_EVERY: Duration = Duration::from_secs(1);
/// How many samples are kept: ten minutes at one a second.
pub const KEPT: usize = 600;

/// The counters at one moment, and the rates since the sample before; on
/// the wire (`GET /api/stats/history`) with the rates to one decimal.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Sample {
    /// When it was taken (unix milliseconds).
    #[serde(rename = "t", serialize_with = "serialize_rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub at: i64,
    /// Open sockets on this node (every dialect).
    #[schema(value_type = i64)]
    pub connections: usize,
    /// Rooms with at least one subscriber on this node.
    #[schema(value_type = i64)]
    pub rooms: usize,
    /// Events in the log (every node's), or `None` when the database did not answer.
    pub events_total: Option<i64>,
    /// Event frames this node queued for its sockets since start.
    #[schema(value_type = i64)]
    pub frames_total: u64,
    /// Events committed per second since the sample before (`None` when
    /// either sample lacks the event count).
    #[serde(serialize_with = "rounded_opt")]
    pub events_per_s: Option<f64>,
    /// Event frames queued per second since the sample before.
    #[serde(serialize_with = "rounded")]
    pub frames_per_s: f64,
}

/// Rates to one decimal: the chart cannot show more.
fn rounded<S: Serializer>(rate: &f64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64((rate * 10.0).round() / 10.0)
}

/// [`rounded`] for a rate that may be unknown (`null` then).
fn rounded_opt<S: Serializer>(rate: &Option<f64>, s: S) -> Result<S::Ok, S::Error> {
    match rate {
        Some(rate) => rounded(rate, s),
        None => s.serialize_none(),
    }
}

/// The kept samples, oldest first.
#[derive(Default)]
pub struct History {
    samples: Mutex<VecDeque<Sample>>,
}

impl History {
    /// Adds a sample of the counters read at `at`, with its rates from the
    /// one before; drops the oldest beyond [`KEPT`].
    pub fn record(
        &self,
        at: i64,
        connections: usize,
        rooms: usize,
        events_total: Option<i64>,
        frames_total: u64,
    ) {
        let mut samples = self.samples.lock().unwrap_or_else(|p| p.into_inner());
        let (events_per_s, frames_per_s) = match samples.back() {
            Some(last) if at > last.at => {
                let secs = (at - last.at) as f64 / 1000.0;
                let events = match (events_total, last.events_total) {
                    (Some(now), Some(then)) => Some((now - then).max(0) as f64 / secs),
                    _ => None,
                };
                let frames = frames_total.saturating_sub(last.frames_total) as f64 / secs;
                (events, frames)
            }
            _ => (events_total.map(|_| 0.0), 0.0),
        };
        samples.push_back(Sample {
            at,
            connections,
            rooms,
            events_total,
            frames_total,
            events_per_s,
            frames_per_s,
        });
        while samples.len() > KEPT {
            samples.pop_front();
        }
    }

    /// The samples taken after `after` (unix milliseconds), oldest first.
    pub fn after(&self, after: i64) -> Vec<Sample> {
        let samples = self.samples.lock().unwrap_or_else(|p| p.into_inner());
        samples.iter().filter(|s| s.at > after).cloned().collect()
    }
}

/// Takes one sample every [`SAMPLE_EVERY`] until the returned task is aborted.
pub fn spawn_sampler(pool: Pool, stats: Arc<Stats>) -> tokio::task::JoinHandle<()> {
    actix_web::rt::spawn(async move {
        let mut every = tokio::time::interval(SAMPLE_EVERY);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            let pool = pool.clone();
            let total = actix_web::rt::task::spawn_blocking(move || {
                let mut conn = pool.get().ok()?;
                events::count(&mut conn).ok()
            })
            .await
            .ok()
            .flatten();
            stats.history().record(
                now_ms(),
                stats.connections(),
                stats.rooms().len(),
                total,
                stats.frames_total(),
            );
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_are_per_second_since_the_sample_before() {
        let h = History::default();
        h.record(10_000, 2, 1, Some(100), 40);
        h.record(12_000, 3, 1, Some(130), 100);
        h.record(13_000, 3, 1, None, 100);
        h.record(14_000, 1, 0, Some(135), 101);
        let s = h.after(0);
        assert_eq!(s[0].events_per_s, Some(0.0));
        assert_eq!((s[1].events_per_s, s[1].frames_per_s), (Some(15.0), 30.0));
        assert_eq!((s[2].events_per_s, s[2].frames_per_s), (None, 0.0));
        assert_eq!(s[3].events_per_s, None, "no count in the sample before");
        assert_eq!(h.after(12_000).len(), 2);
    }

    #[test]
    fn only_the_newest_samples_are_kept() {
        let h = History::default();
        for n in 0..(KEPT as i64 + 5) {
            h.record(n * 1000, 0, 0, Some(n), 0);
        }
        let s = h.after(i64::MIN);
        assert_eq!(s.len(), KEPT);
        assert_eq!(s[0].at, 5000);
    }
}
