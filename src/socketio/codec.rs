//! The Socket.IO wire format (Socket.IO v5 over Engine.IO v4): parsing what
//! clients send and encoding what herald sends. Pure functions with golden
//! tests; the session actor and the transports are its neighbours.
//!
//! Engine.IO packets are a type digit and data (`0` open, `1` close, `2`
//! ping, `3` pong, `4` message, `5` upgrade, `6` noop); a polling payload
//! joins packets with the record separator. A Socket.IO packet rides in an
//! Engine.IO message: a type digit (`0` connect, `1` disconnect, `2` event,
//! `3` ack, `4` connect error, `5`/`6` binary), an optional namespace, an
//! optional ack id, and JSON.

use crate::error::AppError;
use crate::protocol::to_json;
use crate::types::{validate_id, RoomName};
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;

/// Separates packets in a polling payload.
pub const SEPARATOR: char = '\x1e';

/// An Engine.IO packet from a client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EngineIn<'a> {
    /// `1`: the client closes the session.
    Close,
    /// `2…`: a ping (the upgrade probe is `2probe`).
    Ping(&'a str),
    /// `3…`: the answer to herald's ping.
    Pong,
    /// `4…`: a Socket.IO packet.
    Message(&'a str),
    /// `5`: switch to the transport this arrived on.
    Upgrade,
    /// `6`.
    Noop,
    /// `b…` (base64) or a binary frame: herald does not take binary data.
    Binary,
}

/// Parses one Engine.IO packet.
pub fn engine_packet(text: &str) -> Result<EngineIn<'_>, AppError> {
    let mut chars = text.chars();
    let kind = chars.next();
    let rest = chars.as_str();
    match kind {
        Some('1') => Ok(EngineIn::Close),
        Some('2') => Ok(EngineIn::Ping(rest)),
        Some('3') => Ok(EngineIn::Pong),
        Some('4') => Ok(EngineIn::Message(rest)),
        Some('5') => Ok(EngineIn::Upgrade),
        Some('6') => Ok(EngineIn::Noop),
        Some('b') => Ok(EngineIn::Binary),
        _ => Err(AppError::BadRequest(format!(
            "not an Engine.IO packet: {:?}",
            text.chars().take(16).collect::<String>()
        ))),
    }
}

/// A Socket.IO packet from a client.
#[derive(Debug, Clone, PartialEq)]
pub enum SocketIn {
    /// `0[/ns,][auth]`: join a namespace, with the `auth` object if any.
    Connect {
        /// Namespace (`/` when absent).
        namespace: String,
        /// The `auth` payload.
        auth: Option<Value>,
    },
    /// `1[/ns,]`: leave the namespace.
    Disconnect,
    /// `2[/ns,][id][name, args…]`: an event, with an ack id when the client
    /// wants an answer.
    Event {
        /// Namespace.
        namespace: String,
        /// Ack id.
        ack: Option<u64>,
        /// Event name.
        name: String,
        /// Arguments after the name.
        args: Vec<Value>,
    },
    /// `3…`: an answer to an ack herald asked for (it never asks).
    Ack,
    /// `5…`/`6…`: binary attachments, refused.
    Binary {
        /// Ack id, so the refusal can answer it.
        ack: Option<u64>,
    },
}

/// Splits `[/ns,][id]rest` into namespace, ack id and the rest.
fn header(text: &str) -> (String, Option<u64>, &str) {
    let (namespace, rest) = match text.strip_prefix('/') {
        Some(_) => match text.find(',') {
            Some(comma) => (text[..comma].to_string(), &text[comma + 1..]),
            None => (text.to_string(), ""),
        },
        None => ("/".to_string(), text),
    };
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    let ack = rest[..digits].parse().ok();
    (namespace, ack, &rest[digits..])
}

