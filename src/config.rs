//! Settings: one documented struct per config section, their built-in defaults,
//! the layering (built-in → `config/default.toml` → `--config FILE` →
//! `HERALD__SECTION__KEY`), and validation. Every error names the key path.
//!
//! This module owns parsing and checking; it does not act on the settings.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::net::SocketAddr;
use std::path::Path;

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
    fn new(key: impl Into<String>, message: impl Into<String>) -> Self {
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

impl Settings {
    /// Loads the layers: built-in defaults, `config/default.toml` if it exists in
    /// the working directory, `file` if given, then `HERALD__…` variables of `env`.
    pub fn load(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Settings, ConfigError> {
        let mut merged = toml::Table::new();
        let default_file = Path::new(DEFAULT_CONFIG_FILE);
        if default_file.is_file() {
            merge(&mut merged, read_file(default_file)?);
        }
        if let Some(path) = file {
            merge(&mut merged, read_file(path)?);
        }
        merge(&mut merged, env_layer(env)?);
        let settings = from_table(merged)?;
        settings.validate()?;
        Ok(settings)
    }

    /// Checks values that parse but make no sense.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let bind: SocketAddr = self
            .server
            .bind
            .parse()
            .map_err(|e| ConfigError::new("server.bind", format!("not an address: {e}")))?;
        self.validate_server()?;
        self.validate_database()?;
        self.validate_ws()?;
        self.validate_cluster()?;
        if !self.auth.required && !bind.ip().is_loopback() {
            return Err(ConfigError::new(
                "auth.required",
                "must be true when server.bind is not a loopback address",
            ));
        }
        let short = |t: &str| t.chars().count() < MIN_ADMIN_TOKEN_CHARS;
        if self.auth.required && self.auth.admin_token.as_deref().is_some_and(short) {
            return Err(ConfigError::new(
                "auth.admin_token",
                format!(
                    "must be at least {MIN_ADMIN_TOKEN_CHARS} characters (a long random string)"
                ),
            ));
        }
        if self.metrics.token.as_deref().is_some_and(short) {
            return Err(ConfigError::new(
                "metrics.token",
                format!(
                    "must be at least {MIN_ADMIN_TOKEN_CHARS} characters (a long random string)"
                ),
            ));
        }
        Ok(())
    }

    /// These settings with their secrets masked, for `check-config` and the
    /// logs: `auth.admin_token`, `metrics.token`, and the password in
    /// `database.url`.
    pub fn redacted(&self) -> Settings {
        let mut shown = self.clone();
        if shown.auth.admin_token.is_some() {
            shown.auth.admin_token = Some(MASK.into());
        }
        if shown.metrics.token.is_some() {
            shown.metrics.token = Some(MASK.into());
        }
        shown.database.url = mask_url_password(&self.database.url);
        shown
    }

    fn validate_server(&self) -> Result<(), ConfigError> {
        let s = &self.server;
        positive("server.max_body_bytes", s.max_body_bytes as u64)?;
        positive("server.max_connections", s.max_connections as u64)?;
        positive(
            "server.max_connections_per_ip",
            s.max_connections_per_ip as u64,
        )?;
        positive(
            "events.max_payload_bytes",
            self.events.max_payload_bytes as u64,
        )?;
        // What a browser sends: `scheme://host[:port]`, nothing after it.
        let origin_ok = |o: &String| {
            o == "*"
                || o.split_once("://").is_some_and(|(scheme, rest)| {
                    !scheme.is_empty() && !rest.is_empty() && !rest.contains('/')
                })
        };
        if let Some(bad) = s.allowed_origins.iter().find(|o| !origin_ok(o)) {
            return Err(ConfigError::new(
                "server.allowed_origins",
                format!("{bad:?} is not an origin: expected scheme://host[:port] or \"*\""),
            ));
        }
        if s.allowed_hosts.iter().any(String::is_empty) {
            return Err(ConfigError::new(
                "server.allowed_hosts",
                "entries must not be empty",
            ));
        }
        Ok(())
    }

    fn validate_database(&self) -> Result<(), ConfigError> {
        let url = &self.database.url;
        if !(url.starts_with("sqlite://")
            || url.starts_with("postgres://")
            || url.starts_with("postgresql://"))
        {
            return Err(ConfigError::new(
                "database.url",
                "must start with sqlite:// or postgres://",
            ));
        }
        if url == "sqlite://" {
            return Err(ConfigError::new("database.url", "names no file"));
        }
        positive("database.pool_size", self.database.pool_size.into())
    }

    fn validate_cluster(&self) -> Result<(), ConfigError> {
        let id = &self.cluster.node_id;
        if id.len() > 64
            || !id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        {
            return Err(ConfigError::new(
                "cluster.node_id",
                "at most 64 characters from A-Z a-z 0-9 - _ .",
            ));
        }
        positive("http.idempotency_ttl_s", self.http.idempotency_ttl_s)?;
        let listen = &self.cluster.listen_url;
        if !(listen.is_empty()
            || listen.starts_with("postgres://")
            || listen.starts_with("postgresql://"))
        {
            return Err(ConfigError::new(
                "cluster.listen_url",
                "must be empty or start with postgres://",
            ));
        }
        positive("cluster.heartbeat_ms", self.cluster.heartbeat_ms)?;
        positive("cluster.reconcile_ms", self.cluster.reconcile_ms)?;
        if self.cluster.node_timeout_ms <= self.cluster.heartbeat_ms {
            return Err(ConfigError::new(
                "cluster.node_timeout_ms",
                "must be greater than cluster.heartbeat_ms",
            ));
        }
        Ok(())
    }

    fn validate_ws(&self) -> Result<(), ConfigError> {
        positive("ws.heartbeat_interval_ms", self.ws.heartbeat_interval_ms)?;
        positive("ws.connect_timeout_ms", self.ws.connect_timeout_ms)?;
        if self.ws.client_timeout_ms <= self.ws.heartbeat_interval_ms {
            return Err(ConfigError::new(
                "ws.client_timeout_ms",
                "must be greater than ws.heartbeat_interval_ms",
            ));
        }
        if self.ws.max_frame_bytes < 1024 {
            return Err(ConfigError::new(
                "ws.max_frame_bytes",
                "must be at least 1024",
            ));
        }
        positive(
            "ws.max_rooms_per_connection",
            self.ws.max_rooms_per_connection as u64,
        )?;
        if self.ws.outbound_buffer_bytes < 1024 {
            return Err(ConfigError::new(
                "ws.outbound_buffer_bytes",
                "must be at least 1024",
            ));
        }
        Ok(())
    }
}

/// A database URL with its password masked: `postgres://user:***@host/db`,
/// also a `password=` query parameter.
pub fn mask_url_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    // A password may hold an unencoded `/`, `?` or `#`: the user info runs
    // to the last `@`, whatever it contains (an `@` in the query masks more
    // than needed, never less).
    let (masked_user, rest) = match rest.rfind('@') {
        Some(at) => {
            let userinfo = &rest[..at];
            let user = match userinfo.split_once(':') {
                Some((user, _)) => format!("{user}:{MASK}@"),
                None => format!("{userinfo}@"),
            };
            (user, &rest[at + 1..])
        }
        None => (String::new(), rest),
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (host, tail) = rest.split_at(authority_end);
    let authority = format!("{masked_user}{host}");
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let params: Vec<String> = query
                .split('&')
                .map(|p| match p.split_once('=') {
                    Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}={MASK}"),
                    _ => p.to_string(),
                })
                .collect();
            format!("{path}?{}", params.join("&"))
        }
        None => tail.to_string(),
    };
    format!("{scheme}://{authority}{tail}")
}

