//! The database layer: the connection type for both backends, the pool, the
//! embedded migrations, and one module of plain SQL functions per table group.
//!
//! Every function here is `fn(conn, …) -> QueryResult<T>`; none of them knows
//! about actors or HTTP. Only the persistence actor calls the writing ones.

pub mod access;
pub mod activity;
pub mod cluster;
pub mod events;
pub mod idempotency;
pub mod models;
pub mod projects;
pub mod schema;
pub mod sessions;
pub mod work;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::result::QueryResult;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// How long a pool checkout waits before the request is answered 503.
const CHECKOUT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a PostgreSQL connection waits on a lock before the server
/// checks for a deadlock (see [`DbManager::connect`]).
const DEADLOCK_TIMEOUT: &str = "SET deadlock_timeout = '100ms'";

pub use multi::DbConn;

mod multi {
    //! The two-backend connection. Its own module because the derive generates
    //! items (a `MultiBackend`, bind collectors) that cannot carry docs.

    /// A connection to either backend; diesel dispatches each query to the variant.
    #[derive(diesel::MultiConnection)]
    pub enum DbConn {
        /// The embedded default.
        Sqlite(diesel::SqliteConnection),
        /// For several herald nodes on one database.
        Pg(diesel::PgConnection),
    }
}

/// The read pool.
pub type Pool = r2d2::Pool<DbManager>;

/// Why a connection could not be made; carries the backend's own message.
#[derive(Debug)]
pub struct DbError(pub String);

impl fmt::Display for DbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for DbError {}

/// Which backend a `database.url` names.
#[derive(Debug, Clone, PartialEq)]
pub enum Backend {
    /// A SQLite file at this path.
    Sqlite(PathBuf),
    /// A PostgreSQL URL, passed to libpq as is.
    Postgres(String),
}

impl Backend {
    /// Reads the scheme: `sqlite://rel/path`, `sqlite:///abs/path`, `postgres://…`.
    pub fn from_url(url: &str) -> Result<Backend, DbError> {
        if let Some(path) = url.strip_prefix("sqlite://") {
            if path.is_empty() {
                return Err(DbError("sqlite:// URL names no file".into()));
            }
            Ok(Backend::Sqlite(PathBuf::from(path)))
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Backend::Postgres(url.to_string()))
        } else {
            Err(DbError(format!(
                "unsupported database URL scheme: {}",
                crate::config::mask_url_password(url)
            )))
        }
    }
}

/// An r2d2 manager that picks the backend from the URL and keeps the real
/// connection error (r2d2's own manager would only say "timed out").
#[derive(Debug, Clone)]
pub struct DbManager {
    backend: Backend,
    busy_timeout_ms: u64,
}

impl DbManager {
    /// A manager for `url`; for SQLite, creates the file's folder.
    pub fn new(url: &str, busy_timeout_ms: u64) -> Result<DbManager, DbError> {
        let backend = Backend::from_url(url)?;
        if let Backend::Sqlite(path) = &backend {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)
                    .map_err(|e| DbError(format!("cannot create {}: {e}", dir.display())))?;
            }
        }
        Ok(DbManager {
            backend,
            busy_timeout_ms,
        })
    }

    /// Opens one connection, set up for herald's use.
    pub fn connect(&self) -> Result<DbConn, DbError> {
        match &self.backend {
            Backend::Sqlite(path) => {
                let mut conn = diesel::SqliteConnection::establish(&path.to_string_lossy())
                    .map_err(|e| DbError(format!("sqlite {}: {e}", path.display())))?;
                // busy_timeout first: switching to WAL itself may meet a lock.
                // A checkpoint (with its fsync) runs inside the commit that
                // crosses the threshold: every 10,000 pages (40 MB of log)
                // rather than SQLite's 1,000, so the writer stalls ten times
                // less often (docs/BENCHMARKS.md).
                conn.batch_execute(&format!(
                    "PRAGMA busy_timeout = {}; PRAGMA journal_mode = WAL; \
                     PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; \
                     PRAGMA wal_autocheckpoint = 10000;",
                    self.busy_timeout_ms
                ))
                .map_err(|e| DbError(format!("sqlite {}: {e}", path.display())))?;
                Ok(DbConn::Sqlite(conn))
            }
            Backend::Postgres(url) => {
                let mut conn = diesel::PgConnection::establish(url).map_err(|e| {
                    DbError(format!(
                        "postgres: {}",
                        crate::config::mask_url_password(&e.to_string())
                    ))
                })?;
                // Two nodes' groups can still wait for each other's resource
                // locks in a cycle; PostgreSQL breaks it after
                // `deadlock_timeout` (1 s by default), and the victim runs
                // again in the next group. Ask for a short wait; a role that
                // may not set it (superuser only) keeps the server's.
                if let Err(err) = conn.batch_execute(DEADLOCK_TIMEOUT) {
                    log::debug!("postgres: cannot shorten deadlock_timeout: {err}");
                }
                Ok(DbConn::Pg(conn))
            }
        }
    }

    /// The backend this manager connects to.
    pub fn backend(&self) -> &Backend {
        &self.backend
    }
}

