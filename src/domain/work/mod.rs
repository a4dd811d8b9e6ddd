//! Work items (seed 003): features with status, links and comments, tracks
//! and spikes. Their events go to `broadcasts`, and to the session room named
//! by `X-Session-ID` when the writer sends one.

mod wire;

pub use wire::{Spike, Track};

use super::Tx;
use crate::db::work::{self as q, Feature, Note, NoteKind};
use crate::error::{AppError, AppResult};
use crate::types::{validate_id, RoomName};
use crate::validate;
use serde::Deserialize;
use serde_json::{json, Value};
use wire::note_json;

/// Longest description, findings or comment, in characters.
pub const MAX_TEXT_CHARS: usize = 100_000;
/// Longest status, priority, tag or link type.
pub const MAX_LABEL: usize = 64;
/// Status of a feature created without one.
pub const DEFAULT_STATUS: &str = "todo";

/// `POST /api/broadcast/features/{id}` body: fields to set (others kept).
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[schema(as = FeatureBody)]
pub struct FeatureFields {
    /// Feature id (from the path).
    #[serde(skip)]
    pub id: String,
    /// 1–200 characters (default: the id).
    #[serde(default)]
    #[schema(min_length = 1, max_length = 200, pattern = "\\S")]
    pub title: Option<String>,
    /// A label (default `todo`).
    #[serde(default)]
    #[schema(pattern = "^[A-Za-z0-9_.: -]{1,64}$")]
    pub status: Option<String>,
    /// Up to 100,000 characters.
    #[serde(default)]
    #[schema(max_length = 100000)]
    pub description: Option<String>,
    /// Labels.
    #[serde(default)]
    #[schema(inline, value_type = Option<Vec<crate::http::openapi::schemas::Label>>)]
    pub tags: Option<Vec<String>>,
    /// A label.
    #[serde(default)]
    #[schema(pattern = "^[A-Za-z0-9_.: -]{1,64}$")]
    pub priority: Option<String>,
}

/// `…/status` body.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[schema(as = StatusBody)]
pub struct SetStatus {
    /// Feature id (from the path).
    #[serde(skip)]
    pub id: String,
    /// A label.
    #[schema(pattern = "^[A-Za-z0-9_.: -]{1,64}$")]
    pub new_status: String,
}

/// `…/links` body.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[schema(as = LinkBody)]
pub struct AddLink {
    /// Feature id (from the path).
    #[serde(skip)]
    pub id: String,
    /// The feature linked to (need not exist).
    #[schema(pattern = "^[A-Za-z0-9_.-]{1,100}$")]
    pub linked_feature_id: String,
    /// A label (`depends_on`, `blocks`, …).
    #[schema(pattern = "^[A-Za-z0-9_.: -]{1,64}$")]
    pub link_type: String,
}

/// `…/comments` body.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[schema(as = CommentBody)]
pub struct AddComment {
    /// Feature id (from the path).
    #[serde(skip)]
    pub id: String,
    /// 1–100,000 characters.
    #[schema(min_length = 1, max_length = 100000)]
    pub comment_text: String,
    /// 1–200 characters, not blank (default: `X-Agent-ID`).
    #[serde(default)]
    #[schema(min_length = 1, max_length = 200, pattern = "\\S")]
    pub author: Option<String>,
}

/// A track (`{title, description}`) or spike (`{title, findings}`) body;
/// either name of the text is read on both routes. Described per route by
/// `schemas::TrackBody` and `schemas::SpikeBody`.
#[derive(Debug, Clone, Deserialize)]
pub struct SaveNote {
    /// Its id (from the path).
    #[serde(skip)]
    pub id: String,
    /// Title.
    pub title: String,
    /// Description (tracks) or findings (spikes); default empty.
    #[serde(default, rename = "description", alias = "findings")]
    pub text: String,
}

