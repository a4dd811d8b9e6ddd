//! Property tests of the parsers that take input herald does not control:
//! the Engine.IO / Socket.IO packet decoders, the native client-message
//! parser, the WebSocket frame reader and writer, room names and ids, and
//! the JSON body extractor. Arbitrary input
//! never panics and yields a value or the documented error (`bad_request`
//! for packets and bodies, `validation_failed` for names and ids).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a failing test should panic"
)]

use actix_http::ws::{Frame, OpCode, Parser, ProtocolError};
use actix_web::error::PayloadError;
use bytes::{Bytes, BytesMut};
use futures::StreamExt;
use herald::error::AppError;
use herald::frames::{text_frame, unframe, Frames};
use herald::http::extract::{parse, Shape};
use herald::protocol::ClientMessage;
use herald::socketio::codec::{engine_packet, socket_packet, EngineIn, SocketIn};
use herald::types::{validate_id, RoomKind, RoomName};
use proptest::prelude::*;
use serde_json::Value;

/// Any JSON value, a few levels deep.
fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        // Floats are left out: serde_json's default float parsing may not
        // round-trip the last digit, which says nothing about the parsers.
        ".{0,12}".prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-z_]{0,8}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn is_bad_request(err: &AppError) -> bool {
    matches!(err, AppError::BadRequest(m) if !m.is_empty())
}

