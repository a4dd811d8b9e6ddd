//! The queries behind the routes use indexes, checked with SQLite's
//! `EXPLAIN QUERY PLAN` (a full scan of a growing table shows as `SCAN`).

use super::*;
use diesel::sql_types::Text;

#[derive(QueryableByName)]
struct Step {
    #[diesel(sql_type = Text)]
    detail: String,
}

fn plan(conn: &mut DbConn, sql: &str) -> String {
    let DbConn::Sqlite(c) = conn else {
        unreachable!("tests use SQLite")
    };
    let steps: Vec<Step> = diesel::sql_query(format!("EXPLAIN QUERY PLAN {sql}"))
        .load(c)
        .unwrap();
    steps
        .iter()
        .map(|s| s.detail.as_str())
        .collect::<Vec<_>>()
        .join("; ")
}

#[test]
fn route_queries_use_indexes() {
    let (_dir, mut conn) = testing::sqlite();
    let cases = [
        ("SELECT * FROM sessions WHERE project_id = 'p' AND status = 'idle' ORDER BY created_at", "idx_sessions_project_status"),
        ("SELECT * FROM sessions WHERE status = 'idle' ORDER BY created_at", "idx_sessions_status"),
        ("SELECT * FROM sessions WHERE project_id = 'p' ORDER BY created_at", "idx_sessions_project"),
        ("SELECT * FROM deliveries JOIN events ON events.id = deliveries.event_id WHERE room = 'r' AND seq > 5 ORDER BY seq LIMIT 100", "deliveries USING PRIMARY KEY (room=? AND seq>?)"),
        ("SELECT * FROM messages WHERE session_id = 's' AND id > 0 ORDER BY id LIMIT 100", "idx_messages_session"),
        ("SELECT * FROM token_usage WHERE session_id = 's' ORDER BY created_at", "idx_token_usage_session"),
        ("SELECT * FROM tool_calls WHERE session_id = 's' ORDER BY created_at DESC LIMIT 100", "idx_tool_calls_session"),
        ("SELECT * FROM todos WHERE session_id = 's' ORDER BY position", "sqlite_autoindex_todos_1"),
        ("SELECT * FROM projects ORDER BY created_at, id", "idx_projects_created"),
        ("SELECT * FROM projects WHERE name = 'x'", "idx_projects_name"),
        ("SELECT * FROM features ORDER BY updated_at DESC LIMIT 200", "idx_features_updated"),
        ("SELECT * FROM tracks ORDER BY updated_at DESC LIMIT 200", "idx_tracks_updated"),
        ("SELECT * FROM spikes ORDER BY updated_at DESC LIMIT 200", "idx_spikes_updated"),
        ("SELECT * FROM events WHERE resource_type IN ('feature', 'track', 'spike') ORDER BY id DESC LIMIT 100", "idx_events_work_items"),
        ("SELECT * FROM events WHERE resource_type IN ('feature', 'track', 'spike') AND event_type = 'link_added' ORDER BY id DESC LIMIT 100", "idx_events_work_items"),
        ("SELECT * FROM events WHERE resource_type IN ('feature', 'track', 'spike') AND resource_id = 'f1' ORDER BY id DESC LIMIT 100", "idx_events_work_item_resource"),
    ];
    for (sql, index) in cases {
        let plan = plan(&mut conn, sql);
        assert!(plan.contains(index), "{sql}\n  plan: {plan}");
    }
}
