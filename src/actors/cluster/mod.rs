//! The cluster actor (PostgreSQL only): what makes several nodes on one
//! database one server (DESIGN §9). It
//!
//! * runs the [`listener`] and turns each other node's [`Wake`] into work
//!   for this node's rooms: heads to fill from the log, access facts to
//!   apply, tokens to forget and sockets to close;
//! * every `cluster.reconcile_ms` compares the heads of the live rooms with
//!   `rooms.last_seq`, so an event whose wake-up was lost still arrives;
//! * when the listener is down for [`FENCE_AFTER`], fences the rooms (they
//!   hold deliveries and joins) and stops trusting the token cache, because
//!   it can no longer confirm that no access ended elsewhere; once the
//!   listener is back (LISTEN first), it catches up: every room re-reads its
//!   head and access facts, every socket's token is checked, then rooms
//!   deliver again;
//! * writes this node's row in `nodes` every `cluster.heartbeat_ms` and keeps
//!   the live nodes in [`Stats`] for `/api/stats` and the heartbeat event.
//!
//! It owns no room state: rooms stay the only place that orders events.

pub mod listener;
pub mod wake;

use super::blocking;
use crate::actors::registry::{self, Registry};
use crate::auth::Auth;
use crate::config::ClusterSettings;
use crate::db::{access as aq, cluster as q, Pool};
use crate::error::AppError;
use crate::metrics::CatchUp;
use crate::stats::Stats;
use crate::time::now_ms;
use actix::prelude::*;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
pub use wake::Wake;

/// A node whose listener is down this long can no longer confirm that it is
/// current (DESIGN §9: revocation within 1 s on every node): it fences.
pub const FENCE_AFTER: Duration = Duration::from_millis(1000);

/// What the cluster actor needs.
pub struct ClusterEnv {
    /// This node's id.
    pub node: String,
    /// The PostgreSQL URL the listener opens its own connection with
    /// (`cluster.listen_url`, else `database.url`).
    pub url: String,
    /// `[cluster]`.
    pub settings: ClusterSettings,
    /// Reads (heads, nodes, tokens) and heartbeats.
    pub pool: Pool,
    /// Where rooms and connections are.
    pub registry: Addr<Registry>,
    /// Token cache to forget from, or to distrust while fenced.
    pub auth: Arc<Auth>,
    /// Where the live nodes are published.
    pub stats: Arc<Stats>,
}

/// One node's view of the cluster.
pub struct Cluster {
    env: ClusterEnv,
    /// When this node started (its row in `nodes`).
    started_at: i64,
    /// Since when the listener is down; `None` while it is up (it has
    /// LISTENed and not dropped since).
    down_since: Option<Instant>,
    /// Something may have been missed (the listener dropped): rooms and
    /// tokens must be checked against the database. Rooms are fenced only if
    /// that lasts longer than [`FENCE_AFTER`].
    behind: bool,
    /// A catch-up is running; another waits for the next tick.
    catching_up: bool,
    /// A periodic head comparison is running.
    reconciling: bool,
}

impl Cluster {
    /// A node that has not heard from the database yet: behind until its
    /// listener is up.
    pub fn new(env: ClusterEnv) -> Self {
        Cluster {
            env,
            started_at: now_ms(),
            down_since: Some(Instant::now()),
            behind: true,
            catching_up: false,
            reconciling: false,
        }
    }

    /// The listener has LISTENed and not dropped since.
    fn listening(&self) -> bool {
        self.down_since.is_none()
    }

    /// Another node committed: apply what it says.
    fn wake(&mut self, wake: Wake, ctx: &mut Context<Self>) {
        if wake.node == self.env.node {
            return;
        }
        if wake.everything {
            // At most one catch-up per reconcile interval, however many of
            // these arrive (a wake-up is not authenticated).
            self.behind = true;
            return;
        }
        for user in &wake.tokens {
            self.env.auth.forget(user);
        }
        if !wake.access.is_empty() {
            self.refresh_access(wake.access, ctx);
        }
        if !wake.tokens.is_empty() {
            self.check_tokens(Some(wake.tokens), ctx);
        }
        match wake.heads {
            Some(heads) => self.env.registry.do_send(registry::RemoteHeads { heads }),
            None => self.reconcile(ctx),
        }
    }

