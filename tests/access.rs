//! Identity and access with real users, tokens and sockets: the seed-002
//! sharing story, revocation that takes effect at once, no leak through
//! project rooms, and the refusals (401, 403, 429).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a failing test should panic"
)]

mod support;

use serde_json::{json, Value};
use std::time::{Duration, Instant};
use support::*;

/// A project and a session in it, created by `owner`; returns the project id.
async fn owned_session(srv: &TestServer, owner: &User, session: &str) -> String {
    let (st, p) = owner
        .call(
            "POST",
            &srv.url("/api/projects"),
            Some(json!({"name": "team"})),
        )
        .await;
    assert_eq!(st, 201, "{p}");
    let pid = p["id"].as_str().unwrap().to_string();
    let (st, s) = owner
        .call(
            "POST",
            &srv.url(&format!("/api/projects/{pid}/sessions")),
            Some(json!({"id": session})),
        )
        .await;
    assert_eq!(st, 201, "{s}");
    assert_eq!(s["owner_id"], owner.id.as_str());
    assert_eq!(s["visibility"], "private");
    pid
}

async fn share(srv: &TestServer, owner: &User, session: &str, email: &str, role: &str) -> i64 {
    let (st, c) = owner
        .call(
            "POST",
            &srv.url(&format!("/api/sessions/{session}/collaborators")),
            Some(json!({"email": email, "role": role})),
        )
        .await;
    assert_eq!(st, 201, "{c}");
    c["id"].as_i64().unwrap()
}

async fn set_visibility(srv: &TestServer, who: &User, session: &str, visibility: &str) {
    let (st, body) = who
        .call(
            "PATCH",
            &srv.url(&format!("/api/sessions/{session}")),
            Some(json!({"visibility": visibility})),
        )
        .await;
    assert_eq!(st, 200, "{body}");
}

