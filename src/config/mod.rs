//! Settings: one documented struct per config section, their built-in defaults,
//! the layering (built-in → `config/default.toml` → `--config FILE` →
//! `HERALD__SECTION__KEY`), and validation. Every error names the key path.
//!
//! This module owns parsing and checking; it does not act on the settings.
//! The structs and their defaults are here; `load` reads and layers the
//! sources, `validate` checks what parses but makes no sense.

use serde::{Deserialize, Serialize};
use std::fmt;

mod load;
#[cfg(test)]
mod tests;
mod validate;

pub use load::mask_url_password;

/// The file the operator edits; read from the working directory when present.
pub const DEFAULT_CONFIG_FILE: &str = "config/default.toml";
/// Prefix of environment overrides: `HERALD__WS__BATCH_WINDOW_MS=0`.
pub const ENV_PREFIX: &str = "HERALD__";
/// What stands in for a secret wherever settings are printed or logged.
pub const MASK: &str = "***";
/// Shortest `auth.admin_token` accepted when auth is required.
pub const MIN_ADMIN_TOKEN_CHARS: usize = 16;

/// All of herald's settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    /// HTTP listener.
    pub server: ServerSettings,
    /// Database connection.
    pub database: DatabaseSettings,
    /// WebSocket transport.
    pub ws: WsSettings,
    /// Event log.
    pub events: EventsSettings,
    /// Authentication.
    pub auth: AuthSettings,
    /// Several nodes on one PostgreSQL database.
    pub cluster: ClusterSettings,
    /// HTTP API behaviour.
    pub http: HttpSettings,
    /// `GET /metrics`.
    pub metrics: MetricsSettings,
    /// Log lines.
    pub log: LogSettings,
}

/// `[server]`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerSettings {
    /// Address to listen on; loopback by default so a fresh install is not exposed.
    pub bind: String,
    /// Largest accepted request body; larger bodies get 413.
    pub max_body_bytes: usize,
    /// HTTP worker threads; 0 means one per core.
    pub workers: usize,
    /// How long a graceful shutdown waits for in-flight requests.
    pub shutdown_timeout_ms: u64,
    /// Origins (`scheme://host[:port]`, exact) besides herald's own whose
    /// browser requests are served; `"*"` allows any. Others get 403.
    pub allowed_origins: Vec<String>,
    /// With `auth.required = false`, `Host` names (`name` for any port, or
    /// `name:port`) served besides the loopback ones; `"*"` allows any.
    pub allowed_hosts: Vec<String>,
    /// WebSocket plus Socket.IO clients at once; one more gets 429.
    pub max_connections: usize,
    /// WebSocket plus Socket.IO clients from one peer address; one more gets 429.
    pub max_connections_per_ip: usize,
}

impl Default for ServerSettings {
    fn default() -> Self {
        ServerSettings {
            bind: "127.0.0.1:8080".into(),
            max_body_bytes: 1024 * 1024,
            workers: 0,
            shutdown_timeout_ms: 10_000,
            allowed_origins: Vec::new(),
            allowed_hosts: Vec::new(),
            max_connections: 100_000,
            max_connections_per_ip: 1_000,
        }
    }
}

/// `[database]`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseSettings {
    /// `sqlite://relative/path.db`, `sqlite:///absolute/path.db` or `postgres://…`.
    pub url: String,
    /// Connections in the read pool (the writer holds one more of its own).
    pub pool_size: u32,
    /// How long a connection waits for a locked database before failing.
    pub busy_timeout_ms: u64,
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        DatabaseSettings {
            url: "sqlite://data/herald.db".into(),
            pool_size: 8,
            busy_timeout_ms: 5_000,
        }
    }
}

/// `[ws]`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WsSettings {
    /// Interval of the `heartbeat` event and the protocol ping, every dialect.
    pub heartbeat_interval_ms: u64,
    /// A client silent for this long is dropped; any frame counts as alive.
    pub client_timeout_ms: u64,
    /// Window that gathers events into one `batch-update`; 0 sends each at once.
    pub batch_window_ms: u64,
    /// Largest frame a client may send; larger closes with 1009.
    pub max_frame_bytes: usize,
    /// Rooms one connection may join; one more gets `too_many_rooms`.
    pub max_rooms_per_connection: usize,
    /// Bytes queued for one socket before it is closed with 4008.
    pub outbound_buffer_bytes: usize,
    /// Client messages one connection may send per second (a burst of as many
    /// is allowed); past it they are answered `rate_limited`. 0 = no limit.
    pub max_messages_per_second: u32,
    /// An Engine.IO session that has not sent its Socket.IO CONNECT this
    /// long after the handshake is closed.
    pub connect_timeout_ms: u64,
}

