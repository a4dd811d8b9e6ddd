//! Fanout mode: N subscribers on one room, a paced publisher, and delivery
//! accounting (lost, duplicates, publish-to-receive latency).

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::{interval, sleep, Instant, MissedTickBehavior};

use crate::args::Args;
use crate::client::{self, ClientConfig, ClientReport, Phase, Shared};
use crate::procfs::{self, CpuMark, Proc};
use crate::publish::{self, Outcome, Plan};
use crate::report::{FanoutReport, Latency, NodeLatency};
use crate::stats::{Bitset, Histogram};
use crate::target::Target;

/// Time allowed for all clients to subscribe, after the last one was started.
const SUBSCRIBE_WAIT: Duration = Duration::from_secs(60);
/// Pause before reading the idle RSS, so the server settles.
const SETTLE: Duration = Duration::from_secs(1);
/// Time allowed for deliveries to finish after the last publish.
const DRAIN_WAIT: Duration = Duration::from_secs(5);
/// Time allowed for clients to hand in their results.
const COLLECT_WAIT: Duration = Duration::from_secs(15);
/// `event_type` of every published event.
const EVENT_TYPE: &str = "bench";

/// Server and tool resource readings around the run.
struct Resources {
    rss_before: Option<u64>,
    rss_idle: Option<u64>,
    rss_end: Option<u64>,
    tool_cpu: Option<f64>,
    server_cpu: Option<f64>,
}

/// Runs fanout mode and prints the report.
pub async fn run(args: &Args, target: &Target) -> crate::Result<()> {
    warn_fd_limit(args.clients);
    let server = args.server_pid.map(Proc::Pid);
    let total = (args.rate * args.secs).round().max(1.0) as u64;
    let shared = Arc::new(Shared::default());
    let (phase_tx, phase_rx) = watch::channel(Phase::Run);
    let mut nodes = Vec::new();
    for url in &args.subscribe_urls {
        let node = Target::resolve(url).await?;
        nodes.push((url.clone(), Arc::new(client_config(args, &node, total)?)));
    }
    if nodes.is_empty() {
        nodes.push((
            args.url.clone(),
            Arc::new(client_config(args, target, total)?),
        ));
    }
    let cfgs: Vec<_> = nodes.iter().map(|(_, c)| c.clone()).collect();
    let rss_before = server.and_then(procfs::rss_bytes);
    let handles = start_clients(args, &cfgs, &shared, &phase_rx).await;
    wait_subscribed(&shared, args.clients).await;
    if args.clients > 0 && shared.subscribed.load(Ordering::Relaxed) == 0 {
        phase_tx.send(Phase::Stop)?;
        let merged = collect(handles, &Bitset::default(), 1).await.remove(0);
        let why = merged.first_error.unwrap_or_else(|| "no answer".to_owned());
        return Err(format!("no client could subscribe (first failure: {why})").into());
    }
    sleep(SETTLE).await;
    let rss_idle = server.and_then(procfs::rss_bytes);
    let plan = Plan {
        total,
        rate: args.rate,
        connections: publish::connections_for(args.rate),
        path: target.events_path(&args.room),
        event_type: EVENT_TYPE.to_owned(),
    };
    eprintln!(
        "publishing {total} events at {}/s over {} connections",
        args.rate, plan.connections
    );
    let (tool_start, server_start) = (CpuMark::take(Proc::Me), server.map(CpuMark::take));
    let outcome = publish::run_on_own_thread(target.clone(), plan.clone()).await?;
    let tool_cpu = tool_start.share_until(&CpuMark::take(Proc::Me));
    let server_cpu =
        server_start.and_then(|s| server.and_then(|p| s.share_until(&CpuMark::take(p))));
    phase_tx.send(Phase::Drain(outcome.confirmed.len()))?;
    wait_complete(&shared).await;
    phase_tx.send(Phase::Stop)?;
    let mut per_node = collect(handles, &outcome.confirmed, nodes.len()).await;
    let mut merged = Merged::default();
    for part in &per_node {
        merged.absorb(part);
    }
    let node_reports = nodes
        .iter()
        .zip(per_node.iter_mut())
        .filter(|_| args.subscribe_urls.len() > 1)
        .map(|((url, _), m)| NodeLatency {
            url: url.clone(),
            subscribed: m.subscribed,
            delivered: m.delivered,
            lost: (outcome.confirmed.len() * m.subscribed as u64).saturating_sub(m.delivered),
            duplicates: m.duplicates,
            latency_ms: Latency::from_micros(&m.latency),
        })
        .collect();
    let resources = Resources {
        rss_before,
        rss_idle,
        rss_end: server.and_then(procfs::rss_bytes),
        tool_cpu,
        server_cpu,
    };
    let mut report = build_report(args, &plan, &outcome, merged, resources);
    report.per_node = node_reports;
    report.print();
    println!("{}", serde_json::to_string(&report)?);
    Ok(())
}

