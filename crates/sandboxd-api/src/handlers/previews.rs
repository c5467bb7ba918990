//! Preview tokens of a sandbox: minted here for one port and a bounded life, revoked all at once
//! by rotating the sandbox's preview key. Scoping (a tenant reaches only its own sandboxes) and
//! the audit entry come from the route's `{id}` segment, as for every sandbox route.

use super::{parse_id, IdPath};
use crate::body::JsonBody;
use crate::error::ApiError;
use crate::openapi::errors::{Failed, Missing, Refused};
use crate::wire::{PreviewToken, PreviewTokenRequest};
use crate::ApiState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use sandboxd_core::preview::{MAX_TTL_S, QUERY_PARAM};
use sandboxd_core::time::rfc3339_ms;
use sandboxd_core::ValidationError;
use sandboxd_engine::AGENT_PORT;

/// Default life of a token (one hour).
const DEFAULT_TTL_S: i64 = 3600;

fn validate(req: &PreviewTokenRequest) -> Result<(u16, u64), ValidationError> {
    let port = req
        .port
        .ok_or_else(|| ValidationError::new("port", "required: the sandbox port to open"))?;
    let port = u16::try_from(port)
        .ok()
        .filter(|p| *p != 0)
        .ok_or_else(|| ValidationError::new("port", format!("{port} is not 1-65535")))?;
    if port == AGENT_PORT {
        return Err(ValidationError::new(
            "port",
            "the agent port is reached with the sandbox's access token, not a preview token",
        ));
    }
    let ttl = req.ttl_seconds.unwrap_or(DEFAULT_TTL_S);
    if ttl < 1 || ttl as u64 > MAX_TTL_S {
        return Err(ValidationError::new(
            "ttl_seconds",
            format!("must be between 1 and {MAX_TTL_S} seconds"),
        ));
    }
    Ok((port, ttl as u64))
}

/// Mint a preview token for one port of a (private) sandbox
#[utoipa::path(post, path = "/v1/sandboxes/{id}/preview-tokens", operation_id = "createPreviewToken",
    tag = "sandboxes", params(IdPath), request_body = PreviewTokenRequest,
    responses((status = 201, description = "Minted", body = PreviewToken),
        Refused, Missing, Failed))]
pub async fn mint(
    State(st): State<ApiState>,
    Path(id): Path<String>,
    JsonBody(req): JsonBody<PreviewTokenRequest>,
) -> Result<(StatusCode, Json<PreviewToken>), ApiError> {
    let id = parse_id(&id)?;
    let (port, ttl) = validate(&req)?;
    let minted = st.engine.mint_preview_token(&id, port, ttl).await?;
    let sb = st.engine.get_live(&id).await?;
    let url = format!(
        "{}/?{QUERY_PARAM}={}",
        st.previews.url(&sb, port),
        minted.token
    );
    Ok((
        StatusCode::CREATED,
        Json(PreviewToken {
            token: minted.token,
            url,
            expires_at: rfc3339_ms(minted.expires_at_ms),
            port: minted.port,
        }),
    ))
}

/// Revoke every preview token of a sandbox (its signing key is replaced)
#[utoipa::path(delete, path = "/v1/sandboxes/{id}/preview-tokens", operation_id = "revokePreviewTokens",
    tag = "sandboxes", params(IdPath),
    responses((status = 204, description = "Revoked"), Refused, Missing, Failed))]
pub async fn revoke(
    State(st): State<ApiState>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = parse_id(&id)?;
    st.engine.rotate_preview_key(&id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(port: Option<i64>, ttl: Option<i64>) -> Result<(u16, u64), String> {
        validate(&PreviewTokenRequest {
            port,
            ttl_seconds: ttl,
        })
        .map_err(|e| e.field)
    }

    #[test]
    fn ports_and_lifetimes_are_bounded() {
        assert_eq!(check(Some(3000), None), Ok((3000, 3600)));
        assert_eq!(check(Some(3000), Some(1)), Ok((3000, 1)));
        assert_eq!(check(Some(1), Some(604_800)), Ok((1, 604_800)));
        for port in [None, Some(0), Some(70_000), Some(-1), Some(49_983)] {
            assert_eq!(check(port, None), Err("port".into()), "{port:?}");
        }
        for ttl in [0, -5, 604_801] {
            assert_eq!(check(Some(3000), Some(ttl)), Err("ttl_seconds".into()));
        }
    }
}
