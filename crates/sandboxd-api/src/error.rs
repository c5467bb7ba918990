//! The one error envelope every API answer uses: `{"error":{"code","message","retryable"}}`, with
//! the HTTP status derived from the stable code and `Retry-After` on retryable capacity errors.

use crate::wire::{ErrorBody, ErrorDetail};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
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
