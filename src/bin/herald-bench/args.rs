//! Command-line options (hand-parsed).

/// Usage text printed by `--help` and after a bad option.
pub const USAGE: &str = "\
herald-bench: load generator for a running herald server

USAGE:
    herald-bench [OPTIONS]

OPTIONS:
    --url URL           server base URL, plain http only (default http://127.0.0.1:8080)
    --mode MODE         fanout | writes (default fanout)
    --clients N         fanout: WebSocket clients (default 100)
    --rate R            fanout: published events per second (default 100)
    --secs S            length of the publish / write phase in seconds (default 10)
    --room NAME         room to use (default bench)
    --writers W         writes: concurrent keep-alive HTTP writers (default 8)
    --room-per-writer   writes: writer i uses room NAME-w<i> instead of sharing NAME
    --bulk N            writes: each request publishes N events (1-1000) through
                        POST /api/rooms/events:batch instead of one event each
    --write-rate R      writes: R requests per second in all, spread over the
                        writers on a fixed schedule (default: back to back), for
                        the latency of single writes at a given load
    --server-pid PID    read the server's RSS and CPU time from /proc/PID
    --connect-rate C    fanout: WebSocket connections opened per second (default 2000)
    --socketio          fanout: clients speak Socket.IO over /socket.io/ (WebSocket
                        transport) instead of the native protocol
    --churn N           fanout: N clients per second (spread over all of them) drop
                        their connection without a close and resume with `since`
                        while the events are published; native protocol only
    --subscribe-url URL fanout: open the clients on this node instead of --url;
                        repeat it (or give a comma list) to spread them round
                        robin over several nodes of a cluster; the publisher
                        stays on --url, latency is reported per node
    --help              print this text

fanout: open N clients subscribed to the room, publish R events/s over HTTP for
S seconds, and measure delivery (lost, duplicates, publish-to-receive latency).
writes: W keep-alive connections POST events as fast as the server answers for
S seconds; measures persisted events/s, request latency and the server's CPU
time per persisted event.";

/// Which benchmark to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Many subscribers, one paced publisher.
    Fanout,
    /// Concurrent writers, no subscribers.
    Writes,
}

/// Parsed options.
#[derive(Debug, Clone, PartialEq)]
pub struct Args {
    /// Server base URL.
    pub url: String,
    /// Benchmark to run.
    pub mode: Mode,
    /// WebSocket clients (fanout).
    pub clients: usize,
    /// Events per second (fanout).
    pub rate: f64,
    /// Length of the publish/write phase, in seconds.
    pub secs: f64,
    /// Room name.
    pub room: String,
    /// Concurrent writers (writes).
    pub writers: usize,
    /// Give each writer its own room (writes).
    pub room_per_writer: bool,
    /// Server process to observe.
    pub server_pid: Option<u32>,
    /// WebSocket connections opened per second.
    pub connect_rate: f64,
    /// Fanout clients speak Socket.IO instead of the native protocol.
    pub socketio: bool,
    /// Nodes the fanout clients connect to (empty: `url`).
    pub subscribe_urls: Vec<String>,
    /// Clients per second that drop and resume (fanout).
    pub churn: Option<f64>,
    /// Events per request through the batch route (writes).
    pub bulk: Option<usize>,
    /// Requests per second in all, paced (writes); `None`: back to back.
    pub write_rate: Option<f64>,
}

impl Default for Args {
    fn default() -> Self {
        Args {
            url: "http://127.0.0.1:8080".to_owned(),
            mode: Mode::Fanout,
            clients: 100,
            rate: 100.0,
            secs: 10.0,
            room: "bench".to_owned(),
            writers: 8,
            room_per_writer: false,
            server_pid: None,
            connect_rate: 2000.0,
            socketio: false,
            subscribe_urls: Vec::new(),
            churn: None,
            bulk: None,
            write_rate: None,
        }
    }
}

/// What the command line asks for.
#[derive(Debug, PartialEq)]
pub enum Command {
    /// Run a benchmark.
    Run(Args),
    /// Print usage.
    Help,
}

/// Options that take a value.
const VALUE_OPTIONS: [&str; 13] = [
    "--bulk",
    "--write-rate",
    "--churn",
    "--subscribe-url",
    "--url",
    "--mode",
    "--clients",
    "--rate",
    "--secs",
    "--room",
    "--writers",
    "--server-pid",
    "--connect-rate",
];

/// Parses a number option value.
fn number<T: std::str::FromStr>(name: &str, value: &str) -> Result<T, String> {
    value
        .parse()
        .map_err(|_| format!("{name}: cannot parse {value:?}"))
}

/// Parses a strictly positive, finite number.
fn positive(name: &str, value: &str) -> Result<f64, String> {
    let v: f64 = number(name, value)?;
    if v.is_finite() && v > 0.0 {
        Ok(v)
    } else {
        Err(format!("{name} must be a positive number"))
    }
}

