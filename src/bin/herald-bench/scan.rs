//! Cheap scanning of herald messages without building a JSON tree.
//!
//! The load tool may hold 10,000 connections, each receiving every event,
//! so it only looks for the few keys it needs: the message `type`, and the
//! `n` / `t_us` counters it put into each payload.

/// Value of the first `"type":"…"` field, if any.
pub fn message_type(text: &[u8]) -> Option<&[u8]> {
    let mut at = 0;
    while let Some(quote) = find_byte(text, b'"', at) {
        let rest = &text[quote + 1..];
        if let Some(value) = rest.strip_prefix(b"type\"").and_then(string_value) {
            return Some(value);
        }
        at = quote + 1;
    }
    None
}

/// The string after a key's closing quote: `: "value"` → `value`.
fn string_value(after_key: &[u8]) -> Option<&[u8]> {
    let after = skip_space(skip_space(after_key).strip_prefix(b":")?);
    let value = after.strip_prefix(b"\"")?;
    let end = value.iter().position(|b| *b == b'"')?;
    Some(&value[..end])
}

/// Calls `found(n, t_us)` for every event envelope in `text`: a single
/// `event` or each element of a `batch-update`.
///
/// Every `"t_us":` key is located (searching for the rare `_` byte, eight
/// bytes at a time); the `"n":` key is then looked up inside the same flat
/// payload object, between the nearest `{` before and `}` after. Payloads
/// lacking either number are skipped.
pub fn scan_events(text: &[u8], mut found: impl FnMut(u64, u64)) {
    let mut at = 0;
    while let Some(underscore) = find_byte(text, b'_', at) {
        at = underscore + 1;
        let is_key = underscore >= 2
            && &text[underscore - 2..underscore] == b"\"t"
            && text[at..].starts_with(b"us\":");
        if !is_key {
            continue;
        }
        let Some(t_us) = parse_number(&text[at + 4..]) else {
            continue;
        };
        let open = text[..underscore]
            .iter()
            .rposition(|b| *b == b'{')
            .unwrap_or(0);
        let close = find_byte(text, b'}', at).unwrap_or(text.len());
        if let Some(n) = find_key(&text[open..close], b"\"n\":").and_then(parse_number) {
            found(n, t_us);
        }
    }
}

/// The largest `"seq":` value in `text` (the envelopes' seqs: the bench's
/// payloads carry only `n` and `t_us`).
pub fn max_seq(text: &[u8]) -> Option<u64> {
    let mut best = None;
    let mut at = 0;
    while let Some(i) = find_byte(text, b'"', at) {
        at = i + 1;
        if let Some(rest) = text[at..].strip_prefix(b"seq\":") {
            if let Some(seq) = parse_number(rest) {
                best = best.max(Some(seq));
            }
        }
    }
    best
}

/// The bytes following the first occurrence of `key` in `text`.
fn find_key<'a>(text: &'a [u8], key: &[u8]) -> Option<&'a [u8]> {
    let at = text.windows(key.len()).position(|w| w == key)?;
    Some(&text[at + key.len()..])
}

/// Position of the next `byte` at or after `from`, testing eight bytes per
/// step (the classic "has zero byte" bit trick).
fn find_byte(text: &[u8], byte: u8, from: usize) -> Option<usize> {
    const LOW: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let rest = text.get(from..)?;
    let pattern = LOW * u64::from(byte);
    let mut chunks = rest.chunks_exact(8);
    let mut offset = 0;
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let x = u64::from_le_bytes(word) ^ pattern;
        let hits = x.wrapping_sub(LOW) & !x & HIGH;
        if hits != 0 {
            return Some(from + offset + (hits.trailing_zeros() / 8) as usize);
        }
        offset += 8;
    }
    let tail = chunks.remainder();
    tail.iter()
        .position(|b| *b == byte)
        .map(|i| from + offset + i)
}