/// Settings shared by every client.
fn client_config(args: &Args, target: &Target, total: u64) -> crate::Result<ClientConfig> {
    let (ws_path, subscribe) = if args.socketio {
        let event = serde_json::json!(["subscribe", {"room": args.room}]);
        (target.socketio_path(), format!("42{event}").into_bytes())
    } else {
        let subscribe = serde_json::json!({"type": "subscribe", "room": args.room});
        (target.ws_path(), serde_json::to_vec(&subscribe)?)
    };
    Ok(ClientConfig {
        addr: target.addr,
        host: target.host.clone(),
        ws_path,
        subscribe,
        socketio: args.socketio,
        n_limit: total,
        churn: args.churn.map(|per_s| {
            let mean = Duration::from_secs_f64(args.clients.max(1) as f64 / per_s);
            (args.room.clone(), mean)
        }),
    })
}

/// Turns the raw results into the report.
fn build_report(
    args: &Args,
    plan: &Plan,
    outcome: &Outcome,
    merged: Merged,
    res: Resources,
) -> FanoutReport {
    let subscribed = merged.subscribed;
    let published = outcome.confirmed.len();
    // The schedule spans total/rate seconds even if the answers came sooner.
    let window = outcome
        .elapsed
        .as_secs_f64()
        .max(plan.total as f64 / plan.rate);
    let rss_per_conn = match (res.rss_before, res.rss_idle) {
        (Some(b), Some(i)) if subscribed > 0 => Some((i as f64 - b as f64) / subscribed as f64),
        _ => None,
    };
    let expected = published * subscribed as u64;
    FanoutReport {
        mode: if args.socketio {
            "fanout (socket.io)"
        } else {
            "fanout"
        },
        url: args.url.clone(),
        room: args.room.clone(),
        clients: args.clients,
        subscribed,
        connect_failures: args.clients.saturating_sub(subscribed),
        dropped: merged.dropped,
        close_codes: merged.close_codes,
        first_client_error: merged.first_error,
        server_error_messages: merged.server_errors,
        first_server_error: merged.first_server_error,
        rate: args.rate,
        secs: args.secs,
        publisher_connections: plan.connections,
        publish_attempted: plan.total - outcome.skipped,
        published,
        publish_errors: outcome.requests.errors(),
        first_publish_error: outcome.requests.first_error.clone(),
        max_publish_lag_ms: outcome.max_lag_us as f64 / 1000.0,
        publish_request_ms: Latency::from_micros(&outcome.requests.latency),
        publish_window_s: window,
        expected_deliveries: expected,
        delivered: merged.delivered,
        lost: expected.saturating_sub(merged.delivered),
        duplicates: merged.duplicates,
        unconfirmed: merged.unconfirmed,
        latency_ms: Latency::from_micros(&merged.latency),
        delivered_per_s: merged.delivered as f64 / window.max(1e-9),
        frames: merged.frames,
        event_frames: merged.event_frames,
        server_rss_before: res.rss_before,
        server_rss_idle: res.rss_idle,
        server_rss_per_idle_conn: rss_per_conn,
        server_rss_end: res.rss_end,
        tool_cpu_pct: res.tool_cpu,
        server_cpu_pct: res.server_cpu,
        per_node: Vec::new(),
        churn_per_s: args.churn,
        resumes: merged.resumes,
        resumes_not_recovered: merged.not_recovered,
    }
}

/// Warns when the open-files limit cannot hold all the clients.
fn warn_fd_limit(clients: usize) {
    if let Some(limit) = procfs::open_files_limit() {
        if limit < clients as u64 + 64 {
            eprintln!(
                "warning: open-files limit is {limit}, too low for {clients} clients \
                 (raise it with `ulimit -n`)"
            );
        }
    }
}

/// Starts the clients, paced at `--connect-rate`.
/// Client `i` goes to node `i % cfgs.len()`.
async fn start_clients(
    args: &Args,
    cfgs: &[Arc<ClientConfig>],
    shared: &Arc<Shared>,
    phase: &watch::Receiver<Phase>,
) -> Vec<JoinHandle<ClientReport>> {
    eprintln!(
        "opening {} WebSocket clients at {}/s",
        args.clients, args.connect_rate
    );
    let mut ticks = interval(Duration::from_secs_f64(1.0 / args.connect_rate));
    ticks.set_missed_tick_behavior(MissedTickBehavior::Burst);
    let mut handles = Vec::with_capacity(args.clients);
    for id in 0..args.clients {
        ticks.tick().await;
        let cfg = cfgs[id % cfgs.len()].clone();
        let task = client::run(id as u32, cfg, shared.clone(), phase.clone());
        handles.push(tokio::spawn(task));
    }
    handles
}

