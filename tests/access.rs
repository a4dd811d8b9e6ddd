//! Sharing a session with real users and sockets: the seed-002 story,
//! revocation that takes effect at once, roles on every write, and the
//! collaborator rules.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a failing test should panic"
)]

mod support;

use serde_json::{json, Value};
use std::time::{Duration, Instant};
use support::*;

#[actix_web::test]
async fn the_seed_002_story_a_removed_viewer_is_closed_with_4003_and_stays_out() {
    let srv = start_with_auth(|s| s.ws.batch_window_ms = 0);
    let owner = create_user(&srv, "owner@x.io").await;
    let viewer = create_user(&srv, "viewer@x.io").await;
    owned_session(&srv, &owner, "shared").await;
    let socket_url = srv.ws_url("/ws/sessions/shared");
    assert_eq!(
        upgrade_status(&with_token(&socket_url, &viewer.token)).await,
        403
    );

    let viewer_id = share(&srv, &owner, "shared", "viewer@x.io", "viewer").await;
    let mut ws = Ws::connect(&with_token(&socket_url, &viewer.token)).await;
    assert_eq!(ws.next_json().await["type"], "subscribed");

    // A third user is added, re-roled; the session goes public and back.
    let third_id = share(&srv, &owner, "shared", "Third@X.io", "editor").await;
    let added = next_of(&mut ws, "collaborator_added").await;
    assert_eq!(
        (&added["id"], &added["email"], &added["role"]),
        (&json!(third_id), &json!("third@x.io"), &json!("editor"))
    );
    let (st, _) = owner
        .call(
            "PATCH",
            &srv.url(&format!("/api/sessions/shared/collaborators/{third_id}")),
            Some(json!({"role": "viewer"})),
        )
        .await;
    assert_eq!(st, 200);
    let updated = next_of(&mut ws, "collaborator_updated").await;
    assert_eq!(
        (&updated["id"], &updated["role"]),
        (&json!(third_id), &json!("viewer"))
    );
    set_visibility(&srv, &owner, "shared", "public").await;
    assert_eq!(
        next_of(&mut ws, "visibility_changed").await["visibility"],
        "public"
    );
    set_visibility(&srv, &owner, "shared", "private").await;
    assert_eq!(
        next_of(&mut ws, "visibility_changed").await["visibility"],
        "private"
    );

    // The viewer sees the list it is on.
    let (st, list) = viewer
        .call("GET", &srv.url("/api/sessions/shared/collaborators"), None)
        .await;
    assert_eq!(st, 200, "{list}");
    let emails: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["email"].as_str().unwrap())
        .collect();
    assert_eq!(emails, ["viewer@x.io", "third@x.io"]);
    assert_eq!(list[0]["user_id"], viewer.id.as_str());

    // The third user watches too.
    let third = create_user(&srv, "third@x.io").await;
    let mut third_ws = Ws::connect(&with_token(&socket_url, &third.token)).await;
    assert_eq!(third_ws.next_json().await["type"], "subscribed");

    // Removed: closed with 4003 within a second, and refused on return.
    let removed_at = Instant::now();
    let (st, body) = owner
        .call(
            "DELETE",
            &srv.url(&format!("/api/sessions/shared/collaborators/{viewer_id}")),
            None,
        )
        .await;
    assert_eq!(st, 200, "{body}");
    // Written right after the removal: never shown to the removed viewer.
    let (st, _) = owner
        .call(
            "POST",
            &srv.url("/api/sessions/shared/messages"),
            Some(json!({"prompt": "after"})),
        )
        .await;
    assert_eq!(st, 201);
    loop {
        match ws.recv().await {
            Incoming::Close(code) => {
                assert_eq!(code, Some(4003));
                break;
            }
            Incoming::Json(frame) => assert_ne!(frame["type"], "message_created", "{frame}"),
            Incoming::Ping => {}
        }
    }
    assert!(
        removed_at.elapsed() < Duration::from_secs(1),
        "{:?}",
        removed_at.elapsed()
    );
    let gone = next_of(&mut third_ws, "collaborator_removed").await;
    assert_eq!(
        (&gone["id"], &gone["email"]),
        (&json!(viewer_id), &json!("viewer@x.io"))
    );
    assert_eq!(
        next_of(&mut third_ws, "message_created").await["content"],
        "after"
    );
    assert_eq!(
        upgrade_status(&with_token(&socket_url, &viewer.token)).await,
        403
    );
    let (st, _) = viewer
        .call("GET", &srv.url("/api/sessions/shared"), None)
        .await;
    assert_eq!(st, 403);
}

