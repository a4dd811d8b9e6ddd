//! Control frames: `welcome`, `subscribed`, `unsubscribed`, `error`, `pong`,
//! `heartbeat`, each a typed struct with `type` first, rendered as the
//! socket's [`Answer`] wants it (native JSON, or a Socket.IO event or ack).

use super::{to_json, Answer, Dialect};
use crate::error::AppError;
use crate::time::rfc3339;
use crate::types::RoomName;
use serde::Serialize;
use serde_json::Value;

/// `welcome`, the first frame on a native socket.
#[derive(Serialize)]
struct Welcome<'a> {
    r#type: &'static str,
    connection_id: &'a str,
    heartbeat_ms: u64,
}

/// `subscribed` on a native or Socket.IO socket.
#[derive(Serialize)]
struct Subscribed<'a> {
    r#type: &'static str,
    room: &'a RoomName,
    seq: i64,
    recovered: bool,
    snapshot: Option<&'a Value>,
}

/// `subscribed` on a single-room socket (no snapshot travels there).
#[derive(Serialize)]
struct SubscribedShort<'a> {
    r#type: &'static str,
    room: &'a RoomName,
    seq: i64,
}

/// The Socket.IO ack of a `subscribe`.
#[derive(Serialize)]
struct SubscribedAck<'a> {
    ok: bool,
    room: &'a RoomName,
    seq: i64,
    recovered: bool,
    snapshot: Option<&'a Value>,
}

/// `unsubscribed`; `code` only when herald removed the client.
#[derive(Serialize)]
struct Unsubscribed<'a> {
    r#type: &'static str,
    room: &'a RoomName,
    reason: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    code: Option<u16>,
}

/// The Socket.IO ack of an `unsubscribe`.
#[derive(Serialize)]
struct UnsubscribedAck<'a> {
    ok: bool,
    room: &'a RoomName,
    reason: &'a str,
}

/// `error`, about a room or not.
#[derive(Serialize)]
struct ErrorFrame<'a> {
    r#type: &'static str,
    code: &'a Value,
    message: &'a Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    room: Option<&'a RoomName>,
}

/// The Socket.IO ack of a request that failed.
#[derive(Serialize)]
struct ErrorAck<'a> {
    ok: bool,
    error: ErrorBody<'a>,
    room: Option<&'a RoomName>,
}

/// The code and message of a failed ack.
#[derive(Serialize)]
struct ErrorBody<'a> {
    code: &'a Value,
    message: &'a Value,
}

/// `pong`.
#[derive(Serialize)]
struct Pong {
    r#type: &'static str,
    ts: String,
}

/// The native `heartbeat`.
#[derive(Serialize)]
struct Heartbeat {
    r#type: &'static str,
    connections: usize,
    ts: String,
}

/// `subscribed` as `answer` wants it: native (with `recovered` and the
/// snapshot), `{type, room, seq}` for the single-room dialects, the
/// `subscribed` event or `{ok:true, room, seq, recovered, snapshot}` ack
/// for Socket.IO.
pub fn subscribed_frame(
    answer: Answer,
    room: &RoomName,
    seq: i64,
    recovered: bool,
    snapshot: Option<&Value>,
) -> String {
    if let Dialect::Flat | Dialect::Broadcast = answer.dialect {
        return to_json(&SubscribedShort {
            r#type: "subscribed",
            room,
            seq,
        });
    }
    let frame = Subscribed {
        r#type: "subscribed",
        room,
        seq,
        recovered,
        snapshot,
    };
    answer.render("subscribed", &frame, || SubscribedAck {
        ok: true,
        room,
        seq,
        recovered,
        snapshot,
    })
}

/// `unsubscribed` as `answer` wants it; `code` is set when herald removed the client.
pub fn unsubscribed_frame(
    answer: Answer,
    room: &RoomName,
    reason: &str,
    code: Option<u16>,
) -> String {
    let frame = Unsubscribed {
        r#type: "unsubscribed",
        room,
        reason,
        code,
    };
    answer.render("unsubscribed", &frame, || UnsubscribedAck {
        ok: true,
        room,
        reason,
    })
}

/// An `error` frame (about `room`, if any) as `answer` wants it: the native
/// frame, the Socket.IO `error` event, or a failed ack
/// `{ok:false, error:{code, message}, room}`.
pub fn error_frame(answer: Answer, err: &AppError, room: Option<&RoomName>) -> String {
    // `ws_frame` decides the code and the message a client may see.
    let public = err.ws_frame();
    let (code, message) = (&public["code"], &public["message"]);
    let frame = ErrorFrame {
        r#type: "error",
        code,
        message,
        room,
    };
    answer.render("error", &frame, || ErrorAck {
        ok: false,
        error: ErrorBody { code, message },
        room,
    })
}

