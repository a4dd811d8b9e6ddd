//! A fresh PostgreSQL database per test: created on the server named by
//! `HERALD_TEST_POSTGRES_URL`, dropped (with its connections) on drop. A
//! database rather than a schema, because LISTEN/NOTIFY and advisory locks
//! are database-wide: tests sharing one database would see each other.
//!
//! Without the variable the tests are skipped locally (`create` answers
//! `None` after saying so), but fail under CI.

use diesel::connection::SimpleConnection;
use diesel::Connection;

/// A database of its own, dropped on drop.
pub struct PgDatabase {
    admin_url: String,
    name: String,
}

impl PgDatabase {
    /// Creates `herald_t_<uuid>`; `None` (skip) when no server is configured.
    pub fn create() -> Option<PgDatabase> {
        let admin_url = match std::env::var("HERALD_TEST_POSTGRES_URL") {
            Ok(url) => url,
            Err(_) if std::env::var_os("CI").is_some() => {
                panic!("HERALD_TEST_POSTGRES_URL must be set in CI")
            }
            Err(_) => {
                eprintln!("HERALD_TEST_POSTGRES_URL not set: skipping PostgreSQL test");
                return None;
            }
        };
        let name = format!("herald_t_{}", uuid::Uuid::new_v4().simple());
        let mut conn = diesel::PgConnection::establish(&admin_url).unwrap();
        conn.batch_execute(&format!("CREATE DATABASE {name}"))
            .unwrap();
        Some(PgDatabase { admin_url, name })
    }

    /// The URL of this database: the configured one with its database
    /// name replaced (user, host, port and parameters kept).
    pub fn url(&self) -> String {
        with_database(&self.admin_url, &self.name)
    }

    /// The database's name (`herald_t_<uuid>`), as `pg_stat_activity.datname` shows it.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// A direct connection, for checks the HTTP API does not show.
    pub fn connect(&self) -> diesel::PgConnection {
        diesel::PgConnection::establish(&self.url()).unwrap()
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        if let Ok(mut conn) = diesel::PgConnection::establish(&self.admin_url) {
            let _ = conn.batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ));
        }
    }
}

/// `postgres://user@host:port/db?params` with `db` replaced by `name`.
pub fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, format!("?{query}")),
        None => (url, String::new()),
    };
    let after_scheme = base.find("://").map_or(0, |i| i + 3);
    let host_end = base[after_scheme..]
        .find('/')
        .map_or(base.len(), |i| after_scheme + i);
    format!("{}/{name}{query}", &base[..host_end])
}
