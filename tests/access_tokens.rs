//! Users and tokens: 401 without a valid token on HTTP and WebSocket, tokens
//! stored only hashed, a token that ends closing its sockets with 4001, and
//! the rate limits.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a failing test should panic"
)]

mod support;

use serde_json::json;
use support::*;

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

/// The writer forgets a token that ended before it answers the write that
/// ended it: the very next request with the old token is refused, however
/// fast it follows (each old token was cached by a request just before).
#[actix_web::test]
async fn a_replaced_token_is_refused_as_soon_as_its_replacement_is_answered() {
    let srv = start_with_auth(|_| {});
    let ana = create_user(&srv, "ana@x.io").await;
    let me = srv.url("/api/me");
    let renew = srv.url(&format!("/api/users/{}/token", ana.id));
    let mut token = ana.token;
    for round in 0..30 {
        assert_eq!(call_as(Some(&token), "GET", &me, None).await.0, 200);
        let (st, renewed) = call_as(Some(&token), "POST", &renew, None).await;
        assert_eq!(st, 200, "round {round}: {renewed}");
        let old = std::mem::replace(&mut token, renewed["token"].as_str().unwrap().into());
        let (st, _) = call_as(Some(&old), "GET", &me, None).await;
        assert_eq!(st, 401, "round {round}: the replaced token still works");
    }
    assert_eq!(call_as(Some(&token), "GET", &me, None).await.0, 200);
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
