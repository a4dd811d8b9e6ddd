//! The dashboard and `herald.js`: the client's unit tests under Node's test
//! runner, and the dashboard in headless Chromium (`tests/web/*.test.mjs`).
//!
//! The browser is Debian's Chromium: `.ci/run` installs it and names it in
//! `HERALD_TEST_CHROMIUM`, so in CI these tests always run. Elsewhere they run
//! when `/usr/bin/chromium` exists and are skipped (with a note) otherwise.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a failing test should panic"
)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long one `node --test` run may take.
const DEADLINE: Duration = Duration::from_secs(240);

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs `node --test FILE` with `env`; panics with its output unless every test passed.
fn node_test(file: &str, env: &[(&str, &Path)]) {
    let mut child = Command::new("node")
        .args(["--test", "--test-concurrency=1", file])
        .current_dir(root())
        .envs(env.iter().map(|(k, v)| (*k, v.as_os_str())))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cannot run node");
    let deadline = Instant::now() + DEADLINE;
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "node --test {file} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn herald_js_unit_tests_pass() {
    node_test("tests/web/herald.test.mjs", &[]);
}

#[test]
fn herald_js_writes_are_done_once_against_a_live_server() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let bind = format!("127.0.0.1:{port}");
    let mut server = Command::new(env!("CARGO_BIN_EXE_herald"))
        .arg("serve")
        .current_dir(dir.path())
        .env("HERALD__SERVER__BIND", &bind)
        .env("HERALD__DATABASE__URL", "sqlite://herald.db")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(&bind).is_err() {
        assert!(Instant::now() < deadline, "herald did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    let url = format!("http://{bind}");
    node_test(
        "tests/web/write.test.mjs",
        &[("HERALD_URL", Path::new(&url))],
    );
    let _ = server.kill();
    let _ = server.wait();
}

/// The Chromium to drive, or `None` to skip outside CI.
fn chromium() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("HERALD_TEST_CHROMIUM") {
        return Some(PathBuf::from(path));
    }
    let default = PathBuf::from("/usr/bin/chromium");
    if default.exists() {
        return Some(default);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "HERALD_TEST_CHROMIUM must be set in CI"
    );
    eprintln!(
        "no Chromium (apt install chromium, or set HERALD_TEST_CHROMIUM): skipping browser tests"
    );
    None
}

#[test]
fn the_dashboard_works_in_a_real_browser() {
    let Some(chromium) = chromium() else {
        return;
    };
    let setup = Command::new(root().join("tests/clients/setup.sh"))
        .output()
        .expect("cannot run tests/clients/setup.sh");
    assert!(
        setup.status.success(),
        "installing playwright-core failed:\n{}",
        String::from_utf8_lossy(&setup.stderr)
    );
    let clients = PathBuf::from(String::from_utf8_lossy(&setup.stdout).trim().to_string());
    let binary = PathBuf::from(env!("CARGO_BIN_EXE_herald"));
    let shots = root().join("target/screenshots");
    node_test(
        "tests/web/browser.test.mjs",
        &[
            ("HERALD_BIN", &binary),
            ("HERALD_CLIENTS", &clients),
            ("HERALD_SHOTS", &shots),
            ("CHROMIUM", &chromium),
        ],
    );
}
