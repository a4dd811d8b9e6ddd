//! The `herald` binary as an operator runs it: `check-config`, `migrate` and
//! `serve`, each in a temporary working directory (so the repository's
//! `config/default.toml` is only read when a test asks for it), every run
//! bounded by a deadline after which the process is killed.
#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly on the first surprise"
)]

mod support;

use serde_json::{json, Value};
use std::net::TcpListener;
use std::path::Path;
use support::process::*;
use support::*;

/// Writes `text` to `name` in `dir` and returns the path as a string.
fn write_config(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

/// The settings `check-config` printed.
fn printed(done: &Finished) -> toml::Table {
    done.stdout
        .parse()
        .unwrap_or_else(|e| panic!("check-config printed no TOML ({e}): {}", done.stdout))
}

// ---------------------------------------------------------------- check-config

#[test]
fn check_config_without_any_file_uses_the_builtin_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let done = run(dir.path(), &["check-config"], &[]);
    done.assert_ok();
    let settings = printed(&done);
    assert_eq!(settings["server"]["bind"].as_str(), Some("127.0.0.1:8080"));
    assert_eq!(
        settings["database"]["url"].as_str(),
        Some("sqlite://data/herald.db")
    );
    assert_eq!(settings["ws"]["batch_window_ms"].as_integer(), Some(200));
    assert!(
        !dir.path().join("data").exists(),
        "check-config created files"
    );
}

#[test]
fn config_layers_apply_in_order_default_file_then_config_then_env() {
    let dir = tempfile::tempdir().unwrap();
    write_config(
        dir.path(),
        "config/default.toml",
        "[ws]\nbatch_window_ms = 7\nmax_rooms_per_connection = 3\n",
    );
    let extra = write_config(dir.path(), "extra.toml", "[ws]\nbatch_window_ms = 9\n");

    let done = run(dir.path(), &["check-config"], &[]);
    done.assert_ok();
    assert_eq!(
        printed(&done)["ws"]["batch_window_ms"].as_integer(),
        Some(7)
    );

    let done = run(dir.path(), &["check-config", "--config", &extra], &[]);
    done.assert_ok();
    let settings = printed(&done);
    assert_eq!(settings["ws"]["batch_window_ms"].as_integer(), Some(9));
    assert_eq!(
        settings["ws"]["max_rooms_per_connection"].as_integer(),
        Some(3)
    );

    let done = run(
        dir.path(),
        &["check-config", "--config", &extra],
        &[("HERALD__WS__BATCH_WINDOW_MS", "11")],
    );
    done.assert_ok();
    assert_eq!(
        printed(&done)["ws"]["batch_window_ms"].as_integer(),
        Some(11)
    );
}

#[test]
fn an_unknown_key_in_a_config_file_is_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let file = write_config(dir.path(), "bad.toml", "[ws]\nbogus = 1\n");
    run(dir.path(), &["check-config", "--config", &file], &[]).assert_refused_naming("ws.bogus");
    // `serve` refuses the same file before listening.
    run(dir.path(), &["serve", "--config", &file], &[]).assert_refused_naming("ws.bogus");
}

#[test]
fn an_invalid_value_in_a_config_file_is_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let file = write_config(dir.path(), "bad.toml", "[ws]\nbatch_window_ms = \"soon\"\n");
    run(dir.path(), &["check-config", "--config", &file], &[])
        .assert_refused_naming("ws.batch_window_ms");
}

#[test]
fn bad_environment_overrides_are_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    run(
        dir.path(),
        &["check-config"],
        &[("HERALD__DATABASE__POOL_SIZE", "0")],
    )
    .assert_refused_naming("database.pool_size");
    run(dir.path(), &["check-config"], &[("HERALD__WS__NOPE", "1")])
        .assert_refused_naming("ws.nope");
    run(
        dir.path(),
        &["check-config"],
        &[("HERALD__WS__BATCH_WINDOW_MS", "soon")],
    )
    .assert_refused_naming("ws.batch_window_ms");
}

