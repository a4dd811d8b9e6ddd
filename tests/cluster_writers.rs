//! Several herald nodes writing to one PostgreSQL database, as real
//! `herald serve` processes: they start together on an empty database, and
//! writes that race across nodes (first seq of a room, first hook of a
//! session, the same tool call, a work item's first POST) answer as they
//! would on one node. And SQLite stays one node: a second server on the same
//! file refuses to start.
//!
//! Each test gets a fresh database (`support::pg`); without
//! `HERALD_TEST_POSTGRES_URL` the PostgreSQL tests are skipped locally.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a failing test should panic"
)]

mod support;

use diesel::sql_types::{BigInt, Text};
use diesel::{QueryableByName, RunQueryDsl};
use serde_json::{json, Value};
use std::collections::HashSet;
use support::pg::{with_database, PgDatabase};
use support::process::{free_port, run, Herald};
use support::*;

/// One `herald serve` process.
struct Node {
    herald: Herald,
    base: String,
    _dir: tempfile::TempDir,
}

impl Node {
    /// Starts a node on `db_url` and a free port, in a folder of its own.
    fn spawn(db_url: &str) -> Node {
        let dir = tempfile::tempdir().unwrap();
        let bind = format!("127.0.0.1:{}", free_port());
        let herald = Herald::spawn(
            dir.path(),
            &["serve"],
            &[
                ("HERALD__DATABASE__URL", db_url),
                ("HERALD__SERVER__BIND", &bind),
                ("HERALD__DATABASE__POOL_SIZE", "3"),
                ("HERALD__SERVER__WORKERS", "2"),
            ],
        );
        Node {
            herald,
            base: format!("http://{bind}"),
            _dir: dir,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

/// Starts `n` nodes at the same instant, then waits until each is healthy.
async fn start_together(db: &PgDatabase, n: usize) -> Vec<Node> {
    let url = db.url();
    let mut nodes: Vec<Node> = (0..n).map(|_| Node::spawn(&url)).collect();
    for node in &mut nodes {
        let base = node.base.clone();
        node.herald.wait_healthy(&base).await;
    }
    nodes
}

/// Starts one node (which migrates the database), then `n - 1` more: the
/// write tests race writes, not start-ups.
async fn start_nodes(db: &PgDatabase, n: usize) -> Vec<Node> {
    let mut nodes = start_together(db, 1).await;
    nodes.extend(start_together(db, n - 1).await);
    nodes
}

/// Sends the same request to every url at once; the answers in url order.
async fn at_once(requests: Vec<(String, Value)>) -> Vec<(u16, Value)> {
    let tasks: Vec<_> = requests
        .into_iter()
        .map(|(url, body)| actix_web::rt::spawn(async move { post(&url, body).await }))
        .collect();
    let mut answers = Vec::new();
    for task in tasks {
        answers.push(task.await.unwrap());
    }
    answers
}

/// A room's log, oldest first (at most 1000).
async fn log(node: &Node, room: &str) -> Vec<Value> {
    let (st, list) = get(&node.url(&format!("/api/rooms/{room}/events?limit=1000"))).await;
    assert_eq!(st, 200, "{list}");
    list.as_array().unwrap().clone()
}

fn count_type(events: &[Value], event_type: &str, resource_id: &str) -> usize {
    events
        .iter()
        .filter(|e| e["event_type"] == event_type && e["resource_id"] == resource_id)
        .count()
}

/// A unique suffix, so names from different runs never meet.
fn unique() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..8].to_string()
}

#[test]
fn test_database_urls_replace_only_the_database_name() {
    assert_eq!(
        with_database("postgres://postgres@127.0.0.1:5432/test", "x"),
        "postgres://postgres@127.0.0.1:5432/x"
    );
    assert_eq!(
        with_database("postgresql://u:p@h/db?sslmode=disable", "x"),
        "postgresql://u:p@h/x?sslmode=disable"
    );
    assert_eq!(with_database("postgres://h", "x"), "postgres://h/x");
}

#[actix_web::test]
async fn three_nodes_started_at_once_on_an_empty_database_all_come_up() {
    let migrations = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/postgres"))
        .unwrap()
        .count();
    // A few rounds: the race between the nodes' migrations is a matter of timing.
    for _ in 0..3 {
        let Some(db) = PgDatabase::create() else {
            return;
        };
        let mut nodes = start_together(&db, 3).await;
        for node in &mut nodes {
            assert_eq!(get(&node.url("/readyz")).await.0, 200);
            assert!(node.herald.exited().is_none());
        }
        #[derive(QueryableByName)]
        struct Count {
            #[diesel(sql_type = BigInt)]
            n: i64,
        }
        let applied: Count =
            diesel::sql_query("SELECT count(*) AS n FROM __diesel_schema_migrations")
                .get_result(&mut db.connect())
                .unwrap();
        assert_eq!(applied.n as usize, migrations, "each migration once");
    }
}

#[actix_web::test]
async fn writers_on_three_nodes_take_contiguous_seqs_in_a_new_room() {
    let Some(db) = PgDatabase::create() else {
        return;
    };
    let nodes = start_nodes(&db, 3).await;
    const WRITERS: usize = 4;
    const EACH: usize = 10;
    // Several new rooms: each one's first seq is taken by all nodes at once.
    for round in 0..4 {
        let room = format!("race-{}-{round}", unique());
        let tasks: Vec<_> = nodes
            .iter()
            .flat_map(|node| (0..WRITERS).map(move |w| (node.url(""), w)))
            .map(|(base, w)| {
                let url = format!("{base}/api/rooms/{room}/events");
                actix_web::rt::spawn(async move {
                    let mut seqs = Vec::new();
                    for n in 0..EACH {
                        let body = json!({"event_type": "w", "payload": {"w": w, "n": n}});
                        let (st, answer) = post(&url, body).await;
                        assert_eq!(st, 201, "{answer}");
                        seqs.push(answer["events"][0]["seq"].as_i64().unwrap());
                    }
                    seqs
                })
            })
            .collect();
        let mut answered = Vec::new();
        for task in tasks {
            answered.extend(task.await.unwrap());
        }
        let total = (nodes.len() * WRITERS * EACH) as i64;
        answered.sort_unstable();
        assert_eq!(answered, (1..=total).collect::<Vec<_>>(), "answered seqs");
        let stored = log(&nodes[round % nodes.len()], &room).await;
        assert_eq!(seqs_of(&stored), (1..=total).collect::<Vec<_>>());
        let ids: HashSet<i64> = stored.iter().map(|e| e["id"].as_i64().unwrap()).collect();
        assert_eq!(ids.len(), stored.len(), "an event delivered twice");
    }
}

#[actix_web::test]
async fn the_first_hook_of_a_new_session_on_two_nodes_creates_it_once() {
    let Some(db) = PgDatabase::create() else {
        return;
    };
    let nodes = start_nodes(&db, 2).await;
    const PAIRS: usize = 15;
    let tag = unique();
    let mut requests = Vec::new();
    for i in 0..PAIRS {
        let body = json!({"hook_event_name": "UserPromptSubmit", "session_id": format!("s-{tag}-{i}"),
                          "cwd": format!("/work/repo-{tag}-{i}"), "prompt": "go"});
        for node in &nodes {
            requests.push((node.url("/api/hooks"), body.clone()));
        }
    }
    for (st, body) in at_once(requests).await {
        assert_eq!(st, 200, "{body}");
    }
    let (_, sessions) = get(&nodes[0].url("/api/sessions")).await;
    assert_eq!(sessions.as_array().unwrap().len(), PAIRS, "{sessions}");
    // A project named after the folder, once per folder.
    let (_, projects) = get(&nodes[1].url("/api/projects")).await;
    let names: Vec<&str> = projects
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    let distinct: HashSet<&str> = names.iter().copied().collect();
    assert_eq!((names.len(), distinct.len()), (PAIRS, PAIRS), "{names:?}");
    for i in 0..PAIRS {
        let sid = format!("s-{tag}-{i}");
        let events = log(&nodes[i % 2], &format!("session:{sid}")).await;
        assert_eq!(count_type(&events, "session_created", &sid), 1, "{sid}");
        assert_eq!(count_type(&events, "message_created", &sid), 2, "{sid}");
    }
}

/// Creates a project and a session on `node`; returns the session id.
async fn new_session(node: &Node) -> String {
    let (st, p) = post(&node.url("/api/projects"), json!({"name": "P"})).await;
    assert_eq!(st, 201, "{p}");
    let pid = p["id"].as_str().unwrap();
    let (st, s) = post(
        &node.url(&format!("/api/projects/{pid}/sessions")),
        json!({"title": "S"}),
    )
    .await;
    assert_eq!(st, 201, "{s}");
    s["id"].as_str().unwrap().to_string()
}

/// The statuses of a pair of answers, smallest first.
fn statuses(pair: &[(u16, Value)]) -> Vec<u16> {
    let mut st: Vec<u16> = pair.iter().map(|(st, _)| *st).collect();
    st.sort_unstable();
    st
}

#[actix_web::test]
async fn the_same_tool_call_on_two_nodes_is_recorded_once() {
    let Some(db) = PgDatabase::create() else {
        return;
    };
    let nodes = start_nodes(&db, 2).await;
    let sid = new_session(&nodes[0]).await;
    const PAIRS: usize = 15;
    let mut requests = Vec::new();
    for i in 0..PAIRS {
        let body = json!({"tool_call_id": format!("tc-{i}"), "tool_name": "Bash",
                          "state": "input-available", "input": {"command": "ls"}});
        for node in &nodes {
            requests.push((
                node.url(&format!("/api/sessions/{sid}/tool-calls")),
                body.clone(),
            ));
        }
    }
    let answers = at_once(requests).await;
    for pair in answers.chunks(2) {
        assert_eq!(statuses(pair), [200, 201], "{pair:?}");
    }
    let events = log(&nodes[1], &format!("session:{sid}")).await;
    let created = events
        .iter()
        .filter(|e| e["event_type"] == "tool_call_created")
        .count();
    let updated = events
        .iter()
        .filter(|e| e["event_type"] == "tool_call_updated")
        .count();
    assert_eq!((created, updated), (PAIRS, 0));
    let (_, snapshot) = get(&nodes[0].url(&format!("/api/sessions/{sid}/snapshot"))).await;
    assert_eq!(snapshot["tool_calls"].as_array().unwrap().len(), PAIRS);
}

#[actix_web::test]
async fn a_work_item_s_first_post_on_two_nodes_creates_it_once() {
    let Some(db) = PgDatabase::create() else {
        return;
    };
    let nodes = start_nodes(&db, 2).await;
    const PAIRS: usize = 40;
    let tag = unique();
    let mut requests = Vec::new();
    for i in 0..PAIRS {
        for node in &nodes {
            let url = node.url(&format!("/api/broadcast/features/f-{tag}-{i}"));
            requests.push((url, json!({"title": "Auth", "status": "todo"})));
        }
    }
    let answers = at_once(requests).await;
    for pair in answers.chunks(2) {
        // The first POST creates it (201), the second updates it (200).
        assert_eq!(statuses(pair), [200, 201], "{pair:?}");
    }
    let events = log(&nodes[0], "broadcasts").await;
    for i in 0..PAIRS {
        let id = format!("f-{tag}-{i}");
        assert_eq!(count_type(&events, "feature_created", &id), 1, "{id}");
        assert_eq!(count_type(&events, "feature_updated", &id), 1, "{id}");
    }
}

#[actix_web::test]
async fn writes_to_sessions_of_one_project_from_two_nodes_all_commit() {
    let Some(db) = PgDatabase::create() else {
        return;
    };
    let nodes = start_nodes(&db, 2).await;
    // Each write locks its session's room, then the project's: groups on two
    // nodes take them in opposite orders and deadlock now and then.
    let (st, p) = post(&nodes[0].url("/api/projects"), json!({"name": "P"})).await;
    assert_eq!(st, 201, "{p}");
    let pid = p["id"].as_str().unwrap().to_string();
    let mut sessions = Vec::new();
    for n in 0..4 {
        let url = nodes[0].url(&format!("/api/projects/{pid}/sessions"));
        let (st, s) = post(&url, json!({"title": format!("S{n}")})).await;
        assert_eq!(st, 201, "{s}");
        sessions.push(s["id"].as_str().unwrap().to_string());
    }
    const WRITERS: usize = 4;
    const EACH: usize = 10;
    let tasks: Vec<_> = nodes
        .iter()
        .enumerate()
        .flat_map(|(n, node)| (0..WRITERS).map(move |w| (n, w, node.url(""))))
        .map(|(n, w, base)| {
            let sessions = sessions.clone();
            actix_web::rt::spawn(async move {
                for i in 0..EACH {
                    // Node 0 walks the sessions forwards, node 1 backwards.
                    let k = if n == 0 {
                        w + i
                    } else {
                        WRITERS * EACH - w - i
                    };
                    let sid = &sessions[k % sessions.len()];
                    let url = format!("{base}/api/sessions/{sid}/messages");
                    let (st, body) = post(&url, json!({"prompt": format!("{n}-{w}-{i}")})).await;
                    assert_eq!(st, 201, "{body}");
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let total = 2 * WRITERS * EACH;
    // project_created, one session_created per session, then the messages.
    let events = log(&nodes[1], &format!("project:{pid}")).await;
    let expected = 1 + sessions.len() + total;
    assert_eq!(seqs_of(&events), (1..=expected as i64).collect::<Vec<_>>());
    #[derive(QueryableByName)]
    struct Deadlocks {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    let seen: Deadlocks = diesel::sql_query(
        "SELECT deadlocks AS n FROM pg_stat_database WHERE datname = current_database()",
    )
    .get_result(&mut db.connect())
    .unwrap();
    eprintln!("deadlocks resolved: {}", seen.n);
}

#[derive(QueryableByName)]
struct Version {
    #[diesel(sql_type = BigInt)]
    v: i64,
}

fn access_version(db: &PgDatabase, table: &str, id: &str) -> i64 {
    let found: Version = diesel::sql_query(format!(
        "SELECT access_version AS v FROM {table} WHERE id = $1"
    ))
    .bind::<Text, _>(id)
    .get_result(&mut db.connect())
    .unwrap();
    found.v
}

#[actix_web::test]
async fn access_changes_on_two_nodes_each_take_the_next_access_version() {
    let Some(db) = PgDatabase::create() else {
        return;
    };
    let nodes = start_nodes(&db, 2).await;
    let sid = new_session(&nodes[0]).await;
    assert_eq!(access_version(&db, "sessions", &sid), 1, "created");
    const EACH: usize = 10;
    let mut requests = Vec::new();
    for i in 0..EACH {
        for (n, node) in nodes.iter().enumerate() {
            let body = json!({"email": format!("c{n}-{i}@x.io"), "role": "viewer"});
            requests.push((
                node.url(&format!("/api/sessions/{sid}/collaborators")),
                body,
            ));
        }
    }
    for (st, body) in at_once(requests).await {
        assert_eq!(st, 201, "{body}");
    }
    let changes = 2 * EACH as i64;
    assert_eq!(access_version(&db, "sessions", &sid), 1 + changes);
    let (st, body) = call(
        "PATCH",
        &nodes[1].url(&format!("/api/sessions/{sid}")),
        Some(json!({"visibility": "public"})),
    )
    .await;
    assert_eq!(st, 200, "{body}");
    assert_eq!(access_version(&db, "sessions", &sid), 2 + changes);
    // The tombstone goes on from there: a deleted session's facts are newer.
    let (st, body) = call(
        "DELETE",
        &nodes[0].url(&format!("/api/sessions/{sid}")),
        None,
    )
    .await;
    assert_eq!(st, 200, "{body}");
    assert_eq!(access_version(&db, "deleted_sessions", &sid), 3 + changes);
}

#[actix_web::test]
async fn a_second_server_on_one_sqlite_file_refuses_to_start() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("data").join("herald.db");
    let url = format!("sqlite://{}", file.display());
    let serve = |bind: &str| {
        Herald::spawn(
            dir.path(),
            &["serve"],
            &[
                ("HERALD__DATABASE__URL", url.as_str()),
                ("HERALD__SERVER__BIND", bind),
            ],
        )
    };
    let first_bind = format!("127.0.0.1:{}", free_port());
    let first_base = format!("http://{first_bind}");
    let mut first = serve(&first_bind);
    first.wait_healthy(&first_base).await;

    let mut second = serve(&format!("127.0.0.1:{}", free_port()));
    second
        .wait_async()
        .await
        .assert_refused_naming(&file.display().to_string());

    // The first keeps serving, and the operator's commands still work.
    assert!(first.exited().is_none());
    let (st, body) = post(
        &format!("{first_base}/api/rooms/solo/events"),
        json!({"event_type": "note", "payload": {"n": 1}}),
    )
    .await;
    assert_eq!(st, 201, "{body}");
    let env = [("HERALD__DATABASE__URL", url.as_str())];
    run(dir.path(), &["migrate"], &env).assert_ok();
    run(dir.path(), &["users", "add", "--email", "ops@x.io"], &env).assert_ok();
    assert_eq!(get(&format!("{first_base}/healthz")).await.0, 200);
}

#[actix_web::test]
async fn fifty_retries_of_one_keyed_write_over_two_nodes_make_one_event() {
    let Some(db) = PgDatabase::create() else {
        return;
    };
    let nodes = start_nodes(&db, 2).await;
    let room = format!("keyed-{}", unique());
    let body = json!({"event_type": "order_placed", "payload": {"order": 7}});
    let tries: Vec<_> = (0..50)
        .map(|i| {
            let url = nodes[i % 2].url(&format!("/api/rooms/{room}/events"));
            let body = body.clone();
            actix_web::rt::spawn(async move {
                let mut resp = client()
                    .post(url)
                    .insert_header(("Idempotency-Key", "order-7"))
                    .send_json(&body)
                    .await
                    .unwrap();
                let replayed = resp.headers().contains_key("idempotent-replayed");
                (
                    resp.status().as_u16(),
                    replayed,
                    resp.body().await.unwrap().to_vec(),
                )
            })
        })
        .collect();
    let mut answers = Vec::new();
    for task in tries {
        answers.push(task.await.unwrap());
    }
    let first = answers
        .iter()
        .find(|a| !a.1)
        .expect("one first answer")
        .2
        .clone();
    for (status, _, bytes) in &answers {
        assert_eq!(*status, 201, "{}", String::from_utf8_lossy(bytes));
        assert_eq!(
            bytes, &first,
            "every answer is the first one, on both nodes"
        );
    }
    assert_eq!(answers.iter().filter(|a| !a.1).count(), 1);
    let events = log(&nodes[1], &room).await;
    assert_eq!(events.len(), 1, "{events:?}");
    // The same key with another body is refused on either node.
    let other = json!({"event_type": "order_placed", "payload": {"order": 8}});
    for node in &nodes {
        let resp = client()
            .post(node.url(&format!("/api/rooms/{room}/events")))
            .insert_header(("Idempotency-Key", "order-7"))
            .send_json(&other)
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 422);
    }
}