impl Default for WsSettings {
    fn default() -> Self {
        WsSettings {
            heartbeat_interval_ms: 30_000,
            client_timeout_ms: 60_000,
            batch_window_ms: 200,
            max_frame_bytes: 64 * 1024,
            max_rooms_per_connection: 100,
            outbound_buffer_bytes: 1024 * 1024,
            max_messages_per_second: 200,
            connect_timeout_ms: 10_000,
        }
    }
}

/// `[events]`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EventsSettings {
    /// Deliveries kept per room for replay; 0 keeps all. Events stay in the audit trail.
    pub retention_per_room: u64,
    /// Largest event payload (its JSON text) on any route; larger is 422.
    pub max_payload_bytes: usize,
}

impl Default for EventsSettings {
    fn default() -> Self {
        EventsSettings {
            retention_per_room: 0,
            max_payload_bytes: 256 * 1024,
        }
    }
}

/// `[auth]`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthSettings {
    /// When false every caller is a local admin; only allowed on a loopback bind.
    pub required: bool,
    /// A token that is always admin; unset by default.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub admin_token: Option<String>,
    /// Writes one token may make per second (a burst of as many is allowed);
    /// past it they are answered 429 `rate_limited`. 0 = no limit. Applies
    /// only when `required` is true (without auth there are no tokens).
    pub max_writes_per_second: u32,
}

impl Default for AuthSettings {
    fn default() -> Self {
        AuthSettings {
            required: false,
            admin_token: None,
            max_writes_per_second: 200,
        }
    }
}

/// `[http]`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpSettings {
    /// How long the first answer of a write with an `Idempotency-Key` is
    /// kept, in seconds; a repeat within it gets that answer again.
    pub idempotency_ttl_s: u64,
}

impl Default for HttpSettings {
    fn default() -> Self {
        HttpSettings {
            idempotency_ttl_s: 86_400,
        }
    }
}

/// `[metrics]`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsSettings {
    /// A bearer token that may read `/metrics` (besides admins) when auth is
    /// required, so a scraper needs no admin token; unset by default.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

/// `[log]`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct LogSettings {
    /// `text` (human lines) or `json` (one object per line, for shippers).
    pub format: LogFormat,
    /// One `info` line per HTTP request (target `herald::access`).
    pub access: bool,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// `[timestamp LEVEL target] message key=value…`
    #[default]
    Text,
    /// `{"timestamp","level","target","message",…fields}` per line.
    Json,
}

/// `[cluster]` (PostgreSQL only; a SQLite database is one node).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClusterSettings {
    /// This node's id in the `nodes` table and `/api/stats`; empty means
    /// one generated at start.
    pub node_id: String,
    /// How often the node writes its row in `nodes` (its connection count
    /// and the time it was last seen).
    pub heartbeat_ms: u64,
    /// A node not seen for this long is gone; a node that lost its listener
    /// or the database this long catches up every live room before it
    /// delivers again.
    pub node_timeout_ms: u64,
    /// How often the node compares the heads of its live rooms with the log
    /// and delivers what a lost notification would have hidden.
    pub reconcile_ms: u64,
    /// The URL the listener connects with; empty means `database.url`. Set
    /// it when `database.url` goes through a pooler that does not keep a
    /// session per client (PgBouncer in transaction mode), where LISTEN
    /// does not work.
    pub listen_url: String,
}

impl Default for ClusterSettings {
    fn default() -> Self {
        ClusterSettings {
            node_id: String::new(),
            heartbeat_ms: 1000,
            node_timeout_ms: 10_000,
            reconcile_ms: 1000,
            listen_url: String::new(),
        }
    }
}

/// A configuration problem, naming the key it is about.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigError {
    /// Dotted key path (`ws.batch_window_ms`), or the file for syntax errors.
    pub key: String,
    /// What is wrong with it.
    pub message: String,
}

impl ConfigError {
    pub(crate) fn new(key: impl Into<String>, message: impl Into<String>) -> Self {
        ConfigError {
            key: key.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "config key `{}`: {}", self.key, self.message)
    }
}

impl std::error::Error for ConfigError {}
