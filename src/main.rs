//! The `herald` command line: `serve` (the default), `migrate`,
//! `check-config`, `users add`.
//! It only parses arguments; everything else lives in the library.

use herald::config::Settings;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::ExitCode;

/// A write's requests, rows and frames are many small allocations freed on
/// other threads; glibc's allocator spent a tenth of the server's CPU on
/// them in a profile of the write path, mimalloc much less.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const USAGE: &str = "usage: herald [serve | migrate | check-config] [--config FILE]
       herald users add --email EMAIL [--name NAME] [--admin] [--config FILE]

  serve         run the server (default); creates and migrates a missing database
  migrate       apply pending database migrations and exit
  check-config  load and validate the configuration, print it, and exit
  users add     create a user and print its token (shown once, stored hashed)

Configuration layers: built-in defaults, config/default.toml (if present),
--config FILE, then HERALD__SECTION__KEY environment variables.";

fn main() -> ExitCode {
    let mut command = None;
    let mut config: Option<PathBuf> = None;
    let mut user = NewUser::default();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--config" | "-c" => match args.next() {
                Some(path) => config = Some(PathBuf::from(path)),
                None => return usage_error("--config needs a file"),
            },
            "users" if command.is_none() => match args.next().as_deref() {
                Some("add") => command = Some("users add".to_string()),
                _ => return usage_error("expected `users add`"),
            },
            "--email" | "--name" if command.as_deref() == Some("users add") => {
                let Some(value) = args.next() else {
                    return usage_error(&format!("{arg} needs a value"));
                };
                if arg == "--email" {
                    user.email = Some(value);
                } else {
                    user.name = Some(value);
                }
            }
            "--admin" if command.as_deref() == Some("users add") => user.admin = true,
            "-h" | "--help" | "help" => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            "serve" | "migrate" | "check-config" if command.is_none() => command = Some(arg),
            other => return usage_error(&format!("unexpected argument {other:?}")),
        }
    }
    let mut settings = match Settings::load(config.as_deref(), std::env::vars()) {
        Ok(settings) => settings,
        Err(err) => {
            eprintln!("herald: {err}");
            return ExitCode::from(2);
        }
    };
    let command = command.as_deref().unwrap_or("serve");
    if command == "serve" && settings.cluster.node_id.is_empty() {
        // Chosen here rather than in `run`, so every log line can carry it.
        settings.cluster.node_id = herald::new_node_id();
    }
    herald::logging::init(&settings.log, &settings.cluster.node_id);
    match command {
        "check-config" => check_config(&settings),
        "migrate" => migrate(&settings),
        "users add" => add_user(&settings, user),
        _ => serve(settings),
    }
}

/// `users add` options.
#[derive(Default)]
struct NewUser {
    email: Option<String>,
    name: Option<String>,
    admin: bool,
}

fn add_user(settings: &Settings, user: NewUser) -> ExitCode {
    let Some(email) = user.email else {
        return usage_error("users add needs --email");
    };
    match herald::add_user(settings, &email, user.name, user.admin) {
        Ok((created, token)) => {
            println!("created user {created}");
            println!("token (shown once): {token}");
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("herald: {err}");
            ExitCode::FAILURE
        }
    }
}

fn usage_error(message: &str) -> ExitCode {
    eprintln!("herald: {message}\n\n{USAGE}");
    ExitCode::from(2)
}

fn check_config(settings: &Settings) -> ExitCode {
    match toml::to_string(&settings.redacted()) {
        Ok(text) => {
            println!("# configuration is valid\n{text}");
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("herald: cannot print settings: {err}");
            ExitCode::FAILURE
        }
    }
}

fn migrate(settings: &Settings) -> ExitCode {
    match herald::migrate(settings) {
        Ok(applied) => {
            println!("applied {} migration(s)", applied.len());
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("herald: {err}");
            ExitCode::FAILURE
        }
    }
}

fn serve(settings: Settings) -> ExitCode {
    let listener = match TcpListener::bind(&settings.server.bind) {
        Ok(listener) => listener,
        Err(err) => {
            eprintln!(
                "herald: config key `server.bind`: cannot listen on {}: {err}",
                settings.server.bind
            );
            return ExitCode::FAILURE;
        }
    };
    log::info!(
        "herald listening on http://{} (database {})",
        settings.server.bind,
        settings.redacted().database.url
    );
    let system = actix_web::rt::System::new();
    match system.block_on(herald::run(settings, listener, shutdown_signal())) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("herald: {err}");
            ExitCode::FAILURE
        }
    }
}

/// Resolves on SIGINT or SIGTERM.
async fn shutdown_signal() {
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(term) => term,
        Err(err) => {
            log::warn!("cannot listen for SIGTERM: {err}");
            let _ = tokio::signal::ctrl_c().await;
            return;
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}
