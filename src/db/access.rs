//! SQL for identity and access: users (tokens stored only as hashes),
//! collaborators of sessions, and the access facts of a session or of every
//! session of a project, as the rules in [`crate::access`] need them.

use super::schema::sessions::dsl as s;
use super::schema::{collaborators, users, users::dsl as u};
use super::schema::{collaborators::dsl as c, deleted_sessions::dsl as ds};
use super::DbConn;
use crate::access::{Role, SessionAccess};
use crate::types::Visibility;
use diesel::prelude::*;
use std::collections::HashMap;

/// A user row; on the wire (`GET /api/me`, `POST /api/users`) without its
/// token hash and creation time.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, serde::Serialize)]
#[diesel(table_name = users)]
pub struct User {
    /// Primary key (a UUID).
    pub id: String,
    /// Unique, lower case.
    pub email: String,
    /// Display name.
    pub name: Option<String>,
    /// May do anything.
    pub admin: bool,
    /// SHA-256 of the token, hex. Never on the wire.
    #[serde(skip)]
    pub token_hash: String,
    /// Unix milliseconds.
    #[serde(skip)]
    pub created_at: i64,
}

/// A collaborator row (on the wire with its user:
/// `domain::collaborators::Collaborator`).
#[derive(Debug, Clone, PartialEq, Queryable, Selectable)]
#[diesel(table_name = collaborators)]
pub struct Collaborator {
    /// Integer id, the same in REST and on the wire.
    pub id: i64,
    /// The session shared.
    pub session_id: String,
    /// Lower case; matched to users by email.
    pub email: String,
    /// `owner` | `editor` | `viewer`.
    pub role: Role,
    /// `invited` | `accepted`.
    pub status: String,
    /// Unix milliseconds.
    pub created_at: i64,
    /// Unix milliseconds, once accepted.
    pub accepted_at: Option<i64>,
}

/// Inserts a user.
pub fn insert_user(conn: &mut DbConn, user: &User) -> QueryResult<()> {
    diesel::insert_into(u::users)
        .values(user)
        .execute(conn)
        .map(drop)
}

/// The user holding a token, by the token's hash.
pub fn user_by_token(conn: &mut DbConn, token_hash: &str) -> QueryResult<Option<User>> {
    u::users
        .filter(u::token_hash.eq(token_hash))
        .select(User::as_select())
        .first(conn)
        .optional()
}

/// The user with an id.
pub fn user(conn: &mut DbConn, id: &str) -> QueryResult<Option<User>> {
    u::users
        .find(id)
        .select(User::as_select())
        .first(conn)
        .optional()
}

/// Removes a user (its collaborator rows stay: they name an email, which a
/// future user may hold).
pub fn delete_user(conn: &mut DbConn, id: &str) -> QueryResult<()> {
    diesel::delete(u::users.find(id)).execute(conn).map(drop)
}

/// Gives a user a new token hash.
pub fn set_token(conn: &mut DbConn, id: &str, token_hash: &str) -> QueryResult<()> {
    diesel::update(u::users.find(id))
        .set(u::token_hash.eq(token_hash))
        .execute(conn)
        .map(drop)
}

/// The user with an email.
pub fn user_by_email(conn: &mut DbConn, email: &str) -> QueryResult<Option<User>> {
    u::users
        .filter(u::email.eq(email))
        .select(User::as_select())
        .first(conn)
        .optional()
}

/// A session's collaborators, oldest first, each with its user if one has that email.
pub fn collaborators(
    conn: &mut DbConn,
    session_id: &str,
) -> QueryResult<Vec<(Collaborator, Option<User>)>> {
    c::collaborators
        .left_join(u::users.on(u::email.eq(c::email)))
        .filter(c::session_id.eq(session_id))
        .order(c::id.asc())
        .select((Collaborator::as_select(), Option::<User>::as_select()))
        .load(conn)
}

/// One collaborator of a session.
pub fn collaborator(
    conn: &mut DbConn,
    session_id: &str,
    id: i64,
) -> QueryResult<Option<Collaborator>> {
    c::collaborators
        .filter(c::session_id.eq(session_id))
        .filter(c::id.eq(id))
        .select(Collaborator::as_select())
        .first(conn)
        .optional()
}