/// Drops leading JSON whitespace.
fn skip_space(text: &[u8]) -> &[u8] {
    let start = text
        .iter()
        .position(|b| !matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
        .unwrap_or(text.len());
    &text[start..]
}

/// Parses the unsigned integer at the start of `text` (after whitespace).
fn parse_number(text: &[u8]) -> Option<u64> {
    let digits = skip_space(text);
    let mut value: u64 = 0;
    let mut any = false;
    for b in digits.iter().take_while(|b| b.is_ascii_digit()) {
        value = value.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
        any = true;
    }
    any.then_some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_largest_envelope_seq_is_found() {
        let batch = br#"{"type":"batch-update","updates":[{"seq":7,"payload":{"n":1}},{"seq":9,"payload":{"n":2}}]}"#;
        assert_eq!(max_seq(batch), Some(9));
        assert_eq!(max_seq(br#"{"type":"welcome"}"#), None);
    }

    fn collect(text: &str) -> Vec<(u64, u64)> {
        let mut out = Vec::new();
        scan_events(text.as_bytes(), |n, t| out.push((n, t)));
        out
    }

    const EVENT: &str = r#"{"type":"event","room":"bench","seq":27,"id":1042,"event_type":"bench","resource_type":"room","resource_id":"bench","agent_id":null,"origin_session_id":null,"payload":{"n":17,"t_us":1795000000123456},"ts":"2026-11-22T12:00:00.123Z"}"#;

    #[test]
    fn single_envelope() {
        assert_eq!(collect(EVENT), vec![(17, 1_795_000_000_123_456)]);
        assert_eq!(message_type(EVENT.as_bytes()), Some(&b"event"[..]));
    }

    #[test]
    fn batch_update() {
        let batch = format!(
            r#"{{"type":"batch-update","room":"bench","updates":[{EVENT},{},{}]}}"#,
            EVENT.replace("\"n\":17", "\"n\":18"),
            r#"{"type":"event","seq":29,"payload":{"t_us": 5, "n": 19}}"#
        );
        assert_eq!(
            collect(&batch),
            vec![
                (17, 1_795_000_000_123_456),
                (18, 1_795_000_000_123_456),
                (19, 5)
            ]
        );
        assert_eq!(message_type(batch.as_bytes()), Some(&b"batch-update"[..]));
    }

    #[test]
    fn ignores_unrelated_and_partial_payloads() {
        assert!(collect(r#"{"type":"heartbeat","connections":3,"ts":"x"}"#).is_empty());
        assert!(collect(
            r#"{"type":"subscribed","room":"bench","seq":4,"recovered":false,"snapshot":null}"#
        )
        .is_empty());
        // A foreign payload with only `n` must not pair with the next envelope's `t_us`.
        let mixed = r#"[{"payload":{"n":1}},{"payload":{"t_us":9,"n":2}}]"#;
        assert_eq!(collect(mixed), vec![(2, 9)]);
        assert!(collect(r#"{"payload":{"n":-1,"t_us":3,"note":"\"n\":4"}}"#).is_empty());
        assert!(collect(r#"{"payload":{"n":99999999999999999999,"t_us":3}}"#).is_empty());
    }

    #[test]
    fn find_byte_matches_naive_search() {
        let text: Vec<u8> = (0..200u32).map(|i| (i * 37 % 251) as u8).collect();
        for byte in [0u8, 1, 37, 74, 250, 255] {
            for from in [0, 1, 7, 8, 9, 150, 199, 200, 201] {
                let naive = text
                    .get(from..)
                    .and_then(|r| r.iter().position(|b| *b == byte))
                    .map(|i| i + from);
                assert_eq!(find_byte(&text, byte, from), naive, "{byte} from {from}");
            }
        }
    }

    #[test]
    fn message_types() {
        let welcome = br#"{"type":"welcome","connection_id":"c1","heartbeat_ms":30000}"#;
        assert_eq!(message_type(welcome), Some(&b"welcome"[..]));
        assert_eq!(
            message_type(br#"{ "type" : "subscribed" }"#),
            Some(&b"subscribed"[..])
        );
        assert_eq!(message_type(br#"{"room":"x"}"#), None);
        let late = br#"{"event_type":"type","type":"event"}"#;
        assert_eq!(message_type(late), Some(&b"event"[..]));
    }
}
