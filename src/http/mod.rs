//! HTTP: one route table, the shared state, and helpers that turn a domain
//! outcome into the JSON answer. Handlers only translate HTTP; the domain
//! decides what happens and the persistence actor writes it.

mod activity;
mod assets;
mod collaborators;
pub mod extract;
pub mod guard;
mod hooks;
pub mod metrics;
mod ops;
mod projects;
mod rooms;
mod sessions;
mod socketio;
mod users;
mod work;
mod ws;

use crate::access::Identity;
use crate::actors::persistence::{self, Persistence};
use crate::actors::registry::Registry;
use crate::auth::Auth;
use crate::config::Settings;
use crate::db::{DbConn, Pool};
use crate::domain::{Command, Outcome};
use crate::error::{AppError, AppResult};
use crate::stats::Stats;
use actix::Addr;
use actix_web::dev::{Service, ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::{web, HttpMessage, HttpRequest, HttpResponse};
use serde_json::Value;
use std::sync::Arc;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// The settings the server runs with.
    pub settings: Arc<Settings>,
    /// Read pool.
    pub pool: Pool,
    /// The single writer.
    pub writer: Addr<Persistence>,
    /// Rooms and connections.
    pub registry: Addr<Registry>,
    /// Live counters.
    pub stats: Arc<Stats>,
    /// Tokens to identities; write rate limits.
    pub auth: Arc<Auth>,
    /// Socket.IO sessions by sid.
    pub sio: Arc<crate::actors::sio::Sessions>,
}

impl AppState {
    /// Who sent `req` (`Authorization: Bearer`); 401 when auth is required
    /// and the token is missing or unknown.
    pub async fn caller(&self, req: &HttpRequest) -> AppResult<Arc<Identity>> {
        self.auth.identify(extract::bearer(req)).await
    }

    /// 403 unless the caller is an admin.
    pub async fn admin(&self, req: &HttpRequest) -> AppResult<Arc<Identity>> {
        let who = self.caller(req).await?;
        if who.admin {
            Ok(who)
        } else {
            Err(AppError::Forbidden("admins only".into()))
        }
    }

    /// 404 for an unknown session, 403 unless `who` may read it.
    pub async fn check_read(&self, who: &Arc<Identity>, session_id: &str) -> AppResult<()> {
        let id = session_id.to_string();
        let access = self
            .read(move |c| Ok(crate::db::access::session_access(c, &id)?))
            .await?
            .ok_or_else(|| AppError::not_found("session", session_id))?;
        if access.can_read(who) {
            Ok(())
        } else {
            Err(AppError::Forbidden(format!(
                "you may not read session {session_id}"
            )))
        }
    }

    /// Sends a write by the request's caller to the persistence actor
    /// (which checks the caller's rights in the transaction); resolves after
    /// commit. 429 past the caller's write rate.
    pub async fn execute(&self, req: &HttpRequest, command: Command) -> AppResult<Outcome> {
        let mut ctx = extract::command_ctx(req)?;
        ctx.max_payload_bytes = self.settings.events.max_payload_bytes;
        ctx.caller = self.caller(req).await?;
        self.auth.count_write(&ctx.caller)?;
        let outcome = self
            .writer
            .send(persistence::Execute { command, ctx })
            .await
            .map_err(|e| AppError::Unavailable(format!("writer unavailable: {e}")))??;
        if outcome.replayed {
            req.extensions_mut().insert(Replayed);
        }
        Ok(outcome)
    }

    /// Runs a read on a pooled connection off the async threads.
    pub async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut DbConn) -> AppResult<T> + Send + 'static,
    ) -> AppResult<T> {
        let pool = self.pool.clone();
        web::block(move || f(&mut *pool.get()?))
            .await
            .map_err(|e| AppError::Internal(format!("read task failed: {e}")))?
    }
}

/// The JSON answer of a write: the resource's fields plus the events it made
/// (for a replayed keyed write, the first answer as it was).
pub fn written(outcome: Outcome) -> HttpResponse {
    let body = crate::domain::idempotency::answer_body(&outcome);
    let mut response = if outcome.created {
        HttpResponse::Created()
    } else {
        HttpResponse::Ok()
    };
    response.json(Value::Object(body))
}

/// Marks a request whose write was answered from a stored first answer.
#[derive(Clone, Copy)]
pub struct Replayed;

/// Middleware: adds `Idempotent-Replayed: true` to replayed answers.
pub fn mark_replayed<S, B>(
    req: ServiceRequest,
    srv: &S,
) -> impl std::future::Future<Output = Result<ServiceResponse<B>, actix_web::Error>>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error>,
{
    let answer = srv.call(req);
    async move {
        let mut res = answer.await?;
        if res.request().extensions().get::<Replayed>().is_some() {
            res.headers_mut().insert(
                HeaderName::from_static("idempotent-replayed"),
                HeaderValue::from_static("true"),
            );
        }
        Ok(res)
    }
}