    /// Compares every live room's head with the log; rooms that are behind
    /// read what they missed.
    fn reconcile(&mut self, ctx: &mut Context<Self>) {
        if self.reconciling {
            return;
        }
        self.reconciling = true;
        let (pool, registry) = (self.env.pool.clone(), self.env.registry.clone());
        let work = async move {
            let rooms = registry
                .send(registry::LiveRooms)
                .await
                .map_err(|e| AppError::Internal(e.to_string()))?;
            if rooms.is_empty() {
                return Ok(());
            }
            let heads = blocking(move || {
                let names: Vec<&str> = rooms.iter().map(|r| r.as_str()).collect();
                Ok(q::heads(&mut *pool.get()?, &names)?)
            })
            .await?;
            registry.do_send(registry::RemoteHeads { heads });
            Ok::<_, AppError>(())
        };
        ctx.spawn(work.into_actor(self).map(|result, act, _| {
            act.reconciling = false;
            if let Err(err) = result {
                log::warn!("cluster reconcile failed: {err}");
            }
        }));
    }

    /// Reads the access facts of `sessions` from the database and hands them
    /// to the rooms (which keep the newer of what they know and this).
    fn refresh_access(&mut self, sessions: Vec<(String, String)>, ctx: &mut Context<Self>) {
        let (pool, registry) = (self.env.pool.clone(), self.env.registry.clone());
        let read = blocking(move || {
            let mut conn = pool.get()?;
            let mut facts = Vec::with_capacity(sessions.len());
            for (session, _) in sessions.iter().take(MAX_SESSIONS_PER_WAKE) {
                if let Some(found) = aq::session_access(&mut conn, session)? {
                    facts.push(Arc::new(found));
                }
            }
            Ok(facts)
        });
        ctx.spawn(read.into_actor(self).map(move |result, _, _| match result {
            Ok(access) if !access.is_empty() => registry.do_send(registry::Committed {
                events: Vec::new(),
                access,
                ended_tokens: Vec::new(),
            }),
            Ok(_) => {}
            Err(err) => log::warn!("cluster: cannot read access facts: {err}"),
        }));
    }

    /// Compares the tokens of the sockets of `only` those users (or of every
    /// user) with the database, and closes those whose token ended.
    fn check_tokens(&mut self, only: Option<Vec<String>>, ctx: &mut Context<Self>) {
        let (pool, registry) = (self.env.pool.clone(), self.env.registry.clone());
        let work = ended_tokens(pool, registry.clone(), only);
        ctx.spawn(work.into_actor(self).map(move |result, _, _| match result {
            Ok(ended) if !ended.is_empty() => registry.do_send(registry::Committed {
                events: Vec::new(),
                access: Vec::new(),
                ended_tokens: ended,
            }),
            Ok(_) => {}
            Err(err) => log::warn!("cluster: cannot check tokens: {err}"),
        }));
    }

    /// After the listener came back: checks every socket's token, then
    /// lets every room re-read its head and access facts and deliver again.
    fn catch_up(&mut self, reason: CatchUp, ctx: &mut Context<Self>) {
        if self.catching_up || !self.listening() {
            return;
        }
        self.catching_up = true;
        self.env.stats.metrics().caught_up(reason);
        let (pool, registry) = (self.env.pool.clone(), self.env.registry.clone());
        let auth = self.env.auth.clone();
        let work = async move {
            let ended = ended_tokens(pool, registry.clone(), None).await?;
            auth.forget_all();
            if !ended.is_empty() {
                registry.do_send(registry::Committed {
                    events: Vec::new(),
                    access: Vec::new(),
                    ended_tokens: ended,
                });
            }
            registry.do_send(registry::CatchUp);
            Ok::<_, AppError>(())
        };
        ctx.spawn(work.into_actor(self).map(|result, act, _| {
            act.catching_up = false;
            match result {
                Ok(()) => {
                    act.behind = false;
                    act.env.stats.set_fenced(false);
                    act.env.auth.trust_cache(true);
                    log::info!("cluster: caught up");
                }
                Err(err) => log::warn!("cluster catch-up failed, retrying: {err}"),
            }
        }));
    }

    /// Fences the rooms if the listener has been down for [`FENCE_AFTER`].
    fn check_fence(&mut self) {
        if self.down_since.is_some_and(|t| t.elapsed() >= FENCE_AFTER) {
            log::warn!("cluster listener down for {FENCE_AFTER:?}: rooms hold deliveries");
            self.env.stats.set_fenced(true);
            self.env.registry.do_send(registry::Fence);
        }
    }

