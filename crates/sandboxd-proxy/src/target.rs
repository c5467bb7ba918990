//! Which sandbox port a request is aimed at, and in which dialect its errors are answered. Our
//! Host form (`s-<id>-<port>.<domain>`) answers in sandboxd's shapes; E2B's Host form
//! (`<port>-<id>.<domain>`) and the `E2b-Sandbox-Id` / `E2b-Sandbox-Port` headers (honoured
//! only when the Host is `localhost`, an IP literal or `sandbox.<domain>`, as E2B's own proxy
//! does) answer in E2B's shapes ([`crate::e2b`]), which the E2B SDK maps onto its exceptions.

use crate::body::ProxyBody;
use crate::pages;
use hyper::header::HOST;
use hyper::{HeaderMap, Response, StatusCode, Uri};
use sandboxd_core::{
    parse_e2b_headers, parse_e2b_host, parse_preview_host, routes_by_headers, ErrorCode,
    PreviewTarget,
};

/// Header naming the sandbox when the Host does not.
pub const ID_HEADER: &str = "e2b-sandbox-id";
/// Header naming the sandbox port when the Host does not.
pub const PORT_HEADER: &str = "e2b-sandbox-port";

/// Whose error shapes a request gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sandboxd,
    E2b,
}

/// A request's target.
#[derive(Debug, Clone)]
pub struct Routed {
    pub target: PreviewTarget,
    pub dialect: Dialect,
}

/// Resolve the target from the Host (or an absolute URI's authority) and, where allowed, the
/// routing headers; `None` when the request names no sandbox port (answer [`no_target`]).
pub fn resolve(headers: &HeaderMap, uri: &Uri, domain: &str) -> Option<Routed> {
    let host = headers
        .get(HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| uri.authority().map(|a| a.as_str()));
    if let Some(host) = host {
        if let Some(target) = parse_preview_host(host, domain) {
            return Some(Routed {
                target,
                dialect: Dialect::Sandboxd,
            });
        }
        if let Some(target) = parse_e2b_host(host, domain) {
            return Some(Routed {
                target,
                dialect: Dialect::E2b,
            });
        }
        if routes_by_headers(host, domain) {
            if let Some(target) = from_headers(headers) {
                return Some(Routed {
                    target,
                    dialect: Dialect::E2b,
                });
            }
        }
    }
    None
}

/// The answer to a request that names no sandbox port.
pub fn no_target(domain: &str, html: bool) -> Response<ProxyBody> {
    let msg = format!(
        "not a preview host: expected s-<id>-<port>.{domain} or <port>-<id>.{domain} \
         (or the E2b-Sandbox-Id and E2b-Sandbox-Port headers with a localhost or IP host)"
    );
    pages::error(ErrorCode::NotFound, StatusCode::NOT_FOUND, &msg, html, None)
}

/// Exactly one of each routing header, both well-formed.
fn from_headers(headers: &HeaderMap) -> Option<PreviewTarget> {
    let one = |name: &str| {
        let mut all = headers.get_all(name).iter();
        match (all.next(), all.next()) {
            (Some(v), None) => v.to_str().ok(),
            _ => None,
        }
    };
    parse_e2b_headers(one(ID_HEADER)?, one(PORT_HEADER)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::header::HeaderValue;

    const D: &str = "preview.localhost";

    fn headers(host: &str, routing: Option<(&str, &str)>) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(HOST, HeaderValue::from_str(host).unwrap());
        if let Some((id, port)) = routing {
            h.insert(ID_HEADER, HeaderValue::from_str(id).unwrap());
            h.insert(PORT_HEADER, HeaderValue::from_str(port).unwrap());
        }
        h
    }

    fn routed(h: &HeaderMap) -> Option<(String, u16, Dialect)> {
        let uri = Uri::from_static("/");
        let r = resolve(h, &uri, D)?;
        Some((r.target.id.to_string(), r.target.port, r.dialect))
    }

    #[test]
    fn host_forms_and_headers_pick_the_dialect() {
        let ours = headers("s-abc-3000.preview.localhost", Some(("zzz", "1")));
        assert_eq!(routed(&ours), Some(("abc".into(), 3000, Dialect::Sandboxd)));
        let e2b = headers("49983-abc.preview.localhost:8443", None);
        assert_eq!(routed(&e2b), Some(("abc".into(), 49983, Dialect::E2b)));
        let plain = headers("127.0.0.1:4000", Some(("abc", "49983")));
        assert_eq!(routed(&plain), Some(("abc".into(), 49983, Dialect::E2b)));
        let shared = headers("sandbox.preview.localhost", Some(("abc", "8080")));
        assert_eq!(routed(&shared), Some(("abc".into(), 8080, Dialect::E2b)));
    }

    #[test]
    fn headers_are_ignored_on_other_hosts_and_must_be_single() {
        assert_eq!(routed(&headers("example.com", Some(("abc", "80")))), None);
        assert_eq!(routed(&headers("localhost", None)), None);
        let mut twice = headers("localhost", Some(("abc", "80")));
        twice.append(ID_HEADER, HeaderValue::from_static("def"));
        assert_eq!(routed(&twice), None);
        assert_eq!(no_target(D, false).status(), StatusCode::NOT_FOUND);
    }
}
