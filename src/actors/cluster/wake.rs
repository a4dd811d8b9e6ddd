//! The wake-up a commit sends to the other nodes: which rooms moved to which
//! seq, which sessions' access changed and whose tokens ended. It is only a
//! hint, never a fact: rooms read the events from the log, the receiving
//! node reads the sessions' access facts and the users' tokens from the
//! database, so a lost or late wake-up delays delivery and never loses an
//! event — and a forged one (anyone who can connect to the database can
//! NOTIFY) can grant nothing and end nothing.
//!
//! One wake-up per committed group, not per event: PostgreSQL serialises the
//! commits of transactions that notified, so fewer notifications mean less
//! waiting at commit. A wake-up must fit PostgreSQL's 8000-byte payload; a
//! group that would not fit sends the same thing without the room list
//! ("read the heads of every live room"), or, if even that is too big, a bare
//! "catch up on everything".

use crate::access::SessionAccess;
use crate::db::events::Committed;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Largest payload sent; PostgreSQL refuses 8000 bytes and more.
pub const MAX_PAYLOAD: usize = 7900;

/// "Catch up on everything", from no node in particular: what is sent if a
/// wake-up cannot be encoded.
const EVERYTHING: &str = r#"{"n":"","x":true}"#;

/// One committed group, as other nodes learn of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Wake {
    /// The node that committed (which ignores its own wake-ups).
    #[serde(rename = "n")]
    pub node: String,
    /// Each room the group delivered to, with its highest seq; `None` when
    /// the list did not fit: compare every live room's head with the log.
    #[serde(rename = "r", default, skip_serializing_if = "Option::is_none")]
    pub heads: Option<Vec<(String, i64)>>,
    /// The sessions whose access the group changed, with their projects.
    #[serde(rename = "a", default, skip_serializing_if = "Vec::is_empty")]
    pub access: Vec<(String, String)>,
    /// Users whose token ended (deleted, or given a new one).
    #[serde(rename = "t", default, skip_serializing_if = "Vec::is_empty")]
    pub tokens: Vec<String>,
    /// The facts did not fit: re-read access and tokens of everything live.
    #[serde(rename = "x", default, skip_serializing_if = "std::ops::Not::not")]
    pub everything: bool,
}

impl Wake {
    /// The wake-up for a group that committed `events`, `access` and `tokens`;
    /// `None` when the group changed nothing another node needs to know.
    pub fn of_group<'a>(
        node: &str,
        events: impl IntoIterator<Item = &'a Committed>,
        access: impl IntoIterator<Item = &'a Arc<SessionAccess>>,
        tokens: impl IntoIterator<Item = &'a String>,
    ) -> Option<Wake> {
        let mut heads: BTreeMap<&str, i64> = BTreeMap::new();
        for event in events {
            for d in &event.deliveries {
                let seq = heads.entry(d.room.as_str()).or_insert(d.seq);
                *seq = (*seq).max(d.seq);
            }
        }
        let wake = Wake {
            node: node.to_string(),
            heads: Some(heads.into_iter().map(|(r, s)| (r.to_string(), s)).collect()),
            access: access
                .into_iter()
                .map(|a| (a.session_id.clone(), a.project_id.clone()))
                .collect(),
            tokens: tokens.into_iter().cloned().collect(),
            everything: false,
        };
        let empty = wake.heads.as_ref().is_some_and(Vec::is_empty)
            && wake.access.is_empty()
            && wake.tokens.is_empty();
        (!empty).then_some(wake)
    }

    /// The payload to send: the whole wake-up if it fits in [`MAX_PAYLOAD`],
    /// else the same without the rooms, else only "catch up on everything".
    pub fn encode(mut self) -> String {
        let fits = |w: &Wake| {
            serde_json::to_string(w)
                .ok()
                .filter(|s| s.len() <= MAX_PAYLOAD)
        };
        if let Some(s) = fits(&self) {
            return s;
        }
        self.heads = None;
        if let Some(s) = fits(&self) {
            return s;
        }
        let bare = Wake {
            node: self.node,
            heads: None,
            access: Vec::new(),
            tokens: Vec::new(),
            everything: true,
        };
        serde_json::to_string(&bare).unwrap_or_else(|e| {
            // A string and a flag always serialise; were they ever not to,
            // the other nodes still learn that something committed.
            log::error!("cannot encode a wake-up: {e}; sending {EVERYTHING}");
            EVERYTHING.to_string()
        })
    }

    /// Reads a payload; anything unreadable means "catch up on everything"
    /// (it came from a node of another version, or from someone else).
    pub fn decode(payload: &str) -> Wake {
        serde_json::from_str(payload).unwrap_or(Wake {
            node: String::new(),
            heads: None,
            access: Vec::new(),
            tokens: Vec::new(),
            everything: true,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{Delivery, Event, RoomName};
    use serde_json::value::RawValue;

    fn committed(deliveries: &[(&str, i64)]) -> Committed {
        let event = Arc::new(Event {
            id: 1,
            event_type: "t".into(),
            resource_type: "room".into(),
            resource_id: "x".into(),
            agent_id: None,
            origin_session_id: None,
            payload: RawValue::from_string("{}".into()).unwrap(),
            priority: false,
            created_at: 0,
        });
        Committed {
            event: event.clone(),
            deliveries: deliveries
                .iter()
                .map(|(r, s)| Delivery::new(RoomName::parse(r).unwrap(), *s, event.clone()))
                .collect(),
        }
    }

    #[test]
    fn a_group_names_each_room_once_with_its_highest_seq() {
        let events = [committed(&[("a", 4), ("b", 1)]), committed(&[("a", 5)])];
        let wake = Wake::of_group("n1", &events, &[], &[]).unwrap();
        let sent = Wake::decode(&wake.clone().encode());
        assert_eq!(sent, wake);
        assert_eq!(
            sent.heads,
            Some(vec![("a".to_string(), 5), ("b".to_string(), 1)])
        );
        assert!(Wake::of_group("n1", &[], &[], &[]).is_none());
    }

    #[test]
    fn a_group_too_big_for_one_payload_asks_for_every_head() {
        let rooms: Vec<String> = (0..2000).map(|i| format!("room-{i}")).collect();
        let pairs: Vec<(&str, i64)> = rooms.iter().map(|r| (r.as_str(), 1)).collect();
        let events = [committed(&pairs)];
        let tokens = vec!["u1".to_string()];
        let payload = Wake::of_group("n1", &events, &[], &tokens)
            .unwrap()
            .encode();
        assert!(payload.len() <= MAX_PAYLOAD);
        let sent = Wake::decode(&payload);
        assert_eq!(sent.heads, None);
        assert_eq!(sent.tokens, tokens);
        assert!(!sent.everything);
    }

    #[test]
    fn facts_too_big_ask_for_everything() {
        let tokens: Vec<String> = (0..2000).map(|i| format!("user-{i}")).collect();
        let payload = Wake::of_group("n1", &[], &[], &tokens).unwrap().encode();
        assert!(payload.len() <= MAX_PAYLOAD);
        let sent = Wake::decode(&payload);
        assert!(sent.everything);
        assert_eq!(sent.node, "n1");
    }

    #[test]
    fn unreadable_payloads_ask_for_everything() {
        assert!(Wake::decode("not json").everything);
        assert!(Wake::decode("{\"n\":1}").everything);
    }

    #[test]
    fn the_fallback_payload_means_catch_up_on_everything() {
        let wake = Wake::decode(EVERYTHING);
        assert!(wake.everything);
        assert_eq!(wake.heads, None);
    }
}
