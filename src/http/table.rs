//! The route table: every HTTP route herald serves, in one list
//! ([`ROUTES`]) that registers them and that the OpenAPI document is checked
//! against, and the 404 / 405 answers for what it does not list.

use super::{
    activity, assets, batch, collaborators, extract, guard, hooks, metrics, openapi, ops, projects,
    rooms, sessions, socketio, users, work, ws,
};
use crate::error::{AppError, AppResult};
use actix_web::http::header::HeaderValue;
use actix_web::{web, HttpRequest, HttpResponse};
use std::sync::Arc;

/// The route table, every route behind the [`guard`] (Origin, Host), every
/// request counted (and logged) by [`metrics::observe`], refusals too.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.app_data(extract::query_config())
        .app_data(extract::path_config())
        .service(
            web::scope("")
                .wrap(actix_web::middleware::from_fn(guard::guard))
                .wrap(actix_web::middleware::from_fn(metrics::observe))
                .configure(register),
        );
}

/// An HTTP method of the route table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// `GET`
    Get,
    /// `POST`
    Post,
    /// `PUT`
    Put,
    /// `PATCH`
    Patch,
    /// `DELETE`
    Delete,
}

impl Method {
    /// The method as actix matches it.
    pub fn http(self) -> actix_web::http::Method {
        use actix_web::http::Method as M;
        match self {
            Method::Get => M::GET,
            Method::Post => M::POST,
            Method::Put => M::PUT,
            Method::Patch => M::PATCH,
            Method::Delete => M::DELETE,
        }
    }
}

/// One entry of [`ROUTES`]: a method, a path pattern (`{name}` segments, the
/// same syntax in actix and OpenAPI) and how to build its handler.
pub struct Route {
    /// The method.
    pub method: Method,
    /// The path pattern.
    pub path: &'static str,
    /// The handler, as an actix route without a method guard.
    to: fn() -> actix_web::Route,
}

const fn route(method: Method, path: &'static str, to: fn() -> actix_web::Route) -> Route {
    Route { method, path, to }
}

use Method::{Delete, Get, Patch, Post, Put};

/// Every HTTP route herald serves: the one list that registers them (see
/// `register`) and that the OpenAPI document is checked against
/// (`tests/openapi.rs`), so a route cannot exist undocumented.
pub const ROUTES: &[Route] = &[
    route(Get, "/", || web::to(assets::index)),
    route(Get, "/ui/{file}", || web::to(assets::ui)),
    route(Get, "/client/herald.js", || web::to(assets::client)),
    route(Get, "/healthz", || web::to(ops::healthz)),
    route(Get, "/readyz", || web::to(ops::readyz)),
    route(Get, "/api/stats", || web::to(ops::stats)),
    route(Get, "/api/stats/history", || web::to(ops::history)),
    route(Get, "/metrics", || web::to(metrics::scrape)),
    route(Get, "/api/openapi.json", || web::to(openapi::document)),
    route(Get, "/ws", || web::to(ws::native)),
    route(Get, "/ws/broadcasts", || web::to(ws::broadcasts)),
    route(Get, "/ws/sessions/{id}", || web::to(ws::session)),
    route(Get, "/socket.io/", || web::to(socketio::get)),
    route(Post, "/socket.io/", || web::to(socketio::post)),
    route(Get, "/socket.io", || web::to(socketio::get)),
    route(Post, "/socket.io", || web::to(socketio::post)),
    route(Get, "/api/projects", || web::to(projects::list)),
    route(Post, "/api/projects", || web::to(projects::create)),
    route(Get, "/api/projects/{id}", || web::to(projects::get)),
    route(Patch, "/api/projects/{id}", || web::to(projects::update)),
    route(Delete, "/api/projects/{id}", || web::to(projects::delete)),
    route(Post, "/api/projects/{id}/sessions", || {
        web::to(sessions::create)
    }),
    route(Get, "/api/sessions", || web::to(sessions::list)),
    route(Get, "/api/sessions/{id}", || web::to(sessions::get)),
    route(Patch, "/api/sessions/{id}", || web::to(sessions::update)),
    route(Delete, "/api/sessions/{id}", || web::to(sessions::delete)),
    route(Get, "/api/sessions/{id}/snapshot", || {
        web::to(sessions::snapshot)
    }),
    route(Get, "/api/sessions/{id}/messages", || {
        web::to(activity::messages)
    }),
    route(Post, "/api/sessions/{id}/messages", || {
        web::to(activity::add_message)
    }),
    route(Get, "/api/sessions/{id}/token-usage", || {
        web::to(activity::usage)
    }),
    route(Post, "/api/sessions/{id}/token-usage", || {
        web::to(activity::add_usage)
    }),
    route(Put, "/api/sessions/{id}/todos", || {
        web::to(activity::replace_todos)
    }),
    route(Post, "/api/sessions/{id}/tool-calls", || {
        web::to(activity::save_tool_call)
    }),
    route(Post, "/api/hooks", || web::to(hooks::receive)),
    route(Post, "/api/broadcast/features/{id}", || {
        web::to(work::save_feature)
    }),
    route(Delete, "/api/broadcast/features/{id}", || {
        web::to(work::delete_feature)
    }),
    route(Post, "/api/broadcast/features/{id}/status", || {
        web::to(work::set_status)
    }),
    route(Post, "/api/broadcast/features/{id}/links", || {
        web::to(work::add_link)
    }),
    route(Post, "/api/broadcast/features/{id}/comments", || {
        web::to(work::add_comment)
    }),
    route(Post, "/api/broadcast/tracks/{id}", || {
        web::to(work::save_track)
    }),
    route(Post, "/api/broadcast/spikes/{id}", || {
        web::to(work::save_spike)
    }),
    route(Get, "/api/broadcast/events", || web::to(work::audit)),
    route(Get, "/api/sessions/{id}/collaborators", || {
        web::to(collaborators::list)
    }),
    route(Post, "/api/sessions/{id}/collaborators", || {
        web::to(collaborators::add)
    }),
    route(Patch, "/api/sessions/{id}/collaborators/{cid}", || {
        web::to(collaborators::update)
    }),
    route(Delete, "/api/sessions/{id}/collaborators/{cid}", || {
        web::to(collaborators::remove)
    }),
    route(
        Post,
        "/api/sessions/{id}/collaborators/{cid}/accept",
        || web::to(collaborators::accept),
    ),
    route(Post, "/api/users", || web::to(users::create)),
    route(Delete, "/api/users/{id}", || web::to(users::delete)),
    route(Post, "/api/users/{id}/token", || {
        web::to(users::replace_token)
    }),
    route(Get, "/api/me", || web::to(users::me)),
    route(Get, "/api/rooms/{room}/events", || web::to(rooms::list)),
    route(Post, "/api/rooms/{room}/events", || web::to(rooms::publish)),
    route(Post, "/api/rooms/events:batch", || web::to(batch::publish)),
    // Aliases used by existing clients (seed 004).
    route(Post, "/projects", || web::to(projects::create)),
    route(Post, "/projects/{id}/sessions", || {
        web::to(sessions::create_alias)
    }),
    route(Post, "/sessions/{id}/messages", || {
        web::to(activity::add_message)
    }),
];

