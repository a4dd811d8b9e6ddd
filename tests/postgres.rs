//! The PostgreSQL backend, end to end: migrations, group commit, seqs,
//! snapshots and resume on a real server against a real PostgreSQL.
//!
//! The database URL comes from `HERALD_TEST_POSTGRES_URL` (set by `.ci/run`).
//! Each test runs in a schema of its own, dropped afterwards. Without the
//! variable the tests are skipped locally, but fail under CI.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a failing test should panic"
)]

mod support;

use diesel::connection::SimpleConnection;
use diesel::{Connection, RunQueryDsl};
use serde_json::json;
use support::*;

/// A schema of its own on the test PostgreSQL, dropped on drop.
struct PgSchema {
    admin_url: String,
    name: String,
}

impl PgSchema {
    fn create() -> Option<PgSchema> {
        let admin_url = match std::env::var("HERALD_TEST_POSTGRES_URL") {
            Ok(url) => url,
            Err(_) if std::env::var_os("CI").is_some() => {
                panic!("HERALD_TEST_POSTGRES_URL must be set in CI")
            }
            Err(_) => {
                eprintln!("HERALD_TEST_POSTGRES_URL not set: skipping PostgreSQL test");
                return None;
            }
        };
        let name = format!("herald_test_{}", uuid::Uuid::new_v4().simple());
        let mut conn = diesel::PgConnection::establish(&admin_url).unwrap();
        conn.batch_execute(&format!("CREATE SCHEMA {name}"))
            .unwrap();
        Some(PgSchema { admin_url, name })
    }

    /// The URL that makes every connection use this schema (and names them
    /// after it, so a test can find and cut its own connections).
    fn url(&self) -> String {
        let sep = if self.admin_url.contains('?') {
            '&'
        } else {
            '?'
        };
        format!(
            "{}{sep}options=-csearch_path%3D{}&application_name={}",
            self.admin_url, self.name, self.name
        )
    }

    /// Terminates every server connection of this schema's herald.
    fn cut_connections(&self) -> usize {
        let mut conn = diesel::PgConnection::establish(&self.admin_url).unwrap();
        let sql = format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = '{}'",
            self.name
        );
        diesel::sql_query(sql).execute(&mut conn).unwrap()
    }
}

impl Drop for PgSchema {
    fn drop(&mut self) {
        if let Ok(mut conn) = diesel::PgConnection::establish(&self.admin_url) {
            let _ = conn.batch_execute(&format!("DROP SCHEMA {} CASCADE", self.name));
        }
    }
}

#[actix_web::test]
async fn postgres_backend_serves_writes_snapshots_and_resume() {
    let Some(schema) = PgSchema::create() else {
        return;
    };
    let url = schema.url();
    let srv = TestServer::start_with(|s| s.database.url = url);
    assert_eq!(get(&srv.url("/readyz")).await.0, 200);

    let (pid, sid) = project_and_session(&srv).await;
    let mut ws = Ws::open(&srv).await;
    let sub = ws.subscribe(&format!("project:{pid}"), None).await;
    assert_eq!(sub["snapshot"]["sessions"][0]["id"], sid.as_str());
    assert_eq!(sub["seq"], 2);

    // Concurrent writers: seqs stay contiguous.
    concurrent_writes(&srv, "pg-room", 4, 20).await;
    assert_eq!(
        stored_seqs(&srv, "pg-room").await,
        (1..=80).collect::<Vec<_>>()
    );

    // Resume from the log.
    let mut late = Ws::open(&srv).await;
    let sub = late.subscribe("pg-room", Some(75)).await;
    assert_eq!(sub["recovered"], true);
    let got: Vec<i64> = late
        .events(5)
        .await
        .iter()
        .map(|e| e["seq"].as_i64().unwrap())
        .collect();
    assert_eq!(got, vec![76, 77, 78, 79, 80]);

    // A session patch reaches the project room live.
    let (st, _) = call(
        "PATCH",
        &srv.url(&format!("/api/sessions/{sid}")),
        Some(json!({"status": "ended"})),
    )
    .await;
    assert_eq!(st, 200);
    let evs = ws.events(2).await;
    assert_eq!(evs[1]["event_type"], "status_changed");
    assert_eq!(evs[1]["seq"], 4);
}

#[actix_web::test]
async fn connections_cut_by_the_database_answer_503_then_recover() {
    let Some(schema) = PgSchema::create() else {
        return;
    };
    let url = schema.url();
    let srv = TestServer::start_with(|s| s.database.url = url);
    publish(&srv, "cut", json!({"n": 0})).await;
    assert_eq!(get(&srv.url("/api/rooms/cut/events")).await.0, 200);
    assert!(schema.cut_connections() >= 1, "no herald connection to cut");

    // Writes fail with 503 (never 500) until the writer has reconnected.
    let deadline = std::time::Instant::now() + WAIT;
    let mut n = 1;
    loop {
        let (st, body) = post(
            &srv.url("/api/rooms/cut/events"),
            json!({"event_type": "note", "payload": {"n": n}}),
        )
        .await;
        if st == 201 {
            break;
        }
        assert_eq!(st, 503, "{body}");
        assert_eq!(body["error"]["code"], "unavailable");
        assert!(
            std::time::Instant::now() < deadline,
            "writes never recovered"
        );
        n += 1;
    }
    assert!(n > 1, "the cut connection was never noticed");
    // Reads recover too (pool connections are checked on checkout).
    let (st, log) = get(&srv.url("/api/rooms/cut/events")).await;
    assert_eq!(st, 200, "{log}");
    let seqs: Vec<i64> = log
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["seq"].as_i64().unwrap())
        .collect();
    assert_eq!(seqs, vec![1, 2], "a failed write left a trace");
    assert_eq!(get(&srv.url("/readyz")).await.0, 200);
}
