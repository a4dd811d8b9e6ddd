//! Collaborators of a session (seed 002): add, change role, remove, accept.
//! Their events go only to the session's room, and each change also changes
//! who may read the session, which the rooms apply after commit (revocation).

use super::{forbidden, users::normalize_email, Tx};
use crate::access::Role;
use crate::db::access::{self as q, User};
use crate::db::sessions as sq;
use crate::error::{AppError, AppResult};
use crate::time::{serialize_rfc3339, serialize_rfc3339_opt};
use crate::types::RoomName;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// A collaborator on the wire (seed 002's `Collaborator`): the row with the
/// user that has its email, if any.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Collaborator {
    /// Integer id, the same in REST and on the wire.
    pub id: i64,
    /// The session shared.
    pub session_id: String,
    /// The invited email (lower case).
    pub email: String,
    /// `owner`, `editor` or `viewer`.
    pub role: Role,
    /// `invited` or `accepted`.
    pub status: String,
    /// The user with that email, once there is one.
    pub user_id: Option<String>,
    /// That user's name.
    pub name: Option<String>,
    /// Always null (seed 002's shape).
    pub image_url: Option<String>,
    /// Invited (unix milliseconds).
    #[serde(serialize_with = "serialize_rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: i64,
    /// Accepted (unix milliseconds).
    #[serde(serialize_with = "serialize_rfc3339_opt")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub accepted_at: Option<i64>,
}

impl Collaborator {
    /// The row with its user.
    pub fn new(row: q::Collaborator, user: Option<User>) -> Collaborator {
        let (user_id, name) = user.map_or((None, None), |u| (Some(u.id), u.name));
        Collaborator {
            id: row.id,
            session_id: row.session_id,
            email: row.email,
            role: row.role,
            status: row.status,
            user_id,
            name,
            image_url: None,
            created_at: row.created_at,
            accepted_at: row.accepted_at,
        }
    }
}

/// `POST /api/sessions/{id}/collaborators` body.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[schema(as = AddBody)]
pub struct Invite {
    /// Session id (from the path).
    #[serde(skip)]
    pub session_id: String,
    /// `name@host`, at most 254 characters.
    #[schema(max_length = 254, pattern = "^[!-?A-~]+@[!-~]+$")]
    pub email: String,
    /// `owner`, `editor` or `viewer`. Text until the caller may manage the
    /// session: who may not learns nothing from a bad role (403 first).
    #[schema(value_type = Role)]
    pub role: String,
}

/// A change to a session's collaborators.
#[derive(Debug, Clone)]
pub enum CollaboratorCommand {
    /// `POST /api/sessions/{id}/collaborators` `{email, role}`.
    Add(Invite),
    /// `PATCH …/collaborators/{cid}` `{role}`.
    Update {
        /// Session id.
        session_id: String,
        /// Collaborator id.
        id: i64,
        /// New role (checked after the caller's rights, as in [`Invite`]).
        role: String,
    },
    /// `DELETE …/collaborators/{cid}`.
    Remove {
        /// Session id.
        session_id: String,
        /// Collaborator id.
        id: i64,
    },
    /// `POST …/collaborators/{cid}/accept`.
    Accept {
        /// Session id.
        session_id: String,
        /// Collaborator id.
        id: i64,
    },
}

/// Applies one change; answers (created, body).
pub fn apply(tx: &mut Tx<'_>, c: &CollaboratorCommand) -> AppResult<(bool, Value)> {
    // Every check below reads the session's collaborators: hold them still
    // against writers on other nodes.
    tx.lock("session", c.session_id())?;
    match c {
        CollaboratorCommand::Add(invite) => add(tx, invite).map(|v| (true, v)),
        CollaboratorCommand::Update {
            session_id,
            id,
            role,
        } => update(tx, session_id, *id, role).map(|v| (false, v)),
        CollaboratorCommand::Remove { session_id, id } => {
            remove(tx, session_id, *id).map(|v| (false, v))
        }
        CollaboratorCommand::Accept { session_id, id } => {
            accept(tx, session_id, *id).map(|v| (false, v))
        }
    }
}

impl CollaboratorCommand {
    /// The session whose collaborators change.
    pub fn session_id(&self) -> &str {
        match self {
            CollaboratorCommand::Add(Invite { session_id, .. })
            | CollaboratorCommand::Update { session_id, .. }
            | CollaboratorCommand::Remove { session_id, .. }
            | CollaboratorCommand::Accept { session_id, .. } => session_id,
        }
    }
}