impl r2d2::ManageConnection for DbManager {
    type Connection = DbConn;
    type Error = DbError;

    fn connect(&self) -> Result<DbConn, DbError> {
        DbManager::connect(self)
    }

    fn is_valid(&self, conn: &mut DbConn) -> Result<(), DbError> {
        conn.batch_execute("SELECT 1")
            .map_err(|e| DbError(e.to_string()))
    }

    fn has_broken(&self, _conn: &mut DbConn) -> bool {
        false
    }
}

/// Builds the read pool. Connections are made lazily, so a database that is
/// down at start-up is reported by [`migrate`] rather than hidden here. Each
/// checkout is tested (`SELECT 1`), so a connection the server dropped is
/// replaced instead of failing a request.
pub fn pool(manager: DbManager, size: u32) -> Pool {
    r2d2::Pool::builder()
        .max_size(size)
        .min_idle(Some(0))
        .connection_timeout(CHECKOUT_TIMEOUT)
        .test_on_check_out(true)
        .build_unchecked(manager)
}

/// The advisory lock PostgreSQL migrations run under, in the two-key form
/// (which never meets the one-key locks of [`lock`]): herald's namespace
/// ("hera" in ASCII), then 1 for migrations.
const MIGRATION_LOCK: &str = "1751478881, 1";

/// Runs the pending migrations of the connection's backend. On PostgreSQL
/// they run under a session-level advisory lock held on this connection:
/// nodes started together on an empty database wait for the first, then
/// find nothing left to do (creating the same tables at once fails on
/// PostgreSQL's catalog, even for the migrations table itself).
pub fn migrate(conn: &mut DbConn) -> Result<Vec<String>, DbError> {
    fn names(applied: Vec<diesel::migration::MigrationVersion<'_>>) -> Vec<String> {
        applied.iter().map(|v| v.to_string()).collect()
    }
    let failed = |e| DbError(format!("migration failed: {e}"));
    match conn {
        DbConn::Sqlite(c) => c
            .run_pending_migrations(SQLITE_MIGRATIONS)
            .map(names)
            .map_err(failed),
        DbConn::Pg(c) => {
            c.batch_execute(&format!("SELECT pg_advisory_lock({MIGRATION_LOCK})"))
                .map_err(|e| DbError(format!("migration lock: {e}")))?;
            let applied = c
                .run_pending_migrations(POSTGRES_MIGRATIONS)
                .map(names)
                .map_err(failed);
            // Also after a failure: the next node may try. (A lost
            // connection releases it anyway.)
            let unlocked = c
                .batch_execute(&format!("SELECT pg_advisory_unlock({MIGRATION_LOCK})"))
                .map_err(|e| DbError(format!("migration unlock: {e}")));
            let applied = applied?;
            unlocked?;
            Ok(applied)
        }
    }
}