#[actix_web::test]
async fn a_stranger_is_refused_a_private_session_and_reads_a_public_one() {
    let srv = start_with_auth(|s| s.ws.batch_window_ms = 0);
    let owner = create_user(&srv, "owner@x.io").await;
    let stranger = create_user(&srv, "stranger@x.io").await;
    owned_session(&srv, &owner, "s1").await;
    // The session and its snapshot: one status for both.
    let get = |who: &User| {
        let who = who.clone();
        let urls = [
            srv.url("/api/sessions/s1"),
            srv.url("/api/sessions/s1/snapshot"),
        ];
        async move {
            let (one, snap) = (
                who.call("GET", &urls[0], None).await.0,
                who.call("GET", &urls[1], None).await.0,
            );
            assert_eq!(one, snap, "GET /api/sessions/s1 and its snapshot disagree");
            one
        }
    };
    assert_eq!(get(&stranger).await, 403);
    assert_eq!(get(&owner).await, 200);
    let socket_url = with_token(&srv.ws_url("/ws/sessions/s1"), &stranger.token);
    assert_eq!(upgrade_status(&socket_url).await, 403);
    let mut native = Ws::connect(&with_token(&srv.ws_url("/ws"), &stranger.token)).await;
    assert_eq!(native.next_json().await["type"], "welcome");
    native
        .send_json(json!({"type": "subscribe", "room": "session:s1"}))
        .await;
    let refusal = native.next_json().await;
    assert_eq!(
        (&refusal["type"], &refusal["code"]),
        (&json!("error"), &json!("forbidden"))
    );
    let (st, _) = stranger
        .call("GET", &srv.url("/api/rooms/session:s1/events"), None)
        .await;
    assert_eq!(st, 403);
    let (st, _) = stranger
        .call("GET", &srv.url("/api/sessions/s1/messages"), None)
        .await;
    assert_eq!(st, 403);

    set_visibility(&srv, &owner, "s1", "public").await;
    assert_eq!(get(&stranger).await, 200);
    assert_eq!(upgrade_status(&socket_url).await, 101);
    native.subscribe("session:s1", None).await;
}

#[actix_web::test]
async fn making_a_session_private_closes_a_stranger_s_reader_with_4003() {
    let srv = start_with_auth(|s| s.ws.batch_window_ms = 0);
    let owner = create_user(&srv, "owner@x.io").await;
    let stranger = create_user(&srv, "stranger@x.io").await;
    owned_session(&srv, &owner, "s1").await;
    set_visibility(&srv, &owner, "s1", "public").await;

    let mut flat = Ws::connect(&with_token(&srv.ws_url("/ws/sessions/s1"), &stranger.token)).await;
    assert_eq!(flat.next_json().await["type"], "subscribed");
    let mut native = Ws::connect(&with_token(&srv.ws_url("/ws"), &stranger.token)).await;
    assert_eq!(native.next_json().await["type"], "welcome");
    native.subscribe("session:s1", None).await;
    native.subscribe("lobby", None).await;

    set_visibility(&srv, &owner, "s1", "private").await;
    assert_eq!(flat.closed().await, Some(4003));
    // The native socket loses that room only, with the code, and stays open.
    let gone = native.next_json().await;
    assert_eq!(
        gone,
        json!({"type": "unsubscribed", "room": "session:s1", "reason": "revoked", "code": 4003})
    );
    native.send_json(json!({"type": "ping"})).await;
    assert_eq!(native.next_json().await["type"], "pong");
    native
        .send_json(json!({"type": "subscribe", "room": "session:s1"}))
        .await;
    assert_eq!(native.next_json().await["code"], "forbidden");
    // Its other room still delivers.
    let (st, _) = call_as(
        Some(ADMIN),
        "POST",
        &srv.url("/api/rooms/lobby/events"),
        Some(json!({"event_type": "note", "payload": {"n": 1}})),
    )
    .await;
    assert_eq!(st, 201);
    assert_eq!(native.events(1).await[0]["payload"]["n"], 1);
}