/// Parses one Socket.IO packet (the data of an Engine.IO message).
pub fn socket_packet(text: &str) -> Result<SocketIn, AppError> {
    let bad = |why: &str| AppError::BadRequest(format!("malformed Socket.IO packet: {why}"));
    let mut chars = text.chars();
    let kind = chars.next().ok_or_else(|| bad("empty"))?;
    let rest = chars.as_str();
    match kind {
        '0' => {
            let (namespace, _, json) = header(rest);
            let auth = if json.is_empty() {
                None
            } else {
                Some(serde_json::from_str(json).map_err(|_| bad("auth is not JSON"))?)
            };
            Ok(SocketIn::Connect { namespace, auth })
        }
        '1' => Ok(SocketIn::Disconnect),
        '2' => {
            let (namespace, ack, json) = header(rest);
            let mut args: Vec<Value> = match serde_json::from_str(json) {
                Ok(Value::Array(args)) => args,
                _ => return Err(bad("an event is a JSON array")),
            };
            let name = match args.first() {
                Some(Value::String(name)) => name.clone(),
                _ => return Err(bad("an event starts with its name")),
            };
            args.remove(0);
            Ok(SocketIn::Event {
                namespace,
                ack,
                name,
                args,
            })
        }
        '3' => Ok(SocketIn::Ack),
        '5' | '6' => {
            let after_count = rest.split_once('-').map_or(rest, |(_, r)| r);
            Ok(SocketIn::Binary {
                ack: header(after_count).1,
            })
        }
        _ => Err(bad("unknown packet type")),
    }
}

/// The Engine.IO handshake.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Handshake<'a> {
    sid: &'a str,
    upgrades: &'a [&'a str],
    ping_interval: u64,
    ping_timeout: u64,
    max_payload: usize,
}

/// Engine.IO `open`: the session id, the upgrades it may still make (a
/// WebSocket session has none) and the timings the client must keep.
pub fn open(
    sid: &str,
    websocket: bool,
    ping_interval_ms: u64,
    ping_timeout_ms: u64,
    max_payload: usize,
) -> String {
    let upgrades: &[&str] = if websocket { &[] } else { &["websocket"] };
    let handshake = to_json(&Handshake {
        sid,
        upgrades,
        ping_interval: ping_interval_ms,
        ping_timeout: ping_timeout_ms,
        max_payload,
    });
    format!("0{handshake}")
}

/// Engine.IO `ping`, sent by herald every heartbeat interval.
pub const PING: &str = "2";
/// Engine.IO `noop`: ends a pending poll during an upgrade.
pub const NOOP: &str = "6";
/// Engine.IO `close`.
pub const CLOSE: &str = "1";

/// The data of a `CONNECT` answer.
#[derive(Serialize)]
struct Connected<'a> {
    sid: &'a str,
}

/// The data of a `CONNECT_ERROR`.
#[derive(Serialize)]
struct ConnectError<'a> {
    message: &'a str,
}

/// The data of the `heartbeat` event.
#[derive(Serialize)]
struct Heartbeat<'a> {
    connections: usize,
    room_connections: &'a BTreeMap<&'a str, usize>,
    ts: String,
}

/// Socket.IO `CONNECT` answer for the main namespace.
pub fn connected(sid: &str) -> String {
    format!("40{}", to_json(&Connected { sid }))
}

/// Socket.IO `CONNECT_ERROR` for a namespace.
pub fn connect_error(namespace: &str, message: &str) -> String {
    let data = to_json(&ConnectError { message });
    if namespace == "/" {
        format!("44{data}")
    } else {
        format!("44{namespace},{data}")
    }
}

/// The `heartbeat` event: connections on every node, subscribers of each
/// room the session joined (`room_connections`), and the time.
pub fn heartbeat(connections: usize, rooms: &BTreeMap<&str, usize>, now_ms: i64) -> String {
    let data = Heartbeat {
        connections,
        room_connections: rooms,
        ts: crate::time::rfc3339(now_ms),
    };
    event("heartbeat", &to_json(&data))
}

/// The room a `subscribe`/`unsubscribe` names: `{room}`, `{project_id}` or `{session_id}`.
pub fn target(data: &Value) -> Result<RoomName, AppError> {
    let field = |name: &str| data.get(name).and_then(Value::as_str);
    let bad = |e: AppError| AppError::BadRequest(e.message().to_string());
    if let Some(room) = field("room") {
        RoomName::parse(room).map_err(bad)
    } else if let Some(id) = field("project_id") {
        validate_id("project_id", id).map_err(bad)?;
        Ok(RoomName::project(id))
    } else if let Some(id) = field("session_id") {
        validate_id("session_id", id).map_err(bad)?;
        Ok(RoomName::session(id))
    } else {
        Err(AppError::BadRequest(
            "expected {room}, {project_id} or {session_id}".into(),
        ))
    }
}

/// The `since` of a `subscribe`: absent or null for a fresh join, else an
/// integer, 0 or more.
pub fn since(data: &Value) -> Result<Option<i64>, AppError> {
    match data.get("since") {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_i64()
            .filter(|s| *s >= 0)
            .map(Some)
            .ok_or_else(|| AppError::BadRequest("since must be an integer, 0 or more".into())),
    }
}