/// Waits until every client is subscribed or has failed (bounded).
async fn wait_subscribed(shared: &Shared, clients: usize) {
    let deadline = Instant::now() + SUBSCRIBE_WAIT;
    let mut next_note = Instant::now() + Duration::from_secs(1);
    loop {
        let ok = shared.subscribed.load(Ordering::Relaxed);
        let failed = shared.failed.load(Ordering::Relaxed);
        let done = ok + failed >= clients;
        if done || Instant::now() >= deadline || Instant::now() >= next_note {
            eprintln!("subscribed {ok}/{clients}, failed {failed}");
            next_note += Duration::from_secs(1);
        }
        if done {
            return;
        }
        if Instant::now() >= deadline {
            eprintln!("giving up waiting for subscriptions");
            return;
        }
        sleep(Duration::from_millis(20)).await;
    }
}

/// Waits until every live client holds every confirmed event, or the drain
/// time is over.
async fn wait_complete(shared: &Shared) {
    let deadline = Instant::now() + DRAIN_WAIT;
    while Instant::now() < deadline {
        let complete = shared.complete.load(Ordering::Relaxed);
        let dropped = shared.dropped.load(Ordering::Relaxed);
        if complete + dropped >= shared.subscribed.load(Ordering::Relaxed) {
            return;
        }
        sleep(Duration::from_millis(10)).await;
    }
    eprintln!("drain time over: some clients are still missing events");
}

/// Totals over all clients.
#[derive(Default)]
struct Merged {
    subscribed: usize,
    dropped: usize,
    close_codes: BTreeMap<u16, u64>,
    first_error: Option<String>,
    server_errors: u64,
    first_server_error: Option<String>,
    frames: u64,
    event_frames: u64,
    delivered: u64,
    duplicates: u64,
    unconfirmed: u64,
    latency: Histogram,
    resumes: u64,
    not_recovered: u64,
}

impl Merged {
    /// Adds one client's report.
    fn add(&mut self, r: &ClientReport, confirmed: &Bitset) {
        if r.subscribed {
            self.subscribed += 1;
            if r.error.is_some() {
                self.dropped += 1;
            }
        }
        if let Some(code) = r.close_code {
            *self.close_codes.entry(code).or_default() += 1;
        }
        if self.first_error.is_none() {
            self.first_error.clone_from(&r.error);
        }
        self.server_errors += r.server_errors;
        if self.first_server_error.is_none() {
            self.first_server_error.clone_from(&r.server_error);
        }
        self.frames += r.frames;
        self.event_frames += r.event_frames;
        let delivered = r.seen.intersection_len(confirmed);
        self.delivered += delivered;
        self.unconfirmed += r.unique - delivered + r.foreign;
        self.duplicates += r.duplicates;
        self.latency.merge(&r.latency);
        self.resumes += r.resumes;
        self.not_recovered += r.not_recovered;
    }

    /// Adds another node's totals.
    fn absorb(&mut self, o: &Merged) {
        self.subscribed += o.subscribed;
        self.dropped += o.dropped;
        for (code, n) in &o.close_codes {
            *self.close_codes.entry(*code).or_default() += n;
        }
        if self.first_error.is_none() {
            self.first_error.clone_from(&o.first_error);
        }
        self.server_errors += o.server_errors;
        if self.first_server_error.is_none() {
            self.first_server_error.clone_from(&o.first_server_error);
        }
        self.frames += o.frames;
        self.event_frames += o.event_frames;
        self.delivered += o.delivered;
        self.unconfirmed += o.unconfirmed;
        self.duplicates += o.duplicates;
        self.latency.merge(&o.latency);
        self.resumes += o.resumes;
        self.not_recovered += o.not_recovered;
    }
}

/// Gathers and merges every client's report (bounded), per node: client
/// `i` is merged into entry `i % nodes`.
async fn collect(
    handles: Vec<JoinHandle<ClientReport>>,
    confirmed: &Bitset,
    nodes: usize,
) -> Vec<Merged> {
    let deadline = Instant::now() + COLLECT_WAIT;
    let mut merged: Vec<Merged> = (0..nodes.max(1)).map(|_| Merged::default()).collect();
    let mut missing = 0usize;
    for (i, mut handle) in handles.into_iter().enumerate() {
        let part = i % merged.len();
        match tokio::time::timeout_at(deadline, &mut handle).await {
            Ok(Ok(report)) => merged[part].add(&report, confirmed),
            Ok(Err(_)) => missing += 1,
            Err(_) => {
                handle.abort();
                missing += 1;
            }
        }
    }
    if missing > 0 {
        eprintln!("warning: {missing} clients did not hand in results");
    }
    merged
}
