//! What the proxy itself answers: errors as a small HTML page for browsers (Accept: text/html)
//! and as the JSON error envelope for every other client, and the waking page, which polls and
//! reloads itself the moment the app answers.

use crate::body::{full, ProxyBody};
use hyper::header::{HeaderValue, CACHE_CONTROL, CONTENT_TYPE, RETRY_AFTER};
use hyper::{Response, StatusCode};
use sandboxd_core::ErrorCode;

/// An error answer in the form the client prefers.
pub fn error(
    code: ErrorCode,
    status: StatusCode,
    message: &str,
    html: bool,
    retry_after: Option<u32>,
) -> Response<ProxyBody> {
    let mut resp = if html {
        let title = match status.as_u16() {
            401 => "This preview is private",
            404 => "No such sandbox",
            410 => "This sandbox was deleted",
            502 => "The app is not answering",
            503 => "The sandbox is not available",
            _ => "Preview error",
        };
        let body = page(title, &escape(message), "");
        Response::new(full(body))
    } else {
        let body = serde_json::json!({
            "error": {"code": code.as_str(), "message": message, "retryable": code.retryable() || status.as_u16() == 502}
        });
        Response::new(full(body.to_string()))
    };
    *resp.status_mut() = status;
    let ct = if html {
        "text/html; charset=utf-8"
    } else {
        "application/json"
    };
    resp.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(ct));
    resp.headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Some(s) = retry_after {
        resp.headers_mut().insert(RETRY_AFTER, HeaderValue::from(s));
    }
    resp
}

/// Served to a browser navigation while its sandbox wakes up.
pub fn waking() -> Response<ProxyBody> {
    let script = r#"<script>
(async function () {
  for (let i = 0; i < 600; i++) {
    try {
      const r = await fetch(location.href, {headers: {"x-sandboxd-wake-poll": "1"}, cache: "no-store"});
      const j = await r.json();
      if (j.ready) { location.reload(); return; }
      if (j.error) { document.getElementById("msg").textContent = j.error.message; return; }
    } catch (e) {}
    await new Promise(function (ok) { setTimeout(ok, 400); });
  }
})();
</script><noscript><meta http-equiv="refresh" content="2"></noscript>"#;
    let body = page(
        "Waking up your sandbox…",
        "It was asleep to save memory. This page reloads by itself as soon as your app answers.",
        script,
    );
    let mut resp = Response::new(full(body));
    *resp.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
    let h = resp.headers_mut();
    h.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(RETRY_AFTER, HeaderValue::from(2u32));
    h.insert("x-sandboxd-waking", HeaderValue::from_static("1"));
    resp
}

/// Answer to the waking page's poll.
pub fn poll(ready: bool) -> Response<ProxyBody> {
    let mut resp = Response::new(full(serde_json::json!({ "ready": ready }).to_string()));
    resp.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    resp.headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

fn page(title: &str, message: &str, extra: &str) -> String {
    format!(
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>{title}</title><style>body{{margin:0;min-height:100vh;display:grid;place-items:center;font:16px/1.5 system-ui,sans-serif;background:#0f172a;color:#e2e8f0}}main{{max-width:32rem;padding:2rem;text-align:center}}h1{{font-size:1.4rem;margin:0 0 .5rem}}p{{color:#94a3b8}}</style></head><body><main><h1>{title}</h1><p id="msg">{message}</p></main>{extra}</body></html>"#
    )
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_for_browsers_envelope_for_the_rest() {
        let r = error(ErrorCode::Gone, StatusCode::GONE, "gone <x>", true, None);
        assert_eq!(r.headers()[CONTENT_TYPE], "text/html; charset=utf-8");
        let r = error(
            ErrorCode::Capacity,
            StatusCode::SERVICE_UNAVAILABLE,
            "low",
            false,
            Some(30),
        );
        assert_eq!(r.headers()[CONTENT_TYPE], "application/json");
        assert_eq!(r.headers()[RETRY_AFTER], "30");
        assert_eq!(escape("<a&\">"), "&lt;a&amp;&quot;&gt;");
        assert_eq!(waking().status(), 503);
    }
}
