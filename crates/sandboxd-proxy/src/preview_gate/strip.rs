//! Where a preview token travels, and taking it out. Rule: the token may come in the
//! `sandboxd_preview_token` query parameter, the `X-Sandboxd-Preview-Token` header or the
//! `sandboxd_preview_token` cookie; once a request is let through, all three are removed, and
//! everything else (other parameters, other cookies, their order) is kept as sent.

use hyper::header::{HeaderValue, COOKIE as COOKIE_HEADER};
use hyper::{HeaderMap, Request, Uri};
use sandboxd_core::preview::{COOKIE, HEADER, QUERY_PARAM};

/// Where a token was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Query,
    Header,
    Cookie,
}

/// Every token the request carries, query first, then header, then cookies.
pub fn presented<B>(req: &Request<B>) -> Vec<(Source, String)> {
    let mut out = Vec::new();
    if let Some(q) = req.uri().query() {
        for pair in q.split('&') {
            if let Some(v) = pair
                .strip_prefix(QUERY_PARAM)
                .and_then(|r| r.strip_prefix('='))
            {
                out.push((Source::Query, v.to_string()));
            }
        }
    }
    for v in req.headers().get_all(HEADER) {
        if let Ok(v) = v.to_str() {
            out.push((Source::Header, v.trim().to_string()));
        }
    }
    for v in req.headers().get_all(COOKIE_HEADER) {
        let Ok(v) = v.to_str() else { continue };
        for pair in v.split(';') {
            if let Some((name, value)) = pair.trim().split_once('=') {
                if name == COOKIE {
                    out.push((Source::Cookie, value.trim_matches('"').to_string()));
                }
            }
        }
    }
    out
}

/// Remove the token from the query, the header and the cookies; returns the path and query
/// as they are now (the redirect target of a navigation).
pub fn remove_token<B>(req: &mut Request<B>) -> String {
    let uri = req.uri().clone();
    let kept: Option<String> = uri.query().map(|q| {
        q.split('&')
            .filter(|p| !(p.starts_with(QUERY_PARAM) && p[QUERY_PARAM.len()..].starts_with('=')))
            .filter(|p| *p != QUERY_PARAM)
            .collect::<Vec<_>>()
            .join("&")
    });
    let path_and_query = match kept.as_deref() {
        Some(q) if !q.is_empty() => format!("{}?{q}", uri.path()),
        _ => uri.path().to_string(),
    };
    if kept.is_some() {
        let mut parts = uri.into_parts();
        if let Ok(pq) = path_and_query.parse() {
            parts.path_and_query = Some(pq);
        }
        if let Ok(new) = Uri::from_parts(parts) {
            *req.uri_mut() = new;
        }
    }
    req.headers_mut().remove(HEADER);
    strip_cookie(req.headers_mut());
    path_and_query
}

/// Rewrite each Cookie header without ours (dropping a header left empty).
fn strip_cookie(headers: &mut HeaderMap) {
    if !headers.contains_key(COOKIE_HEADER) {
        return;
    }
    let rewritten: Vec<HeaderValue> = headers
        .get_all(COOKIE_HEADER)
        .iter()
        .filter_map(|v| {
            let text = v.to_str().ok()?;
            let kept: Vec<&str> = text
                .split(';')
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .filter(|p| p.split_once('=').map(|(n, _)| n) != Some(COOKIE))
                .collect();
            (!kept.is_empty()).then(|| HeaderValue::from_str(&kept.join("; ")).ok())?
        })
        .collect();
    headers.remove(COOKIE_HEADER);
    for v in rewritten {
        headers.append(COOKIE_HEADER, v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(uri: &str, headers: &[(&str, &str)]) -> Request<()> {
        let mut b = Request::builder().uri(uri);
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        b.body(()).unwrap()
    }

    #[test]
    fn finds_tokens_in_query_header_and_cookie() {
        let r = request(
            "/a?x=1&sandboxd_preview_token=Q&y=2",
            &[
                ("x-sandboxd-preview-token", "H"),
                ("cookie", "a=1; sandboxd_preview_token=C; b=2"),
            ],
        );
        let found = presented(&r);
        assert_eq!(
            found,
            vec![
                (Source::Query, "Q".to_string()),
                (Source::Header, "H".to_string()),
                (Source::Cookie, "C".to_string())
            ]
        );
        assert!(presented(&request("/?sandboxd_preview_tokenx=1", &[])).is_empty());
    }

    #[test]
    fn removes_every_copy_and_keeps_the_rest() {
        let mut r = request(
            "/a?x=1&sandboxd_preview_token=Q&y=2",
            &[
                ("x-sandboxd-preview-token", "H"),
                ("cookie", "a=1; sandboxd_preview_token=C; b=2"),
                ("cookie", "sandboxd_preview_token=D"),
            ],
        );
        assert_eq!(remove_token(&mut r), "/a?x=1&y=2");
        assert_eq!(r.uri(), "/a?x=1&y=2");
        assert!(r.headers().get(HEADER).is_none());
        let cookies: Vec<_> = r.headers().get_all(COOKIE_HEADER).iter().collect();
        assert_eq!(cookies, vec!["a=1; b=2"]);
        let mut only = request("/p?sandboxd_preview_token=Q", &[]);
        assert_eq!(remove_token(&mut only), "/p");
        assert_eq!(only.uri(), "/p");
        let mut abs = request("http://h.example/p?sandboxd_preview_token=Q&z", &[]);
        remove_token(&mut abs);
        assert_eq!(abs.uri(), "http://h.example/p?z");
    }
}