#[actix_web::test]
async fn a_waiting_reader_without_access_is_removed_once_the_session_exists() {
    let srv = start_with_auth(|s| s.ws.batch_window_ms = 0);
    let owner = create_user(&srv, "owner@x.io").await;
    let stranger = create_user(&srv, "stranger@x.io").await;
    let mut waiting = Ws::connect(&with_token(&srv.ws_url("/ws"), &stranger.token)).await;
    assert_eq!(waiting.next_json().await["type"], "welcome");
    let joined = waiting.subscribe("session:later", None).await;
    assert_eq!(
        (&joined["seq"], &joined["snapshot"]),
        (&json!(0), &Value::Null)
    );
    owned_session(&srv, &owner, "later").await;
    let gone = waiting.next_json().await;
    assert_eq!(
        (&gone["type"], &gone["reason"]),
        (&json!("unsubscribed"), &json!("revoked"))
    );
}

#[actix_web::test]
async fn a_viewer_cannot_write_an_editor_can_and_only_owners_manage() {
    let srv = start_with_auth(|_| {});
    let owner = create_user(&srv, "owner@x.io").await;
    let viewer = create_user(&srv, "viewer@x.io").await;
    let editor = create_user(&srv, "editor@x.io").await;
    owned_session(&srv, &owner, "s1").await;
    share(&srv, &owner, "s1", "viewer@x.io", "viewer").await;
    share(&srv, &owner, "s1", "editor@x.io", "editor").await;
    let before = call_as(Some(ADMIN), "GET", &srv.url("/api/stats"), None)
        .await
        .1["events_total"]
        .clone();

    let writes = [
        ("POST", "/api/sessions/s1/messages", json!({"prompt": "hi"})),
        (
            "PUT",
            "/api/sessions/s1/todos",
            json!([{"content": "a", "status": "pending"}]),
        ),
        ("PATCH", "/api/sessions/s1", json!({"title": "new"})),
        (
            "POST",
            "/api/sessions/s1/token-usage",
            json!({"input_tokens": 1, "output_tokens": 1}),
        ),
        (
            "POST",
            "/api/sessions/s1/tool-calls",
            json!({"tool_call_id": "t", "tool_name": "Bash", "state": "input-available", "input": {}}),
        ),
        (
            "POST",
            "/api/rooms/session:s1/events",
            json!({"event_type": "x", "payload": {}}),
        ),
        (
            "POST",
            "/api/hooks",
            json!({"hook_event_name": "Stop", "session_id": "s1"}),
        ),
    ];
    for (method, path, body) in &writes {
        let got = viewer
            .call(method, &srv.url(path), Some(body.clone()))
            .await;
        assert_error(&got, 403, "forbidden");
    }
    // Managing is for owners: not for an editor, not for a viewer.
    for who in [&viewer, &editor] {
        let got = who
            .call(
                "PATCH",
                &srv.url("/api/sessions/s1"),
                Some(json!({"visibility": "public"})),
            )
            .await;
        assert_error(&got, 403, "forbidden");
        let got = who
            .call(
                "POST",
                &srv.url("/api/sessions/s1/collaborators"),
                Some(json!({"email": "z@x.io", "role": "viewer"})),
            )
            .await;
        assert_error(&got, 403, "forbidden");
        assert_error(
            &who.call("DELETE", &srv.url("/api/sessions/s1"), None).await,
            403,
            "forbidden",
        );
    }
    let after = call_as(Some(ADMIN), "GET", &srv.url("/api/stats"), None)
        .await
        .1["events_total"]
        .clone();
    assert_eq!(before, after, "a refused write wrote something");

    for (method, path, body) in &writes {
        let (st, answer) = editor
            .call(method, &srv.url(path), Some(body.clone()))
            .await;
        assert!(st == 200 || st == 201, "{method} {path}: {st} {answer}");
    }
}

