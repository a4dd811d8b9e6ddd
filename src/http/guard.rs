//! The first check on every request, before any handler reads or writes:
//! a browser's `Origin` must be herald's own or allow-listed (a page of
//! another site may not drive herald through its visitor's browser: no
//! cross-site writes, no WebSocket hijacking), and with auth off the `Host`
//! must be a loopback name or allow-listed (DNS rebinding). Refusals are 403
//! `forbidden`. It does not authenticate: that is `auth.rs`, per handler.

use super::AppState;
use crate::config::ServerSettings;
use crate::error::AppError;
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderMap, HOST, ORIGIN};
use actix_web::middleware::Next;
use actix_web::{web, Error, ResponseError};

/// Host names a local herald answers to with auth off (any port).
const LOOPBACK_NAMES: &[&str] = &["localhost", "127.0.0.1", "[::1]"];

/// The middleware: refuses with 403 what [`check`] refuses.
pub async fn guard(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, Error> {
    let refused = match req.app_data::<web::Data<AppState>>() {
        Some(state) => {
            // Only an `Origin` is compared with the scheme: most requests
            // have none, and reading it parses the forwarding headers.
            let scheme = match req.headers().contains_key(ORIGIN) {
                true => req.connection_info().scheme().to_string(),
                false => String::new(),
            };
            check(
                &state.settings.server,
                state.auth.required(),
                req.headers(),
                &scheme,
            )
            .err()
        }
        None => None,
    };
    match refused {
        Some(err) => {
            log::debug!("{} {}: {err}", req.method(), req.path());
            let response = err.error_response().map_into_right_body();
            Ok(req.into_response(response))
        }
        None => Ok(next.call(req).await?.map_into_left_body()),
    }
}

/// Whether a request with these headers may be served. `scheme` is the
/// request's own (`http`, or `https` behind a proxy that says so).
pub fn check(
    settings: &ServerSettings,
    auth_required: bool,
    headers: &HeaderMap,
    scheme: &str,
) -> Result<(), AppError> {
    let host = headers.get(HOST).and_then(|h| h.to_str().ok());
    if !auth_required {
        if let Some(host) = host {
            if !host_allowed(&settings.allowed_hosts, host) {
                return Err(AppError::Forbidden(format!(
                    "host {host:?} is not served without auth; list it in server.allowed_hosts"
                )));
            }
        }
    }
    let Some(origin) = headers.get(ORIGIN) else {
        // Browsers send no Origin on a cross-site GET they make for an
        // `<img>` or a link, but they do say where it comes from. Such a
        // request has no business here (it could fill the connection caps
        // with Engine.IO handshakes, or read with the visitor's cookies).
        let site = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok());
        if site.is_some_and(|s| s.eq_ignore_ascii_case("cross-site")) {
            return Err(AppError::Forbidden(
                "cross-site requests without an Origin are not served".into(),
            ));
        }
        return Ok(());
    };
    let origin = origin.to_str().unwrap_or("");
    let listed = settings
        .allowed_origins
        .iter()
        .any(|o| o == "*" || o == origin);
    if listed || host.is_some_and(|h| same_origin(origin, scheme, h)) {
        return Ok(());
    }
    Err(AppError::Forbidden(format!(
        "origin {origin:?} is not allowed; list it in server.allowed_origins"
    )))
}

/// A loopback name, or listed (as a name for any port, or as `name:port`).
fn host_allowed(allowed: &[String], host: &str) -> bool {
    let host = host.to_ascii_lowercase();
    let (name, _) = split_port(&host);
    LOOPBACK_NAMES.contains(&name)
        || allowed
            .iter()
            .any(|a| a == "*" || a.eq_ignore_ascii_case(name) || a.eq_ignore_ascii_case(&host))
}

/// `origin` (`scheme://host[:port]`) is the request's own: same scheme, and
/// the same host and port as its `Host` (default ports made explicit).
fn same_origin(origin: &str, scheme: &str, host: &str) -> bool {
    let Some((origin_scheme, authority)) = origin.split_once("://") else {
        return false;
    };
    if !origin_scheme.eq_ignore_ascii_case(scheme) || authority.contains('/') {
        return false;
    }
    let default = match scheme {
        "https" => "443",
        _ => "80",
    };
    let normal = |authority: &str| {
        let authority = authority.to_ascii_lowercase();
        let (name, port) = split_port(&authority);
        (name.to_string(), port.unwrap_or(default).to_string())
    };
    normal(authority) == normal(host)
}

