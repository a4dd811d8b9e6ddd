//! The answers of the operations routes: `/healthz`, `/readyz`, `/api/stats`.

use serde::Serialize;
use utoipa::ToSchema;

/// `{"status":"ok"}` / `{"status":"ready"}`.
#[derive(Serialize, ToSchema)]
pub struct Status {
    /// `ok` (`/healthz`) or `ready` (`/readyz`).
    pub status: String,
}

/// One room with live connections.
#[derive(Serialize, ToSchema)]
pub struct RoomConnections {
    /// The room.
    pub room: String,
    /// Connections subscribed to it on this node.
    pub connections: i64,
}

/// A live node.
#[derive(Serialize, ToSchema)]
pub struct NodeInfo {
    /// Its `cluster.node_id`.
    pub id: String,
    /// Its connections, as it last reported them.
    pub connections: i64,
    /// Its last heartbeat.
    #[schema(format = DateTime)]
    pub seen_at: String,
}

/// The cluster listener.
#[derive(Serialize, ToSchema)]
pub struct ClusterInfo {
    /// The LISTEN connection is up (always `false` on SQLite).
    pub listening: bool,
    /// Notifications received since start.
    pub notifications_received: i64,
}

/// `GET /api/stats`.
#[derive(Serialize, ToSchema)]
pub struct Stats {
    /// This node's id.
    pub node: String,
    /// The live nodes (this one alone on SQLite).
    pub nodes: Vec<NodeInfo>,
    /// The cluster listener.
    pub cluster: ClusterInfo,
    /// This node's connections, every dialect.
    pub connections: i64,
    /// Rooms with at least one connection.
    pub rooms: Vec<RoomConnections>,
    /// Events in the log.
    pub events_total: i64,
    /// Seconds since start.
    pub uptime_s: i64,
}
