//! `POST /api/rooms/events:batch`: many events in one request and one
//! transaction. Items keep their order and take their rooms' next seqs; one
//! bad item refuses the whole batch with nothing written; a keyed batch is
//! done once; access, the payload cap and the rate limit apply per item.
#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test fails loudly on the first surprise"
)]

mod support;

use serde_json::{json, Value};
use support::*;

const BATCH: &str = "/api/rooms/events:batch";

fn item(room: &str, n: i64) -> Value {
    json!({"room": room, "event_type": "tool_call", "payload": {"n": n}})
}

/// `(room, seq, n)` of every event in a room's log.
async fn log(srv: &TestServer, room: &str) -> Vec<(String, i64, i64)> {
    let (st, body) = get(&srv.url(&format!("/api/rooms/{room}/events"))).await;
    assert_eq!(st, 200, "{body}");
    body.as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["room"].as_str().unwrap().to_string(),
                e["seq"].as_i64().unwrap(),
                e["payload"]["n"].as_i64().unwrap(),
            )
        })
        .collect()
}

#[actix_web::test]
async fn a_batch_keeps_its_order_and_takes_each_rooms_next_seqs() {
    let srv = TestServer::start();
    let (st, first) = post(
        &srv.url("/api/rooms/a/events"),
        json!({"event_type": "t", "payload": {"n": 0}}),
    )
    .await;
    assert_eq!(st, 201, "{first}");
    let items: Vec<Value> = (1..=6)
        .map(|n| item(if n % 2 == 0 { "b" } else { "a" }, n))
        .collect();
    let (st, body) = post(&srv.url(BATCH), Value::Array(items)).await;
    assert_eq!(st, 201, "{body}");
    assert_eq!(body["count"], 6);
    let events = body["events"].as_array().unwrap();
    let got: Vec<(&str, i64)> = events
        .iter()
        .map(|e| (e["room"].as_str().unwrap(), e["seq"].as_i64().unwrap()))
        .collect();
    assert_eq!(
        got,
        [("a", 2), ("b", 1), ("a", 3), ("b", 2), ("a", 4), ("b", 3)]
    );
    let ids: Vec<i64> = events.iter().map(|e| e["id"].as_i64().unwrap()).collect();
    assert!(
        ids.windows(2).all(|w| w[1] == w[0] + 1),
        "ids in item order: {ids:?}"
    );
    assert!(ids[0] > first["events"][0]["id"].as_i64().unwrap());
    assert!(events.iter().all(|e| e["event_type"] == "tool_call"));
    let a: Vec<i64> = log(&srv, "a").await.iter().map(|e| e.2).collect();
    let b: Vec<i64> = log(&srv, "b").await.iter().map(|e| e.2).collect();
    assert_eq!((a, b), (vec![0, 1, 3, 5], vec![2, 4, 6]));
    assert_eq!(events_total(&srv).await, 7);

    // The largest batch, in one room: 1,000 seqs in order.
    let items: Vec<Value> = (0..1000).map(|n| item("c", n)).collect();
    let (st, body) = post(&srv.url(BATCH), Value::Array(items)).await;
    assert_eq!(st, 201, "{}", body["error"]);
    let seqs: Vec<i64> = body["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["seq"].as_i64().unwrap())
        .collect();
    assert_eq!(seqs, (1..=1000).collect::<Vec<_>>());
    assert_eq!(events_total(&srv).await, 1007);
}

#[actix_web::test]
async fn a_bad_item_refuses_the_whole_batch_and_writes_nothing() {
    let srv = TestServer::start_with(|s| s.events.max_payload_bytes = 100);
    let good = || item("a", 1);
    let big = json!({"room": "a", "event_type": "t", "payload": {"x": "y".repeat(200)}});
    let cases: Vec<(Value, u16, &str)> = vec![
        (json!({"room": "a"}), 400, "bad_request"),
        (json!([]), 422, "validation_failed"),
        (
            Value::Array((0..1001).map(|n| item("a", n)).collect()),
            422,
            "validation_failed",
        ),
        (json!([good(), 7]), 400, "bad_request"),
        (
            json!([good(), {"room": "a", "payload": {}}]),
            400,
            "bad_request",
        ),
        (
            json!([good(), {"room": "a", "event_type": "t", "payload": [1]}]),
            422,
            "validation_failed",
        ),
        (json!([good(), big]), 422, "validation_failed"),
        (
            json!([good(), {"room": "no spaces", "event_type": "t", "payload": {}}]),
            422,
            "validation_failed",
        ),
        (
            json!([good(), {"room": "a", "event_type": "bad type", "payload": {}}]),
            422,
            "validation_failed",
        ),
        (
            json!([good(), {"room": "a", "event_type": "session_created", "payload": {}}]),
            422,
            "validation_failed",
        ),
    ];
    for (body, status, code) in cases {
        let got = post(&srv.url(BATCH), body.clone()).await;
        assert_error(&got, status, code);
        if status == 422 && body.as_array().is_some_and(|a| a.len() == 2) {
            let message = got.1["error"]["message"].as_str().unwrap();
            assert!(
                message.starts_with("events[1]: "),
                "names the item: {message}"
            );
        }
    }
    assert_eq!(events_total(&srv).await, 0, "nothing written");
    assert!(log(&srv, "a").await.is_empty());

    // The cap is per item: five items of 90 bytes each pass.
    let pad = |n: i64| json!({"room": "a", "event_type": "t", "payload": {"n": n, "pad": "p".repeat(70)}});
    let (st, body) = post(&srv.url(BATCH), Value::Array((1..=5).map(pad).collect())).await;
    assert_eq!(st, 201, "{body}");
    let seqs: Vec<i64> = log(&srv, "a").await.iter().map(|e| e.1).collect();
    assert_eq!(
        seqs,
        [1, 2, 3, 4, 5],
        "seqs stay gapless after the refusals"
    );
}

#[actix_web::test]
async fn a_keyed_batch_is_done_once() {
    let srv = TestServer::start();
    let send = |key: &'static str, body: Value| {
        let url = srv.url(BATCH);
        async move {
            let mut resp = client()
                .post(url)
                .insert_header(("Idempotency-Key", key))
                .send_json(&body)
                .await
                .unwrap();
            let replayed = resp.headers().get("idempotent-replayed").is_some();
            let bytes = resp.body().await.unwrap().to_vec();
            (resp.status().as_u16(), replayed, bytes)
        }
    };
    let body = json!([item("a", 1), item("b", 2)]);
    let (st, replayed, first) = send("burst-1", body.clone()).await;
    assert_eq!(
        (st, replayed),
        (201, false),
        "{}",
        String::from_utf8_lossy(&first)
    );
    let (st, replayed, again) = send("burst-1", body.clone()).await;
    assert_eq!((st, replayed, &again), (201, true, &first));
    let (st, _, other) = send("burst-1", json!([item("a", 9)])).await;
    assert_eq!(st, 422, "{}", String::from_utf8_lossy(&other));
    let other: Value = serde_json::from_slice(&other).unwrap();
    assert_eq!(other["error"]["code"], "idempotency_mismatch");
    assert_eq!(events_total(&srv).await, 2);
}