/// `name[:port]`, where `name` may be a bracketed IPv6 address.
pub fn split_port(authority: &str) -> (&str, Option<&str>) {
    let after_name = match authority.strip_prefix('[') {
        Some(rest) => rest.find(']').map_or(authority.len(), |i| i + 2),
        None => authority.find(':').unwrap_or(authority.len()),
    };
    let (name, rest) = authority.split_at(after_name.min(authority.len()));
    (name, rest.strip_prefix(':'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::HeaderValue;

    fn headers(host: &str, origin: Option<&str>) -> HeaderMap {
        let mut map = HeaderMap::new();
        map.insert(HOST, HeaderValue::from_str(host).unwrap());
        if let Some(origin) = origin {
            map.insert(ORIGIN, HeaderValue::from_str(origin).unwrap());
        }
        map
    }

    #[test]
    fn own_origin_passes_others_are_refused() {
        let s = ServerSettings::default();
        let ok = |host, origin| check(&s, false, &headers(host, origin), "http").is_ok();
        assert!(ok("127.0.0.1:8080", None));
        assert!(ok("127.0.0.1:8080", Some("http://127.0.0.1:8080")));
        assert!(ok("localhost", Some("http://localhost:80")));
        assert!(ok("[::1]:9", Some("http://[::1]:9")));
        assert!(!ok("127.0.0.1:8080", Some("https://evil.example")));
        assert!(!ok("127.0.0.1:8080", Some("http://127.0.0.1:8081")));
        assert!(!ok("127.0.0.1:8080", Some("https://127.0.0.1:8080")));
        assert!(!ok("127.0.0.1:8080", Some("null")));
        assert!(!ok("evil.example", None));
        assert!(!ok("evil.example:8080", Some("http://evil.example:8080")));
    }

    #[test]
    fn cross_site_requests_without_an_origin_are_refused() {
        let s = ServerSettings::default();
        let with_site = |site: &str| {
            let mut h = headers("127.0.0.1:8080", None);
            h.insert(
                actix_web::http::header::HeaderName::from_static("sec-fetch-site"),
                HeaderValue::from_str(site).unwrap(),
            );
            check(&s, true, &h, "http").is_ok()
        };
        assert!(!with_site("cross-site"));
        assert!(with_site("same-origin"));
        assert!(with_site("none"));
        assert!(with_site("same-site"));
    }

    #[test]
    fn allow_lists_and_auth() {
        let s = ServerSettings {
            allowed_origins: vec!["https://app.example".into()],
            allowed_hosts: vec!["herald.internal".into(), "pub.example:9000".into()],
            ..ServerSettings::default()
        };
        let ok =
            |auth, host, origin, scheme| check(&s, auth, &headers(host, origin), scheme).is_ok();
        assert!(ok(
            false,
            "herald.internal:8080",
            Some("https://app.example"),
            "http"
        ));
        assert!(ok(false, "pub.example:9000", None, "http"));
        assert!(!ok(false, "pub.example:9001", None, "http"));
        assert!(ok(true, "evil.example", None, "http"));
        assert!(!ok(
            true,
            "evil.example",
            Some("https://evil.example"),
            "http"
        ));
        // Behind a TLS proxy that keeps the Host and says https.
        assert!(ok(
            true,
            "pub.example",
            Some("https://pub.example"),
            "https"
        ));
        let any = ServerSettings {
            allowed_origins: vec!["*".into()],
            ..ServerSettings::default()
        };
        assert!(check(&any, false, &headers("localhost", Some("null")), "http").is_ok());
    }

    #[test]
    fn ports_split() {
        assert_eq!(split_port("a:1"), ("a", Some("1")));
        assert_eq!(split_port("a"), ("a", None));
        assert_eq!(split_port("[::1]:80"), ("[::1]", Some("80")));
        assert_eq!(split_port("[::1]"), ("[::1]", None));
        assert_eq!(split_port("[::1"), ("[::1", None));
    }
}