/// Serialises the writers of one resource until the end of the transaction:
/// a write that checks whether something exists and then creates or changes
/// it takes the resource's lock first, so on PostgreSQL a writer on another
/// node that wants the same resource waits for this commit and then sees it
/// (READ COMMITTED), exactly as if it had come second on one node. Keys are
/// names (`session:s1`), hashed to a transaction-level advisory lock; a
/// hash collision only makes two writers wait for each other. SQLite has one
/// writer (one node per file, and SQLite's own write lock): nothing to do.
pub fn lock(conn: &mut DbConn, key: &str) -> QueryResult<()> {
    match conn {
        DbConn::Sqlite(_) => Ok(()),
        DbConn::Pg(pg) => {
            diesel::sql_query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
                .bind::<diesel::sql_types::Text, _>(key)
                .execute(pg)
                .map(drop)
        }
    }
}

/// A SQLite database held by this server: an exclusive lock on the file
/// `<database>-lock` beside it, released when this is dropped (or the
/// process ends, however it ends). The sidecar file is left in place:
/// removing it would let a second server lock a new file while the first
/// still holds the old one.
#[derive(Debug)]
pub struct ServeLock {
    _file: std::fs::File,
}

/// SQLite serves one node: takes the database's [`ServeLock`], or fails
/// naming the database file when another server holds it. Only `serve`
/// takes it; `migrate` and `users add` work beside a running server (SQLite
/// itself serialises their writes). `None` for PostgreSQL, which any
/// number of nodes share.
pub fn lock_for_serving(backend: &Backend) -> Result<Option<ServeLock>, DbError> {
    use std::io::{Read, Seek, Write};
    let Backend::Sqlite(path) = backend else {
        return Ok(None);
    };
    let mut name = path.as_os_str().to_owned();
    name.push("-lock");
    let lock_path = PathBuf::from(name);
    let cannot = |e: std::io::Error| DbError(format!("cannot lock {}: {e}", lock_path.display()));
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| DbError(format!("cannot create {}: {e}", dir.display())))?;
    }
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&lock_path)
        .map_err(cannot)?;
    match file.try_lock() {
        Ok(()) => {
            // For the operator: who holds it.
            file.set_len(0).map_err(cannot)?;
            file.rewind().map_err(cannot)?;
            writeln!(file, "{}", std::process::id()).map_err(cannot)?;
            Ok(Some(ServeLock { _file: file }))
        }
        Err(std::fs::TryLockError::WouldBlock) => {
            let mut holder = String::new();
            let _ = file.read_to_string(&mut holder);
            Err(DbError(format!(
                "database file {} is in use by another herald server (pid {}, lock {}); \
                 SQLite serves one node, use PostgreSQL for several",
                path.display(),
                holder.trim(),
                lock_path.display()
            )))
        }
        Err(std::fs::TryLockError::Error(e)) => Err(cannot(e)),
    }
}

/// Runs `f` in a read transaction that sees one consistent snapshot: SQLite's
/// deferred transaction does; PostgreSQL needs REPEATABLE READ for it.
pub fn read_tx<T>(
    conn: &mut DbConn,
    f: impl FnOnce(&mut DbConn) -> QueryResult<T>,
) -> QueryResult<T> {
    conn.transaction(|c| {
        if let DbConn::Pg(pg) = c {
            pg.batch_execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")?;
        }
        f(c)
    })
}

#[cfg(test)]
pub(crate) mod testing {
    use super::*;

    /// A migrated SQLite database in a temporary folder, for unit tests.
    pub fn sqlite() -> (tempfile::TempDir, DbConn) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        let mut conn = DbManager::new(&url, 1000).unwrap().connect().unwrap();
        migrate(&mut conn).unwrap();
        (dir, conn)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_pick_the_backend() {
        assert_eq!(
            Backend::from_url("sqlite://data/h.db").unwrap(),
            Backend::Sqlite(PathBuf::from("data/h.db"))
        );
        assert_eq!(
            Backend::from_url("sqlite:///tmp/h.db").unwrap(),
            Backend::Sqlite(PathBuf::from("/tmp/h.db"))
        );
        assert!(matches!(
            Backend::from_url("postgres://u@h/db").unwrap(),
            Backend::Postgres(_)
        ));
        assert!(Backend::from_url("mysql://x").is_err());
        assert!(Backend::from_url("sqlite://").is_err());
    }

    #[test]
    fn migrations_apply_once() {
        let (_dir, mut conn) = testing::sqlite();
        assert!(migrate(&mut conn).unwrap().is_empty());
    }
}

#[cfg(test)]
mod query_plans;