fn positive(key: &str, value: u64) -> Result<(), ConfigError> {
    if value == 0 {
        return Err(ConfigError::new(key, "must be greater than 0"));
    }
    Ok(())
}

fn read_file(path: &Path) -> Result<toml::Table, ConfigError> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path)
        .map_err(|e| ConfigError::new(&name, format!("cannot read: {e}")))?;
    text.parse::<toml::Table>()
        .map_err(|e| ConfigError::new(&name, format!("not valid TOML: {e}")))
}

/// Turns `HERALD__WS__BATCH_WINDOW_MS=0` into `{ws = {batch_window_ms = 0}}`.
/// Values are read as TOML literals (numbers, booleans) and otherwise as strings.
fn env_layer(env: impl IntoIterator<Item = (String, String)>) -> Result<toml::Table, ConfigError> {
    let mut table = toml::Table::new();
    for (name, raw) in env {
        let Some(rest) = name.strip_prefix(ENV_PREFIX) else {
            continue;
        };
        let path: Vec<String> = rest.split("__").map(str::to_ascii_lowercase).collect();
        if path.len() != 2 || path.iter().any(String::is_empty) {
            return Err(ConfigError::new(
                path.join("."),
                format!("environment variable {name} must look like HERALD__SECTION__KEY"),
            ));
        }
        let value = format!("v = {raw}")
            .parse::<toml::Table>()
            .ok()
            .and_then(|mut t| t.remove("v"))
            .unwrap_or(toml::Value::String(raw));
        let section = table
            .entry(path[0].clone())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        if let toml::Value::Table(section) = section {
            section.insert(path[1].clone(), value);
        }
    }
    Ok(table)
}

/// Overlays `top` on `base`, table by table.
fn merge(base: &mut toml::Table, top: toml::Table) {
    for (key, value) in top {
        match (base.get_mut(&key), value) {
            (Some(toml::Value::Table(b)), toml::Value::Table(t)) => merge(b, t),
            (_, value) => {
                base.insert(key, value);
            }
        }
    }
}

