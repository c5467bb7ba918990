//! Keys and the audit log (admin only: `scope.rs` refuses tenants before these run). A key's
//! secret leaves the server only in the answer to `POST /v1/keys`.

use super::query;
use crate::body::JsonBody;
use crate::error::ApiError;
use crate::openapi::errors::{Failed, Refused};
use crate::wire::{
    AuditPage, AuditParams, AuditView, CreateKeyRequest, CreatedKey, KeyList, KeyView,
};
use crate::ApiState;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use sandboxd_core::api_key::valid_owner;
use sandboxd_core::{ErrorCode, KeyRole, SandboxId};
use sandboxd_engine::AuditQuery;

fn role_of(req: &CreateKeyRequest) -> Result<KeyRole, ApiError> {
    match (
        req.role.as_deref().unwrap_or("tenant"),
        req.owner.as_deref(),
    ) {
        ("admin", None) => Ok(KeyRole::Admin),
        ("admin", Some(_)) => Err(ApiError::invalid("owner: admin keys have no owner")),
        ("tenant", Some(o)) if valid_owner(o) => Ok(KeyRole::Tenant(o.to_string())),
        ("tenant", Some(_)) => Err(ApiError::invalid(
            "owner: 1-64 characters of a-z, A-Z, 0-9, '-', '_' and '.'",
        )),
        ("tenant", None) => Err(ApiError::invalid("owner: a tenant key needs an owner")),
        (other, _) => Err(ApiError::invalid(format!(
            "role: {other:?} is not \"tenant\" or \"admin\""
        ))),
    }
}

/// Issue an API key (admin only); the key is in this answer and nowhere else
#[utoipa::path(post, path = "/v1/keys", operation_id = "createKey", tag = "access",
    request_body = CreateKeyRequest,
    responses((status = 201, description = "Created", body = CreatedKey), Refused, Failed))]
pub async fn create_key(
    State(st): State<ApiState>,
    JsonBody(req): JsonBody<CreateKeyRequest>,
) -> Result<(StatusCode, Json<CreatedKey>), ApiError> {
    let name = req.name.trim().to_string();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(ApiError::invalid("name: 1-100 printable characters"));
    }
    let role = role_of(&req)?;
    let (rec, key) = st.engine.issue_key(name, role).await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedKey {
            key: key.expose().to_string(),
            info: KeyView::from(&rec),
        }),
    ))
}

/// List API keys without their secrets (admin only)
#[utoipa::path(get, path = "/v1/keys", operation_id = "listKeys", tag = "access",
    responses((status = 200, description = "Keys", body = KeyList), Refused, Failed))]
pub async fn list_keys(State(st): State<ApiState>) -> Result<Json<KeyList>, ApiError> {
    let keys = st.engine.keys().await?;
    Ok(Json(KeyList {
        keys: keys.iter().map(KeyView::from).collect(),
    }))
}

/// Revoke an API key (admin only); its next use is refused with 401
#[utoipa::path(delete, path = "/v1/keys/{key_id}", operation_id = "revokeKey", tag = "access",
    params(("key_id" = String, Path, description = "Key id (`key_…`)")),
    responses((status = 204, description = "Revoked"),
        (status = 404, description = "Unknown key", body = crate::wire::ErrorBody),
        Refused, Failed))]
pub async fn revoke_key(
    State(st): State<ApiState>,
    Path(key_id): Path<String>,
) -> Result<StatusCode, ApiError> {
    if st.engine.revoke_key(&key_id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::new(
            ErrorCode::NotFound,
            format!("no key {key_id:?}"),
        ))
    }
}

/// Mutating calls, newest first (admin only)
#[utoipa::path(get, path = "/v1/audit", operation_id = "listAudit", tag = "access",
    params(AuditParams),
    responses((status = 200, description = "Audit records", body = AuditPage), Refused, Failed))]
pub async fn audit(
    State(st): State<ApiState>,
    q: Result<Query<AuditParams>, QueryRejection>,
) -> Result<Json<AuditPage>, ApiError> {
    let q = query(q)?;
    let limit = q.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::invalid("limit: 1-1000"));
    }
    let sandbox_id = match q.sandbox.as_deref() {
        Some(raw) => Some(SandboxId::parse_lookup(raw)?.as_str().to_string()),
        None => None,
    };
    let records = st
        .engine
        .audit(AuditQuery {
            sandbox_id,
            since_ms: q.since,
            before_seq: q.before,
            limit,
        })
        .await?;
    let full = records.len() == limit as usize;
    Ok(Json(AuditPage {
        next_before: records.last().filter(|_| full).map(|r| r.seq),
        entries: records.iter().map(AuditView::from).collect(),
    }))
}
