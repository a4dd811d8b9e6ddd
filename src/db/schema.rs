//! The diesel schema, one for both backends: JSON is `Text`, timestamps are
//! `BigInt` unix milliseconds, booleans are `Bool`.
#![expect(
    missing_docs,
    reason = "diesel's `table!` generates the columns and tables, which cannot carry docs"
)]

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
        agent_id -> Nullable<Text>,
        model_id -> Nullable<Text>,
        project_name -> Text,
        access_version -> BigInt,
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

diesel::table! {
    messages (id) {
        id -> BigInt,
        session_id -> Text,
        role -> Text,
        content -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    token_usage (id) {
        id -> BigInt,
        session_id -> Text,
        input_tokens -> BigInt,
        output_tokens -> BigInt,
        cache_read_input_tokens -> BigInt,
        cache_creation_input_tokens -> BigInt,
        model -> Nullable<Text>,
        created_at -> BigInt,
    }
}

diesel::table! {
    todos (session_id, position) {
        session_id -> Text,
        position -> Integer,
        content -> Text,
        status -> Text,
        active_form -> Nullable<Text>,
    }
}

diesel::table! {
    tool_calls (session_id, tool_call_id) {
        session_id -> Text,
        tool_call_id -> Text,
        tool_name -> Text,
        state -> Text,
        input -> Text,
        output -> Nullable<Text>,
        created_at -> BigInt,
        updated_at -> BigInt,
    }
}

diesel::allow_tables_to_appear_in_same_query!(sessions, messages, token_usage, todos, tool_calls);

diesel::table! {
    features (id) {
        id -> Text,
        title -> Text,
        status -> Text,
        description -> Text,
        tags -> Text,
        priority -> Nullable<Text>,
        created_at -> BigInt,
        updated_at -> BigInt,
    }
}

diesel::table! {
    feature_links (id) {
        id -> BigInt,
        feature_id -> Text,
        linked_feature_id -> Text,
        link_type -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    feature_comments (id) {
        id -> BigInt,
        feature_id -> Text,
        comment_text -> Text,
        author -> Nullable<Text>,
        created_at -> BigInt,
    }
}

diesel::table! {
    tracks (id) {
        id -> Text,
        title -> Text,
        description -> Text,
        created_at -> BigInt,
        updated_at -> BigInt,
    }
}

diesel::table! {
    spikes (id) {
        id -> Text,
        title -> Text,
        findings -> Text,
        created_at -> BigInt,
        updated_at -> BigInt,
    }
}

diesel::table! {
    users (id) {
        id -> Text,
        email -> Text,
        name -> Nullable<Text>,
        admin -> Bool,
        token_hash -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    collaborators (id) {
        id -> BigInt,
        session_id -> Text,
        email -> Text,
        role -> Text,
        status -> Text,
        created_at -> BigInt,
        accepted_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    deleted_sessions (id) {
        id -> Text,
        project_id -> Text,
        deleted_at -> BigInt,
        access_version -> BigInt,
    }
}

diesel::joinable!(collaborators -> sessions (session_id));
diesel::allow_tables_to_appear_in_same_query!(collaborators, sessions, users);

diesel::table! {
    nodes (id) {
        id -> Text,
        connections -> BigInt,
        started_at -> BigInt,
        seen_at -> BigInt,
    }
}

diesel::table! {
    idempotency_keys (caller, key) {
        caller -> Text,
        key -> Text,
        method -> Text,
        path -> Text,
        body_hash -> Text,
        created -> Bool,
        response -> Text,
        created_at -> BigInt,
    }
}
