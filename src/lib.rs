//! herald: a real-time broadcast server. Writes arrive over HTTP, are committed
//! to the database first, then broadcast to the WebSocket clients subscribed to
//! the affected rooms. The database is the source of truth; the socket is only
//! transport, so a client that reconnects resumes exactly where it was.
//!
//! # Layout
//! * [`config`] — settings, their defaults and layering, validation.
//! * [`error`] — one error type: protocol code, HTTP body, WebSocket frame.
//! * [`types`] — validated room names and ids, closed vocabularies (statuses,
//!   roles, states) as enums; committed events and deliveries.
//! * [`validate`] — the validators of outside values, in one place.
//! * [`time`] — the clock and RFC 3339 timestamps.
//! * [`access`] — identities, session roles, who may read, write, manage.
//! * [`auth`] — tokens (hashed), resolving them to identities, rate limits.
//! * [`db`] — diesel schema, the two-backend connection, pool, migrations, SQL.
//! * [`domain`] — the rules: what each command writes and which events it emits.
//! * [`actors`] — persistence (single writer), registry, rooms, connections.
//! * [`protocol`] — wire messages and their rendering.
//! * [`socketio`] — Socket.IO: packet format, transports, the session actor.
//! * [`frames`] — WebSocket frames, written and read through actix-http's codec.
//! * [`transport`] — the per-socket outbox and the close codes.
//! * [`stats`] — live counters.
//! * [`history`] — the last minutes of those counters, sampled each second.
//! * [`metrics`] — Prometheus metrics and their text rendering.
//! * [`logging`] — text or JSON log lines (`[log]`).
//! * [`http`] — the route table and handlers.
//!
//! [`run`] starts everything on a listener the caller bound, and stops
//! gracefully when the caller's `shutdown` future resolves.

pub mod access;
pub mod actors;
pub mod auth;
pub mod config;
pub mod db;
pub mod domain;
pub mod error;
pub mod frames;
pub mod history;
pub mod http;
pub mod logging;
pub mod metrics;
pub mod protocol;
pub mod socketio;
pub mod stats;
pub mod time;
pub mod transport;
pub mod types;
pub mod validate;

use actix::{Actor, Arbiter};
use actix_web::{web, App, HttpServer};
use actors::cluster::{self, Cluster, ClusterEnv};
use actors::persistence::{self, Persistence};
use actors::registry::{self, LiveRoomNames, Registry};
use actors::room::RoomEnv;
use config::Settings;
use std::future::Future;
use std::io;
use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

/// Opens the database named in `settings` and applies pending migrations
/// (on PostgreSQL under an advisory lock, so nodes started together run
/// them once). Returns the names of the migrations applied.
pub fn migrate(settings: &Settings) -> io::Result<Vec<String>> {
    let manager = db::DbManager::new(&settings.database.url, settings.database.busy_timeout_ms)
        .map_err(io::Error::other)?;
    let mut conn = manager.connect().map_err(io::Error::other)?;
    db::migrate(&mut conn).map_err(io::Error::other)
}

/// Creates a user directly in the database (the operator's `herald users
/// add`; the operator is trusted as an admin). Returns the user's JSON and
/// its token, which is not stored and cannot be shown again.
pub fn add_user(
    settings: &Settings,
    email: &str,
    name: Option<String>,
    admin: bool,
) -> io::Result<(serde_json::Value, String)> {
    use diesel::Connection;
    let manager = db::DbManager::new(&settings.database.url, settings.database.busy_timeout_ms)
        .map_err(io::Error::other)?;
    let mut conn = manager.connect().map_err(io::Error::other)?;
    db::migrate(&mut conn).map_err(io::Error::other)?;
    let token = auth::new_token().map_err(io::Error::other)?;
    let command = domain::Command::CreateUser(domain::users::NewUser {
        id: types::new_id(),
        email: email.to_string(),
        name,
        admin,
        token_hash: auth::hash_token(&token),
    });
    let ctx = domain::CommandCtx {
        now: time::now_ms(),
        ..domain::CommandCtx::default()
    };
    let outcome = conn
        .transaction(|c| domain::apply_now(c, &ctx, &command))
        .map_err(|e| io::Error::other(e.message().to_string()))?;
    Ok((serde_json::Value::Object(outcome.body), token))
}

/// A node id for an empty `cluster.node_id`: `node-<12 hex>`.
pub fn new_node_id() -> String {
    format!("node-{}", &uuid::Uuid::new_v4().simple().to_string()[..12])
}

