//! The actors: one per file, each with its messages beside it.
//!
//! * [`persistence`] — the single writer (group commit, notify after commit).
//! * [`registry`] — rooms by name, connections by id.
//! * [`room`] — one per live room: snapshot/replay on join, batching, fan-out.
//! * [`client`] — what every client connection shares (`ClientCore`).
//! * [`connection`] — one per native WebSocket.
//! * [`cluster`] — PostgreSQL only: hears other nodes' commits, reconciles,
//!   fences, heartbeats.
//!
//! The Socket.IO session actor lives with its protocol, in `socketio`.

pub mod client;
pub mod cluster;
pub mod connection;
pub mod persistence;
pub mod registry;
pub mod room;

use crate::error::AppError;

/// Runs a database read on a blocking thread, off the actor's own (actors
/// never block: their reads come back to them as messages).
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, AppError> + Send + 'static,
) -> Result<T, AppError> {
    actix_web::rt::task::spawn_blocking(f)
        .await
        .unwrap_or_else(|e| Err(AppError::Internal(format!("read task failed: {e}"))))
}
