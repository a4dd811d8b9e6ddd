//! The room registry: starts a room actor on first join, forwards joins and
//! leaves to it, fans committed events out to the live rooms, stops rooms
//! that went idle, and knows every connection for shutdown.
//!
//! It holds no subscriber state itself (rooms do) and reads no database.

use crate::access::SessionAccess;
use crate::actors::client;
use crate::actors::room::{self, Room, RoomEnv};
use crate::db::events::Committed as CommittedEvent;
use crate::transport::{CLOSE_GOING_AWAY, CLOSE_UNAUTHORIZED};
use crate::types::RoomName;
use actix::prelude::*;
use std::collections::HashMap;
use std::sync::Arc;

mod live;
pub use live::{Handle, LiveRoomNames};

/// One live room.
struct Entry {
    addr: Addr<Room>,
    /// Joins forwarded; a room may stop only if it saw all of them.
    joins: u64,
}

/// One open connection.
struct Conn {
    /// Its user (none for admin-token and local callers).
    user_id: Option<String>,
    /// The hash of the token it was opened with, checked on a catch-up.
    token_hash: Option<String>,
    /// Where to send a close.
    addr: Recipient<client::Close>,
}

/// Rooms by name, connections by id.
pub struct Registry {
    rooms: HashMap<RoomName, Entry>,
    /// The names of `rooms`, for the writer.
    live: Arc<LiveRoomNames>,
    conns: HashMap<u64, Conn>,
    env: RoomEnv,
    /// The cluster cannot confirm this node is current: rooms hold
    /// deliveries and joins until the next [`CatchUp`]; rooms started
    /// meanwhile start fenced.
    fenced: bool,
}

impl Registry {
    /// An empty registry; rooms it starts get `env`; it keeps `live` in
    /// step with its rooms.
    pub fn new(env: RoomEnv, live: Arc<LiveRoomNames>) -> Self {
        Registry {
            rooms: HashMap::new(),
            live,
            conns: HashMap::new(),
            env,
            fenced: false,
        }
    }
}

impl Actor for Registry {
    type Context = Context<Self>;
}

/// Join a room (started if needed).
#[derive(Message)]
#[rtype(result = "()")]
pub struct Join {
    /// The room.
    pub room: RoomName,
    /// Who joins.
    pub sub: room::Subscriber,
    /// Resume after this seq; `None` for a fresh join with snapshot.
    pub since: Option<i64>,
}

/// Leave a room.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Leave {
    /// The room.
    pub room: RoomName,
    /// Who leaves.
    pub conn_id: u64,
    /// Where the room answers `unsubscribed` (a client request); `None` leaves silently.
    pub reply: Option<room::Reply>,
}

/// Events that just committed, in commit order.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Committed {
    /// The events with their deliveries.
    pub events: Vec<CommittedEvent>,
    /// Sessions whose access changed in these commits: sent to the session's
    /// room and its project's room with the deliveries, so a room applies
    /// them before it sends anything committed after them.
    pub access: Vec<Arc<SessionAccess>>,
    /// Users whose token stopped being valid (deleted, or a new token): their
    /// sockets are closed with 4001.
    pub ended_tokens: Vec<String>,
}

/// A room has had no subscriber for a while.
#[derive(Message)]
#[rtype(result = "()")]
pub struct RoomIdle {
    /// The room.
    pub room: RoomName,
    /// Joins the room has seen.
    pub joins: u64,
}

/// A connection opened.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Connect {
    /// Connection id.
    pub id: u64,
    /// The user it was opened by, if any.
    pub user_id: Option<String>,
    /// The hash of the user's token it was opened with.
    pub token_hash: Option<String>,
    /// Where to send a close.
    pub addr: Recipient<client::Close>,
}

/// A connection closed.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Disconnect {
    /// Connection id.
    pub id: u64,
}

/// Other nodes committed up to these seqs (room name, seq): live rooms
/// that are behind read the log.
#[derive(Message)]
#[rtype(result = "()")]
pub struct RemoteHeads {
    /// Room names with a seq known to be committed.
    pub heads: Vec<(String, i64)>,
}

/// The names of the live rooms.
#[derive(Message)]
#[rtype(result = "Vec<RoomName>")]
pub struct LiveRooms;

/// The users with open connections and the token hashes they opened them with.
#[derive(Message)]
#[rtype(result = "HashMap<String, Vec<String>>")]
pub struct LiveUsers;

/// This node may have missed commits: every room holds deliveries and joins.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Fence;

/// This node hears other nodes again: every room re-reads its head and
/// access facts, then delivers (and takes joins) again.
#[derive(Message)]
#[rtype(result = "()")]
pub struct CatchUp;

/// Close every connection with 1001; answers with how many were told.
#[derive(Message)]
#[rtype(result = "usize")]
pub struct ShutdownAll;

impl Handler<Join> for Registry {
    type Result = ();

    fn handle(&mut self, msg: Join, ctx: &mut Context<Self>) {
        let registry = ctx.address();
        let env = &self.env;
        let fenced = self.fenced;
        let live = &self.live;
        let entry = self.rooms.entry(msg.room.clone()).or_insert_with(|| {
            // Before the room starts (and reads its head from the log).
            live.insert(&msg.room);
            Entry {
                addr: Room::new(msg.room.clone(), env.clone(), registry, fenced).start(),
                joins: 0,
            }
        });
        entry.joins += 1;
        entry.addr.do_send(room::Join {
            sub: msg.sub,
            since: msg.since,
        });
    }
}