    /// Writes this node's row and reads the live nodes.
    fn beat(&mut self, ctx: &mut Context<Self>) {
        let pool = self.env.pool.clone();
        let stats = self.env.stats.clone();
        let row = q::NodeRow {
            id: self.env.node.clone(),
            connections: stats.connections() as i64,
            started_at: self.started_at,
            seen_at: now_ms(),
        };
        let timeout = self.env.settings.node_timeout_ms as i64;
        let work = blocking(move || {
            let mut conn = pool.get()?;
            q::beat(&mut conn, &row)?;
            Ok(q::live(&mut conn, row.seen_at - timeout)?)
        });
        ctx.spawn(work.into_actor(self).map(move |result, _, _| match result {
            Ok(nodes) => stats.set_nodes(nodes),
            Err(err) => log::warn!("cluster heartbeat failed: {err}"),
        }));
    }
}

/// Most sessions one wake-up makes a node read (a forged one could name many).
const MAX_SESSIONS_PER_WAKE: usize = 256;

/// The users among those with open sockets (all, or `only` these) whose
/// sockets' token is no longer theirs in the database.
async fn ended_tokens(
    pool: Pool,
    registry: Addr<Registry>,
    only: Option<Vec<String>>,
) -> Result<Vec<String>, AppError> {
    let mut users = registry
        .send(registry::LiveUsers)
        .await
        .map_err(|e| AppError::Internal(e.to_string()))?;
    if let Some(only) = only {
        users.retain(|id, _| only.contains(id));
    }
    if users.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<String> = users.keys().cloned().collect();
    let current: HashMap<String, String> = blocking(move || {
        let names: Vec<&str> = ids.iter().map(String::as_str).collect();
        Ok(q::token_hashes(&mut *pool.get()?, &names)?)
    })
    .await?
    .into_iter()
    .collect();
    Ok(users
        .into_iter()
        .filter(|(id, hashes)| {
            let now = current.get(id);
            hashes.iter().any(|h| now != Some(h))
        })
        .map(|(id, _)| id)
        .collect())
}

impl Actor for Cluster {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        // Until the listener is up nothing from other nodes is heard, and
        // the token cache is not trusted.
        self.env.auth.trust_cache(false);
        self.env.stats.set_fenced(true);
        self.env.registry.do_send(registry::Fence);
        let listen = listener::run(self.env.url.clone(), self.env.node.clone(), ctx.address());
        ctx.spawn(listen.into_actor(self));
        self.beat(ctx);
        let beat = Duration::from_millis(self.env.settings.heartbeat_ms);
        ctx.run_interval(beat, |act, ctx| act.beat(ctx));
        let every = Duration::from_millis(self.env.settings.reconcile_ms);
        ctx.run_interval(every, |act, ctx| {
            if act.behind {
                act.catch_up(CatchUp::behind, ctx);
            } else {
                act.reconcile(ctx);
            }
        });
    }
}

/// The listener has LISTENed: reconcile.
#[derive(Message)]
#[rtype(result = "()")]
pub struct ListenerUp;

/// The listener's connection ended (or could not be made).
#[derive(Message)]
#[rtype(result = "()")]
pub struct ListenerDown;

/// A notification arrived on the channel.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Notified(pub String);

/// Removes this node's row (a clean stop); answers when done.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Leave;

impl Handler<ListenerUp> for Cluster {
    type Result = ();

    fn handle(&mut self, _: ListenerUp, ctx: &mut Context<Self>) {
        self.down_since = None;
        // Whatever committed while nobody listened is only in the log.
        self.env.stats.set_listening(true);
        self.catch_up(CatchUp::listener, ctx);
    }
}

impl Handler<ListenerDown> for Cluster {
    type Result = ();

    fn handle(&mut self, _: ListenerDown, ctx: &mut Context<Self>) {
        if self.listening() {
            log::warn!("cluster listener down");
        }
        self.behind = true;
        self.env.stats.set_listening(false);
        // Tokens may end elsewhere unheard: check each one with the database.
        self.env.auth.trust_cache(false);
        if self.down_since.is_none() {
            self.down_since = Some(Instant::now());
            ctx.run_later(FENCE_AFTER, |act, _| act.check_fence());
        }
    }
}

impl Handler<Notified> for Cluster {
    type Result = ();

    fn handle(&mut self, msg: Notified, ctx: &mut Context<Self>) {
        self.env.stats.notification_received();
        self.wake(Wake::decode(&msg.0), ctx);
    }
}

impl Handler<Leave> for Cluster {
    type Result = ResponseFuture<()>;

    fn handle(&mut self, _: Leave, _: &mut Context<Self>) -> Self::Result {
        let pool = self.env.pool.clone();
        let node = self.env.node.clone();
        let gone = now_ms() - 10 * self.env.settings.node_timeout_ms as i64;
        Box::pin(async move {
            let _ = blocking(move || Ok(q::remove(&mut *pool.get()?, &node, gone)?)).await;
        })
    }
}
