//! The HTTP API's generic rooms and refused writes (DESIGN §4 and §8):
//! publishing answers 201 with the event, room logs page oldest first with an
//! exclusive `since` and a clamped `limit`, and bodies of the wrong shape (400),
//! invalid values (422) and oversized bodies (413) answer
//! `{"error":{"code","message"}}`, leave nothing behind, and the server keeps
//! serving.
#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly on the first surprise"
)]

mod support;

use actix_web::web::Bytes;
use serde_json::{json, Value};
use support::*;

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
    concurrent_writes(&srv, "paged", 10, 15).await;
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
    concurrent_writes(&srv, "big", 16, 63).await;
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
    assert_eq!(snap["status"], "active");
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
    assert_eq!(snap["title"], "S");
    assert_eq!(snap["status"], "active");
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