#[test]
fn open_access_on_a_public_address_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let open = write_config(dir.path(), "open.toml", "[server]\nbind = \"0.0.0.0:0\"\n");
    run(dir.path(), &["check-config", "--config", &open], &[])
        .assert_refused_naming("auth.required");
    run(dir.path(), &["serve", "--config", &open], &[]).assert_refused_naming("auth.required");
    run(
        dir.path(),
        &["serve"],
        &[
            ("HERALD__SERVER__BIND", "0.0.0.0:0"),
            ("HERALD__AUTH__REQUIRED", "false"),
        ],
    )
    .assert_refused_naming("auth.required");

    // With authentication required the same address is fine.
    let closed = write_config(
        dir.path(),
        "closed.toml",
        "[server]\nbind = \"0.0.0.0:0\"\n[auth]\nrequired = true\n",
    );
    run(dir.path(), &["check-config", "--config", &closed], &[]).assert_ok();
}

#[test]
fn check_config_and_the_startup_log_never_print_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let token = "a-very-secret-admin-token";
    let env = [
        ("HERALD__AUTH__REQUIRED", "true"),
        ("HERALD__AUTH__ADMIN_TOKEN", token),
        // Nothing listens on port 1: serve logs, fails to connect, exits.
        (
            "HERALD__DATABASE__URL",
            "postgres://herald:db-pass-w0rd@127.0.0.1:1/herald",
        ),
        ("HERALD__SERVER__BIND", "127.0.0.1:0"),
    ];
    let done = run(dir.path(), &["check-config"], &env);
    done.assert_ok();
    let shown = printed(&done);
    assert_eq!(shown["auth"]["admin_token"].as_str(), Some("***"));
    assert_eq!(
        shown["database"]["url"].as_str(),
        Some("postgres://herald:***@127.0.0.1:1/herald")
    );
    let served = run(dir.path(), &["serve"], &env);
    assert!(
        served.stderr.contains("herald:***@127.0.0.1"),
        "{}",
        served.stderr
    );
    for out in [&done.stdout, &done.stderr, &served.stdout, &served.stderr] {
        assert!(
            !out.contains(token) && !out.contains("db-pass-w0rd"),
            "{out}"
        );
    }
}

#[test]
fn a_short_admin_token_stops_the_server_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let env = [
        ("HERALD__AUTH__REQUIRED", "true"),
        ("HERALD__AUTH__ADMIN_TOKEN", "change-me"),
    ];
    run(dir.path(), &["serve"], &env).assert_refused_naming("auth.admin_token");
    run(dir.path(), &["check-config"], &env).assert_refused_naming("auth.admin_token");
    // Without auth the token is not used, so it is not checked.
    let open = [("HERALD__AUTH__ADMIN_TOKEN", "change-me")];
    run(dir.path(), &["check-config"], &open).assert_ok();
}

#[test]
fn the_repository_default_config_passes_check_config() {
    let dir = tempfile::tempdir().unwrap();
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/default.toml");
    let done = run(
        dir.path(),
        &["check-config", "--config", file.to_str().unwrap()],
        &[],
    );
    done.assert_ok();
    assert_eq!(
        printed(&done)["server"]["bind"].as_str(),
        Some("127.0.0.1:8080")
    );
    // And as the working directory's own default file.
    run(
        Path::new(env!("CARGO_MANIFEST_DIR")),
        &["check-config"],
        &[],
    )
    .assert_ok();
}

// ---------------------------------------------------------------- migrate

#[test]
fn migrate_creates_the_database_and_its_folders_and_is_repeatable() {
    let dir = tempfile::tempdir().unwrap();
    let env = [("HERALD__DATABASE__URL", "sqlite://sub/dir/h.db")];
    run(dir.path(), &["migrate"], &env).assert_ok();
    let file = dir.path().join("sub/dir/h.db");
    assert!(file.is_file(), "no database at {}", file.display());
    run(dir.path(), &["migrate"], &env).assert_ok();

    // sqlite:///absolute/path is absolute, whatever the working directory.
    let elsewhere = tempfile::tempdir().unwrap();
    let abs = elsewhere.path().join("abs/h.db");
    let url = format!("sqlite://{}", abs.display());
    assert!(url.starts_with("sqlite:///"));
    run(dir.path(), &["migrate"], &[("HERALD__DATABASE__URL", &url)]).assert_ok();
    assert!(abs.is_file(), "no database at {}", abs.display());
}

