//! Item: a request carrying a foreign `Origin` is refused with 403 before
//! anything is read or written, on every route and every dialect; with auth
//! off so is a `Host` that is not loopback or listed.

use super::*;
use serde_json::json;

const EVIL: &str = "https://evil.example";

/// Every upgrade a browser could open, by path.
const UPGRADES: &[&str] = &[
    "/ws",
    "/ws/sessions/s1",
    "/ws/broadcasts",
    "/socket.io/?EIO=4&transport=websocket",
];

#[actix_web::test]
async fn foreign_origin_upgrades_are_refused_on_every_dialect() {
    let srv = TestServer::start();
    for path in UPGRADES {
        let status = upgrade_status(&srv.ws_url(path), &[("Origin", EVIL)]).await;
        assert_eq!(status, 403, "{path}");
    }
    // Engine.IO polling: the handshake, and a poll, POST or upgrade of a live sid.
    let handshake = srv.url("/socket.io/?EIO=4&transport=polling");
    let (st, body) = send("GET", &handshake, &[("Origin", EVIL)], None).await;
    assert_eq!(st, 403, "{body}");
    assert_eq!(body["error"]["code"], "forbidden", "{body}");
    let (session, _) = Polling::open(&srv, None).await;
    let sid = &session.sid;
    let polling = srv.url(&format!("/socket.io/?EIO=4&transport=polling&sid={sid}"));
    assert_eq!(
        send("GET", &polling, &[("Origin", EVIL)], None).await.0,
        403
    );
    let connect = Some(&b"40"[..]);
    assert_eq!(
        send("POST", &polling, &[("Origin", EVIL)], connect).await.0,
        403
    );
    let upgrade = srv.ws_url(&format!("/socket.io/?EIO=4&transport=websocket&sid={sid}"));
    assert_eq!(upgrade_status(&upgrade, &[("Origin", EVIL)]).await, 403);
    // The refused CONNECT never reached the session: it is still not connected.
    assert_eq!(
        session.send(&[r#"42["subscribe",{"room":"lobby"}]"#]).await,
        200
    );
    assert_eq!(
        session.until("44").await,
        r#"44{"message":"not connected"}"#
    );
    session.send(&["1"]).await;
    // Nothing joined, nothing left open.
    let stats = wait_stats(&srv, |s| s["connections"] == 0).await;
    assert_eq!(stats["rooms"], json!([]), "{stats}");
}

#[actix_web::test]
async fn foreign_origin_writes_are_refused_and_write_nothing() {
    let srv = TestServer::start();
    let (_, sid) = project_and_session(&srv).await;
    let before = events_total(&srv).await;
    let url = srv.url("/api/rooms/lobby/events");
    let body = br#"{"event_type":"note","payload":{"a":1}}"#;
    // The form a cross-site page can send without a preflight.
    let headers = [("Origin", EVIL), ("Content-Type", "text/plain")];
    let got = send("POST", &url, &headers, Some(body)).await;
    assert_error(&got, 403, "forbidden");
    let messages = srv.url(&format!("/api/sessions/{sid}/messages"));
    let got = send("POST", &messages, &headers, Some(br#"{"prompt":"hi"}"#)).await;
    assert_error(&got, 403, "forbidden");
    let got = send(
        "DELETE",
        &srv.url(&format!("/api/sessions/{sid}")),
        &headers,
        None,
    )
    .await;
    assert_error(&got, 403, "forbidden");
    // Reads too: a foreign page may not read the local admin's data.
    let got = send("GET", &srv.url("/api/sessions"), &[("Origin", EVIL)], None).await;
    assert_error(&got, 403, "forbidden");
    assert_eq!(events_total(&srv).await, before);
    let (st, _) = get(&srv.url(&format!("/api/sessions/{sid}"))).await;
    assert_eq!(st, 200);
}

#[actix_web::test]
async fn own_and_listed_origins_are_served() {
    let srv = TestServer::start_with(|s| {
        s.server.allowed_origins = vec!["https://app.example".into()];
    });
    let own = format!("http://{}", srv.addr);
    for origin in [own.as_str(), "https://app.example"] {
        for path in UPGRADES {
            let status = upgrade_status(&srv.ws_url(path), &[("Origin", origin)]).await;
            assert_eq!(status, 101, "{origin} {path}");
        }
        let body = br#"{"event_type":"note","payload":{"a":1}}"#;
        let url = srv.url("/api/rooms/lobby/events");
        let (st, answer) = send("POST", &url, &[("Origin", origin)], Some(body)).await;
        assert_eq!(st, 201, "{origin}: {answer}");
        let handshake = srv.url("/socket.io/?EIO=4&transport=polling");
        assert_eq!(
            send("GET", &handshake, &[("Origin", origin)], None).await.0,
            200
        );
    }
    // Another port of the same host is another origin.
    let port = srv.addr.port().wrapping_add(1);
    let other = format!("http://127.0.0.1:{port}");
    assert_eq!(
        upgrade_status(&srv.ws_url("/ws"), &[("Origin", &other)]).await,
        403
    );
    // The dashboard's page itself loads (no Origin on a navigation).
    let (st, _) = send("GET", &srv.url("/"), &[], None).await;
    assert_eq!(st, 200);
}

#[actix_web::test]
async fn a_foreign_host_is_refused_when_auth_is_off() {
    let srv = TestServer::start_with(|s| {
        s.server.allowed_hosts = vec!["herald.internal".into()];
    });
    for path in [
        "/api/sessions",
        "/healthz",
        "/",
        "/socket.io/?EIO=4&transport=polling",
    ] {
        let got = send("GET", &srv.url(path), &[("Host", "evil.example")], None).await;
        assert_eq!(got.0, 403, "{path}: {}", got.1);
    }
    let rebinding = [
        ("Host", "evil.example:8080"),
        ("Origin", "http://evil.example:8080"),
    ];
    assert_eq!(upgrade_status(&srv.ws_url("/ws"), &rebinding).await, 403);
    let body = Some(&br#"{"name":"p"}"#[..]);
    let got = send("POST", &srv.url("/api/projects"), &rebinding, body).await;
    assert_error(&got, 403, "forbidden");
    // Loopback names on any port, and listed names, are served.
    for host in [
        "localhost:1",
        "127.0.0.1",
        "[::1]:8080",
        "herald.internal:8080",
    ] {
        let (st, _) = send("GET", &srv.url("/api/sessions"), &[("Host", host)], None).await;
        assert_eq!(st, 200, "{host}");
    }
    connections(&srv, 0).await;

    // With auth required the Host is not checked (a token is needed anyway).
    let guarded = start_with_auth(|_| {});
    let headers = [
        ("Host", "herald.example.com"),
        ("Authorization", "Bearer test-admin-token"),
    ];
    let (st, _) = send("GET", &guarded.url("/api/sessions"), &headers, None).await;
    assert_eq!(st, 200);
}
