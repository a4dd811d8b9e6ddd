//! The HTTP API's project routes, the seed-004 aliases, the ops endpoints and
//! routing refusals (DESIGN §4 and §8): what each answers, that deleting a
//! project takes its sessions along, that `/healthz`, `/readyz`,
//! `/api/stats` and `/api/stats/history` report the server's state, and that unknown routes and wrong
//! methods answer `{"error":{"code","message"}}` while the server keeps serving.
#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly on the first surprise"
)]

mod support;

use serde_json::json;
use support::*;

// ---------------------------------------------------------------- projects

#[actix_web::test]
async fn project_create_list_get_patch_delete_shapes() {
    let srv = TestServer::start();
    let (st, p) = post(&srv.url("/api/projects"), json!({"name": "Alpha"})).await;
    assert_eq!(st, 201, "{p}");
    let id = p["id"].as_str().unwrap().to_string();
    assert!(!id.is_empty());
    assert_eq!(p["name"], "Alpha");
    assert!(is_timestamp(&p["created_at"]), "{}", p["created_at"]);
    let room = format!("project:{id}");
    assert_eq!(event_list(&p), vec![pair("project_created", &room)]);
    assert_eq!(p["events"][0]["seq"], 1);

    let (st, list) = get(&srv.url("/api/projects")).await;
    assert_eq!(st, 200);
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["id"], id.as_str());
    assert_eq!(list[0]["name"], "Alpha");

    let (st, one) = get(&srv.url(&format!("/api/projects/{id}"))).await;
    assert_eq!(st, 200, "{one}");
    assert_eq!(one["id"], id.as_str());
    assert_eq!(one["name"], "Alpha");
    assert_eq!(one["created_at"], p["created_at"]);

    let (st, renamed) = patch(
        &srv.url(&format!("/api/projects/{id}")),
        json!({"name": "Beta"}),
    )
    .await;
    assert_eq!(st, 200, "{renamed}");
    assert_eq!(renamed["id"], id.as_str());
    assert_eq!(renamed["name"], "Beta");
    assert_eq!(event_list(&renamed), vec![pair("project_updated", &room)]);
    assert_eq!(renamed["events"][0]["seq"], 2);
    let (_, one) = get(&srv.url(&format!("/api/projects/{id}"))).await;
    assert_eq!(one["name"], "Beta");

    let (st, gone) = delete(&srv.url(&format!("/api/projects/{id}"))).await;
    assert_eq!(st, 200, "{gone}");
    assert_eq!(gone["id"], id.as_str());
    assert_eq!(event_list(&gone), vec![pair("project_deleted", &room)]);
    let mut keys: Vec<_> = gone.as_object().unwrap().keys().cloned().collect();
    keys.sort();
    assert_eq!(keys, ["events", "id"]);

    assert_error(
        &get(&srv.url(&format!("/api/projects/{id}"))).await,
        404,
        "not_found",
    );
    assert_error(
        &patch(
            &srv.url(&format!("/api/projects/{id}")),
            json!({"name": "x"}),
        )
        .await,
        404,
        "not_found",
    );
    assert_error(
        &delete(&srv.url(&format!("/api/projects/{id}"))).await,
        404,
        "not_found",
    );
    let (_, list) = get(&srv.url("/api/projects")).await;
    assert_eq!(list, json!([]));
}

#[actix_web::test]
async fn deleting_a_project_deletes_its_sessions() {
    let srv = TestServer::start();
    let (pid, sid) = project_and_session(&srv).await;
    let other = create_session(&srv, &pid, json!({})).await;
    let other_id = other["id"].as_str().unwrap().to_string();

    let (st, gone) = delete(&srv.url(&format!("/api/projects/{pid}"))).await;
    assert_eq!(st, 200, "{gone}");
    let events = event_list(&gone);
    for s in [&sid, &other_id] {
        assert!(
            events.contains(&pair("session_deleted", &format!("session:{s}"))),
            "{gone}"
        );
    }
    assert!(events.contains(&pair("project_deleted", &format!("project:{pid}"))));
    for s in [&sid, &other_id] {
        assert_error(
            &get(&srv.url(&format!("/api/sessions/{s}"))).await,
            404,
            "not_found",
        );
    }
    let (st, list) = get(&srv.url(&format!("/api/sessions?project_id={pid}"))).await;
    assert_eq!(st, 200, "{list}");
    assert_eq!(list, json!([]));
}

