//! Socket.IO v5 over Engine.IO v4 (`/socket.io/`), in one place:
//!
//! * [`codec`] — the packet format: parsing what clients send, encoding
//!   what herald sends (pure functions, golden tests).
//! * [`transport`] — long-polling and WebSocket, and the sid map.
//! * [`session`] — the session actor: a client connection like the native
//!   one, whatever transport carries it (its namespace CONNECT and events
//!   in `session/namespace.rs`).
//!
//! The HTTP routes (`http::socketio`) check the request and hand over here;
//! rooms render a session's frames in the `SocketIo` dialect
//! (`protocol`), which end in the session's outbox.

pub mod codec;
pub mod session;
pub mod transport;
