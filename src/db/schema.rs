//! The diesel schema, one for both backends: JSON is `Text`, timestamps are
//! `BigInt` unix milliseconds, booleans are `Bool`.
#![allow(missing_docs)]

diesel::table! {
    projects (id) {
        id -> Text,
        name -> Text,
        created_at -> BigInt,
        updated_at -> BigInt,
    }
}

diesel::table! {
    sessions (id) {
        id -> Text,
        project_id -> Text,
        title -> Text,
        status -> Text,
        needs_attention -> Bool,
        visibility -> Text,
        owner_id -> Nullable<Text>,
        tokens_input -> BigInt,
        tokens_output -> BigInt,
        tokens_total -> BigInt,
        tokens_cache_read -> BigInt,
        tokens_cache_creation -> BigInt,
        created_at -> BigInt,
        updated_at -> BigInt,
    }
}

diesel::table! {
    events (id) {
        id -> BigInt,
        event_type -> Text,
        resource_type -> Text,
        resource_id -> Text,
        agent_id -> Nullable<Text>,
        origin_session_id -> Nullable<Text>,
        payload -> Text,
        priority -> Bool,
        created_at -> BigInt,
    }
}

diesel::table! {
    rooms (name) {
        name -> Text,
        last_seq -> BigInt,
    }
}

diesel::table! {
    deliveries (room, seq) {
        room -> Text,
        seq -> BigInt,
        event_id -> BigInt,
    }
}

diesel::joinable!(sessions -> projects (project_id));
diesel::joinable!(deliveries -> events (event_id));
diesel::allow_tables_to_appear_in_same_query!(projects, sessions, events, rooms, deliveries);
