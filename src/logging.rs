//! Log lines: `log.format = "text"` (env_logger's lines, key-values after
//! the message) or `"json"` (one object per line: `timestamp`, `level`,
//! `target`, `message`, `node`, then the record's key-values such as
//! `room` or `connection_id`). What is logged is still chosen by
//! `RUST_LOG` (default `info`). The binary installs it once, at start; the
//! library only logs through `log::`.

use crate::config::{LogFormat, LogSettings};
use crate::time::{now_ms, rfc3339};
use log::kv::{Error, Key, Value, VisitSource};
use serde_json::Value as Json;
use std::io::Write;

/// Installs the process's logger: `settings.format`, filtered by `RUST_LOG`.
/// `node` is written into every JSON line.
pub fn init(settings: &LogSettings, node: &str) {
    let mut builder =
        env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info"));
    if settings.format == LogFormat::Json {
        let node = node.to_string();
        builder.format(move |buf, record| {
            let line = json_line(record, &node, now_ms());
            writeln!(buf, "{line}")
        });
    }
    builder.init();
}

/// One record as a JSON object (without the newline), its keys in a fixed
/// order: `timestamp`, `level`, `target`, `message`, `node`, then the
/// record's key-values (a field named like one of these is dropped).
pub fn json_line(record: &log::Record<'_>, node: &str, now: i64) -> String {
    let mut fields = Fields(Vec::new());
    // A failing visit only loses fields; the line is still written.
    let _ = record.key_values().visit(&mut fields);
    let mut own = vec![
        ("timestamp", Json::String(rfc3339(now))),
        ("level", Json::String(record.level().as_str().into())),
        ("target", Json::String(record.target().into())),
        ("message", Json::String(record.args().to_string())),
    ];
    if !node.is_empty() {
        own.push(("node", Json::String(node.into())));
    }
    let taken = |key: &str| own.iter().any(|(k, _)| *k == key);
    let extra: Vec<_> = fields.0.into_iter().filter(|(k, _)| !taken(k)).collect();
    let pairs = own
        .iter()
        .map(|(k, v)| (*k, v))
        .chain(extra.iter().map(|(k, v)| (k.as_str(), v)));
    let mut out = String::from("{");
    for (i, (key, value)) in pairs.enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&Json::from(key).to_string());
        out.push(':');
        out.push_str(&value.to_string());
    }
    out.push('}');
    out
}

/// Collects a record's key-values, numbers and booleans as such.
struct Fields(Vec<(String, Json)>);

impl<'kvs> VisitSource<'kvs> for Fields {
    fn visit_pair(&mut self, key: Key<'kvs>, value: Value<'kvs>) -> Result<(), Error> {
        let json = if let Some(n) = value.to_u64() {
            Json::from(n)
        } else if let Some(n) = value.to_i64() {
            Json::from(n)
        } else if let Some(b) = value.to_bool() {
            Json::Bool(b)
        } else if let Some(x) = value.to_f64().and_then(serde_json::Number::from_f64) {
            Json::Number(x)
        } else {
            Json::String(value.to_string())
        };
        self.0.push((key.as_str().to_string(), json));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_is_one_json_object_with_its_fields() {
        let kvs: [(&str, Value<'_>); 3] = [
            ("room", Value::from("session:s1")),
            ("connection_id", Value::from(7u64)),
            ("message", Value::from("not the message")),
        ];
        let line = json_line(
            &log::Record::builder()
                .level(log::Level::Warn)
                .target("herald::actors::room")
                .args(format_args!("room {}: \"quoted\"\nline", "session:s1"))
                .key_values(&kvs)
                .build(),
            "node-a",
            1_795_867_200_123,
        );
        assert!(!line.contains('\n'));
        assert!(line.starts_with(r#"{"timestamp":"2026-11-28T12:00:00.123Z","level":"WARN","#));
        let parsed: Json = serde_json::from_str(&line).unwrap();
        assert_eq!(
            parsed,
            serde_json::json!({
                "timestamp": "2026-11-28T12:00:00.123Z",
                "level": "WARN",
                "target": "herald::actors::room",
                "message": "room session:s1: \"quoted\"\nline",
                "node": "node-a",
                "room": "session:s1",
                "connection_id": 7,
            })
        );
    }
}
