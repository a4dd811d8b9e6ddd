//! Idempotent writes (DESIGN §10): a write with `Idempotency-Key` is done
//! once; repeats of the same request get the first answer byte for byte
//! (with `Idempotent-Replayed: true`) and write nothing; the same key with
//! another request is 422; keys expire after `http.idempotency_ttl_s`.
#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly on the first surprise"
)]

mod support;

use diesel::{Connection, RunQueryDsl};
use serde_json::{json, Value};
use support::*;

/// Sends a keyed POST; returns status, `Idempotent-Replayed`, raw body.
async fn keyed_post(url: &str, key: &str, body: &Value) -> (u16, bool, Vec<u8>) {
    let mut resp = client()
        .post(url)
        .insert_header(("Idempotency-Key", key))
        .send_json(body)
        .await
        .unwrap();
    let replayed = resp
        .headers()
        .get("idempotent-replayed")
        .is_some_and(|v| v == "true");
    let bytes = resp.body().await.unwrap().to_vec();
    (resp.status().as_u16(), replayed, bytes)
}

#[actix_web::test]
async fn fifty_concurrent_retries_make_one_event_and_fifty_identical_answers() {
    let srv = TestServer::start();
    let url = srv.url("/api/rooms/orders/events");
    let body = json!({"event_type": "order_placed", "payload": {"order": 7}});
    let tries = (0..50).map(|_| keyed_post(&url, "order-7", &body));
    let answers = futures::future::join_all(tries).await;
    let first = &answers[0].2;
    for (status, _, bytes) in &answers {
        assert_eq!(*status, 201, "{}", String::from_utf8_lossy(bytes));
        assert_eq!(bytes, first, "every answer is the first one");
    }
    let replayed = answers.iter().filter(|a| a.1).count();
    assert_eq!(replayed, 49, "all but the first are replays");
    assert_eq!(stored_seqs(&srv, "orders").await, vec![1]);

    // Later retries too; an unkeyed write is a new event.
    let (status, replayed, again) = keyed_post(&url, "order-7", &body).await;
    assert_eq!((status, replayed, &again), (201, true, first));
    publish(&srv, "orders", json!({"order": 8})).await;
    assert_eq!(stored_seqs(&srv, "orders").await, vec![1, 2]);
}

#[actix_web::test]
async fn a_key_reused_for_another_request_is_422_and_writes_nothing() {
    let srv = TestServer::start();
    let url = srv.url("/api/rooms/orders/events");
    let body = json!({"event_type": "order_placed", "payload": {"order": 1}});
    assert_eq!(keyed_post(&url, "k", &body).await.0, 201);
    let other = json!({"event_type": "order_placed", "payload": {"order": 2}});
    let (status, replayed, bytes) = keyed_post(&url, "k", &other).await;
    let answer: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!((status, replayed), (422, false), "{answer}");
    assert_eq!(answer["error"]["code"], "idempotency_mismatch");
    // Same body to another path is another request too.
    let (status, _, _) = keyed_post(&srv.url("/api/rooms/elsewhere/events"), "k", &body).await;
    assert_eq!(status, 422);
    assert_eq!(stored_seqs(&srv, "orders").await, vec![1]);
    assert!(stored_seqs(&srv, "elsewhere").await.is_empty());
}

#[actix_web::test]
async fn a_failed_keyed_write_stores_nothing_and_can_be_retried() {
    let srv = TestServer::start();
    let body = json!({"role": "user", "content": "hi"});
    let (status, _, _) = keyed_post(&srv.url("/api/sessions/nope/messages"), "m1", &body).await;
    assert_eq!(status, 404);
    // Nothing was stored under the key: it is free for the next request.
    let (_, session) = project_and_session(&srv).await;
    let url = srv.url(&format!("/api/sessions/{session}/messages"));
    let (status, replayed, _) = keyed_post(&url, "m1", &body).await;
    assert_eq!((status, replayed), (201, false));
    assert!(keyed_post(&url, "m1", &body).await.1);
}

#[actix_web::test]
async fn bad_keys_are_400() {
    let srv = TestServer::start();
    let url = srv.url("/api/rooms/r/events");
    let body = json!({"event_type": "x", "payload": {}});
    for key in ["", &"k".repeat(256), "with space", "é"] {
        let (status, _, bytes) = keyed_post(&url, key, &body).await;
        assert_eq!(status, 400, "{key:?}: {}", String::from_utf8_lossy(&bytes));
    }
    assert!(stored_seqs(&srv, "r").await.is_empty());
}

#[actix_web::test]
async fn an_expired_key_is_a_new_write() {
    let srv = TestServer::start_with(|s| s.http.idempotency_ttl_s = 60);
    let url = srv.url("/api/rooms/r/events");
    let body = json!({"event_type": "x", "payload": {"n": 1}});
    assert!(!keyed_post(&url, "old", &body).await.1);
    assert!(keyed_post(&url, "old", &body).await.1);
    // Age the stored answer past the TTL.
    let mut db = diesel::SqliteConnection::establish(&srv.db_path.to_string_lossy()).unwrap();
    diesel::sql_query("UPDATE idempotency_keys SET created_at = created_at - 61000")
        .execute(&mut db)
        .unwrap();
    let (status, replayed, _) = keyed_post(&url, "old", &body).await;
    assert_eq!((status, replayed), (201, false));
    assert_eq!(stored_seqs(&srv, "r").await, vec![1, 2]);
}

#[actix_web::test]
async fn routes_that_issue_a_token_refuse_a_key() {
    let srv = TestServer::start();
    let body = json!({"email": "k@x.io"});
    let (status, _, bytes) = keyed_post(&srv.url("/api/users"), "u1", &body).await;
    assert_eq!(status, 400, "{}", String::from_utf8_lossy(&bytes));
    let (status, user) = post(&srv.url("/api/users"), body).await;
    assert_eq!(status, 201, "{user}");
    let url = srv.url(&format!(
        "/api/users/{}/token",
        user["id"].as_str().unwrap()
    ));
    let (status, _, _) = keyed_post(&url, "t1", &json!({})).await;
    assert_eq!(status, 400);
}
