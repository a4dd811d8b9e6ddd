//! Deliveries as frames, per dialect: the native envelope and `batch-update`,
//! the flat and broadcast frames of the single-room dialects, the Socket.IO
//! event. Each delivery is rendered once per dialect ([`render_one`]) and the
//! text kept on it ([`Delivery::rendered`]), so a flush only joins them.

use super::{to_json, Dialect};
use crate::time::rfc3339;
use crate::types::{Delivery, RoomName};
use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use std::sync::Arc;

/// Largest number of envelopes in one `batch-update`; longer runs are split.
pub const MAX_BATCH: usize = 256;
/// A `batch-update` stops growing past this many bytes (one envelope larger
/// than that still goes out, alone), so no frame is much bigger than its news.
pub const MAX_BATCH_BYTES: usize = 64 * 1024;

/// The native envelope of one delivery.
#[derive(Serialize)]
struct Envelope<'a> {
    r#type: &'static str,
    room: &'a RoomName,
    seq: i64,
    id: i64,
    event_type: &'a str,
    resource_type: &'a str,
    resource_id: &'a str,
    agent_id: Option<&'a str>,
    origin_session_id: Option<&'a str>,
    payload: &'a RawValue,
    ts: String,
}

/// The native envelope of an event the subscriber may not read.
#[derive(Serialize)]
struct RedactedEnvelope<'a> {
    r#type: &'static str,
    room: &'a RoomName,
    seq: i64,
    id: i64,
    event_type: &'static str,
    ts: String,
}

/// The flat dialect's frame: herald's keys, then the payload's other fields.
#[derive(Serialize)]
struct Flat<'a> {
    r#type: &'a str,
    room: &'a RoomName,
    seq: i64,
    #[serde(flatten)]
    payload: Map<String, Value>,
}

/// The broadcast dialect's frame.
#[derive(Serialize)]
struct BroadcastFrame<'a> {
    r#type: &'static str,
    event_type: &'a str,
    resource_id: &'a str,
    resource_type: &'a str,
    payload: &'a RawValue,
    agent_id: Option<&'a str>,
    session_id: Option<&'a str>,
    seq: i64,
    timestamp: String,
}

/// The broadcast dialect's frame for an event the subscriber may not read.
#[derive(Serialize)]
struct RedactedBroadcast {
    r#type: &'static str,
    event_type: &'static str,
    seq: i64,
    timestamp: String,
}

/// Renders `{"type":"event",…}` for one delivery.
pub fn render_envelope(d: &Delivery) -> String {
    let e = &d.event;
    to_json(&Envelope {
        r#type: "event",
        room: &d.room,
        seq: d.seq,
        id: e.id,
        event_type: &e.event_type,
        resource_type: &e.resource_type,
        resource_id: &e.resource_id,
        agent_id: e.agent_id.as_deref(),
        origin_session_id: e.origin_session_id.as_deref(),
        payload: &e.payload,
        ts: rfc3339(e.created_at),
    })
}

/// Renders `{"type":"event","room","seq","id","event_type":"redacted","ts"}`:
/// an event the subscriber may not read, so its seqs stay contiguous.
pub fn render_redacted(d: &Delivery) -> String {
    to_json(&RedactedEnvelope {
        r#type: "event",
        room: &d.room,
        seq: d.seq,
        id: d.event.id,
        event_type: "redacted",
        ts: rfc3339(d.event.created_at),
    })
}

/// Renders one delivery in `dialect` (the native envelope, redacted or not;
/// the flat, broadcast or Socket.IO frame). [`Delivery::rendered`] keeps it.
pub fn render_one(dialect: Dialect, d: &Delivery) -> String {
    match dialect {
        Dialect::Native if d.redacted => render_redacted(d),
        Dialect::Native => render_envelope(d),
        Dialect::Flat => render_flat(d),
        Dialect::Broadcast => render_broadcast(d),
        Dialect::SocketIo => {
            let name = if d.redacted {
                "redacted"
            } else {
                &d.event.event_type
            };
            crate::socketio::codec::event(name, d.rendered(Dialect::Flat))
        }
    }
}