impl Handler<Leave> for Registry {
    type Result = ();

    fn handle(&mut self, msg: Leave, _: &mut Context<Self>) {
        if let Some(entry) = self.rooms.get(&msg.room) {
            entry.addr.do_send(room::Leave {
                conn_id: msg.conn_id,
                reply: msg.reply,
            });
        } else if msg.reply.is_some() {
            // A client asks to leave only a room it joined, which lives
            // while it holds the join, and ten seconds after an eviction
            // the client is told of at once; it answers the others itself.
            log::debug!("leave of room {} after it stopped", msg.room);
        }
    }
}

impl Handler<Committed> for Registry {
    type Result = ();

    fn handle(&mut self, msg: Committed, _: &mut Context<Self>) {
        for user in &msg.ended_tokens {
            for conn in self
                .conns
                .values()
                .filter(|c| c.user_id.as_ref() == Some(user))
            {
                conn.addr.do_send(client::Close {
                    code: CLOSE_UNAUTHORIZED,
                    reason: "Token revoked",
                });
                let metrics = self.env.stats.metrics();
                metrics.revoked(crate::metrics::Revocation::token);
            }
        }
        let mut by_room: HashMap<RoomName, room::Publish> = HashMap::new();
        for access in &msg.access {
            for name in [
                RoomName::session(&access.session_id),
                RoomName::project(&access.project_id),
            ] {
                if self.rooms.contains_key(&name) {
                    publish_to(&mut by_room, &name).access.push(access.clone());
                }
            }
        }
        for event in &msg.events {
            for delivery in &event.deliveries {
                if self.rooms.contains_key(&delivery.room) {
                    publish_to(&mut by_room, &delivery.room)
                        .deliveries
                        .push(delivery.clone());
                }
            }
        }
        for (name, message) in by_room {
            if let Some(entry) = self.rooms.get(&name) {
                entry.addr.do_send(message);
            }
        }
    }
}

/// The message being gathered for one room.
fn publish_to<'a>(
    by_room: &'a mut HashMap<RoomName, room::Publish>,
    name: &RoomName,
) -> &'a mut room::Publish {
    by_room
        .entry(name.clone())
        .or_insert_with(|| room::Publish {
            deliveries: Vec::new(),
            access: Vec::new(),
        })
}

impl Handler<RoomIdle> for Registry {
    type Result = ();

    fn handle(&mut self, msg: RoomIdle, _: &mut Context<Self>) {
        // A join still on its way to the room keeps it alive.
        if self
            .rooms
            .get(&msg.room)
            .is_some_and(|e| e.joins == msg.joins)
        {
            if let Some(entry) = self.rooms.remove(&msg.room) {
                self.live.remove(&msg.room);
                entry.addr.do_send(room::Stop);
            }
        }
    }
}

impl Handler<Connect> for Registry {
    type Result = ();

    fn handle(&mut self, msg: Connect, _: &mut Context<Self>) {
        self.conns.insert(
            msg.id,
            Conn {
                user_id: msg.user_id,
                token_hash: msg.token_hash,
                addr: msg.addr,
            },
        );
    }
}

impl Handler<Disconnect> for Registry {
    type Result = ();

    fn handle(&mut self, msg: Disconnect, _: &mut Context<Self>) {
        self.conns.remove(&msg.id);
    }
}

impl Handler<RemoteHeads> for Registry {
    type Result = ();

    fn handle(&mut self, msg: RemoteHeads, _: &mut Context<Self>) {
        for (name, seq) in msg.heads {
            let Ok(name) = RoomName::parse(&name) else {
                continue;
            };
            if let Some(entry) = self.rooms.get(&name) {
                entry.addr.do_send(room::Behind { seq });
            }
        }
    }
}

impl Handler<LiveRooms> for Registry {
    type Result = MessageResult<LiveRooms>;

    fn handle(&mut self, _: LiveRooms, _: &mut Context<Self>) -> Self::Result {
        MessageResult(self.rooms.keys().cloned().collect())
    }
}

impl Handler<LiveUsers> for Registry {
    type Result = MessageResult<LiveUsers>;

    fn handle(&mut self, _: LiveUsers, _: &mut Context<Self>) -> Self::Result {
        let mut users: HashMap<String, Vec<String>> = HashMap::new();
        for conn in self.conns.values() {
            if let (Some(user), Some(hash)) = (&conn.user_id, &conn.token_hash) {
                users.entry(user.clone()).or_default().push(hash.clone());
            }
        }
        MessageResult(users)
    }
}

impl Handler<Fence> for Registry {
    type Result = ();

    fn handle(&mut self, _: Fence, _: &mut Context<Self>) {
        self.fenced = true;
        for entry in self.rooms.values() {
            entry.addr.do_send(room::Fence);
        }
    }
}

impl Handler<CatchUp> for Registry {
    type Result = ();

    fn handle(&mut self, _: CatchUp, _: &mut Context<Self>) {
        self.fenced = false;
        for entry in self.rooms.values() {
            entry.addr.do_send(room::Refresh);
        }
    }
}

impl Handler<ShutdownAll> for Registry {
    type Result = usize;

    fn handle(&mut self, _: ShutdownAll, _: &mut Context<Self>) -> usize {
        for conn in self.conns.values() {
            conn.addr.do_send(client::Close {
                code: CLOSE_GOING_AWAY,
                reason: "server shutting down",
            });
        }
        self.conns.len()
    }
}