#[actix_web::test]
async fn access_is_checked_for_every_room_of_the_batch() {
    let srv = start_with_auth(|_| {});
    let owner = create_user(&srv, "owner@example.com").await;
    let other = create_user(&srv, "other@example.com").await;
    owned_session(&srv, &owner, "mine").await;
    owned_session(&srv, &other, "theirs").await;
    let url = srv.url(BATCH);
    let (st, body) = owner
        .call(
            "POST",
            &url,
            Some(json!([item("session:mine", 1), item("session:theirs", 2)])),
        )
        .await;
    assert_error(&(st, body), 403, "forbidden");
    let (st, body) = owner
        .call(
            "POST",
            &url,
            Some(json!([item("session:mine", 1), item("free-room", 2)])),
        )
        .await;
    assert_error(&(st, body), 403, "forbidden");
    let before = call_as(Some(ADMIN), "GET", &srv.url("/api/stats"), None)
        .await
        .1["events_total"]
        .as_i64()
        .unwrap();
    let (st, body) = owner
        .call(
            "POST",
            &url,
            Some(json!([item("session:mine", 1), item("session:mine", 2)])),
        )
        .await;
    assert_eq!(st, 201, "{body}");
    let after = call_as(Some(ADMIN), "GET", &srv.url("/api/stats"), None)
        .await
        .1["events_total"]
        .as_i64()
        .unwrap();
    assert_eq!(after - before, 2, "only the allowed batch was written");
}

