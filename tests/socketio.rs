//! Socket.IO at `/socket.io/` with real clients: python-socketio (default
//! transports, WebSocket only, polling only) and socket.io-client for Node,
//! installed at pinned versions by `tests/clients/setup.sh`; and a raw
//! polling client for exact packets: refusals, bad input, a vanished client.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a failing test should panic"
)]

mod support;

use serde_json::json;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use support::clients::{clients_dir, run_client};
use support::*;

/// A server whose heartbeat comes every 300 ms and drops silent clients after 1.5 s.
fn sio_server(tweak: impl FnOnce(&mut herald::config::Settings)) -> TestServer {
    TestServer::start_with(|s| {
        s.ws.batch_window_ms = 0;
        s.ws.heartbeat_interval_ms = 300;
        s.ws.client_timeout_ms = 1_500;
        tweak(s);
    })
}

async fn python(srv: &TestServer, transports: &str, clients: usize, mode: &str) {
    let dir = clients_dir();
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/clients/sio_python.py");
    let args = vec![
        script.display().to_string(),
        srv.url(""),
        transports.to_string(),
        clients.to_string(),
        mode.to_string(),
    ];
    run_client(dir.join("venv/bin/python"), args).await;
}

async fn back_to_zero(srv: &TestServer) {
    wait_stats(srv, |s| s["connections"] == 0 && s["rooms"] == json!([])).await;
}

#[actix_web::test]
async fn python_socketio_with_default_transports_gets_each_message_once() {
    let srv = sio_server(|_| {});
    python(&srv, "default", 3, "messages").await;
    back_to_zero(&srv).await;
}

#[actix_web::test]
async fn python_socketio_over_websocket_only() {
    let srv = sio_server(|_| {});
    python(&srv, "websocket", 2, "messages").await;
    back_to_zero(&srv).await;
}

#[actix_web::test]
async fn python_socketio_over_polling_only() {
    let srv = sio_server(|_| {});
    python(&srv, "polling", 2, "messages").await;
    back_to_zero(&srv).await;
}

#[actix_web::test]
async fn a_test_run_streams_through_the_generic_route() {
    let srv = sio_server(|_| {});
    python(&srv, "default", 1, "testrun").await;
    back_to_zero(&srv).await;
}

async fn node(srv: &TestServer, transports: &str) {
    let dir = clients_dir();
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/clients/sio_node.mjs");
    let args = vec![
        script.display().to_string(),
        dir.display().to_string(),
        srv.url(""),
        "2".to_string(),
        transports.to_string(),
    ];
    run_client(PathBuf::from("node"), args).await;
}

#[actix_web::test]
async fn node_socket_io_client_upgrades_and_gets_each_message_once() {
    let srv = sio_server(|_| {});
    node(&srv, "default").await;
    back_to_zero(&srv).await;
}

#[actix_web::test]
async fn node_socket_io_client_over_websocket_only() {
    let srv = sio_server(|_| {});
    node(&srv, "websocket").await;
    back_to_zero(&srv).await;
}