fn from_table(table: toml::Table) -> Result<Settings, ConfigError> {
    serde_path_to_error::deserialize(toml::Value::Table(table)).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner().to_string();
        // The path already ends with an unknown field's own name.
        let key = match inner.split('`').nth(1) {
            Some(field) if path == "." => field.to_string(),
            _ => path,
        };
        let message = if inner.starts_with("unknown field") {
            "unknown key".to_string()
        } else {
            inner
        };
        ConfigError::new(key, message)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_env(vars: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let env = vars.iter().map(|(k, v)| (k.to_string(), v.to_string()));
        let table = env_layer(env)?;
        let s = from_table(table)?;
        s.validate()?;
        Ok(s)
    }

    #[test]
    fn env_overrides_parse_numbers_and_booleans() {
        let s = load_env(&[
            ("HERALD__WS__BATCH_WINDOW_MS", "0"),
            ("HERALD__AUTH__REQUIRED", "true"),
            ("HERALD__DATABASE__URL", "sqlite:///tmp/x.db"),
            ("OTHER", "ignored"),
        ])
        .unwrap();
        assert_eq!(s.ws.batch_window_ms, 0);
        assert!(s.auth.required);
        assert_eq!(s.database.url, "sqlite:///tmp/x.db");
    }

    #[test]
    fn unknown_key_is_named() {
        let err = load_env(&[("HERALD__WS__BOGUS", "1")]).unwrap_err();
        assert_eq!(err.key, "ws.bogus");
        let err = load_env(&[("HERALD__NOPE__X", "1")]).unwrap_err();
        assert_eq!(err.key, "nope");
    }

    #[test]
    fn bad_value_is_named() {
        let err = load_env(&[("HERALD__WS__BATCH_WINDOW_MS", "soon")]).unwrap_err();
        assert_eq!(err.key, "ws.batch_window_ms");
        let err = load_env(&[("HERALD__SERVER__BIND", "nowhere")]).unwrap_err();
        assert_eq!(err.key, "server.bind");
    }

    #[test]
    fn open_access_refuses_public_bind() {
        let err = load_env(&[("HERALD__SERVER__BIND", "0.0.0.0:8080")]).unwrap_err();
        assert_eq!(err.key, "auth.required");
    }

    #[test]
    fn secrets_are_masked_and_short_admin_tokens_refused() {
        let err = load_env(&[
            ("HERALD__AUTH__REQUIRED", "true"),
            ("HERALD__AUTH__ADMIN_TOKEN", "change-me"),
        ])
        .unwrap_err();
        assert_eq!(err.key, "auth.admin_token");
        let s = load_env(&[
            ("HERALD__AUTH__ADMIN_TOKEN", "a-long-enough-admin-token"),
            ("HERALD__METRICS__TOKEN", "a-long-enough-scrape-token"),
            (
                "HERALD__DATABASE__URL",
                "postgres://herald:pw@db:5432/h?password=pw2&x=1",
            ),
        ])
        .unwrap()
        .redacted();
        assert_eq!(s.auth.admin_token.as_deref(), Some(MASK));
        assert_eq!(s.metrics.token.as_deref(), Some(MASK));
        assert_eq!(
            s.database.url,
            "postgres://herald:***@db:5432/h?password=***&x=1"
        );
        for (url, shown) in [
            ("postgres://u@h/d", "postgres://u@h/d"),
            ("postgresql://u:p@h", "postgresql://u:***@h"),
            ("sqlite://data/x.db", "sqlite://data/x.db"),
            ("postgres://u:p%40x@h/d", "postgres://u:***@h/d"),
            ("postgres://u:a/b?c#d@h/d", "postgres://u:***@h/d"),
            (
                "postgres://u:p@h/d?options=-c%20x",
                "postgres://u:***@h/d?options=-c%20x",
            ),
        ] {
            assert_eq!(mask_url_password(url), shown);
        }
    }

    #[test]
    fn log_format_and_short_scrape_tokens() {
        let s = load_env(&[
            ("HERALD__LOG__FORMAT", "json"),
            ("HERALD__LOG__ACCESS", "true"),
        ]);
        let s = s.unwrap();
        assert_eq!((s.log.format, s.log.access), (LogFormat::Json, true));
        let err = load_env(&[("HERALD__LOG__FORMAT", "xml")]).unwrap_err();
        assert_eq!(err.key, "log.format");
        let err = load_env(&[("HERALD__METRICS__TOKEN", "short")]).unwrap_err();
        assert_eq!(err.key, "metrics.token");
    }

    #[test]
    fn default_file_matches_builtin_defaults() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(DEFAULT_CONFIG_FILE);
        let table = read_file(&path).unwrap();
        assert_eq!(from_table(table.clone()).unwrap(), Settings::default());
        // Every key of the struct is written out in the file, and no other.
        let builtin = toml::Value::try_from(Settings::default()).unwrap();
        assert_eq!(toml::Value::Table(table), builtin);
    }
}
