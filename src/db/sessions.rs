//! SQL for sessions.

use super::models::{Session, SessionPatch};
use super::schema::sessions::dsl as s;
use super::DbConn;
use crate::types::SessionStatus;
use diesel::prelude::*;

/// Inserts a session.
pub fn insert(conn: &mut DbConn, row: &Session) -> QueryResult<()> {
    diesel::insert_into(s::sessions)
        .values(row)
        .execute(conn)
        .map(drop)
}

/// One session, if it exists.
pub fn find(conn: &mut DbConn, id: &str) -> QueryResult<Option<Session>> {
    s::sessions
        .find(id)
        .select(Session::as_select())
        .first(conn)
        .optional()
}

/// Sessions, oldest first, optionally of one project and/or one status.
pub fn list(
    conn: &mut DbConn,
    project_id: Option<&str>,
    status: Option<SessionStatus>,
) -> QueryResult<Vec<Session>> {
    let mut query = s::sessions.select(Session::as_select()).into_boxed();
    if let Some(project) = project_id {
        query = query.filter(s::project_id.eq(project.to_string()));
    }
    if let Some(status) = status {
        query = query.filter(s::status.eq(status));
    }
    query.order((s::created_at.asc(), s::id.asc())).load(conn)
}

/// Applies a patch; returns the updated row.
pub fn update(conn: &mut DbConn, id: &str, patch: &SessionPatch) -> QueryResult<Session> {
    diesel::update(s::sessions.find(id))
        .set(patch)
        .execute(conn)?;
    s::sessions
        .find(id)
        .select(Session::as_select())
        .first(conn)
}

/// Keeps the sessions' copy of their project's name in step.
pub fn rename_project(conn: &mut DbConn, project_id: &str, name: &str) -> QueryResult<usize> {
    diesel::update(s::sessions.filter(s::project_id.eq(project_id)))
        .set(s::project_name.eq(name))
        .execute(conn)
}

/// Deletes one session row.
pub fn delete(conn: &mut DbConn, id: &str) -> QueryResult<usize> {
    diesel::delete(s::sessions.find(id)).execute(conn)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::{models::Project, projects, testing};
    use crate::types::Visibility;

    fn session(id: &str, status: SessionStatus) -> Session {
        Session {
            id: id.into(),
            project_id: "p".into(),
            title: "t".into(),
            status,
            needs_attention: false,
            visibility: Visibility::Private,
            owner_id: None,
            tokens_input: 0,
            tokens_output: 0,
            tokens_total: 0,
            tokens_cache_read: 0,
            tokens_cache_creation: 0,
            created_at: 1,
            updated_at: 1,
            agent_id: None,
            model_id: None,
            project_name: "P".into(),
            access_version: 0,
        }
    }

    #[test]
    fn filters_and_patches() {
        let (_d, mut c) = testing::sqlite();
        let p = Project {
            id: "p".into(),
            name: "P".into(),
            created_at: 0,
            updated_at: 0,
        };
        projects::insert(&mut c, &p).unwrap();
        insert(&mut c, &session("a", SessionStatus::Active)).unwrap();
        insert(&mut c, &session("b", SessionStatus::Idle)).unwrap();
        assert_eq!(
            list(&mut c, Some("p"), Some(SessionStatus::Idle))
                .unwrap()
                .len(),
            1
        );
        assert_eq!(list(&mut c, Some("q"), None).unwrap().len(), 0);
        let patch = SessionPatch {
            status: Some(SessionStatus::Ended),
            updated_at: Some(9),
            ..Default::default()
        };
        let updated = update(&mut c, "a", &patch).unwrap();
        assert_eq!(
            (updated.status, updated.updated_at),
            (SessionStatus::Ended, 9)
        );
        assert_eq!(updated.title, "t");
    }
}
