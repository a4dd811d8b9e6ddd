//! The API contract: `GET /api/openapi.json` lists every route of the route
//! table (`herald::http::ROUTES`, the list that registers them), validates
//! as OpenAPI 3.1 (openapi-spec-validator), and schemathesis, driven by it
//! against a live herald process, finds no 500, no answer that breaks the
//! document and no half-applied write — with auth required (admin token)
//! and with auth off. The Python tools are installed at pinned versions by
//! `tests/clients/api-tools.sh`; without Python they are skipped, except
//! under CI.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a failing test should panic"
)]

mod support;

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};
use support::process::{free_port, Herald};

/// Longest one schemathesis run may take before it is killed.
const RUN_DEADLINE: Duration = Duration::from_secs(300);
/// Test cases per operation and phase: a few minutes for both runs on 2 cores.
const MAX_EXAMPLES: &str = "12";
/// The admin token of the auth-on run.
const ADMIN_TOKEN: &str = "openapi-test-admin-token-0123456789";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The venv with schemathesis and openapi-spec-validator, or `None` (after
/// saying so) where Python is missing outside CI.
fn tools() -> Option<PathBuf> {
    static DIR: OnceLock<Option<PathBuf>> = OnceLock::new();
    DIR.get_or_init(|| {
        let python = Command::new("python3").arg("--version").output();
        if !python.is_ok_and(|o| o.status.success()) {
            assert!(
                std::env::var_os("CI").is_none(),
                "python3 is needed for the contract tests in CI"
            );
            eprintln!("skipped: python3 is missing (schemathesis, openapi-spec-validator)");
            return None;
        }
        let out = Command::new(root().join("tests/clients/api-tools.sh"))
            .output()
            .expect("cannot run tests/clients/api-tools.sh");
        if !out.status.success() {
            let err = String::from_utf8_lossy(&out.stderr).to_string();
            assert!(
                std::env::var_os("CI").is_none(),
                "installing the API tools failed:\n{err}"
            );
            eprintln!("skipped: the API tools could not be installed:\n{err}");
            return None;
        }
        Some(PathBuf::from(
            String::from_utf8_lossy(&out.stdout).trim().to_string(),
        ))
    })
    .clone()
}

fn document(auth_required: bool) -> Value {
    serde_json::from_str(herald::http::openapi::json(auth_required)).unwrap()
}

#[test]
fn every_route_of_the_table_is_in_the_document_and_nothing_else() {
    for auth in [true, false] {
        let doc = document(auth);
        let paths = doc["paths"].as_object().unwrap();
        let mut missing = Vec::new();
        for route in herald::http::ROUTES {
            let method = route.method.http().as_str().to_lowercase();
            if paths.get(route.path).and_then(|p| p.get(&method)).is_none() {
                missing.push(format!("{} {}", route.method.http(), route.path));
            }
        }
        assert!(missing.is_empty(), "undocumented routes: {missing:?}");
        let mut extra = Vec::new();
        for (path, item) in paths {
            for method in item.as_object().unwrap().keys() {
                let served = herald::http::ROUTES.iter().any(|r| {
                    r.path == path && r.method.http().as_str().eq_ignore_ascii_case(method)
                });
                if !served {
                    extra.push(format!("{method} {path}"));
                }
            }
        }
        assert!(extra.is_empty(), "documented but not served: {extra:?}");
    }
}

#[test]
fn every_error_answer_is_the_one_error_schema() {
    let doc = document(true);
    for (name, response) in doc["components"]["responses"].as_object().unwrap() {
        let schema = &response["content"]["application/json"]["schema"]["$ref"];
        assert_eq!(schema, "#/components/schemas/ErrorBody", "{name}");
    }
    let codes = &doc["components"]["schemas"]["ErrorCode"]["enum"];
    for code in [
        "bad_request",
        "validation_failed",
        "not_found",
        "unavailable",
    ] {
        assert!(
            codes.as_array().unwrap().iter().any(|c| c == code),
            "{code}"
        );
    }
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    assert!(document(false).get("security").is_none());
}

#[test]
fn the_document_validates_as_openapi_3_1() {
    let Some(venv) = tools() else { return };
    let dir = tempfile::tempdir().unwrap();
    for auth in [true, false] {
        let file = dir.path().join(format!("openapi-{auth}.json"));
        std::fs::write(&file, herald::http::openapi::json(auth)).unwrap();
        assert_eq!(document(auth)["openapi"], "3.1.0");
        let out = Command::new(venv.join("bin/openapi-spec-validator"))
            .arg(&file)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// Starts herald on a free port in `dir`; returns it with its base URL.
async fn start(dir: &Path, auth: bool) -> (Herald, String) {
    let port = free_port();
    let bind = format!("127.0.0.1:{port}");
    let url = format!("sqlite://{}", dir.join("herald.db").display());
    let mut env = vec![
        ("HERALD__SERVER__BIND", bind.as_str()),
        ("HERALD__DATABASE__URL", url.as_str()),
        // A poll waits at most one heartbeat; keep it short for the fuzzer.
        ("HERALD__WS__HEARTBEAT_INTERVAL_MS", "2000"),
        ("HERALD__AUTH__MAX_WRITES_PER_SECOND", "100000"),
    ];
    if auth {
        env.push(("HERALD__AUTH__REQUIRED", "true"));
        env.push(("HERALD__AUTH__ADMIN_TOKEN", ADMIN_TOKEN));
    }
    let mut herald = Herald::spawn(dir, &["serve"], &env);
    let base = format!("http://{bind}");
    herald.wait_healthy(&base).await;
    (herald, base)
}

/// What a schemathesis run reported.
struct Run {
    generated: u64,
    output: String,
}

/// Runs schemathesis over the document `base` serves, against `base`.
async fn schemathesis(venv: PathBuf, base: String, token: Option<&'static str>) -> Run {
    actix_web::rt::task::spawn_blocking(move || {
        let clients = root().join("tests/clients");
        let mut cmd = Command::new(venv.join("bin/schemathesis"));
        cmd.current_dir(std::env::temp_dir())
            .env("PYTHONPATH", &clients)
            .env("SCHEMATHESIS_HOOKS", "schemathesis_hooks")
            .args(["--config-file"])
            .arg(clients.join("schemathesis.toml"))
            .args(["run", &format!("{base}/api/openapi.json")])
            .args([
                "--url",
                &base,
                "-n",
                MAX_EXAMPLES,
                "-w",
                "2",
                "--seed",
                "12",
            ])
            .args(["--no-color", "--request-timeout", "10"])
            .stdin(Stdio::null());
        // Into a file, not a pipe: nobody reads a pipe while it runs.
        let log = tempfile::NamedTempFile::new().unwrap();
        cmd.stdout(log.reopen().unwrap())
            .stderr(log.reopen().unwrap());
        // Read by schemathesis.toml's `[auth.openapi.bearer]`; the auth-off
        // document has no security scheme to use it for.
        cmd.env("HERALD_TEST_TOKEN", token.unwrap_or("unused"));
        let mut child = cmd.spawn().expect("cannot start schemathesis");
        let deadline = Instant::now() + RUN_DEADLINE;
        while child.try_wait().unwrap().is_none() {
            if Instant::now() > deadline {
                let _ = child.kill();
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        child.wait().unwrap();
        let output = std::fs::read_to_string(log.path()).unwrap_or_default();
        let generated = output
            .lines()
            .filter_map(|l| {
                l.trim()
                    .strip_suffix(" generated")
                    .or_else(|| l.trim().split_once(" generated,").map(|(n, _)| n))
            })
            .find_map(|n| n.trim().parse().ok())
            .unwrap_or_else(|| panic!("no test-case count in the output:\n{output}"));
        let failed = output.contains("Failures:") || !output.contains("Test cases:");
        assert!(!failed, "schemathesis found failures:\n{output}");
        Run { generated, output }
    })
    .await
    .unwrap()
}

/// The log's invariants: every delivery has its event; every room's seqs
/// are exactly 1..=last_seq.
fn assert_log_whole(db: &Path) {
    use diesel::prelude::*;
    use diesel::sql_types::BigInt;
    #[derive(QueryableByName)]
    struct N {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    let mut conn = diesel::SqliteConnection::establish(&db.display().to_string()).unwrap();
    let count = |conn: &mut diesel::SqliteConnection, sql: &str| -> i64 {
        diesel::sql_query(sql).get_result::<N>(conn).unwrap().n
    };
    let orphans = count(
        &mut conn,
        "SELECT COUNT(*) AS n FROM deliveries d LEFT JOIN events e ON e.id = d.event_id WHERE e.id IS NULL",
    );
    assert_eq!(orphans, 0, "deliveries without their event");
    let broken = count(
        &mut conn,
        "SELECT COUNT(*) AS n FROM rooms r WHERE r.last_seq != (SELECT COUNT(*) FROM deliveries d WHERE d.room = r.name) \
         OR r.last_seq != COALESCE((SELECT MAX(seq) FROM deliveries d WHERE d.room = r.name), 0) \
         OR EXISTS (SELECT 1 FROM deliveries d WHERE d.room = r.name AND d.seq < 1)",
    );
    assert_eq!(broken, 0, "rooms whose seqs are not 1..=last_seq");
    let deliveries = count(&mut conn, "SELECT COUNT(*) AS n FROM deliveries");
    assert!(deliveries > 0, "the run wrote nothing");
}

async fn contract_run(auth: bool) {
    let Some(venv) = tools() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (mut herald, base) = start(dir.path(), auth).await;
    let token = auth.then_some(ADMIN_TOKEN);
    let run = schemathesis(venv, base, token).await;
    let errors = run.output.contains("Errors:");
    eprintln!(
        "schemathesis (auth {}): {} generated requests{}",
        if auth { "on" } else { "off" },
        run.generated,
        if errors {
            " (with errors inside schemathesis, see its output)"
        } else {
            ""
        }
    );
    if errors {
        // schemathesis' own errors quote whole Python modules: the tail says enough.
        let tail: String = run.output.chars().rev().take(4000).collect();
        eprintln!("{}", tail.chars().rev().collect::<String>());
    }
    assert!(herald.exited().is_none(), "herald died under schemathesis");
    herald.terminate();
    herald.wait_async().await.assert_ok();
    assert_log_whole(&dir.path().join("herald.db"));
}

#[actix_web::test]
async fn schemathesis_finds_nothing_with_auth_required() {
    contract_run(true).await;
}

#[actix_web::test]
async fn schemathesis_finds_nothing_with_auth_off() {
    contract_run(false).await;
}
