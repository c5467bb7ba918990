//! Every API request gets an id (the client's `x-request-id` when sane, else a new one), a
//! tracing span carrying it — so every log line the request causes, in the engine too, names it —
//! the id echoed in the answer, and a count in the metrics by status class. This layer is the
//! outermost, so refused requests are traced and counted too. Each answer is logged (info; debug
//! for probes and scrapes) with its status and duration.

use crate::ApiState;
use axum::extract::{Request, State};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use sandboxd_core::request_id;
use tracing::Instrument;

pub async fn trace_request(
    State(state): State<ApiState>,
    mut req: Request,
    next: Next,
) -> Response {
    let given = req.headers().get(request_id::HEADER).map(|v| v.as_bytes());
    let id = request_id::accept(given)
        .map(str::to_owned)
        .unwrap_or_else(request_id::new_id);
    req.extensions_mut()
        .insert(crate::audit::RequestId(id.clone()));
    let span = tracing::info_span!(
        "request",
        request_id = %id,
        method = %req.method(),
        path = %req.uri().path(),
    );
    // Probes and scrapes arrive every few seconds: their lines are debug-level.
    let routine = matches!(req.uri().path(), "/healthz" | "/readyz" | "/metrics");
    let started = tokio::time::Instant::now();
    let mut resp = next.run(req).instrument(span.clone()).await;
    let status = resp.status().as_u16();
    state.engine.metrics().api_request(status);
    span.in_scope(|| {
        let ms = started.elapsed().as_millis() as u64;
        if status >= 500 {
            tracing::warn!(status, ms, "answered");
        } else if routine {
            tracing::debug!(status, ms, "answered");
        } else {
            tracing::info!(status, ms, "answered");
        }
    });
    if let Ok(v) = HeaderValue::from_str(&id) {
        resp.headers_mut().insert(request_id::HEADER, v);
    }
    resp
}
