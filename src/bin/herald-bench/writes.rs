//! Writes mode: W keep-alive connections POST events back to back for the
//! configured time (one per request, or `--bulk N` per batch request);
//! measures persisted events per second, latency, and the server's CPU time
//! per persisted event.

use std::time::{Duration, Instant};

use serde::Serialize;

use crate::args::Args;
use crate::http::HttpConn;
use crate::procfs::{self, CpuMark, Proc};
use crate::publish::{event_body, record_answer};
use crate::report::{pct, Latency};
use crate::stats::RequestStats;
use crate::target::Target;

/// Result of a writes run, printed as text and as one JSON line.
#[derive(Debug, Serialize)]
pub struct WritesReport {
    /// Always `"writes"`.
    pub mode: &'static str,
    /// Server URL.
    pub url: String,
    /// Concurrent writer connections.
    pub writers: usize,
    /// Rooms written to.
    pub rooms: String,
    /// Events per request (1 without `--bulk`).
    pub events_per_request: usize,
    /// Requests per second asked for (`--write-rate`); `None`: back to back.
    pub write_rate: Option<f64>,
    /// Requested duration, seconds.
    pub secs: f64,
    /// Measured duration until the last answer, seconds.
    pub elapsed_s: f64,
    /// Requests sent.
    pub requests: u64,
    /// 2xx answers.
    pub ok: u64,
    /// Events persisted (2xx answers × events per request).
    pub persisted: u64,
    /// Non-2xx answers and transport failures.
    pub errors: u64,
    /// Non-2xx answers by status.
    pub error_statuses: std::collections::BTreeMap<u16, u64>,
    /// First error, if any.
    pub first_error: Option<String>,
    /// Persisted events per second.
    pub persisted_per_s: f64,
    /// Request latency (write to full answer).
    pub latency_ms: Latency,
    /// CPU of this tool over the run, % of one core.
    pub tool_cpu_pct: Option<f64>,
    /// CPU of the server over the run, % of one core.
    pub server_cpu_pct: Option<f64>,
    /// Server CPU time (user + system) per persisted event, µs.
    pub server_cpu_us_per_event: Option<f64>,
    /// Server RSS at the end, bytes.
    pub server_rss_end: Option<u64>,
}

/// Runs writes mode and prints the report.
pub async fn run(args: &Args, target: &Target) -> crate::Result<()> {
    let (rooms, room_text) = rooms(args);
    eprintln!(
        "writes: {} writers, {} s, rooms {room_text}",
        args.writers, args.secs
    );
    let server = args.server_pid.map(Proc::Pid);
    let (tool_start, server_start) = (CpuMark::take(Proc::Me), server.map(CpuMark::take));
    let start = Instant::now();
    let deadline = start + Duration::from_secs_f64(args.secs);
    let mut handles = Vec::with_capacity(args.writers);
    let per_request = args.bulk.unwrap_or(1);
    for room in &rooms {
        let conn = HttpConn::new(target.addr, &target.host);
        let (path, bulk) = match args.bulk {
            Some(n) => (target.batch_path(), Some((room.clone(), n))),
            None => (target.events_path(room), None),
        };
        // Each writer's share of the rate, its first send staggered so the
        // writers do not send in step.
        let pace = args.write_rate.map(|rate| {
            let every = Duration::from_secs_f64(args.writers as f64 / rate);
            let offset = every.mul_f64(handles.len() as f64 / args.writers as f64);
            (every, start + offset)
        });
        handles.push(tokio::spawn(writer(conn, path, bulk, pace, deadline)));
    }
    let mut total = RequestStats::default();
    for handle in handles {
        total.merge(&handle.await?);
    }
    let elapsed = start.elapsed().as_secs_f64();
    let tool_cpu = tool_start.share_until(&CpuMark::take(Proc::Me));
    let server_cpu =
        server_start.and_then(|s| server.and_then(|p| s.share_until(&CpuMark::take(p))));
    let persisted = total.ok * per_request as u64;
    let report = WritesReport {
        mode: "writes",
        url: args.url.clone(),
        writers: args.writers,
        rooms: room_text,
        events_per_request: per_request,
        write_rate: args.write_rate,
        secs: args.secs,
        elapsed_s: elapsed,
        requests: total.ok + total.errors(),
        ok: total.ok,
        persisted,
        errors: total.errors(),
        error_statuses: total.bad_status.clone(),
        first_error: total.first_error.clone(),
        persisted_per_s: persisted as f64 / elapsed,
        latency_ms: Latency::from_micros(&total.latency),
        tool_cpu_pct: tool_cpu,
        server_cpu_pct: server_cpu,
        server_cpu_us_per_event: server_cpu
            .filter(|_| persisted > 0)
            .map(|pct| pct / 100.0 * elapsed * 1e6 / persisted as f64),
        server_rss_end: server.and_then(procfs::rss_bytes),
    };
    report.print();
    println!("{}", serde_json::to_string(&report)?);
    if report.ok == 0 {
        return Err("no request succeeded".into());
    }
    Ok(())
}

