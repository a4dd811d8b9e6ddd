//! Rows as diesel reads and writes them. A project and a session are on the
//! wire as they are stored, so their rows are also the wire types (derived
//! `Serialize`, unix milliseconds sent as RFC 3339, columns the wire does not
//! carry skipped).

use super::schema::{events, projects, sessions};
use crate::time::serialize_rfc3339;
use crate::types::{SessionStatus, Visibility};
use diesel::prelude::*;
use serde::Serialize;

/// A project row; also its wire shape.
#[derive(
    Debug, Clone, PartialEq, Queryable, Selectable, Identifiable, Serialize, utoipa::ToSchema,
)]
#[diesel(table_name = projects)]
pub struct Project {
    /// Primary key.
    pub id: String,
    /// Display name, at most 200 characters.
    pub name: String,
    /// Created (unix milliseconds).
    #[serde(serialize_with = "serialize_rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: i64,
    /// Last changed (unix milliseconds).
    #[serde(serialize_with = "serialize_rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: i64,
}

/// A session row; also its wire shape, without `access_version`.
#[derive(
    Debug,
    Clone,
    PartialEq,
    Queryable,
    Selectable,
    Identifiable,
    Insertable,
    Serialize,
    utoipa::ToSchema,
)]
#[diesel(table_name = sessions)]
pub struct Session {
    /// Primary key (client-chosen or generated).
    pub id: String,
    /// The project it belongs to.
    pub project_id: String,
    /// Display title, at most 200 characters.
    pub title: String,
    /// `active` | `idle` | `ended`.
    pub status: SessionStatus,
    /// The agent waits for a person.
    pub needs_attention: bool,
    /// `public` | `private`.
    pub visibility: Visibility,
    /// The user who created it, when known.
    pub owner_id: Option<String>,
    /// Input tokens so far.
    pub tokens_input: i64,
    /// Output tokens so far.
    pub tokens_output: i64,
    /// Input + output.
    pub tokens_total: i64,
    /// Cache-read tokens so far.
    pub tokens_cache_read: i64,
    /// Cache-creation tokens so far.
    pub tokens_cache_creation: i64,
    /// Created (unix milliseconds).
    #[serde(serialize_with = "serialize_rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: i64,
    /// Last changed (unix milliseconds).
    #[serde(serialize_with = "serialize_rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: i64,
    /// The agent working in it (`X-Agent-ID` of its creator).
    pub agent_id: Option<String>,
    /// The model last reported with token usage.
    pub model_id: Option<String>,
    /// Its project's name, kept in step on rename.
    pub project_name: String,
    /// The version of its access facts: taken, in commit order, by every
    /// change of who may read it (`db::access::bump_access`). Not on the wire.
    #[serde(skip)]
    pub access_version: i64,
}

/// A changeset for `PATCH /api/sessions/{id}`; `None` leaves a field alone.
#[derive(Debug, Clone, Default, PartialEq, AsChangeset)]
#[diesel(table_name = sessions)]
pub struct SessionPatch {
    /// New title.
    pub title: Option<String>,
    /// New status.
    pub status: Option<SessionStatus>,
    /// New attention flag.
    pub needs_attention: Option<bool>,
    /// New visibility.
    pub visibility: Option<Visibility>,
    /// Always set: the time of the change.
    pub updated_at: Option<i64>,
}

/// An event row of the log.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = events)]
pub struct EventRow {
    /// Global id.
    pub id: i64,
    /// What happened.
    pub event_type: String,
    /// What kind of resource.
    pub resource_type: String,
    /// Which resource.
    pub resource_id: String,
    /// `X-Agent-ID` of the writer.
    pub agent_id: Option<String>,
    /// `X-Session-ID` of the writer.
    pub origin_session_id: Option<String>,
    /// JSON object as text.
    pub payload: String,
    /// Never held by the batching window.
    pub priority: bool,
    /// Unix milliseconds.
    pub created_at: i64,
}

/// An event to append.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = events)]
pub struct NewEvent {
    /// What happened.
    pub event_type: String,
    /// What kind of resource.
    pub resource_type: String,
    /// Which resource.
    pub resource_id: String,
    /// `X-Agent-ID` of the writer.
    pub agent_id: Option<String>,
    /// `X-Session-ID` of the writer.
    pub origin_session_id: Option<String>,
    /// JSON object as text.
    pub payload: String,
    /// Never held by the batching window.
    pub priority: bool,
    /// Unix milliseconds.
    pub created_at: i64,
}
