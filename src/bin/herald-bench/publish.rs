//! Paced publisher for fanout mode: one pacing task hands counters to a few
//! keep-alive HTTP connections, each with one request in flight, so a slow
//! request does not stall the pace.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, Mutex};
use tokio::time::{interval_at, MissedTickBehavior};

use crate::client::unix_micros;
use crate::http::{HttpConn, REQUEST_TIMEOUT};
use crate::stats::{Bitset, RequestStats};
use crate::target::Target;

/// What to publish.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Events to publish (counters `0..total`).
    pub total: u64,
    /// Events per second.
    pub rate: f64,
    /// Concurrent publisher connections.
    pub connections: usize,
    /// Request path.
    pub path: String,
    /// `event_type` of every event.
    pub event_type: String,
}

/// Number of publisher connections for a rate: enough that one slow commit
/// does not hold back the schedule, at most 8.
pub fn connections_for(rate: f64) -> usize {
    ((rate / 50.0).ceil() as usize).clamp(2, 8)
}

/// What the publisher achieved.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Counters the server confirmed (2xx).
    pub confirmed: Bitset,
    /// Request tallies and latency (the HTTP commit).
    pub requests: RequestStats,
    /// Counters never sent because the schedule fell too far behind.
    pub skipped: u64,
    /// Largest delay between a counter's scheduled time and its sending, µs.
    pub max_lag_us: u64,
    /// From the first scheduled publish to the last answer.
    pub elapsed: Duration,
}

/// One scheduled publish.
struct Job {
    n: u64,
    due: Instant,
}

/// The JSON body of event `n`, stamped with the current time.
pub fn event_body(event_type: &str, n: u64) -> String {
    let t_us = unix_micros();
    format!(r#"{{"event_type":"{event_type}","payload":{{"n":{n},"t_us":{t_us}}}}}"#)
}

/// Runs [`run`] on a dedicated thread with its own single-threaded runtime,
/// so the pace and the request timings are not held up while the main
/// thread works through a burst of deliveries to thousands of clients.
pub async fn run_on_own_thread(target: Target, plan: Plan) -> crate::Result<Outcome> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let thread = std::thread::Builder::new()
        .name("publisher".to_owned())
        .spawn(move || {
            let outcome = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(crate::Error::from)
                .and_then(|runtime| runtime.block_on(run(&target, plan)));
            // The receiver only goes away if the main task is gone.
            let _ = tx.send(outcome);
        })?;
    let outcome = rx
        .await
        .map_err(|_| "publisher thread ended without a result")?;
    thread.join().map_err(|_| "publisher thread panicked")?;
    outcome
}

/// Publishes `plan.total` events at `plan.rate` and waits for the answers.
/// Stops sending once the schedule is more than 10 s late, so it always ends.
pub async fn run(target: &Target, plan: Plan) -> crate::Result<Outcome> {
    let period = Duration::from_secs_f64(1.0 / plan.rate);
    let start = Instant::now();
    let give_up = start + period.mul_f64(plan.total as f64) + REQUEST_TIMEOUT;
    let (tx, rx) = mpsc::unbounded_channel::<Job>();
    let rx = Arc::new(Mutex::new(rx));
    let plan = Arc::new(plan);
    let mut workers = Vec::with_capacity(plan.connections);
    for _ in 0..plan.connections {
        let conn = HttpConn::new(target.addr, &target.host);
        workers.push(tokio::spawn(worker(
            conn,
            rx.clone(),
            plan.clone(),
            give_up,
        )));
    }
    let mut ticks = interval_at(start.into(), period);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Burst);
    for n in 0..plan.total {
        ticks.tick().await;
        let due = start + period.mul_f64(n as f64);
        if tx.send(Job { n, due }).is_err() {
            break;
        }
    }
    drop(tx);
    let mut outcome = Outcome::default();
    for handle in workers {
        let part = handle.await?;
        for n in part.confirmed_list {
            outcome.confirmed.insert(n);
        }
        outcome.requests.merge(&part.requests);
        outcome.skipped += part.skipped;
        outcome.max_lag_us = outcome.max_lag_us.max(part.max_lag_us);
    }
    outcome.elapsed = start.elapsed();
    Ok(outcome)
}

/// Results of one publisher connection.
#[derive(Default)]
struct WorkerResult {
    confirmed_list: Vec<u64>,
    requests: RequestStats,
    skipped: u64,
    max_lag_us: u64,
}

/// Takes jobs from the shared queue and publishes them one at a time.
async fn worker(
    mut conn: HttpConn,
    jobs: Arc<Mutex<mpsc::UnboundedReceiver<Job>>>,
    plan: Arc<Plan>,
    give_up: Instant,
) -> WorkerResult {
    let mut result = WorkerResult::default();
    loop {
        let job = jobs.lock().await.recv().await;
        let Some(job) = job else {
            return result;
        };
        let sent = Instant::now();
        if sent > give_up {
            result.skipped += 1;
            continue;
        }
        let lag = sent.saturating_duration_since(job.due).as_micros() as u64;
        result.max_lag_us = result.max_lag_us.max(lag);
        let body = event_body(&plan.event_type, job.n);
        let answer = conn.post_json(&plan.path, body.as_bytes()).await;
        if record_answer(&mut result.requests, answer, sent) {
            result.confirmed_list.push(job.n);
        }
    }
}

/// Tallies one request outcome; returns whether it was a 2xx answer.
pub fn record_answer(
    stats: &mut RequestStats,
    answer: crate::Result<crate::http::Response>,
    sent: Instant,
) -> bool {
    match answer {
        Ok(response) => {
            stats.latency.record(sent.elapsed().as_micros() as u64);
            if (200..300).contains(&response.status) {
                stats.ok += 1;
                return true;
            }
            *stats.bad_status.entry(response.status).or_default() += 1;
            stats.note_error(|| {
                let body = String::from_utf8_lossy(&response.body);
                let body: String = body.chars().take(200).collect();
                format!("HTTP {}: {body}", response.status)
            });
            false
        }
        Err(e) => {
            stats.io_errors += 1;
            stats.note_error(|| e.to_string());
            false
        }
    }
}
