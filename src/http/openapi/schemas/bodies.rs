//! Request bodies documented apart from the types that read them: a
//! work-item label, a message in either of its two forms, the track and
//! spike bodies.

use crate::types::MessageRole;
use serde::Serialize;
use utoipa::ToSchema;

/// A work-item label (status, priority, tag, link type): 1–64 of letters,
/// digits, space, `_ - . :`.
#[derive(Serialize, ToSchema)]
#[schema(pattern = "^[A-Za-z0-9_.: -]{1,64}$")]
pub struct Label(String);

/// `POST /api/sessions/{id}/messages`: `{prompt, role?}` or `{content, role?}`
/// (not both; `role` defaults to `user`).
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum MessageInput {
    /// A prompt.
    Prompt {
        /// 1–100,000 characters.
        #[schema(min_length = 1, max_length = 100000)]
        prompt: String,
        /// Who wrote it.
        role: Option<MessageRole>,
    },
    /// A message.
    Content {
        /// 1–100,000 characters.
        #[schema(min_length = 1, max_length = 100000)]
        content: String,
        /// Who wrote it.
        role: Option<MessageRole>,
    },
}

/// `POST /api/broadcast/tracks/{id}`.
#[derive(Serialize, ToSchema)]
pub struct TrackBody {
    /// 1–200 characters, not blank.
    #[schema(min_length = 1, max_length = 200, pattern = "\\S")]
    pub title: String,
    /// Up to 100,000 characters (default empty).
    #[schema(max_length = 100000, nullable = false)]
    pub description: Option<String>,
}

/// `POST /api/broadcast/spikes/{id}`.
#[derive(Serialize, ToSchema)]
pub struct SpikeBody {
    /// 1–200 characters, not blank.
    #[schema(min_length = 1, max_length = 200, pattern = "\\S")]
    pub title: String,
    /// Up to 100,000 characters (default empty).
    #[schema(max_length = 100000, nullable = false)]
    pub findings: Option<String>,
}