/// The native `{"type":"welcome",…}`, the first frame on a native socket.
pub fn welcome(connection_id: &str, heartbeat_ms: u64) -> String {
    to_json(&Welcome {
        r#type: "welcome",
        connection_id,
        heartbeat_ms,
    })
}

/// The native `{"type":"subscribed",…}`: the join is done; `snapshot` only on a fresh join.
pub fn subscribed(room: &RoomName, seq: i64, recovered: bool, snapshot: Option<&Value>) -> String {
    subscribed_frame(
        Answer::plain(Dialect::Native),
        room,
        seq,
        recovered,
        snapshot,
    )
}

/// The native `{"type":"unsubscribed",…}`; `code` is set when herald removed the client.
pub fn unsubscribed(room: &RoomName, reason: &str, code: Option<u16>) -> String {
    unsubscribed_frame(Answer::plain(Dialect::Native), room, reason, code)
}

/// `{"type":"pong","ts":…}`.
pub fn pong(now_ms: i64) -> String {
    to_json(&Pong {
        r#type: "pong",
        ts: rfc3339(now_ms),
    })
}

/// `{"type":"heartbeat","connections":N,"ts":…}`.
pub fn heartbeat(connections: usize, now_ms: i64) -> String {
    to_json(&Heartbeat {
        r#type: "heartbeat",
        connections,
        ts: rfc3339(now_ms),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn golden_control_frames() {
        let room = RoomName::parse("project:p").unwrap();
        assert_eq!(
            welcome("c1", 30000),
            r#"{"type":"welcome","connection_id":"c1","heartbeat_ms":30000}"#
        );
        assert_eq!(
            subscribed(&room, 4, true, None),
            r#"{"type":"subscribed","room":"project:p","seq":4,"recovered":true,"snapshot":null}"#
        );
        assert_eq!(
            unsubscribed(&room, "revoked", Some(4003)),
            r#"{"type":"unsubscribed","room":"project:p","reason":"revoked","code":4003}"#
        );
        assert_eq!(
            unsubscribed(&room, "client", None),
            r#"{"type":"unsubscribed","room":"project:p","reason":"client"}"#
        );
        assert_eq!(
            pong(0),
            r#"{"type":"pong","ts":"1970-01-01T00:00:00.000Z"}"#
        );
        assert_eq!(
            heartbeat(3, 0),
            r#"{"type":"heartbeat","connections":3,"ts":"1970-01-01T00:00:00.000Z"}"#
        );
        let native = Answer::plain(Dialect::Native);
        let err = AppError::BadRequest("no".into());
        assert_eq!(
            error_frame(native, &err, None),
            r#"{"type":"error","code":"bad_request","message":"no"}"#
        );
        assert_eq!(
            error_frame(native, &err, Some(&room)),
            r#"{"type":"error","code":"bad_request","message":"no","room":"project:p"}"#
        );
        // The same code and message as the frame `AppError` renders itself.
        let own = err.ws_frame();
        let ours: Value = serde_json::from_str(&error_frame(native, &err, None)).unwrap();
        assert_eq!(ours, own);
    }

    #[test]
    fn golden_single_room_frames() {
        let room = RoomName::parse("broadcasts").unwrap();
        assert_eq!(
            subscribed_frame(Answer::plain(Dialect::Broadcast), &room, 3, false, None),
            r#"{"type":"subscribed","room":"broadcasts","seq":3}"#
        );
    }

    #[test]
    fn golden_socketio_frames() {
        let room = RoomName::parse("project:p").unwrap();
        let sio = Answer::plain(Dialect::SocketIo);
        assert_eq!(
            subscribed_frame(sio, &room, 4, false, None),
            r#"42["subscribed",{"type":"subscribed","room":"project:p","seq":4,"recovered":false,"snapshot":null}]"#
        );
        let acked = Answer {
            ack: Some(3),
            ..sio
        };
        assert_eq!(
            subscribed_frame(acked, &room, 4, true, None),
            r#"433[{"ok":true,"room":"project:p","seq":4,"recovered":true,"snapshot":null}]"#
        );
        let err = AppError::Forbidden("no".into());
        assert_eq!(
            error_frame(acked, &err, Some(&room)),
            r#"433[{"ok":false,"error":{"code":"forbidden","message":"no"},"room":"project:p"}]"#
        );
        assert_eq!(
            error_frame(acked, &err, None),
            r#"433[{"ok":false,"error":{"code":"forbidden","message":"no"},"room":null}]"#
        );
        assert_eq!(
            unsubscribed_frame(sio, &room, "revoked", Some(4003)),
            r#"42["unsubscribed",{"type":"unsubscribed","room":"project:p","reason":"revoked","code":4003}]"#
        );
        assert_eq!(
            unsubscribed_frame(acked, &room, "client", None),
            r#"433[{"ok":true,"room":"project:p","reason":"client"}]"#
        );
    }
}