/// Registers [`ROUTES`]: one resource per path (in the order paths first
/// appear) with each of its methods. Another method on a known path is 405
/// `method_not_allowed` with `Allow`; an unknown path is 404 `not_found`.
///
/// Paths are grouped in one `web::scope` per [`prefix`] (`/api/sessions`,
/// `/ws`, …): actix matches a request against the scopes' static prefixes
/// first and then only against the few patterns of its scope, instead of
/// running every dynamic route's pattern in turn.
fn register(cfg: &mut web::ServiceConfig) {
    let mut prefixes: Vec<&'static str> = Vec::new();
    for r in ROUTES {
        if !prefixes.contains(&prefix(r.path)) {
            prefixes.push(prefix(r.path));
        }
    }
    for p in prefixes {
        let paths = paths_under(p);
        // `/`, and a prefix that is a path of its own alone (`/healthz`).
        if p.is_empty() || paths == [p] {
            for path in paths {
                cfg.service(resource(path, path));
            }
            continue;
        }
        let mut scope = web::scope(p).default_service(web::to(not_found));
        for path in paths {
            scope = scope.service(resource(path, &path[p.len()..]));
        }
        cfg.service(scope);
    }
    cfg.default_service(web::to(not_found));
}

/// What a path is scoped under: `/api/<first>` for the API, else its first
/// segment (`/ws`, `/socket.io`, `/ui`); `""` for `/`.
fn prefix(path: &'static str) -> &'static str {
    let skip = if path.starts_with("/api/") { 2 } else { 1 };
    let end = path
        .match_indices('/')
        .nth(skip)
        .map_or(path.len(), |(i, _)| i);
    if path == "/" {
        ""
    } else {
        &path[..end]
    }
}

/// The distinct paths of [`ROUTES`] under `prefix`, in table order.
fn paths_under(prefix_of: &str) -> Vec<&'static str> {
    let mut paths: Vec<&'static str> = Vec::new();
    for r in ROUTES.iter().filter(|r| prefix(r.path) == prefix_of) {
        if !paths.contains(&r.path) {
            paths.push(r.path);
        }
    }
    paths
}

/// The resource of `path` (every method [`ROUTES`] lists for it), at
/// `pattern` (the path, or its rest inside its scope).
fn resource(path: &'static str, pattern: &str) -> actix_web::Resource {
    let allow: Arc<str> = ROUTES
        .iter()
        .filter(|r| r.path == path)
        .map(|r| r.method.http().to_string())
        .collect::<Vec<_>>()
        .join(", ")
        .into();
    let mut resource = web::resource(pattern).default_service(web::to(move || {
        let allow = allow.clone();
        async move { method_not_allowed(&allow) }
    }));
    for r in ROUTES.iter().filter(|r| r.path == path) {
        resource = resource.route((r.to)().method(r.method.http()));
    }
    resource
}

/// 405 with the path's methods in `Allow`.
fn method_not_allowed(allow: &str) -> HttpResponse {
    let err = AppError::MethodNotAllowed(format!("this path takes {allow}"));
    let mut response = actix_web::ResponseError::error_response(&err);
    if let Ok(value) = HeaderValue::from_str(allow) {
        response
            .headers_mut()
            .insert(actix_web::http::header::ALLOW, value);
    }
    response
}

async fn not_found(req: HttpRequest) -> AppResult<HttpResponse> {
    Err(AppError::NotFound(format!(
        "no route for {} {}",
        req.method(),
        req.path()
    )))
}
