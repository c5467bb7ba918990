//! Liveness, readiness and the OpenAPI document.

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