#[actix_web::test]
async fn a_polling_client_that_vanishes_mid_poll_is_reaped_after_the_timeout() {
    let srv = sio_server(|_| {});
    let (session, open) = Polling::open(&srv, None).await;
    assert_eq!(open["pingInterval"], 300);
    assert_eq!(open["pingTimeout"], 1_200);
    assert_eq!(open["upgrades"], json!(["websocket"]));
    session.send(&["40"]).await;
    assert!(session.until("40").await.contains("\"sid\""));
    session.send(&[r#"42["subscribe",{"room":"lobby"}]"#]).await;
    session.event("subscribed").await;
    wait_stats(&srv, |s| s["connections"] == 1).await;
    // A poll is left hanging and then abandoned: no pong ever comes.
    let hanging = client()
        .get(srv.url(&format!(
            "/socket.io/?EIO=4&transport=polling&sid={}",
            session.sid
        )))
        .timeout(Duration::from_millis(50))
        .send()
        .await;
    drop(hanging);
    let gone_at = Instant::now();
    back_to_zero(&srv).await;
    assert!(gone_at.elapsed() < Duration::from_secs(5));
    let (st, _) = get_text(&srv.url(&format!(
        "/socket.io/?EIO=4&transport=polling&sid={}",
        session.sid
    )))
    .await;
    assert_eq!(st, 400, "a reaped session still answers");
}

#[actix_web::test]
async fn a_poll_answers_at_most_16_packets_and_the_rest_on_the_next_polls() {
    // python-engineio drops a connection whose poll brings more than 16.
    let srv = sio_server(|_| {});
    let (session, _) = Polling::open(&srv, None).await;
    session.send(&["40"]).await;
    session.until("40").await;
    session.send(&[r#"42["subscribe",{"room":"burst"}]"#]).await;
    session.until(r#"42["subscribed""#).await;
    for n in 0..40 {
        publish(&srv, "burst", json!({"n": n})).await;
    }
    let mut seqs = Vec::new();
    while seqs.len() < 40 {
        let packets = session.poll().await;
        assert!(packets.len() <= 16, "{} packets in one poll", packets.len());
        for packet in packets {
            if packet == "2" {
                session.send(&["3"]).await;
                continue;
            }
            let args: serde_json::Value = serde_json::from_str(&packet[2..]).unwrap();
            assert_eq!(args[0], "note", "{packet}");
            seqs.push(args[1]["seq"].as_i64().unwrap());
        }
    }
    assert_eq!(seqs, (1..=40).collect::<Vec<_>>());
}

#[actix_web::test]
async fn bad_packets_get_errors_and_the_server_stays_up() {
    let srv = sio_server(|s| s.server.max_body_bytes = 4096);
    // Wrong protocol version, unknown transport, unknown session.
    for query in [
        "EIO=3&transport=polling",
        "EIO=4&transport=carrier-pigeon",
        "EIO=4&transport=polling&sid=nope",
    ] {
        let (st, body) = get_text(&srv.url(&format!("/socket.io/?{query}"))).await;
        assert_eq!(st, 400, "{query}: {body}");
    }
    let (session, _) = Polling::open(&srv, None).await;
    // An event before joining the namespace, then an unknown namespace.
    session.send(&[r#"42["subscribe",{"room":"x"}]"#]).await;
    assert!(session.until("44").await.contains("not connected"));
    session.send(&["40/admin,"]).await;
    assert_eq!(
        session.until("44/admin").await,
        r#"44/admin,{"message":"Invalid namespace"}"#
    );
    session.send(&["40"]).await;
    session.until("40").await;
    // Malformed packets of every layer; each answered with an `error` event.
    let bad = [
        "9",
        "4",
        "4{}",
        r#"42["subscribe""#,
        "42[1,2]",
        r#"451-["up",{"_placeholder":true,"num":0}]"#,
        "bAQID",
        r#"42["subscribe",{}]"#,
        r#"42["subscribe",{"room":"no spaces"}]"#,
        r#"42["dance"]"#,
    ];
    for packet in bad {
        session.send(&[packet]).await;
        let err = session.event("error").await;
        assert_eq!(err["code"], "bad_request", "{packet}: {err}");
    }
    // An ack asked for is answered with the refusal.
    session
        .send(&[r#"427["subscribe",{"since":-1,"room":"x"}]"#])
        .await;
    let refused = session.until("437").await;
    assert!(
        refused.contains(r#""ok":false"#) && refused.contains("bad_request"),
        "{refused}"
    );
    // Still usable.
    session
        .send(&[r#"428["subscribe",{"room":"lobby"}]"#])
        .await;
    assert!(session.until("438").await.contains(r#""ok":true"#));
    // An oversized payload ends the session; the server carries on.
    let big = format!(r#"42["subscribe",{{"room":"{}"}}]"#, "x".repeat(5000));
    assert_eq!(session.send(&[&big]).await, 413);
    back_to_zero(&srv).await;
    let (again, _) = Polling::open(&srv, None).await;
    again.send(&["40"]).await;
    again.until("40").await;
}

#[actix_web::test]
async fn socket_io_follows_the_access_rules() {
    let srv = sio_server(|s| {
        s.auth.required = true;
        s.auth.admin_token = Some(ADMIN.into());
    });
    let owner = create_user(&srv, "owner@x.io").await;
    let stranger = create_user(&srv, "stranger@x.io").await;
    let (st, p) = owner
        .call(
            "POST",
            &srv.url("/api/projects"),
            Some(json!({"name": "p"})),
        )
        .await;
    assert_eq!(st, 201);
    let pid = p["id"].as_str().unwrap();
    let url = srv.url(&format!("/api/projects/{pid}/sessions"));
    assert_eq!(
        owner.call("POST", &url, Some(json!({"id": "s1"}))).await.0,
        201
    );

    // No token: CONNECT_ERROR; a token in `auth` or in the query: connected.
    let (anon, _) = Polling::open(&srv, None).await;
    anon.send(&["40"]).await;
    assert_eq!(anon.until("4").await, r#"44{"message":"unauthorized"}"#);
    let (by_query, _) = Polling::open(&srv, Some(&stranger.token)).await;
    by_query.send(&["40"]).await;
    assert!(by_query.until("40").await.starts_with("40{"));
    let (theirs, _) = Polling::open(&srv, None).await;
    theirs
        .send(&[&format!(r#"40{{"token":"{}"}}"#, stranger.token)])
        .await;
    assert!(theirs.until("40").await.starts_with("40{"));

    // A private session: a failed ack, or an `error` event without one.
    theirs
        .send(&[r#"421["subscribe",{"session_id":"s1"}]"#])
        .await;
    let refused = theirs.until("431").await;
    assert!(refused.contains(r#""code":"forbidden""#), "{refused}");
    theirs
        .send(&[r#"42["subscribe",{"session_id":"s1"}]"#])
        .await;
    assert_eq!(theirs.event("error").await["code"], "forbidden");

    // Public: joined; made private again: removed with `unsubscribed`, and refused after.
    let patch = |visibility: &str| {
        let (owner, url, body) = (
            owner.clone(),
            srv.url("/api/sessions/s1"),
            json!({"visibility": visibility}),
        );
        async move { owner.call("PATCH", &url, Some(body)).await.0 }
    };
    assert_eq!(patch("public").await, 200);
    theirs
        .send(&[r#"422["subscribe",{"session_id":"s1"}]"#])
        .await;
    assert!(theirs.until("432").await.contains(r#""ok":true"#));
    assert_eq!(patch("private").await, 200);
    let gone = theirs.event("unsubscribed").await;
    assert_eq!(
        (&gone["room"], &gone["reason"], &gone["code"]),
        (&json!("session:s1"), &json!("revoked"), &json!(4003))
    );
    theirs
        .send(&[r#"423["subscribe",{"session_id":"s1"}]"#])
        .await;
    assert!(theirs.until("433").await.contains("forbidden"));
}
