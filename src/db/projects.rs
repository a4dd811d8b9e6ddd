//! SQL for projects.

use super::models::Project;
use super::schema::projects::dsl as p;
use super::DbConn;
use diesel::prelude::*;

/// Inserts a project.
pub fn insert(conn: &mut DbConn, row: &Project) -> QueryResult<()> {
    diesel::insert_into(p::projects)
        .values((
            p::id.eq(&row.id),
            p::name.eq(&row.name),
            p::created_at.eq(row.created_at),
            p::updated_at.eq(row.updated_at),
        ))
        .execute(conn)
        .map(drop)
}

/// One project, if it exists.
pub fn find(conn: &mut DbConn, id: &str) -> QueryResult<Option<Project>> {
    p::projects
        .find(id)
        .select(Project::as_select())
        .first(conn)
        .optional()
}

/// The first project with this name (oldest first), if any.
pub fn find_by_name(conn: &mut DbConn, name: &str) -> QueryResult<Option<Project>> {
    p::projects
        .filter(p::name.eq(name))
        .order((p::created_at.asc(), p::id.asc()))
        .select(Project::as_select())
        .first(conn)
        .optional()
}

/// All projects, oldest first.
pub fn list(conn: &mut DbConn) -> QueryResult<Vec<Project>> {
    p::projects
        .order((p::created_at.asc(), p::id.asc()))
        .select(Project::as_select())
        .load(conn)
}

/// Renames a project; returns the updated row.
pub fn rename(conn: &mut DbConn, id: &str, name: &str, now: i64) -> QueryResult<Project> {
    diesel::update(p::projects.find(id))
        .set((p::name.eq(name), p::updated_at.eq(now)))
        .execute(conn)?;
    p::projects
        .find(id)
        .select(Project::as_select())
        .first(conn)
}

/// Deletes a project row (its sessions must be gone first).
pub fn delete(conn: &mut DbConn, id: &str) -> QueryResult<usize> {
    diesel::delete(p::projects.find(id)).execute(conn)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::testing;

    #[test]
    fn insert_find_rename_delete() {
        let (_d, mut c) = testing::sqlite();
        let row = Project {
            id: "p1".into(),
            name: "One".into(),
            created_at: 1,
            updated_at: 1,
        };
        insert(&mut c, &row).unwrap();
        assert_eq!(find(&mut c, "p1").unwrap(), Some(row.clone()));
        assert_eq!(find_by_name(&mut c, "One").unwrap(), Some(row));
        assert_eq!(rename(&mut c, "p1", "Two", 5).unwrap().name, "Two");
        assert_eq!(list(&mut c).unwrap().len(), 1);
        assert_eq!(delete(&mut c, "p1").unwrap(), 1);
        assert_eq!(find(&mut c, "p1").unwrap(), None);
    }
}
