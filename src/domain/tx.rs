//! [`Tx`]: a command's view of the open transaction. Its helpers lock,
//! check access, note sessions whose readers changed and append events;
//! nothing is written through it that the command does not ask for, and
//! the events wait for the group's end ([`super::deliver`]).

use super::{forbidden, CommandCtx};
use crate::access::{Identity, SessionAccess};
use crate::db::events::Appended;
use crate::db::models::Session;
use crate::db::{access as aq, DbConn};
use crate::error::{AppError, AppResult};
use crate::types::{Event, RoomName};
use serde_json::value::RawValue;
use serde_json::Value;
use std::sync::Arc;

/// Event types flushed at once, never held by the batching window.
const PRIORITY_EVENTS: &[&str] = &[
    "session_created",
    "status_changed",
    "todos_updated",
    "collaborator_added",
    "collaborator_updated",
    "collaborator_removed",
    "visibility_changed",
];

/// A command's view of the open transaction.
pub struct Tx<'a> {
    /// The writer's connection, inside the transaction.
    pub conn: &'a mut DbConn,
    /// Who and when.
    pub ctx: &'a CommandCtx,
    /// The events appended so far, in order (written at the group's end).
    pub(super) committed: Vec<Appended>,
    /// Sessions (and their projects) whose access this command changed.
    touched: Vec<(String, String)>,
    /// The last facts of sessions this command deleted.
    deleted: Vec<SessionAccess>,
    /// Users whose token this command ended.
    pub ended_tokens: Vec<String>,
}

impl<'a> Tx<'a> {
    /// A view of `conn`'s open transaction for one command of `ctx`.
    pub(super) fn new(conn: &'a mut DbConn, ctx: &'a CommandCtx) -> Self {
        Tx {
            conn,
            ctx,
            committed: Vec::new(),
            touched: Vec::new(),
            deleted: Vec::new(),
            ended_tokens: Vec::new(),
        }
    }

    /// The caller.
    pub fn caller(&self) -> &Identity {
        &self.ctx.caller
    }

    /// Holds `kind:id` until commit against writers on other nodes
    /// ([`crate::db::lock`]). Taken before a write reads what it decides on.
    pub fn lock(&mut self, kind: &str, id: &str) -> AppResult<()> {
        Ok(crate::db::lock(self.conn, &format!("{kind}:{id}"))?)
    }

    /// The access facts of an existing session (404 otherwise).
    pub fn access(&mut self, session_id: &str) -> AppResult<SessionAccess> {
        aq::session_access(self.conn, session_id)?
            .ok_or_else(|| AppError::not_found("session", session_id))
    }

    /// 403 unless the caller may write to the session.
    pub fn require_write(&mut self, session_id: &str) -> AppResult<()> {
        if self.access(session_id)?.can_write(&self.ctx.caller) {
            Ok(())
        } else {
            Err(forbidden("write to", session_id))
        }
    }

    /// 403 unless the caller may manage the session (owner, collaborator
    /// owner, admin).
    pub fn require_manage(&mut self, session_id: &str) -> AppResult<()> {
        if self.access(session_id)?.can_manage(&self.ctx.caller) {
            Ok(())
        } else {
            Err(forbidden("manage", session_id))
        }
    }

    /// Notes that who may read `session` changed (created, visibility,
    /// collaborators, deleted); its new facts go out after commit.
    pub fn touch(&mut self, session: &Session) {
        let key = (session.id.clone(), session.project_id.clone());
        if !self.touched.contains(&key) {
            self.touched.push(key);
        }
    }

    /// Notes that a session is being deleted, with its facts before that
    /// (and the version its deletion took): its readers keep reading its
    /// events (its deletion too).
    pub fn touch_deleted(&mut self, mut last: SessionAccess) {
        last.exists = false;
        self.touched
            .push((last.session_id.clone(), last.project_id.clone()));
        self.deleted.push(last);
    }

    /// The facts of every touched session, each with the next access
    /// version of that session (taken here, under its row lock, so versions
    /// follow commit order whichever node commits).
    pub(super) fn touched_access(&mut self) -> AppResult<Vec<Arc<SessionAccess>>> {
        let mut out = Vec::with_capacity(self.touched.len());
        for (id, project_id) in std::mem::take(&mut self.touched) {
            // A session deleted here keeps its last readers in the live rooms
            // (they get its deletion); the database has only its tombstone,
            // which took its version when it was deleted.
            let last = self.deleted.iter().find(|d| d.session_id == id);
            let access = match last {
                Some(last) => last.clone(),
                None => {
                    aq::bump_access(self.conn, &id)?;
                    aq::session_access(self.conn, &id)?
                        .unwrap_or_else(|| SessionAccess::gone(&id, &project_id, 0))
                }
            };
            out.push(Arc::new(access));
        }
        Ok(out)
    }

    /// Appends an event delivered to `rooms`.
    pub fn emit(
        &mut self,
        event_type: &str,
        resource: (&str, &str),
        payload: &Value,
        rooms: &[RoomName],
        priority: bool,
    ) -> AppResult<()> {
        let payload = serde_json::value::to_raw_value(payload)
            .map_err(|e| AppError::Internal(format!("payload: {e}")))?;
        self.emit_raw(event_type, resource, payload, rooms, priority)
    }

    /// [`Tx::emit`] with a payload that is already JSON text (an object),
    /// kept as it is: it is written and sent without being parsed again.
    /// 422 over `events.max_payload_bytes`, whatever the route. Nothing is
    /// written yet: the group writes its events at its end
    /// ([`events::deliver`]), so an emitting command that fails leaves
    /// nothing behind.
    pub fn emit_raw(
        &mut self,
        event_type: &str,
        resource: (&str, &str),
        payload: Box<RawValue>,
        rooms: &[RoomName],
        priority: bool,
    ) -> AppResult<()> {
        let max = self.ctx.max_payload_bytes;
        let len = payload.get().len();
        if len > max {
            return Err(AppError::Validation(format!(
                "the {event_type} payload would be {len} bytes; at most {max} \
                 (events.max_payload_bytes)"
            )));
        }
        // Whatever the route put in it (a tool call's input, a hook's tool
        // response): subscribers must be able to parse it.
        let depth = crate::validate::json_depth(payload.get());
        if depth > crate::validate::MAX_JSON_DEPTH {
            return Err(AppError::Validation(format!(
                "the {event_type} payload would nest {depth} arrays and objects deep; at most {}",
                crate::validate::MAX_JSON_DEPTH
            )));
        }
        let event = Event {
            id: 0,
            event_type: event_type.to_string(),
            resource_type: resource.0.to_string(),
            resource_id: resource.1.to_string(),
            agent_id: self.ctx.agent_id.clone(),
            origin_session_id: self.ctx.origin_session_id.clone(),
            payload,
            priority: priority || PRIORITY_EVENTS.contains(&event_type),
            created_at: self.ctx.now,
        };
        self.committed.push(Appended {
            event,
            rooms: rooms.to_vec(),
        });
        Ok(())
    }
}