#[actix_web::test]
async fn collaborators_are_checked_and_accepted_by_the_invited_user() {
    let srv = start_with_auth(|_| {});
    let owner = create_user(&srv, "owner@x.io").await;
    let invited = create_user(&srv, "inv@x.io").await;
    owned_session(&srv, &owner, "s1").await;
    let url = srv.url("/api/sessions/s1/collaborators");
    let cid = share(&srv, &owner, "s1", "inv@x.io", "viewer").await;
    let bad = [
        (
            json!({"email": "inv@x.io", "role": "viewer"}),
            409,
            "conflict",
        ),
        (
            json!({"email": "x@x.io", "role": "boss"}),
            422,
            "validation_failed",
        ),
        (
            json!({"email": "not-an-email", "role": "viewer"}),
            422,
            "validation_failed",
        ),
        (json!({"email": "x@x.io"}), 400, "bad_request"),
    ];
    for (body, status, code) in bad {
        assert_error(&owner.call("POST", &url, Some(body)).await, status, code);
    }
    let got = owner
        .call(
            "PATCH",
            &format!("{url}/999"),
            Some(json!({"role": "editor"})),
        )
        .await;
    assert_error(&got, 404, "not_found");
    let got = owner
        .call(
            "POST",
            &srv.url("/api/sessions/nope/collaborators"),
            Some(json!({"email": "a@x.io", "role": "viewer"})),
        )
        .await;
    assert_error(&got, 404, "not_found");
    // Only the invited user accepts.
    let got = owner
        .call("POST", &format!("{url}/{cid}/accept"), None)
        .await;
    assert_error(&got, 403, "forbidden");
    let (st, accepted) = invited
        .call("POST", &format!("{url}/{cid}/accept"), None)
        .await;
    assert_eq!(st, 200, "{accepted}");
    assert_eq!(
        (&accepted["status"], &accepted["role"]),
        (&json!("accepted"), &json!("viewer"))
    );
    assert!(accepted["accepted_at"].is_string());
    // The snapshot carries the list.
    let (_, snap) = invited
        .call("GET", &srv.url("/api/sessions/s1/snapshot"), None)
        .await;
    assert_eq!(snap["collaborators"][0]["status"], "accepted");
    // A collaborator may leave on its own.
    let (st, _) = invited.call("DELETE", &format!("{url}/{cid}"), None).await;
    assert_eq!(st, 200);
    assert_eq!(
        invited
            .call("GET", &srv.url("/api/sessions/s1"), None)
            .await
            .0,
        403
    );
}

#[actix_web::test]
async fn collaborator_ids_are_never_reused_and_strangers_learn_nothing() {
    let srv = start_with_auth(|_| {});
    let owner = create_user(&srv, "owner@x.io").await;
    let stranger = create_user(&srv, "stranger@x.io").await;
    owned_session(&srv, &owner, "s1").await;
    let url = srv.url("/api/sessions/s1/collaborators");
    let first = share(&srv, &owner, "s1", "a@x.io", "viewer").await;
    assert_eq!(
        owner
            .call("DELETE", &format!("{url}/{first}"), None)
            .await
            .0,
        200
    );
    let second = share(&srv, &owner, "s1", "b@x.io", "viewer").await;
    assert_ne!(
        first, second,
        "a removed collaborator's id was handed out again"
    );
    // 403, not 404: a stranger cannot probe which ids exist.
    for path in [format!("{url}/{second}"), format!("{url}/999")] {
        let got = stranger.call("DELETE", &path, None).await;
        assert_error(&got, 403, "forbidden");
        let got = stranger.call("POST", &format!("{path}/accept"), None).await;
        assert_error(&got, 403, "forbidden");
    }
    // A bad body from someone who may not manage is still a 403.
    let got = stranger
        .call("POST", &url, Some(json!({"email": "nope", "role": "boss"})))
        .await;
    assert_error(&got, 403, "forbidden");
}
