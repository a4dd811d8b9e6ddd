//! Checks of values that parse but make no sense, each naming its key.

use super::{ConfigError, Settings, MIN_ADMIN_TOKEN_CHARS};
use std::net::SocketAddr;

impl Settings {
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

fn positive(key: &str, value: u64) -> Result<(), ConfigError> {
    if value == 0 {
        return Err(ConfigError::new(key, "must be greater than 0"));
    }
    Ok(())
}