// ---------------------------------------------------------------- seed 004

#[actix_web::test]
async fn seed_004_aliases_create_projects_and_sessions_from_empty_bodies() {
    let srv = TestServer::start();
    let (st, p) = post(&srv.url("/projects"), json!({"name": "WS Test"})).await;
    assert_eq!(st, 201, "{p}");
    let pid = p["id"].as_str().unwrap().to_string();
    assert_eq!(p["name"], "WS Test");

    // The seed's client posts with no body and no content type at all.
    let (st, s) = raw(
        "POST",
        &srv.url(&format!("/projects/{pid}/sessions")),
        None,
        None,
    )
    .await;
    assert_eq!(st, 201, "{s}");
    let sid = s["session_id"]
        .as_str()
        .unwrap_or_else(|| panic!("no session_id: {s}"));
    assert_eq!(s["id"], sid);
    assert_eq!(s["project_id"], pid.as_str());
    let (st, snap) = get(&srv.url(&format!("/api/sessions/{sid}"))).await;
    assert_eq!(st, 200, "{snap}");

    // The /api spelling works too.
    let (st, p2) = post(&srv.url("/api/projects"), json!({"name": "WS Test"})).await;
    assert_eq!(st, 201, "{p2}");
    assert_ne!(p2["id"], p["id"]);
    let (_, list) = get(&srv.url("/api/projects")).await;
    assert_eq!(list.as_array().unwrap().len(), 2);

    let missing = raw("POST", &srv.url("/projects/nope/sessions"), None, None).await;
    assert_error(&missing, 404, "not_found");
}

// ---------------------------------------------------------------- ops

#[actix_web::test]
async fn health_readiness_and_stats() {
    let srv = TestServer::start();
    let (st, _) = get(&srv.url("/healthz")).await;
    assert_eq!(st, 200);
    let (st, _) = get(&srv.url("/readyz")).await;
    assert_eq!(st, 200);

    let (st, stats) = get(&srv.url("/api/stats")).await;
    assert_eq!(st, 200, "{stats}");
    let mut keys: Vec<_> = stats.as_object().unwrap().keys().cloned().collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "cluster",
            "connections",
            "events_total",
            "node",
            "nodes",
            "rooms",
            "uptime_s"
        ]
    );
    // One node (SQLite): itself, with its own count.
    assert_eq!(stats["nodes"].as_array().unwrap().len(), 1, "{stats}");
    assert_eq!(stats["nodes"][0]["id"], stats["node"]);
    assert_eq!(stats["cluster"]["listening"], false);
    for key in ["connections", "events_total", "uptime_s"] {
        assert!(
            stats[key].is_u64(),
            "{key} is not a non-negative integer: {stats}"
        );
    }
    assert_eq!(stats["connections"], 0);
    assert_eq!(stats["events_total"], 0);
    assert_eq!(stats["rooms"], json!([]));

    publish(&srv, "watched", json!({})).await;
    let mut ws = Ws::open(&srv).await;
    ws.subscribe("watched", None).await;
    let stats = wait_stats(&srv, |s| {
        s["connections"] == 1 && s["rooms"] == json!([{"room": "watched", "connections": 1}])
    })
    .await;
    assert_eq!(stats["events_total"], 1, "{stats}");
}