/// The room of each writer, and a description for the report.
fn rooms(args: &Args) -> (Vec<String>, String) {
    if args.room_per_writer {
        let rooms = (0..args.writers)
            .map(|i| format!("{}-w{i}", args.room))
            .collect();
        let last = args.writers.saturating_sub(1);
        let text = format!("{r}-w0 .. {r}-w{last} (one per writer)", r = args.room);
        (rooms, text)
    } else {
        let rooms = vec![args.room.clone(); args.writers];
        (rooms, format!("{} (shared by all writers)", args.room))
    }
}

/// POSTs to `path` until `deadline`: one event per request, or with `bulk`
/// = (room, N) a batch of N events to that room. Back to back, or with
/// `pace` = (every, first) one request every `every` from `first` (late
/// requests go at once; latency counts from the send).
async fn writer(
    mut conn: HttpConn,
    path: String,
    bulk: Option<(String, usize)>,
    pace: Option<(Duration, Instant)>,
    deadline: Instant,
) -> RequestStats {
    let mut stats = RequestStats::default();
    let mut n = 0u64;
    let mut next = pace.map(|(_, first)| first);
    while Instant::now() < deadline {
        if let (Some(at), Some((every, _))) = (next.as_mut(), pace) {
            if *at >= deadline {
                break;
            }
            tokio::time::sleep_until((*at).into()).await;
            *at += every;
        }
        let body = match &bulk {
            Some((room, size)) => batch_body(room, n, *size),
            None => event_body("bench", n),
        };
        n += bulk.as_ref().map_or(1, |(_, size)| *size as u64);
        let sent = Instant::now();
        let answer = conn.post_json(&path, body.as_bytes()).await;
        let failed_io = answer.is_err();
        record_answer(&mut stats, answer, sent);
        if failed_io {
            // Do not spin on a dead server: back off a little.
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    stats
}

/// A batch of `size` events to `room`, counters from `first`: the JSON
/// array `POST /api/rooms/events:batch` takes.
fn batch_body(room: &str, first: u64, size: usize) -> String {
    let t_us = crate::client::unix_micros();
    let mut body = String::with_capacity(size * 80 + 2);
    body.push('[');
    for i in 0..size as u64 {
        if i > 0 {
            body.push(',');
        }
        let n = first + i;
        body.push_str(&format!(
            r#"{{"room":"{room}","event_type":"bench","payload":{{"n":{n},"t_us":{t_us}}}}}"#
        ));
    }
    body.push(']');
    body
}

impl WritesReport {
    /// Prints the human-readable report.
    pub fn print(&self) {
        println!("herald-bench writes against {}", self.url);
        println!(
            "  writers            {} keep-alive connections",
            self.writers
        );
        println!("  rooms              {}", self.rooms);
        println!(
            "  duration           {:.2} s (requested {} s)",
            self.elapsed_s, self.secs
        );
        println!("  requests           {}", self.requests);
        println!(
            "  persisted          {} events ({} 2xx answers × {} per request)",
            self.persisted, self.ok, self.events_per_request
        );
        println!(
            "  errors             {} {:?}",
            self.errors, self.error_statuses
        );
        if let Some(e) = &self.first_error {
            println!("  first error        {e}");
        }
        println!("  persisted events/s {:.1}", self.persisted_per_s);
        println!(
            "  request latency    {} (POST written -> answer read)",
            self.latency_ms
        );
        println!("  tool CPU           {}", pct(self.tool_cpu_pct));
        println!("  server CPU         {}", pct(self.server_cpu_pct));
        println!(
            "  server CPU/event   {} µs",
            crate::report::fmt_opt(self.server_cpu_us_per_event, 1)
        );
        if let Some(rss) = self.server_rss_end {
            println!("  server RSS at end  {:.1} MiB", rss as f64 / 1048576.0);
        }
    }
}
