//! The HTTP API's session routes (DESIGN §4 and §8): create, list with
//! filters, snapshot, patch and delete answer the documented shapes and emit
//! the right events to the session and project rooms, a repeated client-chosen
//! id conflicts without writing, and an unknown session or project is a 404.
#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly on the first surprise"
)]

mod support;

use serde_json::{json, Value};
use support::*;

async fn create_project(srv: &TestServer, name: &str) -> String {
    let (st, p) = post(&srv.url("/api/projects"), json!({ "name": name })).await;
    assert_eq!(st, 201, "{p}");
    p["id"].as_str().unwrap().to_string()
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
    assert_eq!(snap["id"], "my-sess.1");

    let before = events_total(&srv).await;
    let again = post(
        &srv.url(&format!("/api/projects/{pid}/sessions")),
        json!({"id": "my-sess.1", "title": "other"}),
    )
    .await;
    assert_error(&again, 409, "conflict");
    assert_eq!(events_total(&srv).await, before);
    let (_, snap) = get(&srv.url("/api/sessions/my-sess.1")).await;
    assert_eq!(snap["title"], "T", "the conflict overwrote the session");

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
async fn session_get_answers_the_session_as_a_write_does() {
    let srv = TestServer::start();
    let (pid, _) = project_and_session(&srv).await;
    let (st, created) = post(
        &srv.url(&format!("/api/projects/{pid}/sessions")),
        json!({"id": "read-me", "title": "Read me"}),
    )
    .await;
    assert_eq!(st, 201, "{created}");
    let (st, got) = get(&srv.url("/api/sessions/read-me")).await;
    assert_eq!(st, 200, "{got}");
    let mut written = created.as_object().unwrap().clone();
    written.remove("events");
    assert_eq!(got, Value::Object(written));
    assert_error(&get(&srv.url("/api/sessions/nope")).await, 404, "not_found");
}

#[actix_web::test]
async fn session_snapshot_is_the_room_snapshot() {
    let srv = TestServer::start();
    let (pid, sid) = project_and_session(&srv).await;
    let (st, snap) = get(&srv.url(&format!("/api/sessions/{sid}/snapshot"))).await;
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
    // The same object a fresh subscribe carries.
    let mut ws = Ws::open(&srv).await;
    let subscribed = ws.subscribe(&format!("session:{sid}"), None).await;
    assert_eq!(subscribed["snapshot"], snap);
    assert_error(
        &get(&srv.url("/api/sessions/nope/snapshot")).await,
        404,
        "not_found",
    );
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
