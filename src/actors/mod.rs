//! The actors: one per file, each with its messages beside it.
//!
//! * [`persistence`] — the single writer (group commit, notify after commit).
//! * [`registry`] — rooms by name, connections by id.
//! * [`room`] — one per live room: snapshot/replay on join, batching, fan-out.
//! * [`connection`] — one per native WebSocket.
//! * [`sio`] — one per Socket.IO session, whatever its transport.
//! * [`cluster`] — PostgreSQL only: hears other nodes' commits, reconciles,
//!   fences, heartbeats.

pub mod cluster;
pub mod connection;
pub mod persistence;
pub mod registry;
pub mod room;
pub mod sio;
