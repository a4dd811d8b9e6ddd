//! Item: where a route takes a JSON object, an array or a scalar is 400
//! `bad_request` and writes nothing, even when its items would fill the
//! fields in order (`[1,2,3]` as `{input_tokens, output_tokens, …}`).

use super::*;
use serde_json::json;

#[actix_web::test]
async fn every_object_route_refuses_arrays_and_scalars() {
    let srv = TestServer::start();
    let (pid, sid) = project_and_session(&srv).await;
    let url = |path: &str| srv.url(path);
    let (st, _) = post(&url("/api/broadcast/features/f1"), json!({"title": "F"})).await;
    assert_eq!(st, 201);
    let (st, c) = post(
        &url(&format!("/api/sessions/{sid}/collaborators")),
        json!({"email": "a@x.io", "role": "viewer"}),
    )
    .await;
    assert_eq!(st, 201, "{c}");
    let cid = c["id"].as_i64().unwrap();
    let routes: Vec<(&str, String, Value)> = vec![
        ("POST", "/api/projects".into(), json!(["P"])),
        ("PATCH", format!("/api/projects/{pid}"), json!(["Q"])),
        (
            "POST",
            format!("/api/projects/{pid}/sessions"),
            json!(["T", "s9"]),
        ),
        ("PATCH", format!("/api/sessions/{sid}"), json!(["T"])),
        (
            "POST",
            format!("/api/sessions/{sid}/messages"),
            json!(["hi"]),
        ),
        (
            "POST",
            format!("/api/sessions/{sid}/token-usage"),
            json!([1, 2, 3]),
        ),
        (
            "POST",
            format!("/api/sessions/{sid}/tool-calls"),
            json!(["t1", "Bash", "input-available", {}]),
        ),
        (
            "POST",
            "/api/hooks".into(),
            json!(["SessionStart", "s-hook"]),
        ),
        ("POST", "/api/broadcast/features/f2".into(), json!(["F"])),
        (
            "POST",
            "/api/broadcast/features/f1/status".into(),
            json!(["done"]),
        ),
        (
            "POST",
            "/api/broadcast/features/f1/links".into(),
            json!(["f1", "blocks"]),
        ),
        (
            "POST",
            "/api/broadcast/features/f1/comments".into(),
            json!(["c"]),
        ),
        ("POST", "/api/broadcast/tracks/t1".into(), json!(["T", "d"])),
        ("POST", "/api/broadcast/spikes/k1".into(), json!(["K", "f"])),
        (
            "POST",
            format!("/api/sessions/{sid}/collaborators"),
            json!(["b@x.io", "editor"]),
        ),
        (
            "PATCH",
            format!("/api/sessions/{sid}/collaborators/{cid}"),
            json!(["editor"]),
        ),
        ("POST", "/api/users".into(), json!(["u@x.io"])),
        (
            "POST",
            "/api/rooms/lobby/events".into(),
            json!(["note", {"a": 1}]),
        ),
        ("POST", "/projects".into(), json!(["P"])),
        ("POST", format!("/projects/{pid}/sessions"), json!(["T"])),
        ("POST", format!("/sessions/{sid}/messages"), json!(["hi"])),
    ];
    let before = events_total(&srv).await;
    for (method, path, array) in &routes {
        for body in [
            array.clone(),
            json!("x"),
            json!(7),
            json!(true),
            json!(null),
        ] {
            let text = body.to_string();
            let got = send(method, &url(path), &[], Some(text.as_bytes())).await;
            assert_eq!(got.0, 400, "{method} {path} {text}: {}", got.1);
            assert_error(&got, 400, "bad_request");
        }
    }
    // The array route takes only an array.
    let todos = url(&format!("/api/sessions/{sid}/todos"));
    for body in [
        r#"{"content":"a","status":"pending"}"#,
        "1",
        "\"x\"",
        "null",
    ] {
        let got = send("PUT", &todos, &[], Some(body.as_bytes())).await;
        assert_error(&got, 400, "bad_request");
    }
    assert_eq!(
        events_total(&srv).await,
        before,
        "a refused body wrote something"
    );
    let (st, me) = get(&url(&format!("/api/sessions/{sid}"))).await;
    assert_eq!((st, &me["tokens_total"]), (200, &json!(0)), "{me}");
    // The same routes still take objects (and an empty body as `{}`).
    let (st, body) = post(
        &url(&format!("/api/sessions/{sid}/token-usage")),
        json!({"input_tokens": 1, "output_tokens": 2}),
    )
    .await;
    assert_eq!(st, 201, "{body}");
    let got = send("POST", &url("/api/projects/x/sessions"), &[], Some(b"  ")).await;
    assert_eq!(got.0, 404, "{}", got.1);
    let got = send("PUT", &todos, &[], Some(b"[]")).await;
    assert_eq!(got.0, 200, "{}", got.1);
}
