//! The settings' layering, validation and masking.

use super::load::{env_layer, from_table, read_file};
use super::*;
use std::path::Path;

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