// ---------------------------------------------------------------- serve

#[actix_web::test]
async fn serve_stops_cleanly_on_sigterm_and_keeps_its_data() {
    let dir = tempfile::tempdir().unwrap();
    let start = |port: u16| {
        let bind = format!("127.0.0.1:{port}");
        Herald::spawn(
            dir.path(),
            &["serve"],
            &[
                ("HERALD__SERVER__BIND", bind.as_str()),
                ("HERALD__DATABASE__URL", "sqlite://data/herald.db"),
                ("HERALD__SERVER__WORKERS", "2"),
            ],
        )
    };

    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut first = start(port);
    first.wait_healthy(&base).await;
    let (st, p) = post(&format!("{base}/api/projects"), json!({"name": "kept"})).await;
    assert_eq!(st, 201, "{p}");
    let pid = p["id"].as_str().unwrap().to_string();
    first.terminate();
    let done = first.wait_async().await;
    assert_eq!(done.status.code(), Some(0), "{}", done.stderr);
    assert!(dir.path().join("data/herald.db").is_file());

    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut second = start(port);
    second.wait_healthy(&base).await;
    let (st, list) = get(&format!("{base}/api/projects")).await;
    assert_eq!(st, 200);
    let names: Vec<&Value> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|p| &p["name"])
        .collect();
    assert_eq!(names, [&json!("kept")], "{list}");
    assert_eq!(list[0]["id"], pid.as_str());
    let (_, log) = get(&format!("{base}/api/rooms/project:{pid}/events")).await;
    assert_eq!(log[0]["event_type"], "project_created", "{log}");
    second.terminate();
    let done = second.wait_async().await;
    assert_eq!(done.status.code(), Some(0), "{}", done.stderr);
}

#[test]
fn serve_on_a_taken_port_fails_naming_server_bind() {
    let dir = tempfile::tempdir().unwrap();
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let bind = taken.local_addr().unwrap().to_string();
    run(
        dir.path(),
        &["serve"],
        &[("HERALD__SERVER__BIND", bind.as_str())],
    )
    .assert_refused_naming("server.bind");
    drop(taken);
}

// ------------------------------------------------------------------- users add

#[actix_web::test]
async fn users_add_prints_a_token_that_the_server_accepts() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("herald.db").display());
    let env = [("HERALD__DATABASE__URL", url.as_str())];
    let done = run(
        dir.path(),
        &[
            "users",
            "add",
            "--email",
            "Ops@Example.com",
            "--name",
            "Ops",
            "--admin",
        ],
        &env,
    );
    done.assert_ok();
    let token = done
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("token (shown once): "))
        .unwrap_or_else(|| panic!("no token printed: {}", done.stdout))
        .to_string();
    // The same email again is refused; no email at all is a usage error.
    let again = run(
        dir.path(),
        &["users", "add", "--email", "ops@example.com"],
        &env,
    );
    assert!(!again.status.success());
    assert!(again.stderr.contains("exists"), "{}", again.stderr);
    let bare = run(dir.path(), &["users", "add"], &env);
    assert_eq!(bare.status.code(), Some(2), "{}", bare.stderr);

    let srv = TestServer::start_in(dir, {
        let mut s = herald::config::Settings::default();
        s.database.url = url.clone();
        s.auth.required = true;
        s
    });
    let (st, me) = call_as(Some(&token), "GET", &srv.url("/api/me"), None).await;
    assert_eq!(st, 200, "{me}");
    assert_eq!(
        (&me["email"], &me["admin"]),
        (&json!("ops@example.com"), &json!(true))
    );
}