#[actix_web::test]
async fn the_rate_limit_counts_every_event_of_a_batch() {
    let srv = start_with_auth(|s| s.auth.max_writes_per_second = 2);
    let user = create_user(&srv, "burst@example.com").await;
    owned_session(&srv, &user, "s1").await;
    // The project and the session took the bucket's two tokens: refill.
    actix_web::rt::time::sleep(std::time::Duration::from_millis(1100)).await;
    let url = srv.url(BATCH);
    let five: Vec<Value> = (1..=5).map(|n| item("session:s1", n)).collect();
    let (st, body) = user.call("POST", &url, Some(Value::Array(five))).await;
    assert_eq!(
        st, 201,
        "a batch larger than the burst passes with a full bucket: {body}"
    );
    // Counted per request, the bucket would be full again after a second;
    // counted per event it still owes three tokens.
    actix_web::rt::time::sleep(std::time::Duration::from_millis(1200)).await;
    let got = user
        .call("POST", &url, Some(json!([item("session:s1", 6)])))
        .await;
    assert_error(&got, 429, "rate_limited");
}

/// A user's keyed batch call: status, whether it was a replay, the body.
async fn keyed(user: &User, url: &str, key: &str, body: &Value) -> (u16, bool, Value) {
    let mut resp = client()
        .post(url)
        .insert_header(("Authorization", format!("Bearer {}", user.token)))
        .insert_header(("Idempotency-Key", key))
        .send_json(body)
        .await
        .unwrap();
    let replayed = resp.headers().get("idempotent-replayed").is_some();
    let bytes = resp.body().await.unwrap();
    let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (resp.status().as_u16(), replayed, json)
}

#[actix_web::test]
async fn a_retry_of_a_keyed_batch_gets_its_answer_while_the_bucket_is_in_debt() {
    let srv = start_with_auth(|s| s.auth.max_writes_per_second = 2);
    let user = create_user(&srv, "retry@example.com").await;
    owned_session(&srv, &user, "s1").await;
    actix_web::rt::time::sleep(std::time::Duration::from_millis(1100)).await;
    let url = srv.url(BATCH);
    let ten = Value::Array((1..=10).map(|n| item("session:s1", n)).collect());
    let (st, replayed, first) = keyed(&user, &url, "ten", &ten).await;
    assert_eq!((st, replayed), (201, false), "{first}");
    // The bucket now owes eight tokens; the retry must still be answered.
    let (st, replayed, again) = keyed(&user, &url, "ten", &ten).await;
    assert_eq!((st, replayed), (201, true), "{again}");
    assert_eq!(again, first);
    // An unkeyed write still waits for the debt.
    let got = user
        .call("POST", &url, Some(json!([item("session:s1", 11)])))
        .await;
    assert_error(&got, 429, "rate_limited");
}