/// Adds a collaborator; returns the row.
pub fn insert_collaborator(
    conn: &mut DbConn,
    session_id: &str,
    email: &str,
    role: Role,
    now: i64,
) -> QueryResult<Collaborator> {
    let id: i64 = diesel::insert_into(c::collaborators)
        .values((
            c::session_id.eq(session_id),
            c::email.eq(email),
            c::role.eq(role),
            c::status.eq("invited"),
            c::created_at.eq(now),
        ))
        .returning(c::id)
        .get_result(conn)?;
    by_id(conn, id)
}

fn by_id(conn: &mut DbConn, id: i64) -> QueryResult<Collaborator> {
    c::collaborators
        .find(id)
        .select(Collaborator::as_select())
        .first(conn)
}

/// Sets a collaborator's role and status; returns the row.
pub fn update_collaborator(
    conn: &mut DbConn,
    id: i64,
    role: Role,
    status: &str,
    accepted_at: Option<i64>,
) -> QueryResult<Collaborator> {
    diesel::update(c::collaborators.find(id))
        .set((
            c::role.eq(role),
            c::status.eq(status),
            c::accepted_at.eq(accepted_at),
        ))
        .execute(conn)?;
    by_id(conn, id)
}

/// Removes one collaborator.
pub fn delete_collaborator(conn: &mut DbConn, id: i64) -> QueryResult<()> {
    diesel::delete(c::collaborators.find(id))
        .execute(conn)
        .map(drop)
}

/// Removes every collaborator of a session (before the session goes).
pub fn delete_collaborators_of(conn: &mut DbConn, session_id: &str) -> QueryResult<()> {
    diesel::delete(c::collaborators.filter(c::session_id.eq(session_id)))
        .execute(conn)
        .map(drop)
}

/// Takes the session's next access version: called, under the session's
/// row lock (the update takes it), in the transaction of every change of who
/// may read it. Writers of one session therefore take versions in the order
/// they commit, also on several nodes, and facts read in any transaction
/// carry the version of the last change they include. `None` if the session
/// does not exist.
pub fn bump_access(conn: &mut DbConn, id: &str) -> QueryResult<Option<i64>> {
    diesel::update(s::sessions.find(id))
        .set(s::access_version.eq(s::access_version + 1))
        .returning(s::access_version)
        .get_result(conn)
        .optional()
}

type SessionFacts = (String, String, Option<String>, Visibility, i64);

/// The columns of [`SessionFacts`].
const FACTS: (
    s::id,
    s::project_id,
    s::owner_id,
    s::visibility,
    s::access_version,
) = (
    s::id,
    s::project_id,
    s::owner_id,
    s::visibility,
    s::access_version,
);

fn facts(conn: &mut DbConn, sessions: Vec<SessionFacts>) -> QueryResult<Vec<SessionAccess>> {
    let ids: Vec<&str> = sessions.iter().map(|f| f.0.as_str()).collect();
    // A role herald does not know fails the read: dropping it would
    // silently revoke that collaborator.
    let rows: Vec<(String, String, Role)> = c::collaborators
        .filter(c::session_id.eq_any(&ids))
        .select((c::session_id, c::email, c::role))
        .load(conn)?;
    let mut by_session: HashMap<String, Vec<(String, Role)>> = HashMap::new();
    for (session, email, role) in rows {
        by_session.entry(session).or_default().push((email, role));
    }
    Ok(sessions
        .into_iter()
        .map(
            |(id, project_id, owner_id, visibility, version)| SessionAccess {
                collaborators: by_session.remove(&id).unwrap_or_default(),
                session_id: id,
                project_id,
                owner_id,
                public: visibility == Visibility::Public,
                exists: true,
                version,
            },
        )
        .collect())
}

/// The access facts of one session, as of its last access change; `None` if
/// it never existed. A deleted session has facts that only admins pass
/// (`exists: false`, private, no owner, no collaborators), with the version
/// its deletion took: its history stays theirs.
pub fn session_access(conn: &mut DbConn, id: &str) -> QueryResult<Option<SessionAccess>> {
    let found: Vec<SessionFacts> = s::sessions.filter(s::id.eq(id)).select(FACTS).load(conn)?;
    if let Some(access) = facts(conn, found)?.pop() {
        return Ok(Some(access));
    }
    let deleted: Option<(String, i64)> = ds::deleted_sessions
        .find(id)
        .select((ds::project_id, ds::access_version))
        .first(conn)
        .optional()?;
    Ok(deleted.map(|(project_id, version)| SessionAccess::gone(id, &project_id, version)))
}

