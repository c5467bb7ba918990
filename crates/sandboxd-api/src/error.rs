//! The one error envelope every API answer uses: `{"error":{"code","message","retryable"}}`, with
//! the HTTP status derived from the stable code and `Retry-After` on retryable capacity errors.

use crate::wire::{ErrorBody, ErrorDetail};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use sandboxd_agent_client::CallError;
use sandboxd_core::{ErrorCode, ValidationError};
use sandboxd_engine::EngineError;

#[derive(Debug)]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
    pub retry_after_s: Option<u32>,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            retry_after_s: None,
        }
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidRequest, message)
    }
}

impl From<EngineError> for ApiError {
    fn from(e: EngineError) -> Self {
        let code = e.code();
        if code == ErrorCode::Internal {
            tracing::error!(error = %e, "internal error");
        }
        let mut err = ApiError::new(code, e.to_string());
        if matches!(code, ErrorCode::Capacity | ErrorCode::RuntimeUnavailable) {
            err.retry_after_s = Some(if code == ErrorCode::Capacity { 30 } else { 5 });
        }
        err
    }
}

/// An agent's answer in the API's words: its Connect code picks our stable code, its message is
/// kept (it names the path or pid), and an agent that cannot be reached is `agent_unavailable`.
impl From<CallError> for ApiError {
    fn from(e: CallError) -> Self {
        let (code, message) = match &e {
            CallError::Rpc { code, message } => (agent_code(code), message.clone()),
            CallError::Http { status, message } => (http_code(*status), message.clone()),
            CallError::Unreachable(m) => (
                ErrorCode::AgentUnavailable,
                format!("the sandbox's agent did not answer: {m}"),
            ),
            CallError::Protocol(m) => (
                ErrorCode::AgentUnavailable,
                format!("the sandbox's agent broke off: {m}"),
            ),
        };
        let mut err = ApiError::new(code, message);
        if code == ErrorCode::AgentUnavailable {
            err.retry_after_s = Some(1);
        }
        err
    }
}

/// Connect code (snake_case) → our code.
pub fn agent_code(code: &str) -> ErrorCode {
    match code {
        "invalid_argument" | "out_of_range" => ErrorCode::InvalidRequest,
        "not_found" => ErrorCode::NotFound,
        "already_exists" => ErrorCode::Conflict,
        "permission_denied" => ErrorCode::Forbidden,
        "failed_precondition" | "aborted" => ErrorCode::FailedPrecondition,
        "resource_exhausted" => ErrorCode::LimitExceeded,
        "unavailable" | "deadline_exceeded" | "canceled" => ErrorCode::AgentUnavailable,
        _ => ErrorCode::Internal,
    }
}

/// Plain-HTTP status of the agent's `/files` routes → our code.
fn http_code(status: u16) -> ErrorCode {
    match status {
        400 => ErrorCode::InvalidRequest,
        401 | 403 => ErrorCode::Forbidden,
        404 => ErrorCode::NotFound,
        409 => ErrorCode::Conflict,
        413 => ErrorCode::PayloadTooLarge,
        507 => ErrorCode::InsufficientStorage,
        502..=504 => ErrorCode::AgentUnavailable,
        _ => ErrorCode::Internal,
    }
}

impl From<ValidationError> for ApiError {
    fn from(e: ValidationError) -> Self {
        ApiError::invalid(e.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.code.http_status())
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code,
                retryable: self.code.retryable(),
                message: self.message,
            },
        };
        let mut resp = (status, axum::Json(body)).into_response();
        if let Some(s) = self.retry_after_s {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(s));
        }
        resp
    }
}
