//! Log lines of the real binary: `log.format = "json"` writes one object per
//! line with its fields, `log.access` adds one line per request, and
//! `RUST_LOG` still picks what is logged.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a failing test should panic"
)]

mod support;

use serde_json::Value;
use support::process::{free_port, Herald};
use support::*;

/// Runs `herald serve` with `env`, makes a few requests and one WebSocket
/// connection, stops it with SIGTERM and returns what it wrote to stderr.
async fn serve_and_stop(env: &[(&str, &str)]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let bind = format!("127.0.0.1:{}", free_port());
    let base = format!("http://{bind}");
    let mut vars = vec![
        ("HERALD__SERVER__BIND", bind.as_str()),
        ("HERALD__DATABASE__URL", "sqlite://herald.db"),
        ("HERALD__SERVER__WORKERS", "1"),
    ];
    vars.extend_from_slice(env);
    let mut herald = Herald::spawn(dir.path(), &["serve"], &vars);
    herald.wait_healthy(&base).await;
    assert_eq!(get(&format!("{base}/api/sessions/nope")).await.0, 404);
    let mut ws = Ws::connect(&format!("ws://{bind}/ws")).await;
    assert_eq!(ws.next_json().await["type"], "welcome");
    drop(ws);
    herald.terminate();
    let done = herald.wait_async().await;
    done.assert_ok();
    done.stderr
}

#[actix_web::test]
async fn json_logs_are_one_object_per_line_with_fields_and_an_access_log() {
    let stderr = serve_and_stop(&[
        ("HERALD__LOG__FORMAT", "json"),
        ("HERALD__LOG__ACCESS", "true"),
        ("HERALD__CLUSTER__NODE_ID", "node-logs"),
        ("RUST_LOG", "info,herald::actors=debug"),
    ])
    .await;
    let lines: Vec<Value> = stderr
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l:?}")))
        .collect();
    assert!(lines.len() >= 4, "{stderr}");
    for line in &lines {
        for key in ["timestamp", "level", "target", "message"] {
            assert!(line[key].is_string(), "{key} missing: {line}");
        }
        assert_eq!(line["node"], "node-logs", "{line}");
        assert!(is_timestamp(&line["timestamp"]), "{line}");
    }
    let access: Vec<&Value> = lines
        .iter()
        .filter(|l| l["target"] == "herald::access")
        .collect();
    let missing = access
        .iter()
        .find(|l| l["path"] == "/api/sessions/nope")
        .unwrap_or_else(|| panic!("no access line: {stderr}"));
    assert_eq!(missing["route"], "/api/sessions/{id}");
    assert_eq!(missing["status"], 404);
    assert_eq!(missing["method"], "GET");
    assert!(missing["duration_ms"].is_number());
    let opened = lines
        .iter()
        .find(|l| l["message"].as_str().is_some_and(|m| m.ends_with("opened")))
        .unwrap_or_else(|| panic!("no connection line: {stderr}"));
    assert!(opened["connection_id"].is_string(), "{opened}");
    assert_eq!(opened["dialect"], "native");
    assert_eq!(opened["level"], "DEBUG");
}

#[actix_web::test]
async fn text_logs_honour_rust_log_and_the_access_log_is_off_by_default() {
    let stderr = serve_and_stop(&[("RUST_LOG", "info")]).await;
    assert!(stderr.contains("herald listening on"), "{stderr}");
    assert!(!stderr.contains("/api/sessions/nope"), "access log is off");
    assert!(
        !stderr.lines().any(|l| l.starts_with('{')),
        "text, not JSON"
    );
    let quiet = serve_and_stop(&[("RUST_LOG", "warn"), ("HERALD__LOG__ACCESS", "true")]).await;
    assert!(!quiet.contains("herald listening on"), "{quiet}");
    assert!(
        !quiet.contains("/api/sessions/nope"),
        "info lines are filtered"
    );
}
