//! Connect error rule: every failure an RPC reports is one [`RpcError`] with a
//! Connect code; the code alone decides the HTTP status of a unary answer
//! (the Connect v1 table), and the JSON body is always
//! `{"code":"<snake_case name>","message":"…"}`.

use hyper::StatusCode;
use serde::Serialize;

/// The Connect error codes (the gRPC set, spelled as Connect spells them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Code {
    Canceled,
    Unknown,
    InvalidArgument,
    DeadlineExceeded,
    NotFound,
    AlreadyExists,
    PermissionDenied,
    ResourceExhausted,
    FailedPrecondition,
    Aborted,
    OutOfRange,
    Unimplemented,
    Internal,
    Unavailable,
    DataLoss,
    Unauthenticated,
}

impl Code {
    /// The HTTP status a unary response carries for this code (Connect v1).
    pub fn http_status(self) -> StatusCode {
        match self {
            Code::Canceled => StatusCode::from_u16(499).unwrap_or(StatusCode::BAD_REQUEST),
            Code::Unknown | Code::Internal | Code::DataLoss => StatusCode::INTERNAL_SERVER_ERROR,
            Code::InvalidArgument | Code::OutOfRange => StatusCode::BAD_REQUEST,
            Code::DeadlineExceeded => StatusCode::GATEWAY_TIMEOUT,
            Code::NotFound => StatusCode::NOT_FOUND,
            Code::AlreadyExists | Code::Aborted => StatusCode::CONFLICT,
            Code::PermissionDenied => StatusCode::FORBIDDEN,
            Code::ResourceExhausted => StatusCode::TOO_MANY_REQUESTS,
            Code::FailedPrecondition => StatusCode::PRECONDITION_FAILED,
            Code::Unimplemented => StatusCode::NOT_IMPLEMENTED,
            Code::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Code::Unauthenticated => StatusCode::UNAUTHORIZED,
        }
    }
}

/// One RPC failure: a code and a message for people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{code:?}: {message}")]
pub struct RpcError {
    pub code: Code,
    pub message: String,
}

impl RpcError {
    pub fn new(code: Code, message: impl Into<String>) -> RpcError {
        RpcError {
            code,
            message: message.into(),
        }
    }

    pub fn invalid(message: impl Into<String>) -> RpcError {
        RpcError::new(Code::InvalidArgument, message)
    }

    pub fn not_found(message: impl Into<String>) -> RpcError {
        RpcError::new(Code::NotFound, message)
    }

    pub fn internal(message: impl Into<String>) -> RpcError {
        RpcError::new(Code::Internal, message)
    }

    /// Maps an I/O error on `what` to the closest code (missing → not_found,
    /// exists → already_exists, permission → permission_denied, no space →
    /// resource_exhausted, wrong kind → failed_precondition).
    pub fn from_io(err: &std::io::Error, what: &str) -> RpcError {
        use std::io::ErrorKind as K;
        let code = match err.kind() {
            K::NotFound => Code::NotFound,
            K::AlreadyExists => Code::AlreadyExists,
            K::PermissionDenied => Code::PermissionDenied,
            K::InvalidInput | K::InvalidFilename => Code::InvalidArgument,
            K::StorageFull | K::QuotaExceeded | K::FileTooLarge => Code::ResourceExhausted,
            K::NotADirectory | K::IsADirectory | K::DirectoryNotEmpty => Code::FailedPrecondition,
            _ => Code::Internal,
        };
        RpcError::new(code, format!("{what}: {err}"))
    }

    /// The JSON body of a unary error (`{"code","message"}`).
    pub fn to_json(&self) -> Vec<u8> {
        // Serializing a struct of an enum and a String cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_map_to_connect_statuses_and_names() {
        assert_eq!(Code::NotFound.http_status(), 404);
        assert_eq!(Code::AlreadyExists.http_status(), 409);
        assert_eq!(Code::InvalidArgument.http_status(), 400);
        assert_eq!(Code::Unauthenticated.http_status(), 401);
        assert_eq!(Code::Unavailable.http_status(), 503);
        assert_eq!(Code::Canceled.http_status(), 499);
        let body = RpcError::not_found("no such pid").to_json();
        assert_eq!(
            String::from_utf8(body).unwrap(),
            r#"{"code":"not_found","message":"no such pid"}"#
        );
    }

    #[test]
    fn io_errors_keep_their_meaning() {
        let missing = std::io::Error::from(std::io::ErrorKind::NotFound);
        assert_eq!(RpcError::from_io(&missing, "/x").code, Code::NotFound);
        let exists = std::io::Error::from(std::io::ErrorKind::AlreadyExists);
        assert_eq!(RpcError::from_io(&exists, "/x").code, Code::AlreadyExists);
    }
}
