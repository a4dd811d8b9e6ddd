//! The wire protocol as data: what clients send (a serde-tagged enum) and the
//! frames herald sends, each a typed `Serialize` struct with `type` first.
//! [`events`] renders deliveries per dialect (once per delivery and dialect,
//! cached on the [`Delivery`](crate::types::Delivery)); [`control`] renders the
//! control frames (`welcome`, `subscribed`, `error`, …). The golden tests
//! beside them are the contract with clients herald does not control.

pub mod control;
pub mod events;

pub use control::{
    error_frame, heartbeat, pong, subscribed, subscribed_frame, unsubscribed, unsubscribed_frame,
    welcome,
};
pub use events::{
    render, render_broadcast, render_envelope, render_flat, render_native, render_one,
    render_redacted, MAX_BATCH, MAX_BATCH_BYTES,
};

use serde::{Deserialize, Serialize};

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
    /// Every dialect, in the order of [`Dialect::index`].
    pub const ALL: [Dialect; 4] = [
        Dialect::Native,
        Dialect::Flat,
        Dialect::Broadcast,
        Dialect::SocketIo,
    ];

    /// The dialect's name in metrics and logs.
    pub fn name(self) -> &'static str {
        match self {
            Dialect::Native => "native",
            Dialect::Flat => "flat",
            Dialect::Broadcast => "broadcast",
            Dialect::SocketIo => "socketio",
        }
    }

    /// Its place in [`Dialect::ALL`] (where a delivery keeps its renderings).
    pub fn index(self) -> usize {
        self as usize
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

    /// A control frame: its JSON, or for Socket.IO the ack (`ack_data`)
    /// if the client asked for one, else the event `name` with `frame`.
    fn render<F: Serialize, A: Serialize>(
        self,
        name: &str,
        frame: &F,
        ack_data: impl FnOnce() -> A,
    ) -> String {
        match (self.dialect, self.ack) {
            (Dialect::SocketIo, Some(id)) => crate::socketio::codec::ack(id, &to_json(&ack_data())),
            (Dialect::SocketIo, None) => crate::socketio::codec::event(name, &to_json(frame)),
            _ => to_json(frame),
        }
    }
}

/// A frame's JSON text. The frames are structs of strings, numbers and
/// JSON values, which always serialise; were one ever not to, the failure is
/// logged and the client gets an `internal` error frame, never an empty one.
pub(crate) fn to_json(frame: &impl Serialize) -> String {
    serde_json::to_string(frame).unwrap_or_else(|e| {
        log::error!("a frame did not serialise: {e}");
        INTERNAL_ERROR_FRAME.to_string()
    })
}

/// The `error` frame of an internal error (`AppError::Internal`'s frame).
const INTERNAL_ERROR_FRAME: &str =
    r#"{"type":"error","code":"internal","message":"internal error"}"#;

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn the_fallback_frame_is_the_internal_error_frame() {
        let frame: serde_json::Value = serde_json::from_str(INTERNAL_ERROR_FRAME).unwrap();
        let err = crate::error::AppError::Internal("detail".into());
        assert_eq!(frame, err.ws_frame());
    }

    #[test]
    fn dialect_indexes_follow_all() {
        for (i, dialect) in Dialect::ALL.iter().enumerate() {
            assert_eq!(dialect.index(), i);
        }
    }
}
