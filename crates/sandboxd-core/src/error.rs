//! Stable error codes shared by every surface (API, proxy, CLI). A code never changes meaning once
//! published; HTTP status and retryability are derived from the code alone.

use serde::Serialize;

/// The stable machine-readable code carried in the `{"error":{"code",...}}` envelope.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    InvalidRequest,
    Unauthorized,
    /// A private preview asked for without a preview token (query, header or cookie).
    PreviewTokenRequired,
    /// A private preview asked for with a token that is malformed, for another sandbox or
    /// port, expired, or signed with a key that was rotated since.
    PreviewTokenInvalid,
    /// Refused whatever the credentials: a cross-site (browser) request or a foreign `Host`.
    Forbidden,
    NotFound,
    Conflict,
    Gone,
    PayloadTooLarge,
    /// A request body that is not `application/json`.
    UnsupportedMediaType,
    Capacity,
    /// The sandbox is in `error` (its reason is in the message); `start` recovers it.
    SandboxError,
    /// The sandbox runs but the app did not accept connections on the port in time.
    AppNotReady,
    RuntimeUnavailable,
    /// The in-sandbox agent did not answer (it restarts by itself; retry).
    AgentUnavailable,
    /// The target is of the wrong kind or state (a directory where a file is expected, stdin to
    /// a process started without it, a path through a symlink).
    FailedPrecondition,
    /// A limit of the request was exceeded (too many entries listed, a message too large).
    LimitExceeded,
    /// The sandbox's disk has no room for the write.
    InsufficientStorage,
    Internal,
}

impl ErrorCode {
    /// The HTTP status that carries this code.
    pub fn http_status(self) -> u16 {
        match self {
            ErrorCode::InvalidRequest => 400,
            ErrorCode::Unauthorized => 401,
            ErrorCode::PreviewTokenRequired => 401,
            ErrorCode::PreviewTokenInvalid => 401,
            ErrorCode::Forbidden => 403,
            ErrorCode::NotFound => 404,
            ErrorCode::Conflict => 409,
            ErrorCode::Gone => 410,
            ErrorCode::PayloadTooLarge => 413,
            ErrorCode::UnsupportedMediaType => 415,
            ErrorCode::Capacity => 503,
            ErrorCode::SandboxError => 503,
            ErrorCode::AppNotReady => 503,
            ErrorCode::RuntimeUnavailable => 503,
            ErrorCode::AgentUnavailable => 503,
            ErrorCode::FailedPrecondition => 409,
            ErrorCode::LimitExceeded => 422,
            ErrorCode::InsufficientStorage => 507,
            ErrorCode::Internal => 500,
        }
    }

    /// Whether a client may retry the same request unchanged and expect a different outcome.
    pub fn retryable(self) -> bool {
        matches!(
            self,
            ErrorCode::Capacity
                | ErrorCode::AppNotReady
                | ErrorCode::RuntimeUnavailable
                | ErrorCode::AgentUnavailable
                | ErrorCode::Internal
        )
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidRequest => "invalid_request",
            ErrorCode::Unauthorized => "unauthorized",
            ErrorCode::PreviewTokenRequired => "preview_token_required",
            ErrorCode::PreviewTokenInvalid => "preview_token_invalid",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::NotFound => "not_found",
            ErrorCode::Conflict => "conflict",
            ErrorCode::Gone => "gone",
            ErrorCode::PayloadTooLarge => "payload_too_large",
            ErrorCode::UnsupportedMediaType => "unsupported_media_type",
            ErrorCode::Capacity => "capacity",
            ErrorCode::SandboxError => "sandbox_error",
            ErrorCode::AppNotReady => "app_not_ready",
            ErrorCode::RuntimeUnavailable => "runtime_unavailable",
            ErrorCode::AgentUnavailable => "agent_unavailable",
            ErrorCode::FailedPrecondition => "failed_precondition",
            ErrorCode::LimitExceeded => "limit_exceeded",
            ErrorCode::InsufficientStorage => "insufficient_storage",
            ErrorCode::Internal => "internal",
        }
    }
}

/// Input that breaks a rule. The message names the field and the rule so a caller can fix it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct ValidationError {
    pub field: String,
    pub message: String,
}

impl ValidationError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_map_to_statuses_and_names() {
        assert_eq!(ErrorCode::Gone.http_status(), 410);
        assert_eq!(ErrorCode::Capacity.http_status(), 503);
        assert!(ErrorCode::Capacity.retryable());
        assert!(!ErrorCode::InvalidRequest.retryable());
        let json = serde_json::to_string(&ErrorCode::RuntimeUnavailable).unwrap();
        assert_eq!(json, "\"runtime_unavailable\"");
        assert_eq!(ErrorCode::PreviewTokenInvalid.http_status(), 401);
        assert_eq!(
            serde_json::to_string(&ErrorCode::PreviewTokenRequired).unwrap(),
            "\"preview_token_required\""
        );
        assert_eq!(
            ErrorCode::RuntimeUnavailable.as_str(),
            "runtime_unavailable"
        );
    }
}
