//! Liveness, readiness, metrics and the OpenAPI document.

use crate::ApiState;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

pub async fn healthz() -> Json<serde_json::Value> {
    Json(json!({"ok": true}))
}

pub async fn readyz(State(state): State<ApiState>) -> Response {
    let (ready, reason, checked_at_ms) = state.ready.get();
    let body = json!({
        "ready": ready,
        "reason": reason,
        "checked_at": sandboxd_core::time::rfc3339_ms(checked_at_ms),
    });
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(body)).into_response()
}

/// Prometheus scrape target (OpenMetrics text).
pub async fn metrics(State(state): State<ApiState>) -> Result<Response, crate::ApiError> {
    let text = state.engine.metrics_text().await?;
    Ok((
        [(header::CONTENT_TYPE, sandboxd_metrics::CONTENT_TYPE)],
        text,
    )
        .into_response())
}

pub async fn openapi() -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        crate::openapi::DOCUMENT,
    )
        .into_response()
}
