//! Liveness, readiness, metrics and the OpenAPI document.

use crate::wire::{Health, OpenApiDocument, Ready};
use crate::ApiState;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

/// Liveness (no auth)
#[utoipa::path(get, path = "/healthz", operation_id = "healthz", tag = "meta", security(()),
    responses((status = 200, description = "Alive", body = Health)))]
pub async fn healthz() -> Json<Health> {
    Json(Health { ok: true })
}

/// Readiness: store and engine reachable (cached; no auth)
#[utoipa::path(get, path = "/readyz", operation_id = "readyz", tag = "meta", security(()),
    responses((status = 200, description = "Ready", body = Ready),
        (status = 503, description = "Not ready", body = Ready)))]
pub async fn readyz(State(state): State<ApiState>) -> (StatusCode, Json<Ready>) {
    let (ready, reason, checked_at_ms) = state.ready.get();
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = Ready {
        ready,
        reason,
        checked_at: sandboxd_core::time::rfc3339_ms(checked_at_ms),
    };
    (status, Json(body))
}

/// Prometheus metrics (OpenMetrics text): sandboxes by status, lifecycle operations by outcome,
/// create and wake latency, API and proxied requests and bytes by status class, open preview
/// connections, reconciler actions, admission refusals, engine errors
#[utoipa::path(get, path = "/metrics", operation_id = "metrics", tag = "meta",
    responses((status = 200, description = "The metrics",
        content_type = "application/openmetrics-text", body = String)))]
pub async fn metrics(State(state): State<ApiState>) -> Result<Response, crate::ApiError> {
    let text = state.engine.metrics_text().await?;
    Ok((
        [(header::CONTENT_TYPE, sandboxd_metrics::CONTENT_TYPE)],
        text,
    )
        .into_response())
}

/// This document
#[utoipa::path(get, path = "/v1/openapi.json", operation_id = "openapi", tag = "meta",
    responses((status = 200, description = "OpenAPI document", body = OpenApiDocument)))]
pub async fn openapi() -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        crate::openapi::served(),
    )
        .into_response()
}
