//! The HTTP API's shapes and refusals (DESIGN §4 and §8): what each route
//! answers, that every error is `{"error":{"code","message"}}` with the right
//! status, that a refused write leaves nothing behind, and that the server keeps
//! serving after each bad request.
#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly on the first surprise"
)]

mod support;

use actix_web::web::Bytes;
use serde_json::{json, Value};
use support::*;

/// Sends raw bytes (or nothing) with an optional content type; returns status and JSON.
async fn raw(
    method: &str,
    url: &str,
    content_type: Option<&str>,
    body: Option<Vec<u8>>,
) -> (u16, Value) {
    let mut req = client().request(method.parse().unwrap(), url);
    if let Some(ct) = content_type {
        req = req.insert_header(("content-type", ct));
    }
    let mut resp = match body {
        Some(b) => req.send_body(b).await.unwrap(),
        None => req.send().await.unwrap(),
    };
    let bytes = resp.body().limit(64 * 1024 * 1024).await.unwrap();
    let json = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()));
    (resp.status().as_u16(), json)
}

async fn patch(url: &str, body: Value) -> (u16, Value) {
    call("PATCH", url, Some(body)).await
}

async fn delete(url: &str) -> (u16, Value) {
    call("DELETE", url, None).await
}

/// Asserts an error answer: its status and the `{"error":{"code","message"}}` shape.
#[track_caller]
fn assert_error(got: &(u16, Value), status: u16, code: &str) {
    let (st, body) = got;
    assert_eq!(*st, status, "{body}");
    assert_eq!(body["error"]["code"], code, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "error without a message: {body}"
    );
    assert_eq!(body.as_object().unwrap().len(), 1, "extra keys: {body}");
}

/// `2026-11-22T12:00:00.123Z`: RFC 3339, UTC, exactly three fractional digits.
fn is_timestamp(v: &Value) -> bool {
    let template = b"0000-00-00T00:00:00.000Z";
    v.as_str().is_some_and(|s| {
        s.len() == template.len()
            && s.bytes().zip(template).all(|(c, t)| match t {
                b'0' => c.is_ascii_digit(),
                t => c == *t,
            })
    })
}

/// How many events the log holds.
async fn events_total(srv: &TestServer) -> i64 {
    let (st, stats) = get(&srv.url("/api/stats")).await;
    assert_eq!(st, 200, "{stats}");
    stats["events_total"].as_i64().unwrap()
}