/// Polls `GET /api/stats/history` until a sample passes `check`.
async fn wait_sample(
    srv: &TestServer,
    check: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let (st, body) = get(&srv.url("/api/stats/history")).await;
        assert_eq!(st, 200, "{body}");
        if let Some(found) = body["samples"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| check(s))
        {
            return found.clone();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no sample matched: {body}"
        );
        actix_web::rt::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

#[actix_web::test]
async fn stats_history_samples_connections_and_event_and_frame_rates() {
    let srv = TestServer::start_with(|s| s.ws.batch_window_ms = 0);
    let first = wait_sample(&srv, |_| true).await;
    let mut keys: Vec<_> = first.as_object().unwrap().keys().cloned().collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "connections",
            "events_per_s",
            "events_total",
            "frames_per_s",
            "frames_total",
            "rooms",
            "t"
        ]
    );
    let (_, body) = get(&srv.url("/api/stats/history")).await;
    assert_eq!(body["interval_ms"], 1000);
    let mut ws = Ws::open(&srv).await;
    ws.subscribe("charted", None).await;
    for n in 0..5 {
        publish(&srv, "charted", json!({"n": n})).await;
    }
    ws.events(5).await;
    let busy = wait_sample(&srv, |s| {
        s["connections"] == 1 && s["events_total"] == 5 && s["frames_total"].as_u64() >= Some(1)
    })
    .await;
    assert_eq!(busy["rooms"], 1);
    // The events and frames show as rates in the sample that first saw them.
    let (_, body) = get(&srv.url("/api/stats/history")).await;
    let samples = body["samples"].as_array().unwrap();
    assert!(
        samples
            .iter()
            .any(|s| s["events_per_s"].as_f64() > Some(0.0)),
        "{body}"
    );
    assert!(
        samples
            .iter()
            .any(|s| s["frames_per_s"].as_f64() > Some(0.0)),
        "{body}"
    );
    // `after` (unix ms) gives only newer samples.
    let (_, all) = get(&srv.url("/api/stats/history?after=0")).await;
    assert!(all["samples"].as_array().unwrap().len() >= samples.len());
    let (_, none) = get(&srv.url("/api/stats/history?after=99999999999999")).await;
    assert_eq!(none["samples"], json!([]));
}

#[actix_web::test]
async fn stats_history_is_for_admins_only() {
    let srv = start_with_auth(|_| {});
    let user = create_user(&srv, "someone@x.io").await;
    let url = srv.url("/api/stats/history");
    assert_error(&call_as(None, "GET", &url, None).await, 401, "unauthorized");
    assert_error(&user.call("GET", &url, None).await, 403, "forbidden");
    assert_eq!(call_as(Some(ADMIN), "GET", &url, None).await.0, 200);
}

// ---------------------------------------------------------------- routing

#[actix_web::test]
async fn unknown_routes_and_bad_queries_answer_json_errors() {
    let srv = TestServer::start();
    assert_error(&get(&srv.url("/nope")).await, 404, "not_found");
    assert_error(&get(&srv.url("/api/nope/deeper")).await, 404, "not_found");
    assert_error(
        &post(&srv.url("/api/unknown"), json!({})).await,
        404,
        "not_found",
    );
    assert_error(
        &get(&srv.url("/api/rooms/r/events?limit=abc")).await,
        400,
        "bad_request",
    );
    assert_error(
        &get(&srv.url("/api/rooms/r/events?since=abc")).await,
        400,
        "bad_request",
    );
    still_serving(&srv).await;
    let (st, _) = get(&srv.url("/healthz")).await;
    assert_eq!(st, 200);
}

#[actix_web::test]
async fn a_wrong_method_on_a_known_path_answers_a_json_error() {
    let srv = TestServer::start();
    let cases = [
        ("PUT", "/api/projects"),
        ("DELETE", "/api/projects"),
        ("POST", "/api/projects/p1"),
        ("PUT", "/api/rooms/r/events"),
        ("POST", "/api/sessions/s1"),
        ("POST", "/api/sessions"),
        ("POST", "/healthz"),
    ];
    let mut wrong = Vec::new();
    for (method, path) in cases {
        let (st, body) = raw(
            method,
            &srv.url(path),
            Some("application/json"),
            Some(b"{}".to_vec()),
        )
        .await;
        let json_error = body["error"]["code"].is_string() && body["error"]["message"].is_string();
        if !(st == 404 || st == 405) || !json_error {
            wrong.push(format!("{method} {path} -> {st} {body}"));
        }
    }
    assert!(
        wrong.is_empty(),
        "answers without a JSON error body:\n{}",
        wrong.join("\n")
    );
    still_serving(&srv).await;
}
