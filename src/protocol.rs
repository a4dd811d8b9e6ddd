//! The wire protocol as data: what clients send (a serde-tagged enum) and the
//! frames herald sends, rendered once per flush and dialect. The golden tests
//! at the bottom are the contract with clients herald does not control.

use crate::engineio;
use crate::time::rfc3339;
use crate::types::{Delivery, RoomName};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{json, Value};
use std::sync::Arc;

/// Largest number of envelopes in one `batch-update`; longer runs are split.
pub const MAX_BATCH: usize = 256;
/// A `batch-update` stops growing past this many bytes (one envelope larger
/// than that still goes out, alone), so no frame is much bigger than its news.
pub const MAX_BATCH_BYTES: usize = 64 * 1024;

/// A message from a native client.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum ClientMessage {
    /// Join a room, fresh (snapshot) or resuming after `since`.
    Subscribe {
        /// Room name, validated by the connection.
        room: String,
        /// Last seq the client has; omitted for a fresh join.
        #[serde(default)]
        since: Option<i64>,
    },
    /// Leave a room.
    Unsubscribe {
        /// Room name.
        room: String,
    },
    /// Application-level ping, answered with `pong`.
    Ping,
}

/// The native envelope of one delivery.
#[derive(Serialize)]
struct Envelope<'a> {
    r#type: &'static str,
    room: &'a str,
    seq: i64,
    id: i64,
    event_type: &'a str,
    resource_type: &'a str,
    resource_id: &'a str,
    agent_id: Option<&'a str>,
    origin_session_id: Option<&'a str>,
    payload: &'a RawValue,
    ts: String,
}

/// Renders `{"type":"event",…}` for one delivery.
pub fn render_envelope(d: &Delivery) -> String {
    let e = &d.event;
    let envelope = Envelope {
        r#type: "event",
        room: d.room.as_str(),
        seq: d.seq,
        id: e.id,
        event_type: &e.event_type,
        resource_type: &e.resource_type,
        resource_id: &e.resource_id,
        agent_id: e.agent_id.as_deref(),
        origin_session_id: e.origin_session_id.as_deref(),
        payload: &e.payload,
        ts: rfc3339(e.created_at),
    };
    serde_json::to_string(&envelope).unwrap_or_default()
}

/// Renders `{"type":"event","room","seq","id","event_type":"redacted","ts"}`:
/// an event the subscriber may not read, so its seqs stay contiguous.
pub fn render_redacted(d: &Delivery) -> String {
    json!({
        "type": "event",
        "room": d.room,
        "seq": d.seq,
        "id": d.event.id,
        "event_type": "redacted",
        "ts": rfc3339(d.event.created_at),
    })
    .to_string()
}

/// Renders a run of deliveries of one room as native frames: `batch-update`
/// frames of at most [`MAX_BATCH`] envelopes and about [`MAX_BATCH_BYTES`],
/// and a lone envelope as a plain `event`.
pub fn render_native(room: &RoomName, run: &[Arc<Delivery>]) -> Vec<String> {
    let mut frames = Vec::new();
    let mut rest = run;
    while !rest.is_empty() {
        // Take envelopes until the count or the byte limit is reached (at least one).
        let mut take = 0;
        let mut bytes = 0;
        for d in rest.iter().take(MAX_BATCH) {
            if take > 0 && bytes + d.native().len() > MAX_BATCH_BYTES {
                break;
            }
            bytes += d.native().len() + 1;
            take += 1;
        }
        let (chunk, tail) = rest.split_at(take);
        frames.push(if let [single] = chunk {
            single.native().to_string()
        } else {
            batch_update(room, chunk, bytes)
        });
        rest = tail;
    }
    frames
}

fn batch_update(room: &RoomName, chunk: &[Arc<Delivery>], bytes: usize) -> String {
    let room_json = serde_json::to_string(room.as_str()).unwrap_or_default();
    let mut out = String::with_capacity(64 + room_json.len() + bytes);
    out.push_str("{\"type\":\"batch-update\",\"room\":");
    out.push_str(&room_json);
    out.push_str(",\"updates\":[");
    for (i, d) in chunk.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(d.native());
    }
    out.push_str("]}");
    out
}

/// How a socket wants its frames (DESIGN §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dialect {
    /// `/ws`: envelopes and `batch-update`.
    Native,
    /// `/ws/sessions/{id}` (seed 002): the payload's fields at top level,
    /// with `type` = event type, `seq` and `room` set by herald.
    Flat,
    /// `/ws/broadcasts` (seed 003): `broadcast_event` frames.
    Broadcast,
    /// `/socket.io/` (seed 004): each event emitted under its type with the
    /// flat dialect's data; control frames are events or acks.
    SocketIo,
}