/// Renders a run of deliveries of one room as native frames: `batch-update`
/// frames of at most [`MAX_BATCH`] envelopes and about [`MAX_BATCH_BYTES`],
/// and a lone envelope as a plain `event`.
pub fn render_native(room: &RoomName, run: &[Arc<Delivery>]) -> Vec<String> {
    let mut frames = Vec::new();
    let mut rest = run;
    while !rest.is_empty() {
        // Take envelopes until the count or the byte limit is reached (at least one).
        let mut take = 0;
        let mut bytes = 0;
        for d in rest.iter().take(MAX_BATCH) {
            if take > 0 && bytes + d.native().len() > MAX_BATCH_BYTES {
                break;
            }
            bytes += d.native().len() + 1;
            take += 1;
        }
        let (chunk, tail) = rest.split_at(take);
        frames.push(if let [single] = chunk {
            single.native().to_string()
        } else {
            batch_update(room, chunk, bytes)
        });
        rest = tail;
    }
    frames
}

/// `{"type":"batch-update","room","updates":[…]}` around envelopes already rendered.
fn batch_update(room: &RoomName, chunk: &[Arc<Delivery>], bytes: usize) -> String {
    let room_json = to_json(room);
    let mut out = String::with_capacity(64 + room_json.len() + bytes);
    out.push_str("{\"type\":\"batch-update\",\"room\":");
    out.push_str(&room_json);
    out.push_str(",\"updates\":[");
    for (i, d) in chunk.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(d.native());
    }
    out.push_str("]}");
    out
}

/// Renders a run of deliveries for a dialect: native batches, or for the
/// others each delivery's own frame (rendered once per delivery).
pub fn render(dialect: Dialect, room: &RoomName, run: &[Arc<Delivery>]) -> Vec<String> {
    match dialect {
        Dialect::Native => render_native(room, run),
        _ => run
            .iter()
            .map(|d| d.rendered(dialect).to_string())
            .collect(),
    }
}

/// `{"type": event_type, "room", "seq", …payload}`; herald's keys win.
pub fn render_flat(d: &Delivery) -> String {
    if d.redacted {
        return to_json(&Flat {
            r#type: "redacted",
            room: &d.room,
            seq: d.seq,
            payload: Map::new(),
        });
    }
    let mut payload = match serde_json::from_str::<Value>(d.event.payload.get()) {
        Ok(Value::Object(map)) => map,
        // Publishing refuses what cannot be parsed here (not an object, or
        // nested too deep), so this is an older row or a bug: say so.
        other => {
            let why = other
                .err()
                .map_or("not an object".into(), |e| e.to_string());
            log::warn!(
                "{} seq {}: payload left out of the flat frame: {why}",
                d.room,
                d.seq
            );
            Map::new()
        }
    };
    for key in ["type", "room", "seq"] {
        payload.remove(key);
    }
    to_json(&Flat {
        r#type: &d.event.event_type,
        room: &d.room,
        seq: d.seq,
        payload,
    })
}

