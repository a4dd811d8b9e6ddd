//! Tracks and spikes on the wire: one row type ([`Note`]) with the text
//! named by its kind, so one struct per kind.

use crate::db::work::{Note, NoteKind};
use crate::error::AppResult;
use crate::time::serialize_rfc3339;
use serde::Serialize;
use serde_json::Value;

/// A track on the wire (also the `track_updated` payload).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Track {
    /// Its id.
    pub id: String,
    /// Its title.
    pub title: String,
    /// Its description.
    pub description: String,
    /// Created (unix milliseconds).
    #[serde(serialize_with = "serialize_rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: i64,
    /// Last changed (unix milliseconds).
    #[serde(serialize_with = "serialize_rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: i64,
}

impl From<Note> for Track {
    fn from(n: Note) -> Track {
        Track {
            id: n.id,
            title: n.title,
            description: n.text,
            created_at: n.created_at,
            updated_at: n.updated_at,
        }
    }
}

/// A spike on the wire (also the `spike_updated` payload).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Spike {
    /// Its id.
    pub id: String,
    /// Its title.
    pub title: String,
    /// What it found.
    pub findings: String,
    /// Created (unix milliseconds).
    #[serde(serialize_with = "serialize_rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: i64,
    /// Last changed (unix milliseconds).
    #[serde(serialize_with = "serialize_rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: i64,
}

impl From<Note> for Spike {
    fn from(n: Note) -> Spike {
        Spike {
            id: n.id,
            title: n.title,
            findings: n.text,
            created_at: n.created_at,
            updated_at: n.updated_at,
        }
    }
}

/// A track or spike as the JSON of its kind.
pub(super) fn note_json(kind: NoteKind, note: Note) -> AppResult<Value> {
    Ok(match kind {
        NoteKind::Track => serde_json::to_value(Track::from(note))?,
        NoteKind::Spike => serde_json::to_value(Spike::from(note))?,
    })
}
