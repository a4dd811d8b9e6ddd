//! Helpers for servers that require tokens: an admin token, users, and
//! requests and sockets that carry a token.

use super::*;
use serde_json::{json, Value};

/// The admin token of [`start_with_auth`] servers.
pub const ADMIN: &str = "test-admin-token";

/// Starts herald with `auth.required = true` and [`ADMIN`] as the admin token.
pub fn start_with_auth(tweak: impl FnOnce(&mut herald::config::Settings)) -> TestServer {
    TestServer::start_with(|s| {
        s.auth.required = true;
        s.auth.admin_token = Some(ADMIN.into());
        tweak(s);
    })
}

/// Sends a request with `Authorization: Bearer <token>` (none if `None`).
pub async fn call_as(
    token: Option<&str>,
    method: &str,
    url: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let c = client();
    let mut req = c.request(method.parse().unwrap(), url);
    if let Some(token) = token {
        req = req.insert_header(("Authorization", format!("Bearer {token}")));
    }
    let mut resp = match body {
        Some(b) => req.send_json(&b).await.unwrap(),
        None => req.send().await.unwrap(),
    };
    let bytes = resp.body().limit(64 * 1024 * 1024).await.unwrap();
    let json = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes)
            .unwrap_or(Value::String(String::from_utf8_lossy(&bytes).into()))
    };
    (resp.status().as_u16(), json)
}

/// A user created through `POST /api/users`.
#[derive(Debug, Clone)]
pub struct User {
    pub id: String,
    pub email: String,
    pub token: String,
}

impl User {
    pub async fn call(&self, method: &str, url: &str, body: Option<Value>) -> (u16, Value) {
        call_as(Some(&self.token), method, url, body).await
    }
}

/// Creates a user with the admin token.
pub async fn create_user(srv: &TestServer, email: &str) -> User {
    let (st, body) = call_as(
        Some(ADMIN),
        "POST",
        &srv.url("/api/users"),
        Some(json!({"email": email, "name": email})),
    )
    .await;
    assert_eq!(st, 201, "{body}");
    User {
        id: body["id"].as_str().unwrap().into(),
        email: body["email"].as_str().unwrap().into(),
        token: body["token"].as_str().unwrap().into(),
    }
}

/// `url` with `token=` added to its query string.
pub fn with_token(url: &str, token: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}token={token}")
}

/// The HTTP status of a refused WebSocket upgrade, or 101 if it was accepted.
pub async fn upgrade_status(url: &str) -> u16 {
    match client().ws(url).connect().await {
        Ok(_) => 101,
        Err(awc::error::WsClientError::InvalidResponseStatus(status)) => status.as_u16(),
        Err(other) => panic!("upgrade failed: {other}"),
    }
}

/// A project and a session in it, created by `owner`; returns the project id.
pub async fn owned_session(srv: &TestServer, owner: &User, session: &str) -> String {
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

pub async fn share(srv: &TestServer, owner: &User, session: &str, email: &str, role: &str) -> i64 {
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

pub async fn set_visibility(srv: &TestServer, who: &User, session: &str, visibility: &str) {
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
pub async fn next_of(ws: &mut Ws, wanted: &str) -> Value {
    loop {
        let frame = ws.next_json().await;
        if frame["type"] == wanted {
            return frame;
        }
    }
}