impl Dialect {
    /// The dialect's name in metrics and logs.
    pub fn name(self) -> &'static str {
        match self {
            Dialect::Native => "native",
            Dialect::Flat => "flat",
            Dialect::Broadcast => "broadcast",
            Dialect::SocketIo => "socketio",
        }
    }
}

/// How to answer the request a control frame is about: the socket's
/// dialect, and the Socket.IO ack id the client asked for, if any.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Answer {
    /// The socket's dialect.
    pub dialect: Dialect,
    /// Socket.IO: answer through this ack instead of an event.
    pub ack: Option<u64>,
}

impl Answer {
    /// An answer in `dialect` without an ack.
    pub fn plain(dialect: Dialect) -> Answer {
        Answer { dialect, ack: None }
    }

    /// A control frame: native JSON, or for Socket.IO the ack (`ack_data`)
    /// if the client asked for one, else the event `name` with `frame`.
    fn render(self, name: &str, frame: &Value, ack_data: impl FnOnce() -> Value) -> String {
        match (self.dialect, self.ack) {
            (Dialect::SocketIo, Some(id)) => engineio::ack(id, &ack_data().to_string()),
            (Dialect::SocketIo, None) => engineio::event(name, &frame.to_string()),
            _ => frame.to_string(),
        }
    }
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
    match answer.dialect {
        Dialect::Flat | Dialect::Broadcast => {
            json!({"type": "subscribed", "room": room, "seq": seq}).to_string()
        }
        _ => {
            let frame = json!({"type": "subscribed", "room": room, "seq": seq,
                               "recovered": recovered, "snapshot": snapshot});
            answer.render("subscribed", &frame, || {
                json!({"ok": true, "room": room, "seq": seq, "recovered": recovered,
                       "snapshot": snapshot})
            })
        }
    }
}

/// `unsubscribed` as `answer` wants it; `code` is set when herald removed the client.
pub fn unsubscribed_frame(
    answer: Answer,
    room: &RoomName,
    reason: &str,
    code: Option<u16>,
) -> String {
    let mut frame = json!({"type": "unsubscribed", "room": room, "reason": reason});
    if let Some(code) = code {
        frame["code"] = json!(code);
    }
    answer.render(
        "unsubscribed",
        &frame,
        || json!({"ok": true, "room": room, "reason": reason}),
    )
}

/// An `error` frame about `room` as `answer` wants it: the native frame with
/// `room`, the Socket.IO `error` event, or a failed ack
/// `{ok:false, error:{code, message}, room}`.
pub fn error_frame(
    answer: Answer,
    err: &crate::error::AppError,
    room: Option<&RoomName>,
) -> String {
    let mut frame = err.ws_frame();
    if let Some(room) = room {
        frame["room"] = json!(room);
    }
    answer.render("error", &frame, || {
        json!({"ok": false, "error": {"code": frame["code"], "message": frame["message"]},
               "room": room})
    })
}

/// Renders a run of deliveries for a dialect: native batches, or one frame
/// per event for the others.
pub fn render(dialect: Dialect, room: &RoomName, run: &[Arc<Delivery>]) -> Vec<String> {
    match dialect {
        Dialect::Native => render_native(room, run),
        Dialect::Flat => run.iter().map(|d| render_flat(d)).collect(),
        Dialect::Broadcast => run.iter().map(|d| render_broadcast(d)).collect(),
        Dialect::SocketIo => run
            .iter()
            .map(|d| {
                let name = if d.redacted {
                    "redacted"
                } else {
                    &d.event.event_type
                };
                engineio::event(name, &render_flat(d))
            })
            .collect(),
    }
}

/// `{…payload, "type": event_type, "seq", "room"}`; herald's keys win.
pub fn render_flat(d: &Delivery) -> String {
    if d.redacted {
        return json!({"type": "redacted", "seq": d.seq, "room": d.room}).to_string();
    }
    let mut frame = match serde_json::from_str::<Value>(d.event.payload.get()) {
        Ok(Value::Object(map)) => map,
        _ => serde_json::Map::new(),
    };
    frame.insert("type".into(), json!(d.event.event_type));
    frame.insert("seq".into(), json!(d.seq));
    frame.insert("room".into(), json!(d.room));
    Value::Object(frame).to_string()
}

