//! Reading the settings: the layers (built-in defaults, `config/default.toml`,
//! `--config FILE`, `HERALD__SECTION__KEY`), merged table by table, then
//! deserialized with the failing key named; and the masked copy for display.

use super::{ConfigError, Settings, DEFAULT_CONFIG_FILE, ENV_PREFIX, MASK};
use std::path::Path;

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

pub(super) fn read_file(path: &Path) -> Result<toml::Table, ConfigError> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path)
        .map_err(|e| ConfigError::new(&name, format!("cannot read: {e}")))?;
    text.parse::<toml::Table>()
        .map_err(|e| ConfigError::new(&name, format!("not valid TOML: {e}")))
}

/// Turns `HERALD__WS__BATCH_WINDOW_MS=0` into `{ws = {batch_window_ms = 0}}`.
/// Values are read as TOML literals (numbers, booleans) and otherwise as strings.
pub(super) fn env_layer(
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<toml::Table, ConfigError> {
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

pub(super) fn from_table(table: toml::Table) -> Result<Settings, ConfigError> {
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