/// The refusal of binary attachments (herald takes JSON only).
pub fn binary_refused() -> AppError {
    AppError::BadRequest("binary attachments are not supported; send JSON".into())
}

/// Socket.IO `EVENT` in the main namespace: `42["name",data]`; `data` is JSON text.
pub fn event(name: &str, data: &str) -> String {
    let name = Value::String(name.to_string());
    format!("42[{name},{data}]")
}

/// Socket.IO `ACK` for the client's ack `id`: `43id[data]`; `data` is JSON text.
pub fn ack(id: u64, data: &str) -> String {
    format!("43{id}[{data}]")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn engine_packets_parse() {
        assert_eq!(engine_packet("2probe").unwrap(), EngineIn::Ping("probe"));
        assert_eq!(engine_packet("3").unwrap(), EngineIn::Pong);
        assert_eq!(engine_packet("40").unwrap(), EngineIn::Message("0"));
        assert_eq!(engine_packet("5").unwrap(), EngineIn::Upgrade);
        assert_eq!(engine_packet("bAQID").unwrap(), EngineIn::Binary);
        assert!(engine_packet("").is_err());
        assert!(engine_packet("9x").is_err());
    }

    #[test]
    fn socket_packets_parse() {
        assert_eq!(
            socket_packet("0").unwrap(),
            SocketIn::Connect {
                namespace: "/".into(),
                auth: None
            }
        );
        assert_eq!(
            socket_packet(r#"0/admin,{"token":"t"}"#).unwrap(),
            SocketIn::Connect {
                namespace: "/admin".into(),
                auth: Some(json!({"token": "t"}))
            }
        );
        assert_eq!(
            socket_packet(r#"212["subscribe",{"project_id":"p"}]"#).unwrap(),
            SocketIn::Event {
                namespace: "/".into(),
                ack: Some(12),
                name: "subscribe".into(),
                args: vec![json!({"project_id": "p"})]
            }
        );
        assert_eq!(
            socket_packet(r#"2/x,["a"]"#).unwrap(),
            SocketIn::Event {
                namespace: "/x".into(),
                ack: None,
                name: "a".into(),
                args: vec![]
            }
        );
        assert_eq!(
            socket_packet(r#"51-4["up",{"_placeholder":true,"num":0}]"#).unwrap(),
            SocketIn::Binary { ack: Some(4) }
        );
        for bad in ["", "2", "2{}", "2[1]", "2[", "0{", "9"] {
            assert!(socket_packet(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn golden_frames() {
        assert_eq!(
            open("s", false, 25000, 20000, 1000),
            r#"0{"sid":"s","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000}"#
        );
        assert!(open("s", true, 1, 1, 1).contains(r#""upgrades":[]"#));
        assert_eq!(connected("x"), r#"40{"sid":"x"}"#);
        assert_eq!(
            connect_error("/", "unauthorized"),
            r#"44{"message":"unauthorized"}"#
        );
        assert_eq!(connect_error("/a", "no"), r#"44/a,{"message":"no"}"#);
        assert_eq!(
            event("token_usage", r#"{"a":1}"#),
            r#"42["token_usage",{"a":1}]"#
        );
        assert_eq!(ack(7, r#"{"ok":true}"#), r#"437[{"ok":true}]"#);
        let rooms = BTreeMap::from([("project:p", 2)]);
        assert_eq!(
            heartbeat(3, &rooms, 0),
            r#"42["heartbeat",{"connections":3,"room_connections":{"project:p":2},"ts":"1970-01-01T00:00:00.000Z"}]"#
        );
    }

    #[test]
    fn subscribe_data_names_a_room_and_a_since() {
        assert_eq!(
            target(&json!({"project_id": "p"})).unwrap().as_str(),
            "project:p"
        );
        assert_eq!(
            target(&json!({"room": "a", "session_id": "s"}))
                .unwrap()
                .as_str(),
            "a"
        );
        assert!(target(&json!({"session_id": "no spaces"})).is_err());
        assert!(target(&json!({})).is_err());
        assert_eq!(since(&json!({"since": null})).unwrap(), None);
        assert_eq!(since(&json!({"since": 4})).unwrap(), Some(4));
        assert!(since(&json!({"since": -1})).is_err());
        assert!(since(&json!({"since": "4"})).is_err());
    }
}