#[derive(Serialize)]
struct BroadcastFrame<'a> {
    r#type: &'static str,
    event_type: &'a str,
    resource_id: &'a str,
    resource_type: &'a str,
    payload: &'a RawValue,
    agent_id: Option<&'a str>,
    session_id: Option<&'a str>,
    seq: i64,
    timestamp: String,
}

/// `{"type":"broadcast_event", event_type, resource_id, resource_type, payload, agent_id, session_id, seq, timestamp}`.
pub fn render_broadcast(d: &Delivery) -> String {
    if d.redacted {
        return json!({"type": "broadcast_event", "event_type": "redacted", "seq": d.seq,
                      "timestamp": rfc3339(d.event.created_at)})
        .to_string();
    }
    let e = &d.event;
    let frame = BroadcastFrame {
        r#type: "broadcast_event",
        event_type: &e.event_type,
        resource_id: &e.resource_id,
        resource_type: &e.resource_type,
        payload: &e.payload,
        agent_id: e.agent_id.as_deref(),
        session_id: e.origin_session_id.as_deref(),
        seq: d.seq,
        timestamp: rfc3339(e.created_at),
    };
    serde_json::to_string(&frame).unwrap_or_default()
}

/// `{"type":"welcome",…}`, the first frame on a native socket.
pub fn welcome(connection_id: &str, heartbeat_ms: u64) -> String {
    json!({"type": "welcome", "connection_id": connection_id, "heartbeat_ms": heartbeat_ms})
        .to_string()
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
    json!({"type": "pong", "ts": rfc3339(now_ms)}).to_string()
}

