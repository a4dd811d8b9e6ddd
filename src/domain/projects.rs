//! Projects: create, rename, delete (with their sessions).

use super::{sessions, Tx};
use crate::db::models::Project;
use crate::db::{projects as q, sessions as sq};
use crate::error::{AppError, AppResult};
use crate::types::RoomName;
use serde_json::{json, Value};

/// A new project; the id is chosen by the HTTP layer.
#[derive(Debug, Clone)]
pub struct Create {
    /// New id.
    pub id: String,
    /// Display name.
    pub name: String,
}

/// A rename.
#[derive(Debug, Clone)]
pub struct Update {
    /// Project id.
    pub id: String,
    /// New name, if given.
    pub name: Option<String>,
}

/// Inserts a project and emits `project_created` to `project:<id>`.
pub fn create(tx: &mut Tx<'_>, c: &Create) -> AppResult<Value> {
    crate::validate::name("name", &c.name, false)?;
    let row = Project {
        id: c.id.clone(),
        name: c.name.clone(),
        created_at: tx.ctx.now,
        updated_at: tx.ctx.now,
    };
    tx.lock("project", &row.id)?;
    if q::find(tx.conn, &row.id)?.is_some() {
        return Err(AppError::Conflict(format!(
            "project {} already exists",
            row.id
        )));
    }
    q::insert(tx.conn, &row)?;
    let body = serde_json::to_value(&row)?;
    tx.emit(
        "project_created",
        ("project", &row.id),
        &body,
        &[RoomName::project(&row.id)],
        false,
    )?;
    Ok(body)
}

/// Finds a project or creates it (hooks name projects that may not exist yet).
pub fn ensure(tx: &mut Tx<'_>, id: &str, name: &str) -> AppResult<Project> {
    tx.lock("project", id)?;
    if let Some(found) = q::find(tx.conn, id)? {
        return Ok(found);
    }
    create(
        tx,
        &Create {
            id: id.to_string(),
            name: name.to_string(),
        },
    )?;
    q::find(tx.conn, id)?.ok_or_else(|| AppError::not_found("project", id))
}

/// Renames a project and emits `project_updated`, then `session_updated`
/// for each of its sessions, whose `project_name` changed with it (so a
/// session page never shows a stale project name).
pub fn update(tx: &mut Tx<'_>, u: &Update) -> AppResult<Value> {
    tx.lock("project", &u.id)?;
    let current = q::find(tx.conn, &u.id)?.ok_or_else(|| AppError::not_found("project", &u.id))?;
    require_admin(tx, "rename")?;
    let Some(name) = &u.name else {
        return Ok(serde_json::to_value(&current)?);
    };
    crate::validate::name("name", name, false)?;
    let row = q::rename(tx.conn, &u.id, name, tx.ctx.now)?;
    crate::db::sessions::rename_project(tx.conn, &u.id, name)?;
    let body = serde_json::to_value(&row)?;
    tx.emit(
        "project_updated",
        ("project", &row.id),
        &body,
        &[RoomName::project(&row.id)],
        false,
    )?;
    for session in sq::list(tx.conn, Some(&row.id), None)? {
        tx.emit(
            "session_updated",
            ("session", &session.id),
            &serde_json::to_value(&session)?,
            &sessions::rooms(&session),
            false,
        )?;
    }
    Ok(body)
}

/// Deletes a project: each session first (`session_deleted`), then the
/// project (`project_deleted {id}`).
pub fn delete(tx: &mut Tx<'_>, id: &str) -> AppResult<Value> {
    // A hook creating a session in it on another node waits, then finds
    // the project gone (and makes it anew) instead of failing on its key.
    tx.lock("project", id)?;
    if q::find(tx.conn, id)?.is_none() {
        return Err(AppError::not_found("project", id));
    }
    require_admin(tx, "delete")?;
    for session in sq::list(tx.conn, Some(id), None)? {
        sessions::delete(tx, &session.id)?;
    }
    q::delete(tx.conn, id)?;
    let body = json!({"id": id});
    tx.emit(
        "project_deleted",
        ("project", id),
        &body,
        &[RoomName::project(id)],
        false,
    )?;
    Ok(body)
}

/// Projects have no owner: renaming or deleting one (with every session in
/// it, whoever owns them) is for admins.
fn require_admin(tx: &Tx<'_>, action: &str) -> AppResult<()> {
    if tx.caller().admin {
        Ok(())
    } else {
        Err(AppError::Forbidden(format!(
            "only admins {action} projects"
        )))
    }
}