/// `(event_type, room)` of each entry of a write's `events`, checking each entry's shape.
#[track_caller]
fn event_list(body: &Value) -> Vec<(String, String)> {
    body["events"]
        .as_array()
        .unwrap_or_else(|| panic!("no events in {body}"))
        .iter()
        .map(|e| {
            assert!(e["id"].as_i64().is_some_and(|id| id > 0), "{e}");
            assert!(e["seq"].as_i64().is_some_and(|seq| seq > 0), "{e}");
            (
                e["event_type"].as_str().unwrap().to_string(),
                e["room"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn pair(event_type: &str, room: &str) -> (String, String) {
    (event_type.to_string(), room.to_string())
}

/// Proves the server still serves: a write succeeds.
async fn still_serving(srv: &TestServer) {
    let (st, body) = post(&srv.url("/api/projects"), json!({"name": "after"})).await;
    assert_eq!(st, 201, "server stopped serving writes: {body}");
}

async fn create_project(srv: &TestServer, name: &str) -> String {
    let (st, p) = post(&srv.url("/api/projects"), json!({ "name": name })).await;
    assert_eq!(st, 201, "{p}");
    p["id"].as_str().unwrap().to_string()
}

async fn create_session(srv: &TestServer, pid: &str, body: Value) -> Value {
    let (st, s) = post(&srv.url(&format!("/api/projects/{pid}/sessions")), body).await;
    assert_eq!(st, 201, "{s}");
    s
}

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

// ---------------------------------------------------------------- sessions

#[actix_web::test]
async fn session_create_answers_active_private_with_its_events() {
    let srv = TestServer::start();
    let pid = create_project(&srv, "P").await;
    let s = create_session(&srv, &pid, json!({"title": "Build"})).await;
    let sid = s["id"].as_str().unwrap();
    assert_eq!(s["project_id"], pid.as_str());
    assert_eq!(s["title"], "Build");
    assert_eq!(s["status"], "active");
    assert_eq!(s["visibility"], "private");
    assert!(is_timestamp(&s["created_at"]), "{s}");
    let mut events = event_list(&s);
    events.sort();
    assert_eq!(
        events,
        vec![
            pair("session_created", &format!("project:{pid}")),
            pair("session_created", &format!("session:{sid}")),
        ]
    );

    // Without a title (and with an empty body) a session still gets created.
    let untitled = create_session(&srv, &pid, json!({})).await;
    assert_ne!(untitled["id"], s["id"]);
    assert_eq!(untitled["status"], "active");
}

#[actix_web::test]
async fn session_client_chosen_id_is_kept_and_a_repeat_conflicts() {
    let srv = TestServer::start();
    let pid = create_project(&srv, "P").await;
    let s = create_session(&srv, &pid, json!({"id": "my-sess.1", "title": "T"})).await;
    assert_eq!(s["id"], "my-sess.1");
    let (st, snap) = get(&srv.url("/api/sessions/my-sess.1")).await;
    assert_eq!(st, 200, "{snap}");
    assert_eq!(snap["session"]["id"], "my-sess.1");

    let before = events_total(&srv).await;
    let again = post(
        &srv.url(&format!("/api/projects/{pid}/sessions")),
        json!({"id": "my-sess.1", "title": "other"}),
    )
    .await;
    assert_error(&again, 409, "conflict");
    assert_eq!(events_total(&srv).await, before);
    let (_, snap) = get(&srv.url("/api/sessions/my-sess.1")).await;
    assert_eq!(
        snap["session"]["title"], "T",
        "the conflict overwrote the session"
    );

    let unknown = post(
        &srv.url("/api/projects/no-such-project/sessions"),
        json!({}),
    )
    .await;
    assert_error(&unknown, 404, "not_found");
    assert_eq!(events_total(&srv).await, before);
    still_serving(&srv).await;
}

#[actix_web::test]
async fn session_list_filters_by_project_and_status() {
    let srv = TestServer::start();
    let p1 = create_project(&srv, "one").await;
    let p2 = create_project(&srv, "two").await;
    let a = create_session(&srv, &p1, json!({"id": "a"})).await;
    create_session(&srv, &p1, json!({"id": "b"})).await;
    create_session(&srv, &p2, json!({"id": "c"})).await;
    assert_eq!(a["id"], "a");
    let (st, _) = patch(&srv.url("/api/sessions/b"), json!({"status": "idle"})).await;
    assert_eq!(st, 200);

    let ids = |v: &Value| -> Vec<String> {
        let mut ids: Vec<String> = v
            .as_array()
            .unwrap_or_else(|| panic!("not a list: {v}"))
            .iter()
            .map(|s| s["id"].as_str().unwrap().to_string())
            .collect();
        ids.sort();
        ids
    };
    let (st, all) = get(&srv.url("/api/sessions")).await;
    assert_eq!(st, 200);
    assert_eq!(ids(&all), ["a", "b", "c"]);
    let (_, in_p1) = get(&srv.url(&format!("/api/sessions?project_id={p1}"))).await;
    assert_eq!(ids(&in_p1), ["a", "b"]);
    let (_, idle) = get(&srv.url("/api/sessions?status=idle")).await;
    assert_eq!(ids(&idle), ["b"]);
    let (_, active_p1) =
        get(&srv.url(&format!("/api/sessions?project_id={p1}&status=active"))).await;
    assert_eq!(ids(&active_p1), ["a"]);
    let (_, active_p2) =
        get(&srv.url(&format!("/api/sessions?project_id={p2}&status=active"))).await;
    assert_eq!(ids(&active_p2), ["c"]);
    let (_, none) = get(&srv.url("/api/sessions?project_id=nope")).await;
    assert_eq!(none, json!([]));
    assert_error(
        &get(&srv.url("/api/sessions?status=bogus")).await,
        422,
        "validation_failed",
    );
}

#[actix_web::test]
async fn session_get_is_the_snapshot() {
    let srv = TestServer::start();
    let (pid, sid) = project_and_session(&srv).await;
    let (st, snap) = get(&srv.url(&format!("/api/sessions/{sid}"))).await;
    assert_eq!(st, 200, "{snap}");
    let mut keys: Vec<_> = snap.as_object().unwrap().keys().cloned().collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "collaborators",
            "messages",
            "session",
            "todos",
            "tool_calls"
        ]
    );
    assert_eq!(snap["session"]["id"], sid.as_str());
    assert_eq!(snap["session"]["project_id"], pid.as_str());
    assert_eq!(snap["session"]["title"], "S");
    for list in ["collaborators", "messages", "todos", "tool_calls"] {
        assert!(snap[list].is_array(), "{list}: {snap}");
    }
    assert_error(&get(&srv.url("/api/sessions/nope")).await, 404, "not_found");
}

#[actix_web::test]
async fn session_patch_emits_status_and_visibility_changes_only_when_they_change() {
    let srv = TestServer::start();
    let (pid, sid) = project_and_session(&srv).await;
    let url = srv.url(&format!("/api/sessions/{sid}"));
    let types = |body: &Value| -> Vec<String> {
        let mut t: Vec<String> = event_list(body)
            .into_iter()
            .filter(|(_, room)| room == &format!("session:{sid}"))
            .map(|(t, _)| t)
            .collect();
        t.sort();
        t
    };

    let (st, body) = patch(&url, json!({"title": "Renamed"})).await;
    assert_eq!(st, 200, "{body}");
    assert_eq!(body["title"], "Renamed");
    assert_eq!(types(&body), ["session_updated"]);
    // Every event reaches both the session and the project room.
    let mut rooms: Vec<_> = event_list(&body).into_iter().map(|(_, r)| r).collect();
    rooms.sort();
    assert_eq!(rooms, [format!("project:{pid}"), format!("session:{sid}")]);

    let (_, body) = patch(&url, json!({"status": "active", "visibility": "private"})).await;
    assert_eq!(types(&body), ["session_updated"], "nothing changed: {body}");

    let (_, body) = patch(&url, json!({"status": "idle"})).await;
    assert_eq!(body["status"], "idle");
    assert_eq!(types(&body), ["session_updated", "status_changed"]);

    let (_, body) = patch(&url, json!({"visibility": "public"})).await;
    assert_eq!(body["visibility"], "public");
    assert_eq!(types(&body), ["session_updated", "visibility_changed"]);

    let (_, body) = patch(&url, json!({"needs_attention": true})).await;
    assert_eq!(body["needs_attention"], true);
    assert_eq!(types(&body), ["session_updated"]);

    // The payloads, as the room's log has them.
    let (st, log) = get(&srv.url(&format!("/api/rooms/session:{sid}/events"))).await;
    assert_eq!(st, 200, "{log}");
    let log = log.as_array().unwrap();
    let status: Vec<_> = log
        .iter()
        .filter(|e| e["event_type"] == "status_changed")
        .collect();
    assert_eq!(status.len(), 1, "{log:?}");
    assert_eq!(status[0]["payload"]["old_status"], "active");
    assert_eq!(status[0]["payload"]["new_status"], "idle");
    let vis: Vec<_> = log
        .iter()
        .filter(|e| e["event_type"] == "visibility_changed")
        .collect();
    assert_eq!(vis.len(), 1, "{log:?}");
    assert_eq!(vis[0]["payload"]["visibility"], "public");

    assert_error(
        &patch(&srv.url("/api/sessions/nope"), json!({"title": "x"})).await,
        404,
        "not_found",
    );
}

#[actix_web::test]
async fn session_delete_answers_id_and_events() {
    let srv = TestServer::start();
    let (pid, sid) = project_and_session(&srv).await;
    let (st, gone) = delete(&srv.url(&format!("/api/sessions/{sid}"))).await;
    assert_eq!(st, 200, "{gone}");
    assert_eq!(gone["id"], sid.as_str());
    let mut events = event_list(&gone);
    events.sort();
    assert_eq!(
        events,
        vec![
            pair("session_deleted", &format!("project:{pid}")),
            pair("session_deleted", &format!("session:{sid}")),
        ]
    );
    assert_error(
        &get(&srv.url(&format!("/api/sessions/{sid}"))).await,
        404,
        "not_found",
    );
    assert_error(
        &delete(&srv.url(&format!("/api/sessions/{sid}"))).await,
        404,
        "not_found",
    );
    // The project itself stays.
    let (st, _) = get(&srv.url(&format!("/api/projects/{pid}"))).await;
    assert_eq!(st, 200);
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

// ---------------------------------------------------------------- generic rooms

#[actix_web::test]
async fn room_publish_answers_201_with_the_event() {
    let srv = TestServer::start();
    let (st, body) = post(
        &srv.url("/api/rooms/team.alpha:1/events"),
        json!({"event_type": "note", "payload": {"text": "hi"}, "priority": true}),
    )
    .await;
    assert_eq!(st, 201, "{body}");
    assert_eq!(event_list(&body), vec![pair("note", "team.alpha:1")]);
    assert_eq!(body["events"][0]["seq"], 1);

    let (st, log) = get(&srv.url("/api/rooms/team.alpha:1/events")).await;
    assert_eq!(st, 200);
    let e = &log[0];
    assert_eq!(e["type"], "event");
    assert_eq!(e["room"], "team.alpha:1");
    assert_eq!(e["seq"], 1);
    assert_eq!(e["id"], body["events"][0]["id"]);
    assert_eq!(e["event_type"], "note");
    assert_eq!(e["payload"], json!({"text": "hi"}));
    assert!(is_timestamp(&e["ts"]), "{e}");

    // A room nobody wrote to reads as an empty list.
    let (st, empty) = get(&srv.url("/api/rooms/quiet/events")).await;
    assert_eq!((st, empty), (200, json!([])));
}

#[actix_web::test]
async fn room_events_page_oldest_first_with_exclusive_since_and_clamped_limit() {
    let srv = TestServer::start();
    let url = srv.url("/api/rooms/paged/events");
    let writers: Vec<_> = (0..10)
        .map(|w| {
            let url = url.clone();
            actix_web::rt::spawn(async move {
                for n in 0..15 {
                    let (st, b) = post(
                        &url,
                        json!({"event_type": "n", "payload": {"w": w, "n": n}}),
                    )
                    .await;
                    assert_eq!(st, 201, "{b}");
                }
            })
        })
        .collect();
    for w in writers {
        w.await.unwrap();
    }
    let seqs = |v: &Value| -> Vec<i64> {
        v.as_array()
            .unwrap_or_else(|| panic!("not a list: {v}"))
            .iter()
            .map(|e| e["seq"].as_i64().unwrap())
            .collect()
    };
    let (st, page) = get(&url).await;
    assert_eq!(st, 200);
    assert_eq!(seqs(&page), (1..=100).collect::<Vec<_>>(), "default page");
    let (_, page) = get(&format!("{url}?since=100")).await;
    assert_eq!(seqs(&page), (101..=150).collect::<Vec<_>>());
    let (_, page) = get(&format!("{url}?since=140")).await;
    assert_eq!(
        seqs(&page),
        (141..=150).collect::<Vec<_>>(),
        "since is exclusive"
    );
    let (_, page) = get(&format!("{url}?since=10&limit=3")).await;
    assert_eq!(seqs(&page), [11, 12, 13]);
    let (_, page) = get(&format!("{url}?since=150")).await;
    assert_eq!(page, json!([]));
    let (st, page) = get(&format!("{url}?limit=5000")).await;
    assert_eq!(st, 200, "{page}");
    assert_eq!(seqs(&page), (1..=150).collect::<Vec<_>>());
}

#[actix_web::test]
async fn room_events_limit_is_clamped_to_1000() {
    let srv = TestServer::start();
    let url = srv.url("/api/rooms/big/events");
    let writers: Vec<_> = (0..16)
        .map(|w| {
            let url = url.clone();
            actix_web::rt::spawn(async move {
                for n in 0..63 {
                    let (st, b) = post(
                        &url,
                        json!({"event_type": "n", "payload": {"w": w, "n": n}}),
                    )
                    .await;
                    assert_eq!(st, 201, "{b}");
                }
            })
        })
        .collect();
    for w in writers {
        w.await.unwrap();
    }
    // 16 × 63 = 1008 events in the room.
    let (st, page) = get(&format!("{url}?limit=5000")).await;
    assert_eq!(st, 200);
    let page = page.as_array().unwrap();
    assert_eq!(page.len(), 1000);
    assert_eq!(page[0]["seq"], 1);
    assert_eq!(page[999]["seq"], 1000);
    let (_, rest) = get(&format!("{url}?since=1000&limit=1000")).await;
    assert_eq!(rest.as_array().unwrap().len(), 8);
}

// ---------------------------------------------------------------- errors

#[actix_web::test]
async fn bodies_of_the_wrong_shape_are_400_and_write_nothing() {
    let srv = TestServer::start();
    let (_pid, sid) = project_and_session(&srv).await;
    let before = events_total(&srv).await;
    let json_ct = Some("application/json");
    let cases: Vec<(&str, String, Vec<u8>)> = vec![
        ("POST", "/api/projects".into(), b"{not json".to_vec()),
        ("POST", "/api/projects".into(), br#"{"name": 5}"#.to_vec()),
        ("POST", "/api/projects".into(), b"{}".to_vec()),
        ("POST", "/api/projects".into(), br#"{"name": "x""#.to_vec()),
        ("POST", "/projects".into(), b"[1,2]".to_vec()),
        (
            "PATCH",
            format!("/api/sessions/{sid}"),
            br#"{"status": 3}"#.to_vec(),
        ),
        (
            "PATCH",
            format!("/api/sessions/{sid}"),
            br#"{"needs_attention": "yes"}"#.to_vec(),
        ),
        (
            "POST",
            "/api/rooms/r/events".into(),
            br#"{"payload": {}}"#.to_vec(),
        ),
        (
            "POST",
            "/api/rooms/r/events".into(),
            br#"{"event_type": "x"}"#.to_vec(),
        ),
        (
            "POST",
            "/api/rooms/r/events".into(),
            br#"{"event_type": 1, "payload": {}}"#.to_vec(),
        ),
        (
            "POST",
            "/api/rooms/r/events".into(),
            b"not json at all".to_vec(),
        ),
    ];
    for (method, path, body) in cases {
        let got = raw(method, &srv.url(&path), json_ct, Some(body.clone())).await;
        let shown = String::from_utf8_lossy(&body);
        assert_eq!(got.0, 400, "{method} {path} {shown}: {}", got.1);
        assert_error(&got, 400, "bad_request");
    }
    assert_eq!(
        events_total(&srv).await,
        before,
        "a refused write left events"
    );
    let (_, list) = get(&srv.url("/api/projects")).await;
    assert_eq!(
        list.as_array().unwrap().len(),
        1,
        "a refused write left a project"
    );
    let (_, snap) = get(&srv.url(&format!("/api/sessions/{sid}"))).await;
    assert_eq!(snap["session"]["status"], "active");
    still_serving(&srv).await;
}

#[actix_web::test]
async fn invalid_values_are_422_and_write_nothing() {
    let srv = TestServer::start();
    let (pid, sid) = project_and_session(&srv).await;
    let before = events_total(&srv).await;
    let long = "x".repeat(201);
    let long_room = "r".repeat(129);
    let cases: Vec<(&str, String, Value)> = vec![
        ("POST", "/api/projects".into(), json!({ "name": long })),
        ("POST", "/api/projects".into(), json!({"name": ""})),
        ("POST", "/api/projects".into(), json!({"name": "   "})),
        ("POST", "/projects".into(), json!({ "name": long })),
        ("PATCH", format!("/api/projects/{pid}"), json!({"name": ""})),
        (
            "PATCH",
            format!("/api/projects/{pid}"),
            json!({ "name": long }),
        ),
        (
            "POST",
            format!("/api/projects/{pid}/sessions"),
            json!({ "title": long }),
        ),
        (
            "POST",
            format!("/api/projects/{pid}/sessions"),
            json!({"id": "has space"}),
        ),
        (
            "PATCH",
            format!("/api/sessions/{sid}"),
            json!({"status": "bogus"}),
        ),
        (
            "PATCH",
            format!("/api/sessions/{sid}"),
            json!({"visibility": "bogus"}),
        ),
        (
            "PATCH",
            format!("/api/sessions/{sid}"),
            json!({ "title": long }),
        ),
        // A valid field beside an invalid one: nothing of it is applied.
        (
            "PATCH",
            format!("/api/sessions/{sid}"),
            json!({"title": "ok", "status": "bogus"}),
        ),
        (
            "POST",
            "/api/rooms/bad%20room/events".into(),
            json!({"event_type": "n", "payload": {}}),
        ),
        (
            "POST",
            format!("/api/rooms/{long_room}/events"),
            json!({"event_type": "n", "payload": {}}),
        ),
        (
            "POST",
            "/api/rooms/r/events".into(),
            json!({"event_type": "n", "payload": [1]}),
        ),
        (
            "POST",
            "/api/rooms/r/events".into(),
            json!({"event_type": "n", "payload": 5}),
        ),
        (
            "POST",
            "/api/rooms/r/events".into(),
            json!({"event_type": "n", "payload": "text"}),
        ),
        (
            "POST",
            "/api/rooms/r/events".into(),
            json!({"event_type": "n", "payload": null}),
        ),
        (
            "POST",
            "/api/rooms/r/events".into(),
            json!({"event_type": "", "payload": {}}),
        ),
        (
            "POST",
            "/api/rooms/r/events".into(),
            json!({"event_type": "sp ace", "payload": {}}),
        ),
    ];
    for (method, path, body) in cases {
        let got = call(method, &srv.url(&path), Some(body.clone())).await;
        assert_eq!(got.0, 422, "{method} {path} {body}: {}", got.1);
        assert_error(&got, 422, "validation_failed");
    }
    for path in [
        "/api/rooms/bad%20room/events".to_string(),
        format!("/api/rooms/{long_room}/events"),
    ] {
        assert_error(&get(&srv.url(&path)).await, 422, "validation_failed");
    }
    assert_error(
        &get(&srv.url("/api/rooms/r/events?since=-1")).await,
        422,
        "validation_failed",
    );
    assert_eq!(
        events_total(&srv).await,
        before,
        "a refused write left events"
    );
    let (_, p) = get(&srv.url(&format!("/api/projects/{pid}"))).await;
    assert_eq!(p["name"], "P");
    let (_, snap) = get(&srv.url(&format!("/api/sessions/{sid}"))).await;
    assert_eq!(snap["session"]["title"], "S");
    assert_eq!(snap["session"]["status"], "active");
    let (_, sessions) = get(&srv.url("/api/sessions")).await;
    assert_eq!(sessions.as_array().unwrap().len(), 1);

    // The longest valid name and room are accepted.
    let (st, _) = post(&srv.url("/api/projects"), json!({"name": "é".repeat(200)})).await;
    assert_eq!(st, 201, "200 characters is the limit, not 200 bytes");
    let room = "r".repeat(128);
    publish(&srv, &room, json!({})).await;
}

#[actix_web::test]
async fn a_body_over_max_body_bytes_is_413_and_writes_nothing() {
    let srv = TestServer::start_with(|s| s.server.max_body_bytes = 4096);
    let before = events_total(&srv).await;
    let big = json!({"event_type": "n", "payload": {"blob": "x".repeat(8 * 1024)}}).to_string();
    let got = raw(
        "POST",
        &srv.url("/api/rooms/r/events"),
        Some("application/json"),
        Some(big.clone().into_bytes()),
    )
    .await;
    assert_error(&got, 413, "payload_too_large");
    let got = raw(
        "POST",
        &srv.url("/api/projects"),
        Some("application/json"),
        Some(
            json!({"name": "x".repeat(8 * 1024)})
                .to_string()
                .into_bytes(),
        ),
    )
    .await;
    assert_error(&got, 413, "payload_too_large");

    // Without a declared length (chunked), the limit still holds.
    let chunks: Vec<Result<Bytes, std::io::Error>> = big
        .into_bytes()
        .chunks(1024)
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    let mut resp = client()
        .post(srv.url("/api/rooms/r/events"))
        .insert_header(("content-type", "application/json"))
        .send_stream(futures::stream::iter(chunks))
        .await
        .unwrap();
    let body: Value = resp.json().await.unwrap();
    assert_error(&(resp.status().as_u16(), body), 413, "payload_too_large");

    assert_eq!(events_total(&srv).await, before);
    let (_, log) = get(&srv.url("/api/rooms/r/events")).await;
    assert_eq!(log, json!([]));
    // A body under the limit is fine.
    publish(&srv, "r", json!({"small": true})).await;
    still_serving(&srv).await;
}

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
    assert_eq!(keys, ["connections", "events_total", "rooms", "uptime_s"]);
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