/// `{"type":"heartbeat","connections":N,"ts":…}`.
pub fn heartbeat(connections: usize, now_ms: i64) -> String {
    json!({"type": "heartbeat", "connections": connections, "ts": rfc3339(now_ms)}).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::Event;

    fn delivery(seq: i64) -> Arc<Delivery> {
        let event = Arc::new(Event {
            id: 1042,
            event_type: "session_updated".into(),
            resource_type: "session".into(),
            resource_id: "s1".into(),
            agent_id: Some("claude-1".into()),
            origin_session_id: Some("sess-1".into()),
            payload: RawValue::from_string(r#"{"id":"s1","status":"active"}"#.into()).unwrap(),
            priority: false,
            created_at: 1_795_867_200_123,
        });
        Delivery::new(RoomName::parse("session:s1").unwrap(), seq, event)
    }

    #[test]
    fn golden_event_envelope() {
        assert_eq!(
            delivery(27).native(),
            r#"{"type":"event","room":"session:s1","seq":27,"id":1042,"event_type":"session_updated","resource_type":"session","resource_id":"s1","agent_id":"claude-1","origin_session_id":"sess-1","payload":{"id":"s1","status":"active"},"ts":"2026-11-28T12:00:00.123Z"}"#
        );
    }

    #[test]
    fn golden_batch_update() {
        let room = RoomName::parse("session:s1").unwrap();
        let frames = render_native(&room, &[delivery(1), delivery(2)]);
        assert_eq!(frames.len(), 1);
        let v: Value = serde_json::from_str(&frames[0]).unwrap();
        assert_eq!(v["type"], "batch-update");
        assert_eq!(v["room"], "session:s1");
        assert_eq!(v["updates"][1]["seq"], 2);
        assert_eq!(v["updates"][0]["type"], "event");
        let single = render_native(&room, &[delivery(3)]);
        assert!(single[0].starts_with(r#"{"type":"event""#));
        let many: Vec<_> = (1..=300).map(delivery).collect();
        assert_eq!(render_native(&room, &many).len(), 2);
        // About 250 bytes each: 64 KiB holds some 260, so 1,000 take 4 frames
        // by bytes as well as by count, every seq exactly once, in order.
        let lots: Vec<_> = (1..=1000).map(delivery).collect();
        let frames = render_native(&room, &lots);
        assert!(frames.iter().all(|f| f.len() <= MAX_BATCH_BYTES + 1024));
        let seqs: Vec<i64> = frames
            .iter()
            .flat_map(|f| {
                let v: Value = serde_json::from_str(f).unwrap();
                v["updates"].as_array().unwrap().clone()
            })
            .map(|u| u["seq"].as_i64().unwrap())
            .collect();
        assert_eq!(seqs, (1..=1000).collect::<Vec<_>>());
    }

    #[test]
    fn golden_control_frames() {
        let room = RoomName::parse("project:p").unwrap();
        assert_eq!(
            welcome("c1", 30000),
            r#"{"connection_id":"c1","heartbeat_ms":30000,"type":"welcome"}"#
        );
        assert_eq!(
            subscribed(&room, 4, true, None),
            r#"{"recovered":true,"room":"project:p","seq":4,"snapshot":null,"type":"subscribed"}"#
        );
        assert_eq!(
            unsubscribed(&room, "revoked", Some(4003)),
            r#"{"code":4003,"reason":"revoked","room":"project:p","type":"unsubscribed"}"#
        );
        assert_eq!(
            pong(0),
            r#"{"ts":"1970-01-01T00:00:00.000Z","type":"pong"}"#
        );
        assert_eq!(
            heartbeat(3, 0),
            r#"{"connections":3,"ts":"1970-01-01T00:00:00.000Z","type":"heartbeat"}"#
        );
    }

    #[test]
    fn golden_redacted_frames() {
        let d = delivery(9).redacted();
        assert_eq!(
            d.native(),
            r#"{"event_type":"redacted","id":1042,"room":"session:s1","seq":9,"ts":"2026-11-28T12:00:00.123Z","type":"event"}"#
        );
        assert_eq!(
            render_flat(&d),
            r#"{"room":"session:s1","seq":9,"type":"redacted"}"#
        );
        // One twin, shared.
        let original = delivery(9);
        assert!(Arc::ptr_eq(&original.redacted(), &original.redacted()));
    }

    #[test]
    fn golden_dialect_frames() {
        let d = delivery(7);
        assert_eq!(
            render_flat(&d),
            r#"{"id":"s1","room":"session:s1","seq":7,"status":"active","type":"session_updated"}"#
        );
        assert_eq!(
            render_broadcast(&d),
            r#"{"type":"broadcast_event","event_type":"session_updated","resource_id":"s1","resource_type":"session","payload":{"id":"s1","status":"active"},"agent_id":"claude-1","session_id":"sess-1","seq":7,"timestamp":"2026-11-28T12:00:00.123Z"}"#
        );
        let room = RoomName::parse("broadcasts").unwrap();
        assert_eq!(
            subscribed_frame(Answer::plain(Dialect::Broadcast), &room, 3, false, None),
            r#"{"room":"broadcasts","seq":3,"type":"subscribed"}"#
        );
    }

    #[test]
    fn golden_socketio_frames() {
        let d = delivery(7);
        assert_eq!(
            render(Dialect::SocketIo, &d.room, std::slice::from_ref(&d)),
            [
                r#"42["session_updated",{"id":"s1","room":"session:s1","seq":7,"status":"active","type":"session_updated"}]"#
            ]
        );
        let room = RoomName::parse("project:p").unwrap();
        let sio = Answer::plain(Dialect::SocketIo);
        assert_eq!(
            subscribed_frame(sio, &room, 4, false, None),
            r#"42["subscribed",{"recovered":false,"room":"project:p","seq":4,"snapshot":null,"type":"subscribed"}]"#
        );
        let acked = Answer {
            ack: Some(3),
            ..sio
        };
        assert_eq!(
            subscribed_frame(acked, &room, 4, true, None),
            r#"433[{"ok":true,"recovered":true,"room":"project:p","seq":4,"snapshot":null}]"#
        );
        let err = crate::error::AppError::Forbidden("no".into());
        assert_eq!(
            error_frame(acked, &err, Some(&room)),
            r#"433[{"error":{"code":"forbidden","message":"no"},"ok":false,"room":"project:p"}]"#
        );
        assert_eq!(
            unsubscribed_frame(sio, &room, "revoked", Some(4003)),
            r#"42["unsubscribed",{"code":4003,"reason":"revoked","room":"project:p","type":"unsubscribed"}]"#
        );
    }

    #[test]
    fn client_messages_parse() {
        let m: ClientMessage =
            serde_json::from_str(r#"{"type":"subscribe","room":"a","since":17}"#).unwrap();
        assert_eq!(
            m,
            ClientMessage::Subscribe {
                room: "a".into(),
                since: Some(17)
            }
        );
        let m: ClientMessage = serde_json::from_str(r#"{"type":"ping"}"#).unwrap();
        assert_eq!(m, ClientMessage::Ping);
        assert!(serde_json::from_str::<ClientMessage>(r#"{"type":"dance"}"#).is_err());
        assert!(serde_json::from_str::<ClientMessage>(r#"{"type":"subscribe"}"#).is_err());
    }
}