/// `{"type":"broadcast_event", event_type, resource_id, resource_type, payload, agent_id, session_id, seq, timestamp}`.
pub fn render_broadcast(d: &Delivery) -> String {
    let e = &d.event;
    if d.redacted {
        return to_json(&RedactedBroadcast {
            r#type: "broadcast_event",
            event_type: "redacted",
            seq: d.seq,
            timestamp: rfc3339(e.created_at),
        });
    }
    to_json(&BroadcastFrame {
        r#type: "broadcast_event",
        event_type: &e.event_type,
        resource_id: &e.resource_id,
        resource_type: &e.resource_type,
        payload: &e.payload,
        agent_id: e.agent_id.as_deref(),
        session_id: e.origin_session_id.as_deref(),
        seq: d.seq,
        timestamp: rfc3339(e.created_at),
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::types::Event;

    pub(crate) fn delivery(seq: i64) -> Arc<Delivery> {
        let event = Arc::new(Event {
            id: 1042,
            event_type: "session_updated".into(),
            resource_type: "session".into(),
            resource_id: "s1".into(),
            agent_id: Some("claude-1".into()),
            origin_session_id: Some("sess-1".into()),
            payload: RawValue::from_string(r#"{"id":"s1","status":"active","seq":1}"#.into())
                .unwrap(),
            priority: false,
            created_at: 1_795_867_200_123,
        });
        Delivery::new(RoomName::parse("session:s1").unwrap(), seq, event)
    }

    #[test]
    fn golden_event_envelope() {
        assert_eq!(
            delivery(27).native(),
            r#"{"type":"event","room":"session:s1","seq":27,"id":1042,"event_type":"session_updated","resource_type":"session","resource_id":"s1","agent_id":"claude-1","origin_session_id":"sess-1","payload":{"id":"s1","status":"active","seq":1},"ts":"2026-11-28T12:00:00.123Z"}"#
        );
    }

    #[test]
    fn golden_batch_update() {
        let room = RoomName::parse("session:s1").unwrap();
        let frames = render_native(&room, &[delivery(1), delivery(2)]);
        assert_eq!(frames.len(), 1);
        assert!(frames[0].starts_with(
            r#"{"type":"batch-update","room":"session:s1","updates":[{"type":"event""#
        ));
        let v: Value = serde_json::from_str(&frames[0]).unwrap();
        assert_eq!(v["updates"][1]["seq"], 2);
        let single = render_native(&room, &[delivery(3)]);
        assert!(single[0].starts_with(r#"{"type":"event""#));
        let many: Vec<_> = (1..=300).map(delivery).collect();
        assert_eq!(render_native(&room, &many).len(), 2);
        // About 250 bytes each: 64 KiB holds some 260, so 1,000 take 4 frames
        // by bytes as well as by count, every seq exactly once, in order.
        let lots: Vec<_> = (1..=1000).map(delivery).collect();
        let frames = render_native(&room, &lots);
        assert!(frames.iter().all(|f| f.len() <= MAX_BATCH_BYTES + 1024));
        let seqs: Vec<i64> = frames
            .iter()
            .flat_map(|f| {
                let v: Value = serde_json::from_str(f).unwrap();
                v["updates"].as_array().unwrap().clone()
            })
            .map(|u| u["seq"].as_i64().unwrap())
            .collect();
        assert_eq!(seqs, (1..=1000).collect::<Vec<_>>());
    }

    #[test]
    fn golden_redacted_frames() {
        let d = delivery(9).redacted();
        assert_eq!(
            d.native(),
            r#"{"type":"event","room":"session:s1","seq":9,"id":1042,"event_type":"redacted","ts":"2026-11-28T12:00:00.123Z"}"#
        );
        assert_eq!(
            render_flat(&d),
            r#"{"type":"redacted","room":"session:s1","seq":9}"#
        );
        assert_eq!(
            render_broadcast(&d),
            r#"{"type":"broadcast_event","event_type":"redacted","seq":9,"timestamp":"2026-11-28T12:00:00.123Z"}"#
        );
        // One twin, shared.
        let original = delivery(9);
        assert!(Arc::ptr_eq(&original.redacted(), &original.redacted()));
    }

    #[test]
    fn golden_dialect_frames() {
        let d = delivery(7);
        // The payload's own `seq` gives way to herald's.
        assert_eq!(
            render_flat(&d),
            r#"{"type":"session_updated","room":"session:s1","seq":7,"id":"s1","status":"active"}"#
        );
        assert_eq!(
            render_broadcast(&d),
            r#"{"type":"broadcast_event","event_type":"session_updated","resource_id":"s1","resource_type":"session","payload":{"id":"s1","status":"active","seq":1},"agent_id":"claude-1","session_id":"sess-1","seq":7,"timestamp":"2026-11-28T12:00:00.123Z"}"#
        );
        assert_eq!(
            render(Dialect::SocketIo, &d.room, std::slice::from_ref(&d)),
            [
                r#"42["session_updated",{"type":"session_updated","room":"session:s1","seq":7,"id":"s1","status":"active"}]"#
            ]
        );
    }

    #[test]
    fn each_dialect_is_rendered_once_per_delivery() {
        let d = delivery(5);
        for dialect in Dialect::ALL {
            let first: *const str = d.rendered(dialect);
            let again: *const str = d.rendered(dialect);
            assert_eq!(first, again, "{dialect:?}");
            assert_eq!(d.rendered(dialect), render_one(dialect, &d));
        }
    }
}
