//! Header rules for proxied requests and responses (RFC 9110 §7.6.1): hop-by-hop headers,
//! including those named in `Connection`, are removed; the client's Host is kept as sent; the
//! `X-Forwarded-*` trio is set. Upgrade requests keep `Connection: upgrade` and `Upgrade`.
//! Cookies a sandbox sets are host-only: `Set-Cookie`'s `Domain=` attribute is removed, so one
//! preview cannot plant cookies on its siblings under the preview domain.

use hyper::header::{HeaderMap, HeaderName, HeaderValue, CONNECTION, HOST, SET_COOKIE, UPGRADE};
use sandboxd_core::request_id;

const REQUEST_ID: HeaderName = HeaderName::from_static(request_id::HEADER);
const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
const X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");

const HOP_BY_HOP: [&str; 8] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
];

/// Give the request an `x-request-id` unless the client sent a usable one; the app sees it.
pub fn ensure_request_id(headers: &mut HeaderMap) {
    let given = headers.get(request_id::HEADER).map(|v| v.as_bytes());
    if request_id::accept(given).is_some() {
        return;
    }
    if let Ok(v) = HeaderValue::from_str(&request_id::new_id()) {
        headers.insert(REQUEST_ID, v);
    }
}

/// The request's id (set by [`ensure_request_id`]).
pub fn request_id(headers: &HeaderMap) -> &str {
    headers
        .get(request_id::HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

/// Whether the request asks to switch protocols (WebSocket and friends).
pub fn is_upgrade(headers: &HeaderMap) -> bool {
    headers.contains_key(UPGRADE)
        && headers
            .get_all(CONNECTION)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .any(|t| t.trim().eq_ignore_ascii_case("upgrade"))
}

/// Whether the client prefers HTML (a browser): error answers become a small page.
pub fn wants_html(headers: &HeaderMap) -> bool {
    headers
        .get_all(hyper::header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.contains("text/html"))
}

/// Remove hop-by-hop headers; with `keep_upgrade`, leave `Connection: upgrade` + `Upgrade`.
/// One pass over the names when there is none to remove (the usual request and response).
pub fn strip_hop_by_hop(headers: &mut HeaderMap, keep_upgrade: bool) {
    let hop =
        |n: &HeaderName| *n == CONNECTION || *n == UPGRADE || HOP_BY_HOP.contains(&n.as_str());
    if !headers.keys().any(hop) {
        return;
    }
    let named: Vec<HeaderName> = headers
        .get_all(CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|t| HeaderName::from_bytes(t.trim().as_bytes()).ok())
        .collect();
    let upgrade = headers.get(UPGRADE).cloned();
    for name in named {
        headers.remove(name);
    }
    for name in HOP_BY_HOP {
        headers.remove(name);
    }
    headers.remove(UPGRADE);
    if keep_upgrade {
        if let Some(u) = upgrade {
            headers.insert(UPGRADE, u);
            headers.insert(CONNECTION, HeaderValue::from_static("upgrade"));
        }
    }
}

/// Remove the `Domain` attribute from every `Set-Cookie` (the cookie stays on the preview's own
/// host). Free when the response sets no cookie.
pub fn host_only_cookies(headers: &mut HeaderMap) {
    if !headers.contains_key(SET_COOKIE) {
        return;
    }
    let cookies: Vec<HeaderValue> = headers
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| {
            let stripped = strip_domain(v.as_bytes())?;
            HeaderValue::from_bytes(&stripped).ok()
        })
        .collect();
    headers.remove(SET_COOKIE);
    for c in cookies {
        headers.append(SET_COOKIE, c);
    }
}

/// One `Set-Cookie` value without its `Domain` attributes (`None` drops a cookie that is not
/// even `name=value`).
fn strip_domain(value: &[u8]) -> Option<Vec<u8>> {
    let mut parts = value.split(|&b| b == b';');
    let first = parts.next()?;
    if !first.contains(&b'=') {
        return None;
    }
    let mut out = first.to_vec();
    for attr in parts {
        let name = attr.split(|&b| b == b'=').next().unwrap_or_default();
        if name.trim_ascii().eq_ignore_ascii_case(b"domain") {
            continue;
        }
        out.push(b';');
        out.extend_from_slice(attr);
    }
    Some(out)
}

/// Set `X-Forwarded-For` (appending `client`, the client's address as a header value),
/// `-Proto` and `-Host`.
pub fn set_forwarded(headers: &mut HeaderMap, client: &HeaderValue, https: bool) {
    let xff = match headers.get(X_FORWARDED_FOR).and_then(|v| v.to_str().ok()) {
        Some(prev) if !prev.trim().is_empty() => {
            let client = client.to_str().unwrap_or_default();
            HeaderValue::from_str(&format!("{prev}, {client}")).ok()
        }
        _ => Some(client.clone()),
    };
    if let Some(v) = xff {
        headers.insert(X_FORWARDED_FOR, v);
    }
    let proto = if https { "https" } else { "http" };
    headers.insert(X_FORWARDED_PROTO, HeaderValue::from_static(proto));
    if let Some(host) = headers.get(HOST).cloned() {
        headers.insert(X_FORWARDED_HOST, host);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        h
    }

    #[test]
    fn strips_hop_by_hop_and_connection_named_headers() {
        let mut h = map(&[
            ("connection", "keep-alive, x-secret"),
            ("keep-alive", "timeout=5"),
            ("x-secret", "1"),
            ("te", "trailers"),
            ("host", "s-a-3000.preview.localhost"),
            ("accept", "*/*"),
        ]);
        strip_hop_by_hop(&mut h, false);
        let names: Vec<_> = h.keys().map(|k| k.as_str()).collect();
        assert_eq!(names, vec!["host", "accept"]);
    }

    #[test]
    fn keeps_upgrade_for_websockets() {
        let mut h = map(&[
            ("connection", "Upgrade"),
            ("upgrade", "websocket"),
            ("host", "x"),
        ]);
        assert!(is_upgrade(&h));
        strip_hop_by_hop(&mut h, true);
        assert_eq!(h["upgrade"], "websocket");
        assert_eq!(h["connection"], "upgrade");
        assert!(!is_upgrade(&map(&[("upgrade", "websocket")])));
    }

    #[test]
    fn set_cookie_loses_its_domain() {
        let mut h = map(&[
            ("set-cookie", "a=1; Domain=preview.localhost; Path=/"),
            ("set-cookie", "b=2;domain=.preview.localhost;HttpOnly"),
            ("set-cookie", "c=3; Path=/; Secure"),
            ("set-cookie", "junk"),
            ("content-type", "text/plain"),
        ]);
        host_only_cookies(&mut h);
        let cookies: Vec<_> = h
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap())
            .collect();
        assert_eq!(
            cookies,
            vec!["a=1; Path=/", "b=2;HttpOnly", "c=3; Path=/; Secure"]
        );
        assert_eq!(h["content-type"], "text/plain");
    }

    #[test]
    fn forwarded_headers_append_the_client() {
        let mut h = map(&[
            ("host", "s-a-3000.preview.localhost:8080"),
            ("x-forwarded-for", "1.2.3.4"),
        ]);
        let client = HeaderValue::from_static("127.0.0.1");
        set_forwarded(&mut h, &client, false);
        assert_eq!(h["x-forwarded-for"], "1.2.3.4, 127.0.0.1");
        assert_eq!(h["x-forwarded-proto"], "http");
        assert_eq!(h["x-forwarded-host"], "s-a-3000.preview.localhost:8080");
        let mut first = map(&[("host", "x")]);
        set_forwarded(&mut first, &client, true);
        assert_eq!(first["x-forwarded-for"], "127.0.0.1");
        assert_eq!(first["x-forwarded-proto"], "https");
    }

    #[test]
    fn headers_without_hop_by_hop_are_left_alone() {
        let mut h = map(&[("host", "x"), ("content-length", "3"), ("x-a", "1")]);
        let before = h.clone();
        strip_hop_by_hop(&mut h, false);
        assert_eq!(h, before);
    }
}
