//! SQL for idempotent writes: the stored first answer of each keyed write,
//! by caller and key.

use super::schema::idempotency_keys::dsl as k;
use super::DbConn;
use diesel::prelude::*;

/// One keyed write and its first answer.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Insertable)]
#[diesel(table_name = super::schema::idempotency_keys)]
pub struct StoredAnswer {
    /// Whose key it is (a user id, or `admin`).
    pub caller: String,
    /// The `Idempotency-Key`.
    pub key: String,
    /// The request's method.
    pub method: String,
    /// The request's path (with its query).
    pub path: String,
    /// SHA-256 of the request body, hex.
    pub body_hash: String,
    /// The answer was 201 (else 200).
    pub created: bool,
    /// The answer's JSON body.
    pub response: String,
    /// When it was written, unix ms.
    pub created_at: i64,
}

/// The stored answer for `caller`'s `key` written at or after `since`.
pub fn find(
    conn: &mut DbConn,
    caller: &str,
    key: &str,
    since: i64,
) -> QueryResult<Option<StoredAnswer>> {
    k::idempotency_keys
        .find((caller, key))
        .filter(k::created_at.ge(since))
        .select((
            k::caller,
            k::key,
            k::method,
            k::path,
            k::body_hash,
            k::created,
            k::response,
            k::created_at,
        ))
        .first(conn)
        .optional()
}

/// Stores a first answer. Fails with a unique violation when another writer
/// (another node) stored one for the same key first.
pub fn insert(conn: &mut DbConn, answer: &StoredAnswer) -> QueryResult<()> {
    diesel::insert_into(k::idempotency_keys)
        .values(answer)
        .execute(conn)?;
    Ok(())
}

/// Fills in the answer of a keyed write stored with an empty response
/// (the write's events get their seqs only at the end of its group).
pub fn set_answer(
    conn: &mut DbConn,
    caller: &str,
    key: &str,
    created: bool,
    response: &str,
) -> QueryResult<()> {
    diesel::update(k::idempotency_keys.find((caller, key)))
        .set((k::created.eq(created), k::response.eq(response)))
        .execute(conn)?;
    Ok(())
}

/// Forgets answers written before `before` (all keys, or only `caller`'s
/// `key`). Returns how many.
pub fn expire(conn: &mut DbConn, before: i64, only: Option<(&str, &str)>) -> QueryResult<usize> {
    match only {
        Some((caller, key)) => diesel::delete(
            k::idempotency_keys
                .find((caller, key))
                .filter(k::created_at.lt(before)),
        )
        .execute(conn),
        None => diesel::delete(k::idempotency_keys.filter(k::created_at.lt(before))).execute(conn),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::testing;

    fn answer(at: i64) -> StoredAnswer {
        StoredAnswer {
            caller: "u1".into(),
            key: "k1".into(),
            method: "POST".into(),
            path: "/api/rooms/r/events".into(),
            body_hash: "ab".into(),
            created: true,
            response: "{}".into(),
            created_at: at,
        }
    }

    #[test]
    fn answers_are_found_until_they_expire() {
        let (_d, mut c) = testing::sqlite();
        insert(&mut c, &answer(100)).unwrap();
        assert_eq!(find(&mut c, "u1", "k1", 50).unwrap(), Some(answer(100)));
        assert_eq!(find(&mut c, "u2", "k1", 50).unwrap(), None);
        assert_eq!(find(&mut c, "u1", "k1", 101).unwrap(), None);
        assert!(insert(&mut c, &answer(200)).is_err(), "one answer per key");
        assert_eq!(expire(&mut c, 101, Some(("u1", "k1"))).unwrap(), 1);
        insert(&mut c, &answer(200)).unwrap();
        assert_eq!(expire(&mut c, 150, None).unwrap(), 0);
        assert_eq!(expire(&mut c, 300, None).unwrap(), 1);
    }
}
