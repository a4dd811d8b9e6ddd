//! SQL for work items: features (with links and comments), tracks and
//! spikes, and the `broadcasts` audit trail. A feature row is also its wire
//! shape; a [`Note`] is sent as a track or a spike (`domain::work`).

use super::models::EventRow;
use super::schema::events::dsl as e;
use super::schema::{feature_comments::dsl as fc, feature_links::dsl as fl, features::dsl as f};
use super::schema::{spikes::dsl as sp, tracks::dsl as tr};
use super::DbConn;
use crate::time::serialize_rfc3339;
use diesel::prelude::*;
use serde::{Serialize, Serializer};

/// A feature (also the `feature_created` / `feature_updated` payload).
#[derive(
    Debug,
    Clone,
    PartialEq,
    Queryable,
    Selectable,
    Insertable,
    AsChangeset,
    Serialize,
    utoipa::ToSchema,
)]
#[diesel(table_name = super::schema::features, treat_none_as_null = true)]
pub struct Feature {
    /// Client-chosen id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Workflow status (`todo`, `in_progress`, `done`, …).
    pub status: String,
    /// Description.
    pub description: String,
    /// Tags: a JSON array of strings, stored as its text and sent as the array.
    #[serde(serialize_with = "tag_list")]
    #[schema(value_type = Vec<String>)]
    pub tags: String,
    /// Priority label, if any.
    pub priority: Option<String>,
    /// Created (unix milliseconds).
    #[serde(serialize_with = "serialize_rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: i64,
    /// Last changed (unix milliseconds).
    #[serde(serialize_with = "serialize_rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: i64,
}

/// The stored tags as the array they hold; text that does not parse as one
/// (herald never stores such) is sent as `[]`.
fn tag_list<S: Serializer>(text: &str, s: S) -> Result<S::Ok, S::Error> {
    serde_json::from_str::<Vec<String>>(text)
        .unwrap_or_default()
        .serialize(s)
}

/// A track or a spike: a titled note (`description` for tracks, `findings`
/// for spikes).
#[derive(Debug, Clone, PartialEq)]
pub struct Note {
    /// Client-chosen id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Description (tracks) or findings (spikes).
    pub text: String,
    /// Unix milliseconds.
    pub created_at: i64,
    /// Unix milliseconds.
    pub updated_at: i64,
}

/// Which kind of note.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoteKind {
    /// `tracks`, text field `description`.
    Track,
    /// `spikes`, text field `findings`.
    Spike,
}

impl NoteKind {
    /// The payload's name for the text.
    pub fn text_field(self) -> &'static str {
        match self {
            NoteKind::Track => "description",
            NoteKind::Spike => "findings",
        }
    }
}

type NoteRow = (String, String, String, i64, i64);

fn note((id, title, text, created_at, updated_at): NoteRow) -> Note {
    Note {
        id,
        title,
        text,
        created_at,
        updated_at,
    }
}

/// One feature, if it exists.
pub fn feature(conn: &mut DbConn, id: &str) -> QueryResult<Option<Feature>> {
    f::features
        .find(id)
        .select(Feature::as_select())
        .first(conn)
        .optional()
}

/// Inserts or overwrites a feature.
pub fn save_feature(conn: &mut DbConn, row: &Feature, exists: bool) -> QueryResult<()> {
    if exists {
        diesel::update(f::features.find(&row.id))
            .set(row)
            .execute(conn)?;
    } else {
        diesel::insert_into(f::features).values(row).execute(conn)?;
    }
    Ok(())
}

/// Deletes a feature with its links and comments.
pub fn delete_feature(conn: &mut DbConn, id: &str) -> QueryResult<usize> {
    diesel::delete(fl::feature_links.filter(fl::feature_id.eq(id))).execute(conn)?;
    diesel::delete(fc::feature_comments.filter(fc::feature_id.eq(id))).execute(conn)?;
    diesel::delete(f::features.find(id)).execute(conn)
}

/// Records a link from a feature.
pub fn add_link(
    conn: &mut DbConn,
    id: &str,
    linked: &str,
    kind: &str,
    now: i64,
) -> QueryResult<()> {
    diesel::insert_into(fl::feature_links)
        .values((
            fl::feature_id.eq(id),
            fl::linked_feature_id.eq(linked),
            fl::link_type.eq(kind),
            fl::created_at.eq(now),
        ))
        .execute(conn)
        .map(drop)
}

