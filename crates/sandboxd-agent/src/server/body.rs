//! Response body rule: every answer the agent sends is one boxed body type —
//! a full buffer, or a channel of chunks written as they come (never
//! buffered whole) — so routes of every shape return the same [`Response`].
//! A channel may carry an error, which aborts the body (the client sees a
//! broken transfer, never a clean but truncated one).

use std::convert::Infallible;
use std::io;

use bytes::Bytes;
use futures_util::stream;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::Frame;
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::StatusCode;
use tokio::sync::mpsc;

pub type Body = BoxBody<Bytes, io::Error>;
pub type Response = hyper::Response<Body>;

/// A whole body with `status` and `content_type`.
pub fn full(status: StatusCode, content_type: &'static str, bytes: impl Into<Bytes>) -> Response {
    let mut resp = hyper::Response::new(whole(bytes.into()));
    *resp.status_mut() = status;
    resp.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    resp
}

fn whole(bytes: Bytes) -> Body {
    Full::new(bytes)
        .map_err(|never: Infallible| match never {})
        .boxed()
}

/// No body.
pub fn empty(status: StatusCode) -> Response {
    let mut resp = hyper::Response::new(whole(Bytes::new()));
    *resp.status_mut() = status;
    resp
}

/// A body fed by `rx`; it ends when every sender is dropped.
pub fn channel(
    status: StatusCode,
    content_type: &'static str,
    mut rx: mpsc::Receiver<Bytes>,
) -> Response {
    let chunks = stream::poll_fn(move |cx| {
        rx.poll_recv(cx)
            .map(|item| item.map(|bytes| Ok::<_, io::Error>(Frame::data(bytes))))
    });
    let mut resp = hyper::Response::new(BodyExt::boxed(StreamBody::new(chunks)));
    *resp.status_mut() = status;
    resp.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    resp
}

/// Like [`channel`], but an `Err` item aborts the body mid-way.
pub fn fallible_channel(
    status: StatusCode,
    content_type: &'static str,
    mut rx: mpsc::Receiver<io::Result<Bytes>>,
) -> Response {
    let chunks = stream::poll_fn(move |cx| {
        rx.poll_recv(cx)
            .map(|item| item.map(|chunk| chunk.map(Frame::data)))
    });
    let mut resp = hyper::Response::new(BodyExt::boxed(StreamBody::new(chunks)));
    *resp.status_mut() = status;
    resp.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    resp
}

/// A JSON error in the agent's plain-HTTP shape: `{"code":<status>,"message"}`
/// (what E2B's `/files` clients read).
pub fn http_error(status: StatusCode, message: impl Into<String>) -> Response {
    #[derive(serde::Serialize)]
    struct HttpError {
        code: u16,
        message: String,
    }
    let body = HttpError {
        code: status.as_u16(),
        message: message.into(),
    };
    // A struct of a u16 and a String always serializes.
    full(
        status,
        "application/json",
        serde_json::to_vec(&body).unwrap_or_default(),
    )
}