#[actix_web::test]
async fn a_refused_batch_costs_one_write_not_one_per_item() {
    let srv = start_with_auth(|s| s.auth.max_writes_per_second = 2);
    let owner = create_user(&srv, "owner@example.com").await;
    let user = create_user(&srv, "stranger@example.com").await;
    owned_session(&srv, &owner, "theirs").await;
    let url = srv.url(BATCH);
    let forbidden = Value::Array((0..1000).map(|n| item("session:theirs", n)).collect());
    let got = user.call("POST", &url, Some(forbidden)).await;
    assert_error(&got, 403, "forbidden");
    let message = got.1["error"]["message"].as_str().unwrap();
    assert!(
        message.starts_with("events[0]: "),
        "names the item: {message}"
    );
    // The refusal took one of the two tokens, not a thousand.
    let project = || json!({"name": "mine"});
    let (st, body) = user
        .call("POST", &srv.url("/api/projects"), Some(project()))
        .await;
    assert_eq!(st, 201, "{body}");
    actix_web::rt::time::sleep(std::time::Duration::from_millis(1100)).await;
    let reserved = Value::Array(
        (0..1000)
            .map(|_| json!({"room": "session:theirs", "event_type": "connect", "payload": {}}))
            .collect(),
    );
    let got = user.call("POST", &url, Some(reserved)).await;
    assert_error(&got, 422, "validation_failed");
    let (st, body) = user
        .call("POST", &srv.url("/api/projects"), Some(project()))
        .await;
    assert_eq!(st, 201, "{body}");
}

#[actix_web::test]
async fn a_payload_nested_deeper_than_subscribers_parse_is_refused() {
    let srv = TestServer::start();
    let nested = |depth: usize| -> Value {
        let text = format!("{}{}", "[".repeat(depth - 1), "]".repeat(depth - 1));
        serde_json::from_str(&format!("{{\"a\":{text}}}")).unwrap_or(Value::Null)
    };
    // serde_json itself would refuse to build a Value 200 deep: send text.
    let deep = format!(
        "[{{\"room\":\"a\",\"event_type\":\"t\",\"payload\":{{\"a\":{}{}}}}}]",
        "[".repeat(199),
        "]".repeat(199)
    );
    let resp = client()
        .post(srv.url(BATCH))
        .insert_header(("content-type", "application/json"))
        .send_body(deep.clone())
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 422);
    let single = deep[1..deep.len() - 1].replace("\"room\":\"a\",", "");
    let resp = client()
        .post(srv.url("/api/rooms/a/events"))
        .insert_header(("content-type", "application/json"))
        .send_body(single)
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 422);
    assert_eq!(events_total(&srv).await, 0, "nothing written");
    // 64 levels, the most allowed, pass and reach readers whole.
    let ok = json!([{"room": "a", "event_type": "t", "payload": nested(64)}]);
    let (st, body) = post(&srv.url(BATCH), ok).await;
    assert_eq!(st, 201, "{body}");
    let got = client()
        .post(srv.url(BATCH))
        .send_json(&json!([{"room": "a", "event_type": "t", "payload": nested(65)}]))
        .await
        .unwrap()
        .status()
        .as_u16();
    assert_eq!(got, 422);
}

#[actix_web::test]
async fn a_bad_room_name_is_echoed_only_as_long_as_a_good_one() {
    let srv = TestServer::start();
    let long = "x y".repeat(100_000);
    let got = post(
        &srv.url(BATCH),
        json!([{"room": long, "event_type": "t", "payload": {}}]),
    )
    .await;
    assert_error(&got, 422, "validation_failed");
    let message = got.1["error"]["message"].as_str().unwrap();
    assert!(message.len() < 400, "{} bytes", message.len());
}

#[actix_web::test]
async fn keyed_requests_reach_the_writer_at_most_at_the_rate() {
    let srv = start_with_auth(|s| s.auth.max_writes_per_second = 5);
    let user = create_user(&srv, "replays@example.com").await;
    owned_session(&srv, &user, "s1").await;
    actix_web::rt::time::sleep(std::time::Duration::from_millis(1100)).await;
    let url = srv.url(BATCH);
    let body = json!([item("session:s1", 1)]);
    let (st, _, _) = keyed(&user, &url, "once", &body).await;
    assert_eq!(st, 201);
    let mut statuses = std::collections::BTreeMap::new();
    for i in 0..50 {
        // Replays of the stored answer and fresh keys, back to back.
        let key = if i % 2 == 0 {
            "once".to_string()
        } else {
            format!("fresh-{i}")
        };
        let (st, _, _) = keyed(&user, &url, &key, &body).await;
        *statuses.entry(st).or_insert(0) += 1;
    }
    let refused = statuses.get(&429).copied().unwrap_or(0);
    assert!(refused >= 40, "{statuses:?}");
}
