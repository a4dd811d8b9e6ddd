//! No leak: a project room redacts the sessions a reader may not read (live,
//! on resume, after a restart, over REST); a deleted session's history stays
//! with admins; work items reach only rooms their writer may write to.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a failing test should panic"
)]

mod support;

use serde_json::json;
use support::*;

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
