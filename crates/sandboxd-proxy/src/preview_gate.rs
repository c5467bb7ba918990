//! Private previews. Rule: a request for any port but the agent's of a `private` sandbox goes on
//! only with a valid preview token — from the `sandboxd_preview_token` query parameter, the
//! `X-Sandboxd-Preview-Token` header or the cookie of that name — checked against the key in the
//! engine's memory before anything is woken, counted or read from the store (a sandbox the
//! engine has not seen since it started is looked up once). Missing or invalid: 401, and the
//! sandbox stays as it is. A browser GET carrying the token in the query is answered with a 303
//! to the same URL without it and a host-only, HttpOnly, SameSite=Lax cookie (Secure on TLS)
//! that lives as long as the token; every other accepted request is forwarded with the token
//! removed from the query, the header and the Cookie header, so the app never sees it. Public
//! sandboxes cost one map read.

mod strip;

use crate::body::{full, ProxyBody};
use crate::target::Routed;
use crate::{headers, pages, Proxy};
use hyper::body::Incoming;
use hyper::header::{HeaderValue, CACHE_CONTROL, LOCATION, SET_COOKIE};
use hyper::{Method, Request, Response, StatusCode};
use sandboxd_core::preview::{self, COOKIE};
use sandboxd_core::ErrorCode;
use sandboxd_engine::{PreviewGate, AGENT_PORT};

/// `None` when the request may go on (its token, if any, removed), else the answer to send.
pub async fn check(
    proxy: &Proxy,
    routed: &Routed,
    req: &mut Request<Incoming>,
    html: bool,
) -> Option<Response<ProxyBody>> {
    let target = &routed.target;
    if target.port == AGENT_PORT {
        return None;
    }
    let gate = match proxy.engine.preview_gate(&target.id) {
        Some(gate) => gate,
        None => match proxy.engine.load_preview_gate(&target.id).await {
            Ok(Some(gate)) => gate,
            // No live sandbox: the wake path answers 404/410 as for anyone.
            Ok(None) => return None,
            Err(e) => {
                tracing::warn!(error = %e, sandbox = %target.id, "preview gate lookup failed");
                return Some(pages::error(
                    ErrorCode::Internal,
                    StatusCode::SERVICE_UNAVAILABLE,
                    "the preview cannot be checked right now; retry",
                    html,
                    Some(5),
                ));
            }
        },
    };
    let key = match gate {
        PreviewGate::Public => return None,
        PreviewGate::Private(key) => key,
    };
    let found = strip::presented(req);
    if found.is_empty() {
        return Some(refuse(ErrorCode::PreviewTokenRequired, html));
    }
    let now_s = proxy.engine.now_ms() / 1000;
    let accepted = key.as_deref().and_then(|key| {
        found.iter().find_map(|(source, token)| {
            let exp = preview::verify(key, token, &target.id, target.port, now_s).ok()?;
            Some((*source, token.clone(), exp))
        })
    });
    let Some((source, token, exp)) = accepted else {
        tracing::debug!(sandbox = %target.id, port = target.port, "preview token refused");
        return Some(refuse(ErrorCode::PreviewTokenInvalid, html));
    };
    let location = strip::remove_token(req);
    let navigation =
        matches!(*req.method(), Method::GET | Method::HEAD) && !headers::is_upgrade(req.headers());
    if source == strip::Source::Query && navigation {
        return Some(exchange(&location, &token, exp - now_s, proxy.cfg.https));
    }
    None
}

fn refuse(code: ErrorCode, html: bool) -> Response<ProxyBody> {
    let message = match code {
        ErrorCode::PreviewTokenRequired => {
            "this preview is private: open it through a preview URL with a token"
        }
        _ => "the preview token is invalid, expired, revoked or for another port",
    };
    pages::error(code, StatusCode::UNAUTHORIZED, message, html, None)
}

/// The answer to a navigation with a valid query token: the cookie, and the URL without it.
fn exchange(location: &str, token: &str, max_age_s: i64, https: bool) -> Response<ProxyBody> {
    let mut resp = Response::new(full(String::new()));
    *resp.status_mut() = StatusCode::SEE_OTHER;
    let secure = if https { "; Secure" } else { "" };
    let cookie =
        format!("{COOKIE}={token}; Path=/; Max-Age={max_age_s}; HttpOnly; SameSite=Lax{secure}");
    let h = resp.headers_mut();
    // The token and the path come from a request that parsed: both are valid header text.
    if let (Ok(c), Ok(l)) = (
        HeaderValue::from_str(&cookie),
        HeaderValue::from_str(location),
    ) {
        h.insert(SET_COOKIE, c);
        h.insert(LOCATION, l);
    }
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_exchange_sets_a_host_only_cookie_and_drops_the_token_from_the_url() {
        let r = exchange("/app?x=1", "v1.abc.3000.99.ff", 120, false);
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        assert_eq!(r.headers()[LOCATION], "/app?x=1");
        let c = r.headers()[SET_COOKIE].to_str().unwrap();
        assert_eq!(
            c,
            "sandboxd_preview_token=v1.abc.3000.99.ff; Path=/; Max-Age=120; HttpOnly; SameSite=Lax"
        );
        assert!(!c.to_ascii_lowercase().contains("domain"));
        let tls = exchange("/", "t", 5, true);
        assert!(tls.headers()[SET_COOKIE]
            .to_str()
            .unwrap()
            .ends_with("; Secure"));
    }

    #[test]
    fn refusals_are_401_with_their_codes() {
        let r = refuse(ErrorCode::PreviewTokenRequired, false);
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(
            refuse(ErrorCode::PreviewTokenInvalid, true).status(),
            StatusCode::UNAUTHORIZED
        );
    }
}
