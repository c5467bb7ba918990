//! Request bodies: read within the size limit, parse as JSON, and turn every failure (too large,
//! malformed, wrong types, unknown fields) into the error envelope. An empty body means the
//! type's defaults, as the reference API allowed for create and keepalive.

use crate::error::ApiError;
use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use sandboxd_core::ErrorCode;
use serde::de::DeserializeOwned;

/// Largest request body the API accepts.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

pub struct JsonBody<T>(pub T);

impl<S, T> FromRequest<S> for JsonBody<T>
where
    S: Send + Sync,
    T: DeserializeOwned + Default,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(req, state).await.map_err(|rej| {
            if rej.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(
                    ErrorCode::PayloadTooLarge,
                    format!("request body is larger than {MAX_BODY_BYTES} bytes"),
                )
            } else {
                ApiError::invalid(format!("cannot read request body: {rej}"))
            }
        })?;
        parse(&bytes).map(JsonBody)
    }
}

pub fn parse<T: DeserializeOwned + Default>(bytes: &[u8]) -> Result<T, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(bytes).map_err(|e| {
        let kind = match e.classify() {
            serde_json::error::Category::Syntax | serde_json::error::Category::Eof => {
                "malformed JSON"
            }
            _ => "invalid request",
        };
        ApiError::invalid(format!("{kind}: {e}"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Default, Debug)]
    #[serde(deny_unknown_fields)]
    struct T {
        #[allow(dead_code)]
        a: Option<u16>,
    }

    #[test]
    fn empty_is_default_and_errors_are_invalid_request() {
        assert!(parse::<T>(b"").is_ok());
        assert!(parse::<T>(b"  \n").is_ok());
        let e = parse::<T>(b"{").unwrap_err();
        assert!(e.message.starts_with("malformed JSON"));
        assert_eq!(e.code, ErrorCode::InvalidRequest);
        assert!(parse::<T>(br#"{"a":"x"}"#).is_err());
        assert!(parse::<T>(br#"{"b":1}"#)
            .unwrap_err()
            .message
            .contains("unknown field"));
    }
}
