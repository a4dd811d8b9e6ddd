//! Sessions: create under a project, patch (with `status_changed` and
//! `visibility_changed` when those change), delete. Session events go to
//! `session:<id>` and `project:<project_id>`.

use super::Tx;
use crate::db::models::{Session, SessionPatch};
use crate::db::{projects as pq, sessions as q};
use crate::error::{AppError, AppResult};
use crate::types::{new_id, validate_id, RoomName, SessionStatus, Visibility};
use crate::validate;
use serde::Deserialize;
use serde_json::{json, Value};

/// Title of a session created without one.
pub const DEFAULT_TITLE: &str = "New session";

/// `POST /api/projects/{id}/sessions` body; may be empty.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[schema(as = NewSession)]
pub struct Create {
    /// The project it goes in (from the path); must exist.
    #[serde(skip)]
    pub project_id: String,
    /// The session's id (generated when absent).
    #[serde(default)]
    #[schema(pattern = "^[A-Za-z0-9_.-]{1,100}$")]
    pub id: Option<String>,
    /// At most 200 characters (default `New session`).
    #[serde(default)]
    #[schema(max_length = 200)]
    pub title: Option<String>,
    /// The creating user, when known.
    #[serde(skip)]
    pub owner_id: Option<String>,
    /// The agent working in it; defaults to the writer's `X-Agent-ID`.
    #[serde(skip)]
    pub agent_id: Option<String>,
}

/// `PATCH /api/sessions/{id}` body.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[schema(as = SessionPatch)]
pub struct Update {
    /// Session id (from the path).
    #[serde(skip)]
    pub id: String,
    /// At most 200 characters.
    #[serde(default)]
    #[schema(max_length = 200)]
    pub title: Option<String>,
    /// `active`, `idle` or `ended`.
    #[serde(default)]
    pub status: Option<SessionStatus>,
    /// The agent waits for a person.
    #[serde(default)]
    pub needs_attention: Option<bool>,
    /// `public` or `private`.
    #[serde(default)]
    pub visibility: Option<Visibility>,
}

/// The rooms a session's events go to.
pub fn rooms(session: &Session) -> [RoomName; 2] {
    [
        RoomName::session(&session.id),
        RoomName::project(&session.project_id),
    ]
}

/// Inserts a session (active, private) and emits `session_created`.
pub fn create(tx: &mut Tx<'_>, c: &Create) -> AppResult<Value> {
    let id = c.id.clone().unwrap_or_else(new_id);
    validate_id("id", &id)?;
    let title = c.title.clone().unwrap_or_else(|| DEFAULT_TITLE.to_string());
    validate::name("title", &title, true)?;
    tx.lock("session", &id)?;
    tx.lock("project", &c.project_id)?;
    let Some(project) = pq::find(tx.conn, &c.project_id)? else {
        return Err(AppError::not_found("project", &c.project_id));
    };
    if q::find(tx.conn, &id)?.is_some() {
        return Err(AppError::Conflict(format!("session {id} already exists")));
    }
    // Its history is still in the log: a new session must not inherit it.
    if crate::db::access::was_deleted(tx.conn, &id)? {
        return Err(AppError::Conflict(format!(
            "session {id} was deleted; its id is not used again"
        )));
    }
    let row = Session {
        id,
        project_id: c.project_id.clone(),
        title,
        status: SessionStatus::Active,
        needs_attention: false,
        visibility: Visibility::Private,
        owner_id: c.owner_id.clone().or_else(|| tx.caller().user_id.clone()),
        tokens_input: 0,
        tokens_output: 0,
        tokens_total: 0,
        tokens_cache_read: 0,
        tokens_cache_creation: 0,
        created_at: tx.ctx.now,
        updated_at: tx.ctx.now,
        agent_id: c.agent_id.clone().or_else(|| tx.ctx.agent_id.clone()),
        model_id: None,
        project_name: project.name,
        // Its first facts take version 1 when they go out (`Tx::touch`).
        access_version: 0,
    };
    q::insert(tx.conn, &row)?;
    let body = serde_json::to_value(&row)?;
    tx.emit(
        "session_created",
        ("session", &row.id),
        &body,
        &rooms(&row),
        false,
    )?;
    // Anyone who joined its room while waiting for it is checked now.
    tx.touch(&row);
    Ok(body)
}

/// Applies a patch; emits `session_updated`, plus `status_changed` and
/// `visibility_changed` when those fields really change.
pub fn update(tx: &mut Tx<'_>, u: &Update) -> AppResult<Value> {
    if let Some(title) = &u.title {
        validate::name("title", title, true)?;
    }
    // `before` must be what this write changes, also with other nodes.
    tx.lock("session", &u.id)?;
    let before = q::find(tx.conn, &u.id)?.ok_or_else(|| AppError::not_found("session", &u.id))?;
    if u.visibility.is_some() {
        tx.require_manage(&u.id)?;
    } else {
        tx.require_write(&u.id)?;
    }
    let patch = SessionPatch {
        title: u.title.clone(),
        status: u.status,
        needs_attention: u.needs_attention,
        visibility: u.visibility,
        updated_at: Some(tx.ctx.now),
    };
    let after = q::update(tx.conn, &u.id, &patch)?;
    let body = serde_json::to_value(&after)?;
    let rooms = rooms(&after);
    let resource = ("session", after.id.as_str());
    tx.emit("session_updated", resource, &body, &rooms, false)?;
    if before.status != after.status {
        let payload = json!({"session_id": after.id, "old_status": before.status,
                             "new_status": after.status});
        tx.emit("status_changed", resource, &payload, &rooms, false)?;
    }
    if before.visibility != after.visibility {
        let payload = json!({"session_id": after.id, "visibility": after.visibility});
        tx.emit("visibility_changed", resource, &payload, &rooms, false)?;
        tx.touch(&after);
    }
    Ok(body)
}