/// A write to a work item.
#[derive(Debug, Clone)]
pub enum WorkCommand {
    /// Create or update a feature.
    Feature(FeatureFields),
    /// `…/status {new_status}`.
    Status(SetStatus),
    /// `…/links {linked_feature_id, link_type}`.
    Link(AddLink),
    /// `…/comments {comment_text, author?}`.
    Comment(AddComment),
    /// `DELETE /api/broadcast/features/{id}`.
    DeleteFeature {
        /// Feature id.
        id: String,
    },
    /// `POST /api/broadcast/tracks/{id}`.
    Track(SaveNote),
    /// `POST /api/broadcast/spikes/{id}`.
    Spike(SaveNote),
}

impl WorkCommand {
    /// The kind and id of the work item written.
    pub fn item(&self) -> (&'static str, &str) {
        match self {
            WorkCommand::Feature(FeatureFields { id, .. })
            | WorkCommand::Status(SetStatus { id, .. })
            | WorkCommand::Link(AddLink { id, .. })
            | WorkCommand::Comment(AddComment { id, .. })
            | WorkCommand::DeleteFeature { id } => ("feature", id),
            WorkCommand::Track(n) => ("track", &n.id),
            WorkCommand::Spike(n) => ("spike", &n.id),
        }
    }
}

fn label(field: &str, value: &str) -> AppResult<()> {
    validate::chars_from(
        field,
        value,
        MAX_LABEL,
        "characters of letters, digits, space, _ - . :",
        |b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b':' | b' '),
    )
}

fn long_text(field: &str, value: &str) -> AppResult<()> {
    validate::at_most(field, value, MAX_TEXT_CHARS)
}

/// `broadcasts`, and the writer's session room if it named one.
/// `broadcasts`, and the room of the writer's `X-Session-ID` when that
/// session exists (the writer must be allowed to write to it). For a session
/// herald does not know the id is only recorded on the events: nobody can
/// plant events in the room of a session that does not exist (yet).
fn rooms(tx: &mut Tx<'_>) -> AppResult<Vec<RoomName>> {
    let mut rooms = vec![RoomName::broadcasts()];
    if let Some(session) = tx.ctx.origin_session_id.clone() {
        validate_id("X-Session-ID", &session)?;
        if crate::db::sessions::find(tx.conn, &session)?.is_some() {
            tx.require_write(&session)?;
            rooms.push(RoomName::session(&session));
        }
    }
    Ok(rooms)
}

fn existing(tx: &mut Tx<'_>, id: &str) -> AppResult<Feature> {
    q::feature(tx.conn, id)?.ok_or_else(|| AppError::not_found("feature", id))
}

/// Applies a work-item command; returns whether it created something, and the body.
pub fn apply(tx: &mut Tx<'_>, command: &WorkCommand) -> AppResult<(bool, Value)> {
    let rooms = rooms(tx)?;
    // Each command reads the item before writing it (the first POST creates
    // it): writers on other nodes wait for this commit.
    let (kind, id) = command.item();
    tx.lock(kind, id)?;
    match command {
        WorkCommand::Feature(f) => save_feature(tx, f, &rooms),
        WorkCommand::Status(SetStatus { id, new_status }) => {
            label("new_status", new_status)?;
            let mut row = existing(tx, id)?;
            let old = std::mem::replace(&mut row.status, new_status.clone());
            row.updated_at = tx.ctx.now;
            q::save_feature(tx.conn, &row, true)?;
            let payload = json!({"feature_id": id, "old_status": old, "new_status": new_status});
            tx.emit("status_changed", ("feature", id), &payload, &rooms, false)?;
            Ok((false, serde_json::to_value(row)?))
        }
        WorkCommand::Link(AddLink {
            id,
            linked_feature_id,
            link_type,
        }) => {
            validate_id("linked_feature_id", linked_feature_id)?;
            label("link_type", link_type)?;
            existing(tx, id)?;
            q::add_link(tx.conn, id, linked_feature_id, link_type, tx.ctx.now)?;
            let payload = json!({"feature_id": id, "linked_feature_id": linked_feature_id,
                                 "link_type": link_type});
            tx.emit("link_added", ("feature", id), &payload, &rooms, false)?;
            Ok((true, payload))
        }
        WorkCommand::Comment(AddComment {
            id,
            comment_text,
            author,
        }) => {
            if comment_text.is_empty() {
                return Err(AppError::Validation(
                    "comment_text must not be empty".into(),
                ));
            }
            long_text("comment_text", comment_text)?;
            let author = author.clone().or_else(|| tx.ctx.agent_id.clone());
            if let Some(a) = &author {
                validate::name("author", a, false)?;
            }
            existing(tx, id)?;
            q::add_comment(tx.conn, id, comment_text, author.as_deref(), tx.ctx.now)?;
            let payload = json!({"feature_id": id, "comment_text": comment_text, "author": author});
            tx.emit("comment_added", ("feature", id), &payload, &rooms, false)?;
            Ok((true, payload))
        }
        WorkCommand::DeleteFeature { id } => {
            existing(tx, id)?;
            q::delete_feature(tx.conn, id)?;
            let payload = json!({"feature_id": id});
            tx.emit("feature_deleted", ("feature", id), &payload, &rooms, false)?;
            Ok((false, json!({"id": id})))
        }
        WorkCommand::Track(n) => save_note(tx, NoteKind::Track, n, &rooms),
        WorkCommand::Spike(n) => save_note(tx, NoteKind::Spike, n, &rooms),
    }
}

