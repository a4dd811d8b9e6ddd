//! What the user routes answer: a user with its new token, and `GET /api/me`.

use serde::Serialize;
use utoipa::ToSchema;

/// A user with its token (shown once).
#[derive(Serialize, ToSchema)]
pub struct UserWithToken {
    /// Its id.
    pub id: String,
    /// Its email.
    pub email: String,
    /// Its name.
    pub name: Option<String>,
    /// Whether it is an admin.
    pub admin: bool,
    /// Its bearer token: store it, herald keeps only a hash.
    pub token: String,
}

/// `GET /api/me`: `id` and `email` are null for the admin token and, with
/// auth off, for the local admin.
#[derive(Serialize, ToSchema)]
pub struct Me {
    /// The user's id.
    pub id: Option<String>,
    /// The user's email.
    pub email: Option<String>,
    /// The user's name.
    pub name: Option<String>,
    /// Whether the caller is an admin.
    pub admin: bool,
}