fn existing(tx: &mut Tx<'_>, session_id: &str, id: i64) -> AppResult<q::Collaborator> {
    q::collaborator(tx.conn, session_id, id)?
        .ok_or_else(|| AppError::not_found("collaborator", &id.to_string()))
}

/// Emits a collaborator event to the session's room only, and marks the
/// session's access as changed.
fn emit(tx: &mut Tx<'_>, session_id: &str, event: &str, payload: Value) -> AppResult<()> {
    let session =
        sq::find(tx.conn, session_id)?.ok_or_else(|| AppError::not_found("session", session_id))?;
    tx.emit(
        event,
        ("session", session_id),
        &payload,
        &[RoomName::session(session_id)],
        false,
    )?;
    tx.touch(&session);
    Ok(())
}

fn add(tx: &mut Tx<'_>, invite: &Invite) -> AppResult<Value> {
    let session_id = invite.session_id.as_str();
    // An admin may manage any session, so the rights check alone does not
    // prove the session exists: without it the insert fails its foreign key.
    if sq::find(tx.conn, session_id)?.is_none() {
        return Err(AppError::not_found("session", session_id));
    }
    tx.require_manage(session_id)?;
    let email = normalize_email(&invite.email)?;
    let role = Role::check(&invite.role)?;
    let taken = q::collaborators(tx.conn, session_id)?
        .iter()
        .any(|(c, _)| c.email == email);
    if taken {
        return Err(AppError::Conflict(format!(
            "{email} already collaborates on session {session_id}"
        )));
    }
    let row = q::insert_collaborator(tx.conn, session_id, &email, role, tx.ctx.now)?;
    let payload = json!({"id": row.id, "session_id": session_id, "email": row.email,
                         "role": row.role, "status": row.status});
    emit(tx, session_id, "collaborator_added", payload)?;
    let user = q::user_by_email(tx.conn, &row.email)?;
    Ok(serde_json::to_value(Collaborator::new(row, user))?)
}

fn update(tx: &mut Tx<'_>, session_id: &str, id: i64, role: &str) -> AppResult<Value> {
    tx.require_manage(session_id)?;
    let role = Role::check(role)?;
    let before = existing(tx, session_id, id)?;
    let row = q::update_collaborator(tx.conn, id, role, &before.status, before.accepted_at)?;
    let payload = json!({"id": id, "session_id": session_id, "role": row.role,
                         "status": row.status});
    emit(tx, session_id, "collaborator_updated", payload)?;
    let user = q::user_by_email(tx.conn, &row.email)?;
    Ok(serde_json::to_value(Collaborator::new(row, user))?)
}

/// Managers remove anyone; a collaborator may also remove itself (leave).
/// Who may not read the session learns nothing about its collaborators (403
/// before 404).
fn remove(tx: &mut Tx<'_>, session_id: &str, id: i64) -> AppResult<Value> {
    let access = tx.access(session_id)?;
    if !access.can_read(tx.caller()) {
        return Err(forbidden("manage", session_id));
    }
    let row = existing(tx, session_id, id)?;
    let leaving = tx.caller().email.as_deref() == Some(row.email.as_str());
    if !(access.can_manage(tx.caller()) || leaving) {
        return Err(forbidden("manage", session_id));
    }
    q::delete_collaborator(tx.conn, id)?;
    let payload = json!({"id": id, "session_id": session_id, "email": row.email});
    emit(tx, session_id, "collaborator_removed", payload)?;
    Ok(json!({"id": id}))
}

/// The invited user (or an admin) accepts; accepting again changes nothing.
fn accept(tx: &mut Tx<'_>, session_id: &str, id: i64) -> AppResult<Value> {
    if !tx.access(session_id)?.can_read(tx.caller()) {
        return Err(forbidden("read", session_id));
    }
    let row = existing(tx, session_id, id)?;
    let invited = tx.caller().email.as_deref() == Some(row.email.as_str());
    if !(invited || tx.caller().admin) {
        return Err(AppError::Forbidden(
            "only the invited user accepts an invitation".into(),
        ));
    }
    if row.status == "accepted" {
        let user = q::user_by_email(tx.conn, &row.email)?;
        return Ok(serde_json::to_value(Collaborator::new(row, user))?);
    }
    let row = q::update_collaborator(tx.conn, id, row.role, "accepted", Some(tx.ctx.now))?;
    let payload = json!({"id": id, "session_id": session_id, "role": row.role,
                         "status": row.status});
    emit(tx, session_id, "collaborator_updated", payload)?;
    let user = q::user_by_email(tx.conn, &row.email)?;
    Ok(serde_json::to_value(Collaborator::new(row, user))?)
}