/// Serves herald on `listener` until `shutdown` resolves, then stops
/// accepting, closes every socket with 1001, lets in-flight and queued writes
/// commit, and returns. Must be called inside an actix system.
pub async fn run(
    settings: Settings,
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    // Held until the server stops: a second server on one SQLite file stops here.
    let backend = db::Backend::from_url(&settings.database.url).map_err(io::Error::other)?;
    let _serving = db::lock_for_serving(&backend).map_err(io::Error::other)?;
    let settings = Arc::new(settings);
    let migrate_settings = settings.clone();
    let applied = web::block(move || migrate(&migrate_settings))
        .await
        .map_err(io::Error::other)??;
    if !applied.is_empty() {
        log::info!("applied migrations: {}", applied.join(", "));
    }
    let manager = db::DbManager::new(&settings.database.url, settings.database.busy_timeout_ms)
        .map_err(io::Error::other)?;
    let pool = db::pool(manager.clone(), settings.database.pool_size);
    let node = match settings.cluster.node_id.as_str() {
        "" => new_node_id(),
        id => id.to_string(),
    };
    let stats = Arc::new(stats::Stats::new(node));
    let sampler = history::spawn_sampler(pool.clone(), stats.clone());
    let auth = Arc::new(auth::Auth::new(&settings.auth, pool.clone()));
    let core = Core::start(
        &settings,
        manager,
        pool.clone(),
        stats.clone(),
        auth.clone(),
    );

    let state = http::AppState {
        auth,
        sio: Arc::default(),
        settings: settings.clone(),
        pool,
        writer: core.writer.clone(),
        registry: core.registry.clone(),
        stats,
    };
    let workers = match settings.server.workers {
        0 => std::thread::available_parallelism().map_or(2, |n| n.get()),
        n => n,
    };
    let server = HttpServer::new(move || {
        App::new()
            .app_data(web::Data::new(state.clone()))
            .wrap_fn(http::mark_replayed)
            .configure(http::routes)
    })
    .workers(workers)
    .disable_signals()
    .shutdown_timeout(settings.server.shutdown_timeout_ms.div_ceil(1000))
    .listen(listener)?
    .run();
    let handle = server.handle();
    let serving = actix_web::rt::spawn(server);

    shutdown.await;
    log::info!("shutting down");
    handle.pause().await;
    let closed = core.registry.send(registry::ShutdownAll).await.unwrap_or(0);
    log::info!("closed {closed} sockets with 1001");
    handle.stop(true).await;
    let _ = serving.await;
    sampler.abort();
    core.stop().await;
    log::info!("stopped");
    Ok(())
}

/// The actors behind the HTTP server, each group on a thread of its own.
struct Core {
    registry: actix::Addr<Registry>,
    writer: actix::Addr<Persistence>,
    /// The registry and every room.
    rooms_thread: Arbiter,
    /// The persistence actor alone: its transactions block this thread.
    writer_thread: Arbiter,
    /// On PostgreSQL: the cluster actor and its listener, on a thread of
    /// their own so that a wake-up never waits behind a busy room.
    cluster: Option<(actix::Addr<Cluster>, Arbiter)>,
}

impl Core {
    fn start(
        settings: &Settings,
        manager: db::DbManager,
        pool: db::Pool,
        stats: Arc<stats::Stats>,
        auth: Arc<auth::Auth>,
    ) -> Core {
        let rooms_thread = Arbiter::new();
        let env = RoomEnv {
            pool: pool.clone(),
            batch_window: Duration::from_millis(settings.ws.batch_window_ms),
            retention: settings.events.retention_per_room,
            stats: stats.clone(),
        };
        let live = Arc::new(LiveRoomNames::default());
        let registry_live = live.clone();
        let registry = Registry::start_in_arbiter(&rooms_thread.handle(), move |_| {
            Registry::new(env, registry_live)
        });
        let retention = settings.events.retention_per_room;
        let writer_thread = Arbiter::new();
        let writer_registry = registry::Handle {
            addr: registry.clone(),
            live,
        };
        let cluster_url = match manager.backend() {
            db::Backend::Postgres(url) => Some(url.clone()),
            db::Backend::Sqlite(_) => None,
        };
        let cluster_node = cluster_url.as_ref().map(|_| stats.node().to_string());
        let ttl = settings.http.idempotency_ttl_s;
        let writer_stats = stats.clone();
        let writer_auth = auth.clone();
        let writer = Persistence::start_in_arbiter(&writer_thread.handle(), move |_| {
            Persistence::new(
                manager,
                writer_registry,
                retention,
                cluster_node,
                ttl,
                writer_stats,
                writer_auth,
            )
        });
        let cluster = cluster_url.map(|url| {
            let thread = Arbiter::new();
            let url = match settings.cluster.listen_url.as_str() {
                "" => url,
                listen => listen.to_string(),
            };
            let env = ClusterEnv {
                node: stats.node().to_string(),
                url,
                settings: settings.cluster.clone(),
                pool,
                registry: registry.clone(),
                auth,
                stats,
            };
            let addr = Cluster::start_in_arbiter(&thread.handle(), move |_| Cluster::new(env));
            (addr, thread)
        });
        Core {
            registry,
            writer,
            rooms_thread,
            writer_thread,
            cluster,
        }
    }

    /// Commits every queued write, then stops the threads (and takes this
    /// node out of the `nodes` table).
    async fn stop(self) {
        let _ = self.writer.send(persistence::Drain).await;
        if let Some((cluster, thread)) = self.cluster {
            let _ = cluster.send(cluster::Leave).await;
            thread.stop();
        }
        self.writer_thread.stop();
        self.rooms_thread.stop();
    }
}