/// The next flat frame whose `type` is not one of the session's own updates.
async fn next_of(ws: &mut Ws, wanted: &str) -> Value {
    loop {
        let frame = ws.next_json().await;
        if frame["type"] == wanted {
            return frame;
        }
    }
}

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
    let get = |who: &User| {
        let who = who.clone();
        let url = srv.url("/api/sessions/s1");
        async move { who.call("GET", &url, None).await.0 }
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
async fn project_readers_get_redacted_envelopes_for_sessions_they_cannot_read() {
    // A window, so one flush carries events of both sessions (readers split).
    let srv = start_with_auth(|s| s.ws.batch_window_ms = 300);
    let owner = create_user(&srv, "owner@x.io").await;
    let stranger = create_user(&srv, "stranger@x.io").await;
    let pid = owned_session(&srv, &owner, "open").await;
    set_visibility(&srv, &owner, "open", "public").await;
    let (st, _) = owner
        .call(
            "POST",
            &srv.url(&format!("/api/projects/{pid}/sessions")),
            Some(json!({"id": "secret"})),
        )
        .await;
    assert_eq!(st, 201);
    let room = format!("project:{pid}");

    let mut theirs = Ws::connect(&with_token(&srv.ws_url("/ws"), &stranger.token)).await;
    assert_eq!(theirs.next_json().await["type"], "welcome");
    let joined = theirs.subscribe(&room, None).await;
    let listed: Vec<&str> = joined["snapshot"]["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(listed, ["open"]);
    let start = joined["seq"].as_i64().unwrap();
    let mut mine = Ws::connect(&with_token(&srv.ws_url("/ws"), &owner.token)).await;
    assert_eq!(mine.next_json().await["type"], "welcome");
    mine.subscribe(&room, None).await;

    for (n, session) in ["open", "secret", "open", "secret"].iter().enumerate() {
        let (st, _) = owner
            .call(
                "POST",
                &srv.url(&format!("/api/sessions/{session}/messages")),
                Some(json!({"prompt": format!("m{n} in {session}")})),
            )
            .await;
        assert_eq!(st, 201);
    }
    let seen = theirs.events(4).await;
    assert_eq!(seqs_of(&seen), (start + 1..=start + 4).collect::<Vec<_>>());
    let kinds: Vec<&str> = seen
        .iter()
        .map(|e| e["event_type"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        ["message_created", "redacted", "message_created", "redacted"]
    );
    assert!(seen[1].get("payload").is_none() && seen[1].get("resource_id").is_none());
    assert!(!seen.iter().any(|e| e.to_string().contains("secret")));
    // The owner sees everything.
    let all = mine.events(4).await;
    assert!(all.iter().all(|e| e["event_type"] == "message_created"));

    // Resuming gets the same redactions, seqs contiguous.
    let mut again = Ws::connect(&with_token(&srv.ws_url("/ws"), &stranger.token)).await;
    assert_eq!(again.next_json().await["type"], "welcome");
    let resumed = again.subscribe(&room, Some(start)).await;
    assert_eq!(resumed["recovered"], true);
    let replay = again.events(4).await;
    assert_eq!(replay, seen);
    // So do the REST reads.
    let (st, listed) = stranger
        .call(
            "GET",
            &srv.url(&format!("/api/rooms/{room}/events?since={start}")),
            None,
        )
        .await;
    assert_eq!(st, 200);
    assert_eq!(listed.as_array().unwrap(), &seen);
    let (_, sessions) = stranger
        .call(
            "GET",
            &srv.url(&format!("/api/sessions?project_id={pid}")),
            None,
        )
        .await;
    assert_eq!(sessions.as_array().unwrap().len(), 1);
    let (_, sessions) = owner
        .call(
            "GET",
            &srv.url(&format!("/api/sessions?project_id={pid}")),
            None,
        )
        .await;
    assert_eq!(sessions.as_array().unwrap().len(), 2);

    // After a restart the room reads its facts and the replay from the log.
    let dir = srv.into_dir();
    let mut settings = support::settings(&dir);
    settings.auth.required = true;
    settings.auth.admin_token = Some(ADMIN.into());
    let srv = TestServer::start_in(dir, settings);
    let mut later = Ws::connect(&with_token(&srv.ws_url("/ws"), &stranger.token)).await;
    assert_eq!(later.next_json().await["type"], "welcome");
    assert_eq!(later.subscribe(&room, Some(start)).await["recovered"], true);
    assert_eq!(later.events(4).await, seen);
}

#[actix_web::test]
async fn without_a_valid_token_http_and_websockets_answer_401() {
    let srv = start_with_auth(|_| {});
    for path in [
        "/api/projects",
        "/api/me",
        "/api/sessions",
        "/api/broadcast/events",
    ] {
        assert_error(
            &call_as(None, "GET", &srv.url(path), None).await,
            401,
            "unauthorized",
        );
        assert_error(
            &call_as(Some("hrd_wrong"), "GET", &srv.url(path), None).await,
            401,
            "unauthorized",
        );
    }
    let got = call_as(
        None,
        "POST",
        &srv.url("/api/projects"),
        Some(json!({"name": "x"})),
    )
    .await;
    assert_error(&got, 401, "unauthorized");
    for path in ["/ws", "/ws/broadcasts", "/ws/sessions/s1"] {
        assert_eq!(upgrade_status(&srv.ws_url(path)).await, 401, "{path}");
        assert_eq!(
            upgrade_status(&with_token(&srv.ws_url(path), "nope")).await,
            401
        );
        assert_eq!(
            upgrade_status(&with_token(&srv.ws_url(path), ADMIN)).await,
            101
        );
    }
    assert_eq!(get(&srv.url("/healthz")).await.0, 200);
    let (st, me) = call_as(Some(ADMIN), "GET", &srv.url("/api/me"), None).await;
    assert_eq!((st, &me["admin"]), (200, &json!(true)));
}

#[actix_web::test]
async fn users_are_created_by_admins_and_tokens_are_stored_only_hashed() {
    let srv = start_with_auth(|_| {});
    let ana = create_user(&srv, "ana@x.io").await;
    assert!(ana.token.len() >= 32 + 4, "{}", ana.token);
    let (st, me) = ana.call("GET", &srv.url("/api/me"), None).await;
    assert_eq!(st, 200);
    assert_eq!(
        me,
        json!({"id": ana.id, "email": "ana@x.io", "name": "ana@x.io", "admin": false})
    );
    // Not by a user; not twice; not with a bad email.
    let got = ana
        .call(
            "POST",
            &srv.url("/api/users"),
            Some(json!({"email": "b@x.io"})),
        )
        .await;
    assert_error(&got, 403, "forbidden");
    let got = call_as(
        Some(ADMIN),
        "POST",
        &srv.url("/api/users"),
        Some(json!({"email": "ANA@x.io"})),
    )
    .await;
    assert_error(&got, 409, "conflict");
    let got = call_as(
        Some(ADMIN),
        "POST",
        &srv.url("/api/users"),
        Some(json!({"email": "nope"})),
    )
    .await;
    assert_error(&got, 422, "validation_failed");
    let got = call_as(
        Some(ADMIN),
        "POST",
        &srv.url("/api/users"),
        Some(json!({"name": "x"})),
    )
    .await;
    assert_error(&got, 400, "bad_request");

    // The database file (and its write-ahead log) hold the hash, never the token.
    let mut stored = std::fs::read(&srv.db_path).unwrap();
    let mut wal = srv.db_path.clone().into_os_string();
    wal.push("-wal");
    stored.extend(std::fs::read(&wal).unwrap_or_default());
    let contains = |needle: &str| stored.windows(needle.len()).any(|w| w == needle.as_bytes());
    assert!(!contains(&ana.token), "the token is stored in clear");
    assert!(
        contains(&herald::auth::hash_token(&ana.token)),
        "the hash is not stored"
    );
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
        .call("GET", &srv.url("/api/sessions/s1"), None)
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
async fn rate_limits_answer_rate_limited_and_nothing_breaks() {
    let srv = start_with_auth(|s| {
        s.ws.max_messages_per_second = 5;
        s.auth.max_writes_per_second = 3;
    });
    let ana = create_user(&srv, "ana@x.io").await;
    // Writes: the burst passes, the rest is 429 and writes nothing.
    let url = srv.url("/api/projects");
    let mut answers = Vec::new();
    for _ in 0..8 {
        answers.push(ana.call("POST", &url, Some(json!({"name": "p"}))).await);
    }
    let created = answers.iter().filter(|(st, _)| *st == 201).count();
    let limited: Vec<_> = answers.iter().filter(|(st, _)| *st == 429).collect();
    // The burst of 3, and at most one more earned while the 8 requests ran.
    assert!((3..=4).contains(&created), "{answers:?}");
    assert_eq!(created + limited.len(), 8);
    assert_eq!(limited[0].1["error"]["code"], "rate_limited");
    let (_, projects) = ana.call("GET", &url, None).await;
    assert_eq!(projects.as_array().unwrap().len(), created);

    // Socket messages: past the burst, `rate_limited` error frames; the socket stays.
    let mut ws = Ws::connect(&with_token(&srv.ws_url("/ws"), &ana.token)).await;
    assert_eq!(ws.next_json().await["type"], "welcome");
    for _ in 0..10 {
        ws.send_json(json!({"type": "ping"})).await;
    }
    let mut codes = Vec::new();
    for _ in 0..10 {
        let frame = ws.next_json().await;
        codes.push(
            frame["code"]
                .as_str()
                .unwrap_or(frame["type"].as_str().unwrap())
                .to_string(),
        );
    }
    assert!(
        codes.iter().filter(|c| *c == "pong").count() >= 5,
        "{codes:?}"
    );
    assert!(codes.iter().any(|c| c == "rate_limited"), "{codes:?}");
    let (st, _) = call_as(Some(ADMIN), "GET", &srv.url("/api/projects"), None).await;
    assert_eq!(st, 200);
}

#[actix_web::test]
async fn a_token_that_ends_closes_its_sockets_with_4001() {
    let srv = start_with_auth(|_| {});
    let ana = create_user(&srv, "ana@x.io").await;
    let bo = create_user(&srv, "bo@x.io").await;
    let mut ana_ws = Ws::connect(&with_token(&srv.ws_url("/ws"), &ana.token)).await;
    let mut bo_ws = Ws::connect(&with_token(&srv.ws_url("/ws"), &bo.token)).await;
    assert_eq!(ana_ws.next_json().await["type"], "welcome");
    assert_eq!(bo_ws.next_json().await["type"], "welcome");
    assert_eq!(ana.call("GET", &srv.url("/api/me"), None).await.0, 200);

    // Ana gets a new token: sockets on the old one close, the old one is refused.
    let (st, renewed) = ana
        .call(
            "POST",
            &srv.url(&format!("/api/users/{}/token", ana.id)),
            None,
        )
        .await;
    assert_eq!(st, 200, "{renewed}");
    assert_eq!(ana_ws.closed().await, Some(4001));
    assert_error(
        &ana.call("GET", &srv.url("/api/me"), None).await,
        401,
        "unauthorized",
    );
    let fresh = renewed["token"].as_str().unwrap();
    let (st, me) = call_as(Some(fresh), "GET", &srv.url("/api/me"), None).await;
    assert_eq!((st, &me["email"]), (200, &json!("ana@x.io")));
    // Others' tokens are not theirs to renew.
    let got = bo
        .call(
            "POST",
            &srv.url(&format!("/api/users/{}/token", ana.id)),
            None,
        )
        .await;
    assert_error(&got, 403, "forbidden");

    // Bo is deleted: closed with 4001, refused after.
    let got = call_as(
        Some(fresh),
        "DELETE",
        &srv.url(&format!("/api/users/{}", bo.id)),
        None,
    )
    .await;
    assert_error(&got, 403, "forbidden");
    let (st, _) = call_as(
        Some(ADMIN),
        "DELETE",
        &srv.url(&format!("/api/users/{}", bo.id)),
        None,
    )
    .await;
    assert_eq!(st, 200);
    assert_eq!(bo_ws.closed().await, Some(4001));
    assert_error(
        &bo.call("GET", &srv.url("/api/me"), None).await,
        401,
        "unauthorized",
    );
    assert_eq!(
        upgrade_status(&with_token(&srv.ws_url("/ws"), &bo.token)).await,
        401
    );
    let got = call_as(
        Some(ADMIN),
        "DELETE",
        &srv.url(&format!("/api/users/{}", bo.id)),
        None,
    )
    .await;
    assert_error(&got, 404, "not_found");
}

#[actix_web::test]
async fn a_deleted_session_s_history_is_for_admins_and_its_id_is_not_reused() {
    let srv = start_with_auth(|s| s.ws.batch_window_ms = 0);
    let owner = create_user(&srv, "owner@x.io").await;
    let stranger = create_user(&srv, "stranger@x.io").await;
    let pid = owned_session(&srv, &owner, "gone").await;
    let (st, _) = owner
        .call(
            "POST",
            &srv.url("/api/sessions/gone/messages"),
            Some(json!({"prompt": "TOPSECRET"})),
        )
        .await;
    assert_eq!(st, 201);
    let mut watching = Ws::connect(&with_token(&srv.ws_url("/ws"), &owner.token)).await;
    assert_eq!(watching.next_json().await["type"], "welcome");
    watching.subscribe("session:gone", None).await;
    assert_eq!(
        owner
            .call("DELETE", &srv.url("/api/sessions/gone"), None)
            .await
            .0,
        200
    );
    // Its reader at the time gets the deletion.
    assert_eq!(watching.events(1).await[0]["event_type"], "session_deleted");

    for who in [&stranger, &owner] {
        let got = who
            .call("GET", &srv.url("/api/rooms/session:gone/events"), None)
            .await;
        assert_error(&got, 403, "forbidden");
    }
    let mut ws = Ws::connect(&with_token(&srv.ws_url("/ws"), &stranger.token)).await;
    assert_eq!(ws.next_json().await["type"], "welcome");
    ws.send_json(json!({"type": "subscribe", "room": "session:gone", "since": 0}))
        .await;
    assert_eq!(ws.next_json().await["code"], "forbidden");
    // Nobody takes the id over (and with it the history).
    let got = stranger
        .call(
            "POST",
            &srv.url(&format!("/api/projects/{pid}/sessions")),
            Some(json!({"id": "gone"})),
        )
        .await;
    assert_error(&got, 409, "conflict");
    let hook = json!({"hook_event_name": "SessionStart", "session_id": "gone"});
    assert_error(
        &stranger
            .call("POST", &srv.url("/api/hooks"), Some(hook))
            .await,
        409,
        "conflict",
    );
    let (st, history) = call_as(
        Some(ADMIN),
        "GET",
        &srv.url("/api/rooms/session:gone/events"),
        None,
    )
    .await;
    assert_eq!(st, 200);
    assert!(history.to_string().contains("TOPSECRET"));
}

#[actix_web::test]
async fn work_items_reach_a_session_room_only_for_its_writers() {
    let srv = start_with_auth(|s| s.ws.batch_window_ms = 0);
    let owner = create_user(&srv, "owner@x.io").await;
    let stranger = create_user(&srv, "stranger@x.io").await;
    owned_session(&srv, &owner, "s1").await;
    let url = srv.url("/api/broadcast/features/f1");
    let feature = |who: &User, session: &str| {
        let (token, session, url) = (who.token.clone(), session.to_string(), url.clone());
        async move {
            let resp = client()
                .post(url)
                .insert_header(("Authorization", format!("Bearer {token}")))
                .insert_header(("X-Session-ID", session))
                .send_json(&json!({"title": "F"}))
                .await
                .unwrap();
            resp.status().as_u16()
        }
    };
    assert_eq!(feature(&stranger, "s1").await, 403);
    // A session herald does not know: recorded, but no room gets planted events.
    assert_eq!(feature(&stranger, "not-yet").await, 201);
    let (st, planted) = call_as(
        Some(ADMIN),
        "GET",
        &srv.url("/api/rooms/session:not-yet/events"),
        None,
    )
    .await;
    assert_eq!((st, planted), (200, json!([])));
    let (_, trail) = stranger
        .call("GET", &srv.url("/api/broadcast/events"), None)
        .await;
    assert_eq!(trail[0]["session_id"], "not-yet");
    assert_eq!(feature(&owner, "s1").await, 200);
    let (_, mine) = owner
        .call("GET", &srv.url("/api/rooms/session:s1/events"), None)
        .await;
    assert!(mine
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["event_type"] == "feature_updated"));
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
