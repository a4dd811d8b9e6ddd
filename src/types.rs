//! Types that carry meaning across layers: validated room names and ids, and the
//! committed events the actors pass around, and the closed vocabularies
//! (statuses, visibility, roles of messages, tool states, hook names).
//! Validation happens once, here and in [`crate::validate`].

use crate::error::AppError;
use crate::protocol::Dialect;
use crate::validate::text_enum;
use serde::Serialize;
use serde_json::value::RawValue;
use std::fmt;
use std::sync::{Arc, OnceLock};

/// Longest room name (`^[A-Za-z0-9_.:-]{1,128}$`).
pub const MAX_ROOM_NAME: usize = 128;
/// Longest client-chosen id of a project or session.
pub const MAX_ID_LEN: usize = 100;

/// A room name checked against `^[A-Za-z0-9_.:-]{1,128}$`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct RoomName(String);

impl RoomName {
    /// Validates a room name from the outside world.
    ///
    /// ```
    /// use herald::types::{RoomKind, RoomName};
    /// let room = RoomName::parse("session:s1").unwrap();
    /// assert_eq!(room.kind(), RoomKind::Session("s1"));
    /// assert!(RoomName::parse("no spaces").is_err());
    /// ```
    pub fn parse(name: &str) -> Result<RoomName, AppError> {
        let ok = !name.is_empty()
            && name.len() <= MAX_ROOM_NAME
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b':' | b'-'));
        if ok {
            Ok(RoomName(name.to_string()))
        } else {
            // The name is echoed, but never more of it than a valid one holds.
            let shown: String = name.chars().take(MAX_ROOM_NAME).collect();
            let cut = if shown.len() < name.len() { "…" } else { "" };
            Err(AppError::Validation(format!(
                "invalid room name {shown:?}{cut}: expected 1-128 characters of A-Z a-z 0-9 _ . : -"
            )))
        }
    }

    /// The room of one session.
    pub fn session(id: &str) -> RoomName {
        RoomName(format!("session:{id}"))
    }

    /// The work-item stream.
    pub fn broadcasts() -> RoomName {
        RoomName("broadcasts".into())
    }

    /// The room of one project.
    pub fn project(id: &str) -> RoomName {
        RoomName(format!("project:{id}"))
    }

    /// The name as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// What the room is about, which decides its snapshot.
    pub fn kind(&self) -> RoomKind<'_> {
        if let Some(id) = self.0.strip_prefix("session:") {
            RoomKind::Session(id)
        } else if let Some(id) = self.0.strip_prefix("project:") {
            RoomKind::Project(id)
        } else if self.0 == "broadcasts" {
            RoomKind::Broadcasts
        } else {
            RoomKind::Free
        }
    }
}

