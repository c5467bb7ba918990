use super::*;
use axum::http::HeaderValue;

fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (k, v) in pairs {
        h.insert(*k, HeaderValue::from_static(v));
    }
    h
}

fn code(method: Method, pairs: &[(&'static str, &'static str)]) -> Option<&'static str> {
    let hosts = ApiHosts::new(["api.example.com".to_string()]);
    check(&method, &headers(pairs), &hosts).map(|e| e.code.as_str())
}

#[test]
fn host_names_of_the_api() {
    let hosts = ApiHosts::new(["Api.Example.com.".to_string()]);
    for ok in [
        "127.0.0.1:9090",
        "localhost",
        "LOCALHOST:9090",
        "[::1]:9090",
        "::1",
        "10.0.0.5",
        "api.example.com",
        "api.example.com.:443",
    ] {
        assert!(hosts.accepts(ok), "{ok}");
    }
    for bad in [
        "",
        "attacker.example",
        "localhost.attacker.example",
        "s-abc-3000.preview.localhost",
        "127.0.0.1.nip.io:9090",
        "[::1",
    ] {
        assert!(!hosts.accepts(bad), "{bad}");
    }
}

#[test]
fn the_quick_start_and_plain_clients_pass() {
    let json = ("content-type", "application/json");
    let host = ("host", "127.0.0.1:9090");
    assert_eq!(
        code(Method::POST, &[host, json, ("content-length", "15")]),
        None
    );
    assert_eq!(code(Method::POST, &[host, ("content-length", "0")]), None);
    assert_eq!(code(Method::POST, &[host]), None);
    assert_eq!(code(Method::DELETE, &[host]), None);
    assert_eq!(
        code(Method::GET, &[host, ("content-type", "text/plain")]),
        None
    );
    let utf8 = ("content-type", "Application/JSON; charset=utf-8");
    assert_eq!(
        code(Method::POST, &[host, utf8, ("content-length", "2")]),
        None
    );
    // A browser tab opened on the API by hand.
    let typed = ("sec-fetch-site", "none");
    assert_eq!(code(Method::GET, &[host, typed]), None);
    let own = ("origin", "http://127.0.0.1:9090");
    assert_eq!(code(Method::POST, &[host, own, json]), None);
}

#[test]
fn what_a_web_page_can_send_is_refused() {
    let host = ("host", "127.0.0.1:9090");
    // A preview page posting text/plain (no preflight needed).
    let page = ("origin", "http://s-abc-3000.preview.localhost");
    let text = ("content-type", "text/plain");
    assert_eq!(code(Method::POST, &[host, page, text]), Some("forbidden"));
    assert_eq!(
        code(Method::POST, &[host, ("origin", "null")]),
        Some("forbidden")
    );
    let other_port = ("origin", "http://127.0.0.1:8080");
    assert_eq!(code(Method::GET, &[host, other_port]), Some("forbidden"));
    for site in ["cross-site", "same-site"] {
        let h = headers(&[host]);
        let mut h = h;
        h.insert("sec-fetch-site", HeaderValue::from_static(site));
        let e = check(&Method::GET, &h, &ApiHosts::default()).map(|e| e.code);
        assert_eq!(e, Some(ErrorCode::Forbidden), "{site}");
    }
    // DNS rebinding: the page's own origin, but a host name the API is not.
    let rebound = ("host", "attacker.example:9090");
    let origin = ("origin", "http://attacker.example:9090");
    assert_eq!(code(Method::POST, &[rebound, origin]), Some("forbidden"));
    assert_eq!(code(Method::GET, &[rebound]), Some("forbidden"));
    // Bodies a form or a no-cors fetch can carry.
    for ct in [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
    ] {
        let h = {
            let mut h = headers(&[host]);
            h.insert("content-type", HeaderValue::from_static(ct));
            h
        };
        let e = check(&Method::POST, &h, &ApiHosts::default()).map(|e| e.code);
        assert_eq!(e, Some(ErrorCode::UnsupportedMediaType), "{ct}");
    }
    let body = ("content-length", "10");
    assert_eq!(
        code(Method::POST, &[host, body]),
        Some("unsupported_media_type")
    );
    let chunked = ("transfer-encoding", "chunked");
    assert_eq!(
        code(Method::POST, &[host, chunked]),
        Some("unsupported_media_type")
    );
}

#[test]
fn upload_bodies_pass_but_preflight_free_types_do_not() {
    let host = ("host", "127.0.0.1:9090");
    for ct in [
        "application/octet-stream",
        "application/x-tar",
        "Application/JSON; charset=utf-8",
    ] {
        let h = {
            let mut h = headers(&[host, ("content-length", "10")]);
            h.insert("content-type", HeaderValue::from_static(ct));
            h
        };
        assert!(
            check(&Method::PUT, &h, &ApiHosts::default()).is_none(),
            "{ct}"
        );
    }
    let text = ("content-type", "text/plain");
    assert_eq!(
        code(Method::PUT, &[host, text]),
        Some("unsupported_media_type")
    );
    // A page cannot make a cross-site upload pass by choosing an accepted type.
    let origin = ("origin", "http://evil.example");
    let tar = ("content-type", "application/x-tar");
    assert_eq!(code(Method::PUT, &[host, origin, tar]), Some("forbidden"));
}

#[test]
fn websocket_upgrades_from_other_sites_are_refused() {
    let host = ("host", "127.0.0.1:9090");
    let upgrade = [
        ("connection", "Upgrade"),
        ("upgrade", "websocket"),
        ("sec-websocket-version", "13"),
        ("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="),
    ];
    let with = |extra: &[(&'static str, &'static str)]| {
        let mut pairs = vec![host];
        pairs.extend_from_slice(&upgrade);
        pairs.extend_from_slice(extra);
        code(Method::GET, &pairs)
    };
    // A page on another site opening `new WebSocket("ws://127.0.0.1:9090/...")`: browsers send
    // its Origin (WebSockets have no CORS preflight, so this check is the only defence).
    assert_eq!(
        with(&[("origin", "http://evil.example")]),
        Some("forbidden")
    );
    assert_eq!(with(&[("origin", "null")]), Some("forbidden"));
    assert_eq!(
        with(&[
            ("sec-fetch-site", "cross-site"),
            ("origin", "http://127.0.0.1:9090")
        ]),
        Some("forbidden")
    );
    // The CLI and SDKs send no Origin; a same-origin page sends the API's own.
    assert_eq!(with(&[]), None);
    assert_eq!(with(&[("origin", "http://127.0.0.1:9090")]), None);
}