fn save_feature(
    tx: &mut Tx<'_>,
    f: &FeatureFields,
    rooms: &[RoomName],
) -> AppResult<(bool, Value)> {
    validate_id("id", &f.id)?;
    if let Some(title) = &f.title {
        validate::name("title", title, false)?;
    }
    if let Some(status) = &f.status {
        label("status", status)?;
    }
    if let Some(priority) = &f.priority {
        label("priority", priority)?;
    }
    if let Some(description) = &f.description {
        long_text("description", description)?;
    }
    for tag in f.tags.iter().flatten() {
        label("tags", tag)?;
    }
    let before = q::feature(tx.conn, &f.id)?;
    let mut row = before.clone().unwrap_or_else(|| Feature {
        id: f.id.clone(),
        title: f.id.clone(),
        status: DEFAULT_STATUS.into(),
        description: String::new(),
        tags: "[]".into(),
        priority: None,
        created_at: tx.ctx.now,
        updated_at: tx.ctx.now,
    });
    if let Some(title) = &f.title {
        row.title = title.clone();
    }
    if let Some(status) = &f.status {
        row.status = status.clone();
    }
    if let Some(description) = &f.description {
        row.description = description.clone();
    }
    if let Some(tags) = &f.tags {
        row.tags = json!(tags).to_string();
    }
    if f.priority.is_some() {
        row.priority = f.priority.clone();
    }
    row.updated_at = tx.ctx.now;
    q::save_feature(tx.conn, &row, before.is_some())?;
    let body = serde_json::to_value(&row)?;
    let resource = ("feature", f.id.as_str());
    match &before {
        None => tx.emit("feature_created", resource, &body, rooms, false)?,
        Some(old) => {
            tx.emit("feature_updated", resource, &body, rooms, false)?;
            if old.status != row.status {
                let payload = json!({"feature_id": f.id, "old_status": old.status,
                                     "new_status": row.status});
                tx.emit("status_changed", resource, &payload, rooms, false)?;
            }
        }
    }
    Ok((before.is_none(), body))
}

fn save_note(
    tx: &mut Tx<'_>,
    kind: NoteKind,
    n: &SaveNote,
    rooms: &[RoomName],
) -> AppResult<(bool, Value)> {
    let id = n.id.as_str();
    validate_id("id", id)?;
    validate::name("title", &n.title, false)?;
    long_text(kind.text_field(), &n.text)?;
    let before = q::find_note(tx.conn, kind, id)?;
    let note = Note {
        id: id.to_string(),
        title: n.title.clone(),
        text: n.text.clone(),
        created_at: before.as_ref().map_or(tx.ctx.now, |b| b.created_at),
        updated_at: tx.ctx.now,
    };
    q::save_note(tx.conn, kind, &note, before.is_some())?;
    let body = note_json(kind, note)?;
    let (event, resource) = match kind {
        NoteKind::Track => ("track_updated", "track"),
        NoteKind::Spike => ("spike_updated", "spike"),
    };
    tx.emit(event, (resource, id), &body, rooms, false)?;
    Ok((before.is_none(), body))
}
