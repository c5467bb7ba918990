//! One preview request, start to finish: find its target ([`crate::target`]), take the fast path when the sandbox is
//! known to run (no lock, no store read), otherwise ask the engine to wake it — deleted sandboxes
//! are never woken — and forward the original request once the port accepts connections. Browser
//! navigations that would wait longer than a moment get the waking page instead. Requests routed
//! the E2B way get E2B's 502 shapes for a sandbox that is gone or a port that is not open.

use crate::body::ProxyBody;
use crate::server::Conn;
use crate::target::{self, Dialect, Routed};
use crate::{agent_gate, e2b, forward, headers, pages, preview_gate, upgrade, Proxy};
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use sandboxd_core::ErrorCode;
use sandboxd_engine::{ConnectionGuard, EngineError, WakeTarget};
use std::net::IpAddr;
use tracing::Instrument;

pub async fn handle(proxy: &Proxy, req: Request<Incoming>, conn: &Conn) -> Response<ProxyBody> {
    let resp = route(proxy, req, conn).await;
    proxy.metrics.request(resp.status().as_u16());
    resp
}

async fn route(proxy: &Proxy, mut req: Request<Incoming>, conn: &Conn) -> Response<ProxyBody> {
    headers::ensure_request_id(req.headers_mut());
    let html = headers::wants_html(req.headers());
    let Some(routed) = target::resolve(req.headers(), req.uri(), &proxy.cfg.domain) else {
        return target::no_target(&proxy.cfg.domain, html);
    };
    if let Some(refusal) = agent_gate::check(&proxy.engine, &routed, req.headers(), html).await {
        return refusal;
    }
    // Before the route is read or a wake asked for: anonymous traffic never wakes a private
    // sandbox.
    if let Some(answer) = preview_gate::check(proxy, &routed, &mut req, html).await {
        return answer;
    }
    let target = &routed.target;
    let polling = req.headers().contains_key("x-sandboxd-wake-poll");
    // Fast path: a running sandbox whose port already answered since it started. Otherwise the
    // connection stays counted through the wake, so nothing retires the sandbox meanwhile.
    let held = match proxy.engine.open_connection(&target.id, target.port) {
        Some((guard, Some(route))) => {
            let warm = WakeTarget {
                ip: route.ip,
                started_ms: route.started_ms,
            };
            if polling && route.port_ready {
                return pages::poll(true);
            }
            if !polling && (route.port_ready || !proxy.engine.warming(&warm)) {
                return send(proxy, req, conn, html, route.ip, &routed, guard).await;
            }
            Some(guard)
        }
        Some((guard, None)) => Some(guard),
        None => None,
    };
    let span = tracing::info_span!(
        "preview",
        request_id = headers::request_id(req.headers()),
        sandbox = %target.id,
        port = target.port,
    );
    slow_path(proxy, req, conn, &routed, html, polling, held)
        .instrument(span)
        .await
}

/// The sandbox is stopped, starting, unknown or gone: resolve that, then forward.
async fn slow_path(
    proxy: &Proxy,
    req: Request<Incoming>,
    conn: &Conn,
    routed: &Routed,
    html: bool,
    polling: bool,
    held: Option<ConnectionGuard>,
) -> Response<ProxyBody> {
    // The wake runs in its own task: it completes even if this client gives up or is served
    // the waking page, and concurrent requests share its outcome through the sandbox's lock.
    let target = &routed.target;
    let engine = proxy.engine.clone();
    let (id, port) = (target.id.clone(), target.port);
    let wake = proxy.engine.spawn(async move {
        let t = engine.wake(&id).await?;
        let ready = engine.wait_port(&id, t, port).await;
        Ok::<_, EngineError>((t, ready))
    });
    let navigation = html && req.method() == Method::GET && !headers::is_upgrade(req.headers());
    let outcome = if polling {
        match tokio::time::timeout(std::time::Duration::from_millis(300), wake).await {
            Ok(joined) => joined,
            Err(_) => return pages::poll(false),
        }
    } else if navigation {
        match tokio::time::timeout(proxy.cfg.browser_wait, wake).await {
            Ok(joined) => joined,
            Err(_) => return pages::waking(),
        }
    } else {
        wake.await
    };
    let (woke, ready) = match outcome {
        Ok(Ok(v)) => v,
        Ok(Err(e)) => return engine_error(e, routed, html),
        Err(join) => {
            tracing::error!(error = %join, "wake task failed");
            return pages::error(
                ErrorCode::Internal,
                StatusCode::INTERNAL_SERVER_ERROR,
                "wake failed",
                html,
                None,
            );
        }
    };
    if polling && (ready || proxy.engine.warming(&woke)) {
        return pages::poll(ready);
    }
    if !ready {
        if routed.dialect == Dialect::E2b {
            return e2b::port_closed(&target.id, target.port);
        }
        let msg = format!(
            "the app did not start listening on port {} in time",
            target.port
        );
        return pages::error(
            ErrorCode::AppNotReady,
            StatusCode::SERVICE_UNAVAILABLE,
            &msg,
            html,
            Some(5),
        );
    }
    // Forward to the route as it is now: the sandbox may have been stopped again meanwhile.
    let Some((guard, Some(route))) = proxy.engine.open_connection(&target.id, target.port) else {
        let msg = "the sandbox stopped again while waking; retry";
        return pages::error(
            ErrorCode::AppNotReady,
            StatusCode::SERVICE_UNAVAILABLE,
            msg,
            html,
            Some(1),
        );
    };
    drop(held);
    send(proxy, req, conn, html, route.ip, routed, guard).await
}

async fn send(
    proxy: &Proxy,
    req: Request<Incoming>,
    conn: &Conn,
    html: bool,
    ip: IpAddr,
    routed: &Routed,
    guard: ConnectionGuard,
) -> Response<ProxyBody> {
    if headers::is_upgrade(req.headers()) {
        upgrade::tunnel(proxy, req, conn, ip, routed.target.port, guard).await
    } else {
        forward::forward(proxy, req, conn, html, ip, routed, guard).await
    }
}

/// Preview visitors are anonymous: they learn what happened, never the engine's message (which
/// may name images, paths or the app's output). The details go to the log, in the request's
/// span (which carries its request id); the API shows the sandbox's `last_error`. For E2B's SDK a
/// sandbox that is unknown, deleted or in error is one that "was not found".
fn engine_error(e: EngineError, routed: &Routed, html: bool) -> Response<ProxyBody> {
    let code = e.code();
    let gone = matches!(
        code,
        ErrorCode::NotFound | ErrorCode::Gone | ErrorCode::SandboxError
    );
    if routed.dialect == Dialect::E2b && gone {
        tracing::debug!(error = %e, "preview wake: sandbox not found (E2B shape)");
        return e2b::not_found(&routed.target.id);
    }
    let status =
        StatusCode::from_u16(code.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    tracing::warn!(error = %e, code = code.as_str(), "preview wake failed");
    let (message, retry) = match code {
        ErrorCode::NotFound => ("no such sandbox", None),
        ErrorCode::Gone => ("this sandbox was deleted", None),
        ErrorCode::Capacity => ("the host is busy; retry later", Some(30)),
        ErrorCode::RuntimeUnavailable => {
            ("the sandbox cannot start right now; retry later", Some(30))
        }
        ErrorCode::AppNotReady => ("the app is not ready; retry later", Some(30)),
        ErrorCode::SandboxError => ("the sandbox is in error", None),
        _ => ("the sandbox could not be woken", None),
    };
    pages::error(code, status, message, html, retry)
}
