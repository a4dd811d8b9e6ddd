//! HTTP: the shared state, and helpers that turn a domain outcome into the
//! JSON answer; the route table is `table.rs`. Handlers only translate HTTP;
//! the domain decides what happens and the persistence actor writes it.

mod activity;
mod assets;
mod batch;
mod collaborators;
pub mod extract;
pub mod guard;
mod hooks;
pub mod metrics;
pub mod openapi;
mod ops;
mod projects;
mod rooms;
mod sessions;
mod socketio;
mod table;
mod users;
mod work;
mod ws;

use crate::access::Identity;
use crate::actors::persistence::{self, Persistence};
use crate::actors::registry::Registry;
use crate::auth::{Auth, Charge};
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

pub use table::{routes, Method, Route, ROUTES};

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
    pub sio: Arc<crate::socketio::transport::Sessions>,
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
        self.execute_n(req, command, 1).await
    }

    /// [`AppState::execute`] for a command that publishes `writes` events
    /// (a batch): the rate limit counts each of them.
    pub async fn execute_n(
        &self,
        req: &HttpRequest,
        command: Command,
        writes: usize,
    ) -> AppResult<Outcome> {
        let mut ctx = extract::command_ctx(req)?;
        ctx.max_payload_bytes = self.settings.events.max_payload_bytes;
        ctx.caller = self.caller(req).await?;
        let caller = ctx.caller.clone();
        let charge = self
            .auth
            .count_writes(&caller, writes, ctx.idempotency.is_some())?;
        if let Charge::Deferred(rate) = &charge {
            ctx.rate = Some(rate.clone());
        }
        let answer = self
            .writer
            .send(persistence::Execute { command, ctx })
            .await
            .map_err(|e| AppError::Unavailable(format!("writer unavailable: {e}")))?;
        // What wrote nothing (refused, failed, or answered from the stored
        // first answer) counts as one write, not one per event.
        if answer.as_ref().map_or(true, |o| o.replayed) {
            self.auth.refund_writes(&caller, &charge, writes);
        }
        let outcome = answer?;
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
