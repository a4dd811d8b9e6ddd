//! The Socket.IO side of a session: the CONNECT to the `/` namespace (the
//! token from its `auth` payload or the handshake's `?token=`, checked
//! once), the events that arrive before that check is done, and the
//! `subscribe` / `unsubscribe` events. The Engine.IO side (packets,
//! upgrade, heartbeat) is the actor itself, in `mod.rs`.

use super::SioSession;
use crate::error::AppError;
use crate::protocol::{Answer, Dialect};
use crate::socketio::codec;
use actix::prelude::*;
use serde_json::Value;

/// An event that waits for its session's CONNECT to be checked.
pub(super) struct Early {
    namespace: String,
    ack: Option<u64>,
    name: String,
    args: Vec<Value>,
}

/// Most events kept while a CONNECT is being checked; more are refused.
const MAX_EARLY_EVENTS: usize = 100;

impl SioSession {
    /// Joins the namespace once the token checks out (asynchronously).
    pub(super) fn connect(
        &mut self,
        namespace: String,
        auth: Option<Value>,
        ctx: &mut Context<Self>,
    ) {
        if namespace != "/" {
            return self.send(&codec::connect_error(&namespace, "Invalid namespace"));
        }
        if std::mem::replace(&mut self.connect_seen, true) {
            log::debug!(
                "socket.io session {}: a repeated CONNECT is ignored",
                self.sid
            );
            return;
        }
        let token = auth
            .as_ref()
            .and_then(|a| a.get("token"))
            .and_then(Value::as_str)
            .map(str::to_string)
            .or_else(|| self.query_token.clone());
        let auth = self.auth.clone();
        let check = async move { auth.identify(token.as_deref()).await };
        ctx.spawn(check.into_actor(self).map(|result, act, ctx| match result {
            Ok(identity) => {
                act.core.identified(identity, ctx.address().recipient());
                act.send(&codec::connected(&act.sid));
                for early in std::mem::take(&mut act.early) {
                    act.on_event(&early.namespace, early.ack, &early.name, early.args, ctx);
                }
            }
            Err(_) => {
                act.send(&codec::connect_error("/", "unauthorized"));
                for early in std::mem::take(&mut act.early) {
                    act.send(&codec::connect_error(&early.namespace, "not connected"));
                }
            }
        }));
    }

    pub(super) fn on_event(
        &mut self,
        namespace: &str,
        ack: Option<u64>,
        name: &str,
        args: Vec<Value>,
        ctx: &mut Context<Self>,
    ) {
        let connected = self.core.identity().is_some();
        if namespace == "/" && !connected && self.connect_seen {
            if self.early.len() < MAX_EARLY_EVENTS {
                self.early.push(Early {
                    namespace: namespace.to_string(),
                    ack,
                    name: name.to_string(),
                    args,
                });
                return;
            }
            return self.error(
                &AppError::RateLimited("too many events before CONNECT was answered".into()),
                ack,
            );
        }
        if namespace != "/" || !connected {
            return self.send(&codec::connect_error(namespace, "not connected"));
        }
        let data = args.into_iter().next().unwrap_or(Value::Null);
        let result = match name {
            "subscribe" => codec::target(&data).and_then(|room| {
                let since = codec::since(&data)?;
                let evictions = ctx.address().recipient();
                self.core.subscribe(room, since, ack, evictions)
            }),
            "unsubscribe" => codec::target(&data).map(|room| {
                let answer = Answer {
                    dialect: Dialect::SocketIo,
                    ack,
                };
                self.core.unsubscribe(room, answer)
            }),
            other => Err(AppError::BadRequest(format!(
                "unknown event {other:?}: expected subscribe or unsubscribe"
            ))),
        };
        if let Err(err) = result {
            self.error(&err, ack);
        }
    }
}