/// Records a deleted session, with the access version its deletion took:
/// its id is not used again.
pub fn bury_session(
    conn: &mut DbConn,
    id: &str,
    project_id: &str,
    now: i64,
    version: i64,
) -> QueryResult<()> {
    diesel::insert_into(ds::deleted_sessions)
        .values((
            ds::id.eq(id),
            ds::project_id.eq(project_id),
            ds::deleted_at.eq(now),
            ds::access_version.eq(version),
        ))
        .execute(conn)
        .map(drop)
}

/// Whether a session with this id was deleted.
pub fn was_deleted(conn: &mut DbConn, id: &str) -> QueryResult<bool> {
    Ok(ds::deleted_sessions
        .find(id)
        .select(ds::id)
        .first::<String>(conn)
        .optional()?
        .is_some())
}

/// The access facts of sessions already read, in one query for their collaborators.
pub fn access_of(
    conn: &mut DbConn,
    sessions: &[crate::db::models::Session],
) -> QueryResult<Vec<SessionAccess>> {
    let found = sessions
        .iter()
        .map(|s| {
            (
                s.id.clone(),
                s.project_id.clone(),
                s.owner_id.clone(),
                s.visibility,
                s.access_version,
            )
        })
        .collect();
    facts(conn, found)
}

/// The access facts of every session of a project.
pub fn project_access(conn: &mut DbConn, project_id: &str) -> QueryResult<Vec<SessionAccess>> {
    let found: Vec<SessionFacts> = s::sessions
        .filter(s::project_id.eq(project_id))
        .select(FACTS)
        .load(conn)?;
    facts(conn, found)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::testing::sqlite;

    #[test]
    fn access_facts_follow_collaborators() {
        let (_dir, mut conn) = sqlite();
        // SQLite runs one statement per call.
        for sql in [
            "INSERT INTO projects VALUES ('p', 'p', 0, 0)",
            "INSERT INTO sessions (id, project_id, title, status, visibility, owner_id,
               created_at, updated_at, project_name)
             VALUES ('s', 'p', 't', 'active', 'private', 'u1', 0, 0, 'p')",
        ] {
            diesel::sql_query(sql).execute(&mut conn).unwrap();
        }
        let added = insert_collaborator(&mut conn, "s", "v@x.io", Role::Viewer, 5).unwrap();
        assert_eq!(added.status, "invited");
        assert_eq!(bump_access(&mut conn, "s").unwrap(), Some(1));
        let access = session_access(&mut conn, "s").unwrap().unwrap();
        assert_eq!(access.owner_id.as_deref(), Some("u1"));
        assert_eq!(access.collaborators, vec![("v@x.io".into(), Role::Viewer)]);
        assert_eq!(access.version, 1);
        assert!(!access.public);
        assert_eq!(project_access(&mut conn, "p").unwrap(), vec![access]);
        delete_collaborator(&mut conn, added.id).unwrap();
        assert_eq!(bump_access(&mut conn, "s").unwrap(), Some(2));
        let access = session_access(&mut conn, "s").unwrap().unwrap();
        assert!(access.collaborators.is_empty());
        assert_eq!(access.version, 2);
        assert!(session_access(&mut conn, "nope").unwrap().is_none());
        assert_eq!(bump_access(&mut conn, "nope").unwrap(), None);
    }

    #[test]
    fn a_stored_role_herald_does_not_know_fails_the_read_instead_of_revoking() {
        let (_dir, mut conn) = sqlite();
        for sql in [
            "INSERT INTO projects VALUES ('p', 'p', 0, 0)",
            "INSERT INTO sessions (id, project_id, title, status, visibility, owner_id,
               created_at, updated_at, project_name)
             VALUES ('s', 'p', 't', 'active', 'private', 'u1', 0, 0, 'p')",
            "INSERT INTO collaborators (session_id, email, role, status, created_at)
             VALUES ('s', 'v@x.io', 'superuser', 'invited', 0)",
        ] {
            diesel::sql_query(sql).execute(&mut conn).unwrap();
        }
        let read = session_access(&mut conn, "s");
        assert!(read.is_err(), "the unknown role was dropped: {read:?}");
    }
}