/// Records a comment on a feature.
pub fn add_comment(
    conn: &mut DbConn,
    id: &str,
    text: &str,
    author: Option<&str>,
    now: i64,
) -> QueryResult<()> {
    diesel::insert_into(fc::feature_comments)
        .values((
            fc::feature_id.eq(id),
            fc::comment_text.eq(text),
            fc::author.eq(author),
            fc::created_at.eq(now),
        ))
        .execute(conn)
        .map(drop)
}

/// One track or spike, if it exists.
pub fn find_note(conn: &mut DbConn, kind: NoteKind, id: &str) -> QueryResult<Option<Note>> {
    let row: Option<NoteRow> = match kind {
        NoteKind::Track => tr::tracks
            .find(id)
            .select((
                tr::id,
                tr::title,
                tr::description,
                tr::created_at,
                tr::updated_at,
            ))
            .first(conn)
            .optional()?,
        NoteKind::Spike => sp::spikes
            .find(id)
            .select((
                sp::id,
                sp::title,
                sp::findings,
                sp::created_at,
                sp::updated_at,
            ))
            .first(conn)
            .optional()?,
    };
    Ok(row.map(note))
}

/// Inserts or overwrites a track or spike.
pub fn save_note(conn: &mut DbConn, kind: NoteKind, n: &Note, exists: bool) -> QueryResult<()> {
    match (kind, exists) {
        (NoteKind::Track, true) => diesel::update(tr::tracks.find(&n.id))
            .set((
                tr::title.eq(&n.title),
                tr::description.eq(&n.text),
                tr::updated_at.eq(n.updated_at),
            ))
            .execute(conn),
        (NoteKind::Track, false) => diesel::insert_into(tr::tracks)
            .values((
                tr::id.eq(&n.id),
                tr::title.eq(&n.title),
                tr::description.eq(&n.text),
                tr::created_at.eq(n.created_at),
                tr::updated_at.eq(n.updated_at),
            ))
            .execute(conn),
        (NoteKind::Spike, true) => diesel::update(sp::spikes.find(&n.id))
            .set((
                sp::title.eq(&n.title),
                sp::findings.eq(&n.text),
                sp::updated_at.eq(n.updated_at),
            ))
            .execute(conn),
        (NoteKind::Spike, false) => diesel::insert_into(sp::spikes)
            .values((
                sp::id.eq(&n.id),
                sp::title.eq(&n.title),
                sp::findings.eq(&n.text),
                sp::created_at.eq(n.created_at),
                sp::updated_at.eq(n.updated_at),
            ))
            .execute(conn),
    }
    .map(drop)
}

/// The most recently updated features, tracks and spikes (for the snapshot).
pub fn latest(conn: &mut DbConn, limit: i64) -> QueryResult<(Vec<Feature>, Vec<Note>, Vec<Note>)> {
    let features = f::features
        .order(f::updated_at.desc())
        .limit(limit)
        .select(Feature::as_select())
        .load(conn)?;
    let tracks: Vec<NoteRow> = tr::tracks
        .order(tr::updated_at.desc())
        .limit(limit)
        .select((
            tr::id,
            tr::title,
            tr::description,
            tr::created_at,
            tr::updated_at,
        ))
        .load(conn)?;
    let spikes: Vec<NoteRow> = sp::spikes
        .order(sp::updated_at.desc())
        .limit(limit)
        .select((
            sp::id,
            sp::title,
            sp::findings,
            sp::created_at,
            sp::updated_at,
        ))
        .load(conn)?;
    Ok((
        features,
        tracks.into_iter().map(note).collect(),
        spikes.into_iter().map(note).collect(),
    ))
}

/// The event types of work items; their events form the audit trail.
const WORK_ITEM_EVENTS: &str = "resource_type IN ('feature', 'track', 'spike')";

/// The `broadcasts` audit trail, newest first, optionally filtered. Read from
/// the event log itself, which `events.retention_per_room` never prunes; the
/// filter is spelled as the partial indexes' own condition so both backends
/// use them.
pub fn audit(
    conn: &mut DbConn,
    event_type: Option<&str>,
    resource_id: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<EventRow>> {
    let mut query = e::events
        .filter(diesel::dsl::sql::<diesel::sql_types::Bool>(
            WORK_ITEM_EVENTS,
        ))
        .select(EventRow::as_select())
        .into_boxed();
    if let Some(t) = event_type {
        query = query.filter(e::event_type.eq(t.to_string()));
    }
    if let Some(r) = resource_id {
        query = query.filter(e::resource_id.eq(r.to_string()));
    }
    query.order(e::id.desc()).limit(limit).load(conn)
}
