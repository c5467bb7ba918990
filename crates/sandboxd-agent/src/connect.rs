//! Connect protocol v1 (JSON codec) rule: a handler is written once against
//! typed messages and one of three call shapes — [`unary`],
//! [`stream::server_stream`] or [`client_stream`] — and this module alone
//! checks content types, reads and limits bodies, parses JSON, honours
//! `Connect-Timeout-Ms`, and shapes success and error answers as Connect
//! clients expect (unary errors by HTTP status + JSON body; streaming errors
//! in the end-stream envelope of a 200 answer).

pub mod envelope;
pub mod error;
pub mod stream;

use std::future::Future;
use std::time::Duration;

use bytes::Bytes;
use futures_util::{Stream, StreamExt, TryStreamExt};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::header::{HeaderMap, CONTENT_TYPE};
use hyper::{Request, StatusCode};
use serde::de::DeserializeOwned;
use serde::Serialize;

pub use error::{Code, RpcError};

use crate::server::body::{self, Response};

/// What a handler learns from the call's headers.
#[derive(Debug, Clone, Default)]
pub struct Meta {
    /// From `Connect-Timeout-Ms`; `None` when absent or 0.
    pub deadline: Option<Duration>,
    /// From `Keepalive-Ping-Interval` (seconds); see [`stream`].
    pub keepalive: Option<Duration>,
}

impl Meta {
    pub fn from_headers(headers: &HeaderMap) -> Result<Meta, RpcError> {
        let number = |name: &str| -> Result<Option<u64>, RpcError> {
            let Some(value) = headers.get(name) else {
                return Ok(None);
            };
            let text = value
                .to_str()
                .map_err(|_| RpcError::invalid(format!("{name} is not ASCII")))?;
            if text.is_empty() || text.len() > 10 {
                return Err(RpcError::invalid(format!("{name} must be 1-10 digits")));
            }
            text.parse::<u64>()
                .map(Some)
                .map_err(|_| RpcError::invalid(format!("{name} must be digits, got {text:?}")))
        };
        Ok(Meta {
            deadline: number("connect-timeout-ms")?
                .filter(|ms| *ms > 0)
                .map(Duration::from_millis),
            keepalive: number("keepalive-ping-interval")?
                .filter(|s| *s > 0)
                .map(Duration::from_secs),
        })
    }
}

/// The codec a request asked for, from its content type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    Unary,
    Streaming,
}

/// Checks the content type for `shape`; protobuf and unknown types are
/// refused with 415 as the Connect spec asks (only JSON is spoken here).
pub fn check_content_type(headers: &HeaderMap, shape: Shape) -> Result<(), Box<Response>> {
    let ct = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let expected = match shape {
        Shape::Unary => "application/json",
        Shape::Streaming => "application/connect+json",
    };
    if ct == expected {
        return Ok(());
    }
    let mut resp = body::full(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "application/json",
        RpcError::invalid(format!(
            "content type {ct:?} is not supported here; this method takes {expected}"
        ))
        .to_json(),
    );
    resp.headers_mut().insert(
        "accept-post",
        hyper::header::HeaderValue::from_static("application/json, application/connect+json"),
    );
    Err(Box::new(resp))
}

/// Parses one JSON message; errors name the field serde stopped at.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, RpcError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return serde_json::from_slice(b"{}").map_err(|e| RpcError::invalid(e.to_string()));
    }
    serde_json::from_slice(bytes).map_err(|e| RpcError::invalid(format!("bad message: {e}")))
}

/// A unary answer: 200 + the message, or the error's status + JSON body.
pub fn unary_response<T: Serialize>(result: Result<T, RpcError>) -> Response {
    match result.and_then(|msg| {
        serde_json::to_vec(&msg).map_err(|e| RpcError::internal(format!("encode: {e}")))
    }) {
        Ok(json) => body::full(StatusCode::OK, "application/json", json),
        Err(err) => body::full(err.code.http_status(), "application/json", err.to_json()),
    }
}

/// Runs a unary call: reads the (limited) body, parses `Req`, calls `f`.
pub async fn unary<Req, Resp, F, Fut>(req: Request<Incoming>, f: F) -> Response
where
    Req: DeserializeOwned,
    Resp: Serialize,
    F: FnOnce(Req, Meta) -> Fut,
    Fut: Future<Output = Result<Resp, RpcError>>,
{
    if let Err(resp) = check_content_type(req.headers(), Shape::Unary) {
        return *resp;
    }
    let meta = match Meta::from_headers(req.headers()) {
        Ok(meta) => meta,
        Err(err) => return unary_response::<()>(Err(err)),
    };
    let bytes = match Limited::new(req.into_body(), envelope::MAX_MESSAGE)
        .collect()
        .await
    {
        Ok(collected) => collected.to_bytes(),
        Err(err) => {
            let err = RpcError::new(Code::ResourceExhausted, format!("request body: {err}"));
            return unary_response::<()>(Err(err));
        }
    };
    let work = async {
        let request = parse::<Req>(&bytes)?;
        f(request, meta.clone()).await
    };
    let result = match meta.deadline {
        Some(limit) => tokio::time::timeout(limit, work).await.unwrap_or_else(|_| {
            Err(RpcError::new(
                Code::DeadlineExceeded,
                "the call's deadline passed",
            ))
        }),
        None => work.await,
    };
    unary_response(result)
}

/// The request messages of a streaming call, decoded lazily from its body.
pub fn messages<T: DeserializeOwned + Send + 'static>(
    body: Incoming,
) -> impl Stream<Item = Result<T, RpcError>> + Send {
    let chunks = body
        .into_data_stream()
        .map_err(|e: hyper::Error| e.to_string())
        .boxed();
    envelope::decode(chunks).map(|item| item.and_then(|env| parse::<T>(&env.payload)))
}

/// Runs a client-streaming call: `f` consumes the request messages and
/// returns the one response message, sent enveloped with an end-stream.
pub async fn client_stream<Req, Resp, F, Fut>(req: Request<Incoming>, f: F) -> Response
where
    Req: DeserializeOwned + Send + 'static,
    Resp: Serialize + Send + 'static,
    F: FnOnce(futures_util::stream::BoxStream<'static, Result<Req, RpcError>>, Meta) -> Fut,
    Fut: Future<Output = Result<Resp, RpcError>> + Send + 'static,
{
    if let Err(resp) = check_content_type(req.headers(), Shape::Streaming) {
        return *resp;
    }
    let meta = match Meta::from_headers(req.headers()) {
        Ok(meta) => meta,
        Err(err) => return stream::error_only(err),
    };
    let incoming = messages::<Req>(req.into_body()).boxed();
    let work = f(incoming, meta.clone());
    let result = match meta.deadline {
        Some(limit) => tokio::time::timeout(limit, work).await.unwrap_or_else(|_| {
            Err(RpcError::new(
                Code::DeadlineExceeded,
                "the call's deadline passed",
            ))
        }),
        None => work.await,
    };
    stream::single(result)
}

/// Ready-made empty message for RPCs that answer `{}`.
#[derive(Debug, Default, Clone, Copy, Serialize, serde::Deserialize)]
pub struct Empty {}

/// Used by streaming paths that already own the bytes.
pub fn json_bytes<T: Serialize>(msg: &T) -> Result<Bytes, RpcError> {
    serde_json::to_vec(msg)
        .map(Bytes::from)
        .map_err(|e| RpcError::internal(format!("encode: {e}")))
}

#[cfg(test)]
pub(crate) mod tests;