/// The route table, every route behind the [`guard`] (Origin, Host), every
/// request counted (and logged) by [`metrics::observe`], refusals too.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.app_data(extract::query_config())
        .app_data(extract::path_config())
        .service(
            web::scope("")
                .wrap(actix_web::middleware::from_fn(guard::guard))
                .wrap(actix_web::middleware::from_fn(metrics::observe))
                .configure(table),
        );
}

fn table(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(assets::index))
        .route("/ui/app.js", web::get().to(assets::app))
        .route("/ui/style.css", web::get().to(assets::style))
        .route("/ui/chart.js", web::get().to(assets::chart))
        .route("/client/herald.js", web::get().to(assets::client))
        .route("/healthz", web::get().to(ops::healthz))
        .route("/readyz", web::get().to(ops::readyz))
        .route("/api/stats", web::get().to(ops::stats))
        .route("/api/stats/history", web::get().to(ops::history))
        .route("/metrics", web::get().to(metrics::scrape))
        .route("/ws", web::get().to(ws::native))
        .route("/ws/broadcasts", web::get().to(ws::broadcasts))
        .route("/ws/sessions/{id}", web::get().to(ws::session))
        .service(
            web::resource(["/socket.io/", "/socket.io"])
                .default_service(web::to(not_found))
                .get(socketio::get)
                .post(socketio::post),
        )
        .service(
            web::resource("/api/projects")
                .default_service(web::to(not_found))
                .get(projects::list)
                .post(projects::create),
        )
        .service(
            web::resource("/api/projects/{id}")
                .default_service(web::to(not_found))
                .get(projects::get)
                .patch(projects::update)
                .delete(projects::delete),
        )
        .route(
            "/api/projects/{id}/sessions",
            web::post().to(sessions::create),
        )
        .route("/api/sessions", web::get().to(sessions::list))
        .service(
            web::resource("/api/sessions/{id}")
                .default_service(web::to(not_found))
                .get(sessions::get)
                .patch(sessions::update)
                .delete(sessions::delete),
        )
        .route(
            "/api/sessions/{id}/snapshot",
            web::get().to(sessions::snapshot),
        )
        .service(
            web::resource("/api/sessions/{id}/messages")
                .default_service(web::to(not_found))
                .get(activity::messages)
                .post(activity::add_message),
        )
        .service(
            web::resource("/api/sessions/{id}/token-usage")
                .default_service(web::to(not_found))
                .get(activity::usage)
                .post(activity::add_usage),
        )
        .route("/api/hooks", web::post().to(hooks::receive))
        .service(
            web::resource("/api/broadcast/features/{id}")
                .default_service(web::to(not_found))
                .post(work::save_feature)
                .delete(work::delete_feature),
        )
        .route(
            "/api/broadcast/features/{id}/status",
            web::post().to(work::set_status),
        )
        .route(
            "/api/broadcast/features/{id}/links",
            web::post().to(work::add_link),
        )
        .route(
            "/api/broadcast/features/{id}/comments",
            web::post().to(work::add_comment),
        )
        .route(
            "/api/broadcast/tracks/{id}",
            web::post().to(work::save_track),
        )
        .route(
            "/api/broadcast/spikes/{id}",
            web::post().to(work::save_spike),
        )
        .route("/api/broadcast/events", web::get().to(work::audit))
        .route(
            "/api/sessions/{id}/todos",
            web::put().to(activity::replace_todos),
        )
        .route(
            "/api/sessions/{id}/tool-calls",
            web::post().to(activity::save_tool_call),
        )
        .service(
            web::resource("/api/sessions/{id}/collaborators")
                .default_service(web::to(not_found))
                .get(collaborators::list)
                .post(collaborators::add),
        )
        .service(
            web::resource("/api/sessions/{id}/collaborators/{cid}")
                .default_service(web::to(not_found))
                .patch(collaborators::update)
                .delete(collaborators::remove),
        )
        .route(
            "/api/sessions/{id}/collaborators/{cid}/accept",
            web::post().to(collaborators::accept),
        )
        .route("/api/users", web::post().to(users::create))
        .route("/api/users/{id}", web::delete().to(users::delete))
        .route(
            "/api/users/{id}/token",
            web::post().to(users::replace_token),
        )
        .route("/api/me", web::get().to(users::me))
        .service(
            web::resource("/api/rooms/{room}/events")
                .default_service(web::to(not_found))
                .get(rooms::list)
                .post(rooms::publish),
        )
        // Aliases used by existing clients (seed 004).
        .route("/projects", web::post().to(projects::create))
        .route(
            "/projects/{id}/sessions",
            web::post().to(sessions::create_alias),
        )
        .route(
            "/sessions/{id}/messages",
            web::post().to(activity::add_message),
        )
        .default_service(web::to(not_found));
}

async fn not_found(req: HttpRequest) -> AppResult<HttpResponse> {
    Err(AppError::NotFound(format!(
        "no route for {} {}",
        req.method(),
        req.path()
    )))
}
