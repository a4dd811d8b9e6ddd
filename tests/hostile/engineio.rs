//! Items: Engine.IO limits (a CONNECT deadline, one CONNECT, packets rate
//! limited and capped per POST, connection caps) and sessions bound to the
//! client that opened them.

use super::*;
use serde_json::json;

fn handshake_url(srv: &TestServer) -> String {
    srv.url("/socket.io/?EIO=4&transport=polling")
}

/// All packets polled until one starts with `prefix` (answering pings).
async fn packets_until(session: &Polling, prefix: &str) -> Vec<String> {
    let deadline = std::time::Instant::now() + WAIT;
    let mut seen = Vec::new();
    loop {
        for packet in session.poll().await {
            let done = packet.starts_with(prefix);
            seen.push(packet);
            if done {
                return seen;
            }
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no {prefix}… in {seen:?}"
        );
    }
}

#[actix_web::test]
async fn a_session_without_connect_is_closed_after_the_timeout() {
    let srv = TestServer::start_with(|s| s.ws.connect_timeout_ms = 300);
    let (joined, _) = Polling::open(&srv, None).await;
    let (silent, _) = Polling::open(&srv, None).await;
    joined.send(&["40"]).await;
    joined.until("40").await;
    // Pongs keep a session alive, but not past the CONNECT deadline.
    assert_eq!(silent.send(&["3"]).await, 200);
    assert!(packets_until(&silent, "1").await.contains(&"1".to_string()));
    connections(&srv, 1).await;
    // The one that joined in time stays.
    joined.send(&[r#"421["subscribe",{"room":"lobby"}]"#]).await;
    assert!(joined.until("431").await.contains(r#""ok":true"#));
}

#[actix_web::test]
async fn handshakes_past_the_per_address_cap_get_429() {
    let srv = TestServer::start_with(|s| s.server.max_connections_per_ip = 10);
    let (mut opened, mut refused) = (0, 0);
    let mut sids = Vec::new();
    for _ in 0..1000 {
        let (st, body) = send("GET", &handshake_url(&srv), &[], None).await;
        match st {
            200 => {
                opened += 1;
                let open: Value = serde_json::from_str(&body.as_str().unwrap()[1..]).unwrap();
                sids.push(open["sid"].as_str().unwrap().to_string());
            }
            429 => {
                refused += 1;
                assert_eq!(body["error"]["code"], "rate_limited", "{body}");
            }
            other => panic!("handshake answered {other}: {body}"),
        }
    }
    assert_eq!((opened, refused), (10, 990));
    // The cap counts native sockets too.
    assert_eq!(upgrade_status(&srv.ws_url("/ws"), &[]).await, 429);
    let direct = srv.ws_url("/socket.io/?EIO=4&transport=websocket");
    assert_eq!(upgrade_status(&direct, &[]).await, 429);
    // A session that ends gives its place back.
    let url = format!("{}&sid={}", handshake_url(&srv), sids[0]);
    assert_eq!(send("POST", &url, &[], Some(b"1")).await.0, 200);
    let deadline = std::time::Instant::now() + WAIT;
    while send("GET", &handshake_url(&srv), &[], None).await.0 != 200 {
        assert!(
            std::time::Instant::now() < deadline,
            "the place never came back"
        );
        actix_web::rt::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

#[actix_web::test]
async fn connections_past_the_server_cap_get_429() {
    let srv = TestServer::start_with(|s| s.server.max_connections = 2);
    let _a = Ws::open(&srv).await;
    let (_b, _) = Polling::open(&srv, None).await;
    assert_eq!(upgrade_status(&srv.ws_url("/ws"), &[]).await, 429);
    let got = send("GET", &handshake_url(&srv), &[], None).await;
    assert_error(&got, 429, "rate_limited");
}

#[actix_web::test]
async fn a_flood_of_connect_packets_resolves_the_identity_once() {
    let srv = start_with_auth(|_| {});
    let (session, _) = Polling::open(&srv, Some(ADMIN)).await;
    let flood = vec!["40"; 10_000];
    assert_eq!(
        session.send(&flood).await,
        400,
        "more than 100 packets in one POST"
    );
    let hundred = vec!["40"; 100];
    assert_eq!(session.send(&hundred).await, 200);
    session
        .send(&[r#"421["subscribe",{"room":"lobby"}]"#])
        .await;
    let seen = packets_until(&session, "431").await;
    let answers = seen
        .iter()
        .filter(|p| p.starts_with("40") || p.starts_with("44"));
    assert_eq!(
        answers.count(),
        1,
        "one CONNECT answered, one lookup: {seen:?}"
    );
}

#[actix_web::test]
async fn a_second_connect_does_not_change_the_identity() {
    let srv = start_with_auth(|_| {});
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
    let url = srv.url(&format!(
        "/api/projects/{}/sessions",
        p["id"].as_str().unwrap()
    ));
    assert_eq!(
        owner.call("POST", &url, Some(json!({"id": "s1"}))).await.0,
        201
    );
    let (session, _) = Polling::open(&srv, None).await;
    session
        .send(&[&format!(r#"40{{"token":"{}"}}"#, stranger.token)])
        .await;
    session.until("40").await;
    session
        .send(&[&format!(r#"40{{"token":"{ADMIN}"}}"#)])
        .await;
    session
        .send(&[r#"421["subscribe",{"session_id":"s1"}]"#])
        .await;
    let answer = session.until("431").await;
    assert!(
        answer.contains("forbidden"),
        "the second CONNECT made it admin: {answer}"
    );
}

#[actix_web::test]
async fn packets_are_rate_limited_like_native_frames() {
    let srv = TestServer::start_with(|s| s.ws.max_messages_per_second = 10);
    let (session, _) = Polling::open(&srv, None).await;
    let pings: Vec<String> = (0..50).map(|n| format!("2p{n}")).collect();
    let pings: Vec<&str> = pings.iter().map(String::as_str).collect();
    assert_eq!(session.send(&pings).await, 200);
    let seen = packets_until(&session, "42[\"error\"").await;
    let pongs = seen.iter().filter(|p| p.starts_with("3p")).count();
    assert!(
        pongs <= 11,
        "{pongs} pings answered of 50 at 10/s: {seen:?}"
    );
    assert!(seen.last().unwrap().contains("rate_limited"), "{seen:?}");
}

#[actix_web::test]
async fn someone_elses_sid_without_its_token_is_400_and_the_owner_keeps_working() {
    let srv = start_with_auth(|_| {});
    let owner = create_user(&srv, "owner@x.io").await;
    let other = create_user(&srv, "other@x.io").await;
    let (session, _) = Polling::open(&srv, Some(&owner.token)).await;
    session.send(&["40"]).await;
    session.until("40").await;
    let bare = format!("{}&sid={}", handshake_url(&srv), session.sid);
    let theirs = format!("{bare}&token={}", other.token);
    for url in [&bare, &theirs] {
        assert_eq!(send("GET", url, &[], None).await.0, 400, "poll {url}");
        assert_eq!(
            send("POST", url, &[], Some(b"1")).await.0,
            400,
            "post {url}"
        );
        let ws = url
            .replace("http://", "ws://")
            .replace("polling", "websocket");
        assert_eq!(upgrade_status(&ws, &[]).await, 400, "upgrade {ws}");
    }
    let bearer = format!("Bearer {}", other.token);
    let got = send("GET", &bare, &[("Authorization", &bearer)], None).await;
    assert_eq!(got.0, 400);
    // The owner's session was not touched: not closed, nothing taken from it.
    session
        .send(&[r#"421["subscribe",{"room":"lobby"}]"#])
        .await;
    assert!(session.until("431").await.contains(r#""ok":true"#));
}

#[actix_web::test]
async fn with_auth_off_a_session_is_bound_to_its_peer_address() {
    let srv = TestServer::start();
    let (session, _) = Polling::open(&srv, None).await;
    let elsewhere = awc::Client::builder()
        .timeout(WAIT)
        .connector(awc::Connector::new().local_address([127, 0, 0, 2].into()))
        .finish();
    let resp = elsewhere.get(&session.base).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 400);
    let resp = elsewhere.post(&session.base).send_body("1").await.unwrap();
    assert_eq!(resp.status().as_u16(), 400);
    session.send(&["40"]).await;
    assert!(session.until("40").await.starts_with("40{"));
}

#[actix_web::test]
async fn one_probe_per_session_and_it_ends_with_its_session() {
    let srv = TestServer::start_with(|s| s.ws.connect_timeout_ms = 500);
    let (session, _) = Polling::open(&srv, None).await;
    let probe_url = srv.ws_url(&format!(
        "/socket.io/?EIO=4&transport=websocket&sid={}",
        session.sid
    ));
    let mut probe = Ws::connect(&probe_url).await;
    // A second probe of the same session is refused at the upgrade.
    let second = client().ws(probe_url.as_str()).connect().await;
    match second {
        Err(awc::error::WsClientError::InvalidResponseStatus(status)) => {
            assert_eq!(status.as_u16(), 400)
        }
        Err(other) => panic!("expected 400, got {other}"),
        Ok(_) => panic!("a second probe was let in"),
    }
    // The session never CONNECTs and is closed; its probe goes with it.
    assert!(packets_until(&session, "1")
        .await
        .contains(&"1".to_string()));
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        match probe
            .recv_within(std::time::Duration::from_millis(200))
            .await
        {
            Some(Incoming::Close(_)) => break,
            _ => assert!(
                std::time::Instant::now() < deadline,
                "the probe outlived its session"
            ),
        }
    }
}

#[actix_web::test]
async fn events_sent_with_connect_wait_for_its_answer() {
    let srv = start_with_auth(|_| {});
    let (session, _) = Polling::open(&srv, Some(ADMIN)).await;
    // CONNECT and a subscribe in one POST: the token is still being checked
    // when the subscribe arrives; it is answered after the CONNECT, not
    // refused with "not connected".
    let connect_and_subscribe = ["40", r#"421["subscribe",{"room":"lobby"}]"#];
    assert_eq!(session.send(&connect_and_subscribe).await, 200);
    let seen = packets_until(&session, "431").await;
    assert!(seen.iter().all(|p| !p.starts_with("44")), "{seen:?}");
    let connected = seen
        .iter()
        .position(|p| p.starts_with("40"))
        .expect("CONNECT answered");
    let acked = seen.iter().position(|p| p.starts_with("431")).unwrap();
    assert!(connected < acked, "{seen:?}");
    assert!(seen[acked].contains(r#""ok":true"#), "{seen:?}");
}