/// The characters a room name may have.
fn room_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | ':' | '-')
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 512,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn engine_packets_never_panic(text in "\\PC*|[0-9b].{0,40}") {
        match engine_packet(&text) {
            Ok(packet) => {
                let first = text.chars().next().unwrap();
                prop_assert!("123456b".contains(first), "{packet:?} from {text:?}");
                if let EngineIn::Message(rest) = packet {
                    prop_assert_eq!(rest, &text[1..]);
                }
            }
            Err(err) => prop_assert!(is_bad_request(&err)),
        }
    }

    #[test]
    fn socket_packets_never_panic(text in "\\PC*|[0-6](/[a-z]{0,4},)?[0-9]{0,25}.{0,40}") {
        if let Err(err) = socket_packet(&text) {
            prop_assert!(is_bad_request(&err), "{err:?}");
        }
    }

    #[test]
    fn socket_events_decode_whatever_follows_the_header(
        namespace in "(/[a-z]{1,6},)?",
        ack in proptest::option::of(any::<u64>()),
        name in ".{0,10}",
        args in prop::collection::vec(json(), 0..3),
    ) {
        let mut array = vec![Value::from(name.clone())];
        array.extend(args.clone());
        let ack_text = ack.map(|a| a.to_string()).unwrap_or_default();
        let text = format!("2{namespace}{ack_text}{}", Value::Array(array));
        let decoded = socket_packet(&text).unwrap();
        let expected_ns = if namespace.is_empty() {
            "/".to_string()
        } else {
            namespace.trim_end_matches(',').to_string()
        };
        prop_assert_eq!(
            decoded,
            SocketIn::Event { namespace: expected_ns, ack, name, args }
        );
    }

    #[test]
    fn connect_packets_take_any_auth_object_or_refuse(
        auth in prop::collection::btree_map("[a-z]{0,6}", json(), 0..3)
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        garbage in ".{0,20}",
    ) {
        let text = format!("0{auth}");
        let root = matches!(
            socket_packet(&text),
            Ok(SocketIn::Connect { ref namespace, .. }) if namespace == "/"
        );
        prop_assert!(root, "{text}");
        if let Err(err) = socket_packet(&format!("0{garbage}")) {
            prop_assert!(is_bad_request(&err));
        }
    }

    #[test]
    fn client_messages_parse_or_fail_cleanly(value in json(), text in "\\PC*") {
        // Never panics; only the three documented shapes are accepted.
        if let Ok(message) = serde_json::from_value::<ClientMessage>(value.clone()) {
            let kind = value["type"].as_str().unwrap();
            prop_assert!(["subscribe", "unsubscribe", "ping"].contains(&kind), "{message:?}");
        }
        let _ = serde_json::from_str::<ClientMessage>(&text);
    }

    #[test]
    fn subscribe_messages_round_trip(room in "\\PC{0,20}", since in proptest::option::of(any::<i64>())) {
        let mut v = serde_json::json!({"type": "subscribe", "room": room});
        if let Some(s) = since {
            v["since"] = s.into();
        }
        prop_assert_eq!(
            serde_json::from_value::<ClientMessage>(v).unwrap(),
            ClientMessage::Subscribe { room, since }
        );
    }

    #[test]
    fn room_names_follow_the_rule(name in "\\PC{0,140}|[A-Za-z0-9_.:-]{0,140}") {
        let valid = !name.is_empty() && name.len() <= 128 && name.chars().all(room_char);
        match RoomName::parse(&name) {
            Ok(room) => {
                prop_assert!(valid, "{name:?} accepted");
                prop_assert_eq!(room.as_str(), name.as_str());
                let kind_ok = match room.kind() {
                    RoomKind::Session(id) => name == format!("session:{id}"),
                    RoomKind::Project(id) => name == format!("project:{id}"),
                    RoomKind::Broadcasts => name == "broadcasts",
                    RoomKind::Free => !name.starts_with("session:") && !name.starts_with("project:"),
                };
                prop_assert!(kind_ok);
            }
            Err(err) => {
                prop_assert!(!valid, "{name:?} refused");
                prop_assert!(matches!(err, AppError::Validation(_)));
            }
        }
    }

    #[test]
    fn ids_follow_the_rule(id in "\\PC{0,110}|[A-Za-z0-9_.-]{0,110}") {
        let valid = !id.is_empty()
            && id.len() <= 100
            && id.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
        match validate_id("id", &id) {
            Ok(()) => {
                prop_assert!(valid);
                // A valid id always makes valid room names.
                prop_assert!(RoomName::parse(RoomName::session(&id).as_str()).is_ok());
                prop_assert!(RoomName::parse(RoomName::project(&id).as_str()).is_ok());
            }
            Err(err) => {
                prop_assert!(!valid);
                prop_assert!(matches!(err, AppError::Validation(_)));
            }
        }
    }

    #[test]
    fn bodies_are_objects_or_bad_requests(value in json(), ws in "[ \\t\\r\\n]{0,3}") {
        let text = format!("{ws}{value}{ws}");
        match parse::<Value>(text.as_bytes(), Shape::Object) {
            Ok(parsed) => prop_assert!(parsed.is_object() && parsed == value),
            Err(err) => {
                prop_assert!(!value.is_object());
                prop_assert!(is_bad_request(&err));
            }
        }
        match parse::<Vec<Value>>(text.as_bytes(), Shape::Array) {
            Ok(items) => prop_assert_eq!(Value::Array(items), value),
            Err(err) => {
                prop_assert!(!value.is_array());
                prop_assert!(is_bad_request(&err));
            }
        }
    }

    #[test]
    fn arbitrary_bytes_as_a_body_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        #[derive(serde::Deserialize, Debug)]
        #[allow(dead_code, reason = "only parsed")]
        struct Usage { input_tokens: i64, output_tokens: i64 }
        for shape in [Shape::Object, Shape::Array] {
            if let Err(err) = parse::<Value>(&bytes, shape) {
                prop_assert!(is_bad_request(&err));
            }
        }
        if let Err(err) = parse::<Usage>(&bytes, Shape::Object) {
            prop_assert!(is_bad_request(&err));
        }
    }

    #[test]
    fn server_frames_read_back(payload in prop::collection::vec(any::<u8>(), 0..70_000)) {
        let framed = text_frame(&payload);
        let (op, body) = unframe(&framed).expect("one whole frame");
        prop_assert_eq!(op, OpCode::Text);
        prop_assert_eq!(&body[..], &payload[..]);
    }

    #[test]
    fn client_frames_decode_or_end_with_an_error(
        bytes in prop::collection::vec(any::<u8>(), 0..300),
        cut in 1usize..64,
    ) {
        // Arbitrary bytes in arbitrary chunks: frames, then at most one error, then the end.
        let chunks: Vec<_> = bytes.chunks(cut).map(|c| Ok(Bytes::copy_from_slice(c))).collect();
        let got = read_frames(chunks, 100);
        let errors = got.iter().filter(|f| f.is_err()).count();
        prop_assert!(errors <= 1);
        prop_assert!(errors == 0 || got.last().is_some_and(Result::is_err));
    }

    #[test]
    fn masked_text_frames_pass_up_to_the_limit(len in 0usize..300, max in 0usize..300) {
        let mut frame = BytesMut::new();
        Parser::write_message(&mut frame, vec![b'x'; len], OpCode::Text, true, true);
        let got = read_frames(vec![Ok(frame.freeze())], max);
        if len <= max {
            prop_assert!(matches!(&got[..], [Ok(Frame::Text(t))] if t.len() == len));
        } else {
            // Closed with 1009 by the connection and the Socket.IO transport.
            prop_assert!(matches!(&got[..], [Err(ProtocolError::Overflow)]));
        }
    }

    #[test]
    fn unmasked_client_frames_are_refused(payload in prop::collection::vec(any::<u8>(), 0..200)) {
        let got = read_frames(vec![Ok(text_frame(&payload))], 1000);
        prop_assert!(matches!(&got[..], [Err(ProtocolError::UnmaskedFrame)]));
    }
}

/// Every frame [`Frames`] reads from `chunks` with frames of at most `max` bytes.
fn read_frames(
    chunks: Vec<Result<Bytes, PayloadError>>,
    max: usize,
) -> Vec<Result<Frame, ProtocolError>> {
    futures::executor::block_on(Frames::new(futures::stream::iter(chunks), max).collect())
}
