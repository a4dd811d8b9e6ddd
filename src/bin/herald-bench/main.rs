//! `herald-bench`: load generator for a running herald server.
//!
//! * `fanout` mode opens many WebSocket subscribers on one room, publishes
//!   events over HTTP at a fixed rate and measures delivery: lost events,
//!   duplicates and publish-to-receive latency.
//! * `writes` mode runs concurrent HTTP writers and measures persisted
//!   events per second and request latency.
//!
//! Everything runs on a single-threaded runtime and every phase is bounded
//! in time. Run `herald-bench --help` for the options.

mod args;
mod client;
mod fanout;
mod http;
mod procfs;
mod publish;
mod report;
mod scan;
mod stats;
mod target;
mod writes;
mod ws;

use std::process::ExitCode;

use args::{Command, Mode};

/// Error type of the tool.
pub type Error = Box<dyn std::error::Error + Send + Sync>;
/// Result type of the tool.
pub type Result<T> = std::result::Result<T, Error>;

fn main() -> ExitCode {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn")).init();
    let args = match args::parse(std::env::args().skip(1)) {
        Ok(Command::Run(args)) => args,
        Ok(Command::Help) => {
            println!("{}", args::USAGE);
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("error: {message}\n\n{}", args::USAGE);
            return ExitCode::from(2);
        }
    };
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Builds the single-threaded runtime and runs the selected mode.
fn run(args: args::Args) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let target = target::Target::resolve(&args.url).await?;
        match args.mode {
            Mode::Fanout => fanout::run(&args, &target).await,
            Mode::Writes => writes::run(&args, &target).await,
        }
    })
}