/// Parses the options (without the program name).
pub fn parse(raw: impl IntoIterator<Item = String>) -> Result<Command, String> {
    let mut args = Args::default();
    let mut it = raw.into_iter();
    while let Some(arg) = it.next() {
        let (name, inline) = match arg.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n.to_owned(), Some(v.to_owned())),
            _ => (arg, None),
        };
        match name.as_str() {
            "--help" | "-h" => return Ok(Command::Help),
            "--room-per-writer" => {
                args.room_per_writer = true;
                continue;
            }
            "--socketio" => {
                args.socketio = true;
                continue;
            }
            _ => {}
        }
        if !VALUE_OPTIONS.contains(&name.as_str()) {
            return Err(format!("unknown option {name}"));
        }
        let Some(value) = inline.or_else(|| it.next()) else {
            return Err(format!("{name} needs a value"));
        };
        apply(&mut args, &name, &value)?;
    }
    if args.churn.is_some() && args.socketio {
        return Err("--churn resumes with the native protocol: not with --socketio".to_owned());
    }
    if args.room.is_empty() {
        return Err("--room must not be empty".to_owned());
    }
    Ok(Command::Run(args))
}

/// Stores one `--name value` pair.
fn apply(args: &mut Args, name: &str, value: &str) -> Result<(), String> {
    match name {
        "--url" => args.url = value.to_owned(),
        "--mode" => {
            args.mode = match value {
                "fanout" => Mode::Fanout,
                "writes" => Mode::Writes,
                _ => return Err(format!("--mode must be fanout or writes, not {value:?}")),
            }
        }
        "--clients" => args.clients = number(name, value)?,
        "--rate" => args.rate = positive(name, value)?,
        "--secs" => args.secs = positive(name, value)?,
        "--room" => args.room = value.to_owned(),
        "--writers" => {
            args.writers = number(name, value)?;
            if args.writers == 0 {
                return Err("--writers must be at least 1".to_owned());
            }
        }
        "--server-pid" => args.server_pid = Some(number(name, value)?),
        "--connect-rate" => args.connect_rate = positive(name, value)?,
        "--churn" => args.churn = Some(positive(name, value)?),
        "--write-rate" => args.write_rate = Some(positive(name, value)?),
        "--bulk" => {
            let n: usize = number(name, value)?;
            if !(1..=1000).contains(&n) {
                return Err("--bulk must be 1-1000 (the batch route's limit)".to_owned());
            }
            args.bulk = Some(n);
        }
        "--subscribe-url" => args.subscribe_urls.extend(
            value
                .split(',')
                .filter(|u| !u.is_empty())
                .map(str::to_owned),
        ),
        _ => return Err(format!("unknown option {name}")),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(line: &str) -> Result<Args, String> {
        match parse(line.split_whitespace().map(str::to_owned))? {
            Command::Run(args) => Ok(args),
            Command::Help => Err("help".to_owned()),
        }
    }

    #[test]
    fn defaults_and_overrides() -> Result<(), String> {
        assert_eq!(run("")?, Args::default());
        let a =
            run("--mode writes --writers 4 --secs=2.5 --room x --server-pid 77 --room-per-writer")?;
        assert_eq!(a.mode, Mode::Writes);
        assert_eq!((a.writers, a.secs, a.room.as_str()), (4, 2.5, "x"));
        assert_eq!((a.server_pid, a.room_per_writer), (Some(77), true));
        assert!(run("--socketio")?.socketio);
        let b = run("--clients 10000 --rate 500 --connect-rate 1000 --url http://h:1")?;
        assert_eq!((b.clients, b.rate, b.connect_rate), (10_000, 500.0, 1000.0));
        assert_eq!(b.url, "http://h:1");
        let c = run("--subscribe-url http://a:1,http://b:2 --subscribe-url=http://c:3")?;
        assert_eq!(c.subscribe_urls, ["http://a:1", "http://b:2", "http://c:3"]);
        assert_eq!(run("--churn 50")?.churn, Some(50.0));
        assert!(run("--churn 5 --socketio").is_err());
        assert_eq!(run("--mode writes --bulk 1000")?.bulk, Some(1000));
        assert_eq!(
            run("--mode writes --write-rate 1000")?.write_rate,
            Some(1000.0)
        );
        Ok(())
    }

    #[test]
    fn errors_and_help() {
        assert_eq!(run("--help"), Err("help".to_owned()));
        assert!(run("--rate 0").is_err());
        assert!(run("--rate").is_err());
        assert!(run("--mode both").is_err());
        assert_eq!(run("--bogus 1"), Err("unknown option --bogus".to_owned()));
        assert!(run("--writers 0").is_err());
        assert!(run("--bulk 0").is_err());
        assert!(run("--bulk 1001").is_err());
        assert!(run("--write-rate 0").is_err());
        assert!(run("--clients -3").is_err());
    }
}