impl fmt::Display for RoomName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The families of rooms (DESIGN §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoomKind<'a> {
    /// `session:<id>`
    Session(&'a str),
    /// `project:<id>`
    Project(&'a str),
    /// `broadcasts`, the work-item stream.
    Broadcasts,
    /// Any other valid name, for generic publish.
    Free,
}

/// Checks a client-chosen id of a project or session: 1-100 of `A-Z a-z 0-9 _ . -`.
pub fn validate_id(field: &str, id: &str) -> Result<(), AppError> {
    crate::validate::chars_from(
        field,
        id,
        MAX_ID_LEN,
        "characters of A-Z a-z 0-9 _ . -",
        |b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'),
    )
}

text_enum! {
    /// A session's status.
    pub enum SessionStatus as "status" in "SessionStatus" {
        /// The agent is working.
        Active = "active",
        /// The agent stopped and waits.
        Idle = "idle",
        /// The session is over.
        Ended = "ended",
    }
}

text_enum! {
    /// Who may read a session.
    pub enum Visibility as "visibility" in "Visibility" {
        /// Everyone who may read its project.
        Public = "public",
        /// Its owner, collaborators and admins.
        Private = "private",
    }
}

text_enum! {
    /// Who wrote a message.
    pub enum MessageRole as "role" in "MessageRole" {
        /// A person.
        User = "user",
        /// The agent.
        Assistant = "assistant",
        /// The system prompt or the harness.
        System = "system",
    }
}

text_enum! {
    /// A todo's status.
    pub enum TodoStatus as "status" in "TodoStatus" {
        /// Not started.
        Pending = "pending",
        /// Being done.
        InProgress = "in_progress",
        /// Done.
        Completed = "completed",
    }
}

text_enum! {
    /// A tool call's state.
    pub enum ToolState as "state" in "ToolState" {
        /// Its input is known.
        InputAvailable = "input-available",
        /// Its output is known too.
        OutputAvailable = "output-available",
    }
}

text_enum! {
    /// An agent hook (Claude Code's hook event names).
    pub enum HookEvent as "hook_event_name" in "HookEvent" {
        /// The agent started or resumed the session.
        SessionStart = "SessionStart",
        /// A person sent a prompt.
        UserPromptSubmit = "UserPromptSubmit",
        /// A tool is about to run.
        PreToolUse = "PreToolUse",
        /// A tool ran.
        PostToolUse = "PostToolUse",
        /// The agent waits for a person.
        Notification = "Notification",
        /// The agent finished its turn.
        Stop = "Stop",
        /// The session is over.
        SessionEnd = "SessionEnd",
    }
}

/// A fresh random id for a new resource.
pub fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// An event as stored in the log. Immutable once committed; shared by `Arc`.
#[derive(Debug)]
pub struct Event {
    /// Global event id.
    pub id: i64,
    /// What happened (`session_updated`, …).
    pub event_type: String,
    /// The kind of resource it is about (`session`, `project`, `room`).
    pub resource_type: String,
    /// The resource's id.
    pub resource_id: String,
    /// `X-Agent-ID` of the writer, if any.
    pub agent_id: Option<String>,
    /// `X-Session-ID` of the writer, if any.
    pub origin_session_id: Option<String>,
    /// The payload, a JSON object, kept as text so it is never re-parsed.
    pub payload: Box<RawValue>,
    /// Flushed at once, never held by the batching window.
    pub priority: bool,
    /// Commit time, unix milliseconds.
    pub created_at: i64,
}

impl Event {
    /// A copy of an event that is not shared yet (an [`Appended`] one, or
    /// in tests). `Event` is not `Clone` on purpose: once committed it is
    /// shared by `Arc`, never copied.
    ///
    /// [`Appended`]: crate::db::events::Appended
    pub fn copy(&self) -> Event {
        Event {
            id: self.id,
            event_type: self.event_type.clone(),
            resource_type: self.resource_type.clone(),
            resource_id: self.resource_id.clone(),
            agent_id: self.agent_id.clone(),
            origin_session_id: self.origin_session_id.clone(),
            payload: self.payload.clone(),
            priority: self.priority,
            created_at: self.created_at,
        }
    }

    /// The session this event is about, if any: who may read it decides who
    /// sees it in a project room.
    pub fn session_id(&self) -> Option<&str> {
        (self.resource_type == "session").then_some(self.resource_id.as_str())
    }
}

/// One delivery of an event to a room, with that room's seq.
#[derive(Debug)]
pub struct Delivery {
    /// The room.
    pub room: RoomName,
    /// The room's seq for this delivery (1, 2, 3, …).
    pub seq: i64,
    /// The event delivered.
    pub event: Arc<Event>,
    /// Its frame in each dialect (indexed by [`Dialect::index`]), rendered
    /// once on first use and shared by every flush and socket.
    rendered: [OnceLock<Box<str>>; 4],
    /// Stands for the event without showing it (`event_type: "redacted"`):
    /// what a project-room subscriber gets for a session it may not read.
    pub redacted: bool,
    /// The redacted twin, made once on first use and shared.
    twin: OnceLock<Arc<Delivery>>,
}

impl Delivery {
    /// Roughly what keeping it costs, in bytes: the payload, once as read
    /// and once rendered, and the envelope around them.
    pub fn weight(&self) -> usize {
        2 * self.event.payload.get().len() + 256
    }

    /// A delivery whose envelope is not rendered yet.
    pub fn new(room: RoomName, seq: i64, event: Arc<Event>) -> Arc<Delivery> {
        Arc::new(Delivery {
            room,
            seq,
            event,
            rendered: Default::default(),
            redacted: false,
            twin: OnceLock::new(),
        })
    }

    /// The same delivery with its content withheld (same room, seq, id, ts).
    pub fn redacted(self: &Arc<Self>) -> Arc<Delivery> {
        if self.redacted {
            return self.clone();
        }
        self.twin
            .get_or_init(|| {
                Arc::new(Delivery {
                    room: self.room.clone(),
                    seq: self.seq,
                    event: self.event.clone(),
                    rendered: Default::default(),
                    redacted: true,
                    twin: OnceLock::new(),
                })
            })
            .clone()
    }

    /// The native `event` envelope of this delivery.
    pub fn native(&self) -> &str {
        self.rendered(Dialect::Native)
    }

    /// This delivery's frame in `dialect`: rendered on first use, then shared.
    pub fn rendered(&self, dialect: Dialect) -> &str {
        self.rendered[dialect.index()]
            .get_or_init(|| crate::protocol::render_one(dialect, self).into_boxed_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn room_names_are_checked() {
        assert!(RoomName::parse("session:abc-1").is_ok());
        assert!(RoomName::parse("a.b_c:d-e").is_ok());
        assert!(RoomName::parse("").is_err());
        assert!(RoomName::parse("has space").is_err());
        assert!(RoomName::parse("slash/no").is_err());
        assert!(RoomName::parse(&"x".repeat(128)).is_ok());
        assert!(RoomName::parse(&"x".repeat(129)).is_err());
    }

    #[test]
    fn room_kinds() {
        let r = RoomName::parse("session:s1").unwrap();
        assert_eq!(r.kind(), RoomKind::Session("s1"));
        let r = RoomName::parse("project:p").unwrap();
        assert_eq!(r.kind(), RoomKind::Project("p"));
        assert_eq!(
            RoomName::parse("broadcasts").unwrap().kind(),
            RoomKind::Broadcasts
        );
        assert_eq!(RoomName::parse("x").unwrap().kind(), RoomKind::Free);
    }
}