/// Deletes a session and emits `session_deleted {id, project_id}`.
pub fn delete(tx: &mut Tx<'_>, id: &str) -> AppResult<Value> {
    tx.lock("session", id)?;
    let row = q::find(tx.conn, id)?.ok_or_else(|| AppError::not_found("session", id))?;
    if !tx.access(id)?.can_manage(tx.caller()) {
        return Err(super::forbidden("delete", id));
    }
    // The deletion is a change of access: it takes the next version, which
    // its tombstone keeps.
    crate::db::access::bump_access(tx.conn, id)?;
    let last = tx.access(id)?;
    let version = last.version;
    tx.touch_deleted(last);
    crate::db::activity::delete_for_session(tx.conn, id)?;
    crate::db::access::delete_collaborators_of(tx.conn, id)?;
    crate::db::access::bury_session(tx.conn, id, &row.project_id, tx.ctx.now, version)?;
    q::delete(tx.conn, id)?;
    let body = json!({"id": row.id, "project_id": row.project_id});
    tx.emit(
        "session_deleted",
        ("session", id),
        &body,
        &rooms(&row),
        false,
    )?;
    Ok(json!({"id": id}))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::SessionAccess;
    use crate::db::{access as aq, testing, DbConn};
    use crate::domain::collaborators::{CollaboratorCommand, Invite};
    use crate::domain::{apply_now, projects, Command, CommandCtx, Outcome};
    use diesel::Connection;
    use std::sync::Arc;

    fn run(conn: &mut DbConn, command: Command) -> Outcome {
        let ctx = CommandCtx {
            now: 1,
            ..CommandCtx::default()
        };
        conn.transaction(|c| apply_now(c, &ctx, &command)).unwrap()
    }

    fn patch(visibility: Option<Visibility>, title: Option<&str>) -> Command {
        Command::UpdateSession(Update {
            id: "s".into(),
            visibility,
            title: title.map(str::to_string),
            ..Update::default()
        })
    }

    /// The one session's facts a command sent out, and what a read sees after it.
    fn sent_and_read(conn: &mut DbConn, outcome: &Outcome) -> (Arc<SessionAccess>, SessionAccess) {
        assert_eq!(outcome.access.len(), 1, "{:?}", outcome.access);
        let read = crate::db::read_tx(conn, |c| aq::session_access(c, "s"))
            .unwrap()
            .unwrap();
        (outcome.access[0].clone(), read)
    }

    #[test]
    fn every_access_change_takes_the_next_version_and_reads_agree() {
        let (_dir, mut conn) = testing::sqlite();
        let project = projects::Create {
            id: "p".into(),
            name: "P".into(),
        };
        run(&mut conn, Command::CreateProject(project));
        let create = Create {
            project_id: "p".into(),
            id: Some("s".into()),
            ..Create::default()
        };
        let created = run(&mut conn, Command::CreateSession(create));
        let (sent, read) = sent_and_read(&mut conn, &created);
        assert_eq!((sent.version, &*sent), (1, &read));

        let add = CollaboratorCommand::Add(Invite {
            session_id: "s".into(),
            email: "v@x.io".into(),
            role: "viewer".into(),
        });
        let added = run(&mut conn, Command::Collaborators(add));
        let (sent, read) = sent_and_read(&mut conn, &added);
        assert_eq!((sent.version, &*sent), (2, &read));
        assert_eq!(sent.collaborators.len(), 1);

        let public = run(&mut conn, patch(Some(Visibility::Public), None));
        let (sent, read) = sent_and_read(&mut conn, &public);
        assert_eq!((sent.version, &*sent), (3, &read));
        assert!(sent.public);

        // A change that leaves access alone takes no version.
        let renamed = run(&mut conn, patch(None, Some("T")));
        assert!(renamed.access.is_empty());
        let read = aq::session_access(&mut conn, "s").unwrap().unwrap();
        assert_eq!(read.version, 3);

        // The deletion takes the next one; the tombstone keeps it.
        let deleted = run(&mut conn, Command::DeleteSession { id: "s".into() });
        let (sent, read) = sent_and_read(&mut conn, &deleted);
        assert_eq!((sent.version, sent.exists, sent.public), (4, false, true));
        assert_eq!(read, SessionAccess::gone("s", "p", 4));
        // A room that knows the deletion keeps it over the older facts.
        assert!(sent.supersedes(&public.access[0]));
        assert!(!public.access[0].supersedes(&sent));
    }
}
