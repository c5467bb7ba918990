//! Streaming answer rule: a server-streaming handler writes typed messages
//! into a [`Sink`]; this module envelopes them, interleaves the service's
//! keepalive message whenever the client asked for pings
//! (`Keepalive-Ping-Interval`, 90 s otherwise), enforces the deadline, and
//! always closes the body with exactly one end-stream envelope — `{}` on
//! success, `{"error":{…}}` otherwise. A client that goes away closes the
//! sink, which handlers observe through [`Sink::send`] or [`Sink::closed`].

use std::future::Future;
use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;
use hyper::body::Incoming;
use hyper::{Request, StatusCode};
use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio::sync::mpsc;

use super::envelope::{encode, FLAG_END_STREAM};
use super::{check_content_type, json_bytes, messages, Meta, RpcError, Shape};
use crate::server::body::{self, Response};

/// Pings when the client did not say how often.
pub const DEFAULT_KEEPALIVE: Duration = Duration::from_secs(90);
/// Messages buffered toward a slow client before `send` waits.
const BUFFER: usize = 32;

/// The client went away (or the stream already ended).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the client closed the stream")]
pub struct Closed;

/// Where a streaming handler writes its messages.
#[derive(Debug, Clone)]
pub struct Sink {
    tx: mpsc::Sender<Bytes>,
}

impl Sink {
    /// Sends one message; waits while the client is slow.
    pub async fn send<T: Serialize>(&self, msg: &T) -> Result<(), Closed> {
        let json = json_bytes(msg).map_err(|_| Closed)?;
        self.tx.send(encode(0, json)).await.map_err(|_| Closed)
    }

    /// Resolves when the client has gone away.
    pub async fn closed(&self) {
        self.tx.closed().await
    }
}

/// The end-stream envelope for `result`.
fn end_envelope(result: &Result<(), RpcError>) -> Bytes {
    #[derive(Serialize)]
    struct End<'a> {
        #[serde(skip_serializing_if = "Option::is_none")]
        error: Option<&'a RpcError>,
    }
    let end = End {
        error: result.as_ref().err(),
    };
    // A struct of a borrowed RpcError always serializes.
    encode(FLAG_END_STREAM, json_bytes(&end).unwrap_or_default())
}

fn streaming(rx: mpsc::Receiver<Bytes>) -> Response {
    body::channel(StatusCode::OK, "application/connect+json", rx)
}

/// A streaming answer holding only an end-stream with `err`.
pub fn error_only(err: RpcError) -> Response {
    let (tx, rx) = mpsc::channel(1);
    // The fresh channel has room for this one envelope.
    let _ = tx.try_send(end_envelope(&Err(err)));
    streaming(rx)
}

/// A streaming answer holding one message (on success) and the end-stream.
pub fn single<T: Serialize>(result: Result<T, RpcError>) -> Response {
    let (tx, rx) = mpsc::channel(2);
    let result = result.and_then(|msg| json_bytes(&msg));
    let end = match result {
        Ok(json) => {
            let _ = tx.try_send(encode(0, json));
            Ok(())
        }
        Err(err) => Err(err),
    };
    let _ = tx.try_send(end_envelope(&end));
    streaming(rx)
}

/// Runs a server-streaming call. `keepalive` is the service's ping message
/// (e.g. `{"event":{"keepalive":{}}}`). The handler runs in its own task;
/// when the deadline passes its future is dropped (handlers that must clean
/// up hold drop guards) and the stream ends with `deadline_exceeded`.
pub async fn server_stream<Req, F, Fut>(
    req: Request<Incoming>,
    keepalive: &'static str,
    f: F,
) -> Response
where
    Req: DeserializeOwned + Send + 'static,
    F: FnOnce(Req, Meta, Sink) -> Fut + Send + 'static,
    Fut: Future<Output = Result<(), RpcError>> + Send + 'static,
{
    if let Err(resp) = check_content_type(req.headers(), Shape::Streaming) {
        return *resp;
    }
    let meta = match Meta::from_headers(req.headers()) {
        Ok(meta) => meta,
        Err(err) => return error_only(err),
    };
    let mut incoming = Box::pin(messages::<Req>(req.into_body()));
    let first = match incoming.next().await {
        Some(Ok(msg)) => msg,
        Some(Err(err)) => return error_only(err),
        None => return error_only(RpcError::invalid("the stream carried no request message")),
    };
    let (tx, rx) = mpsc::channel(BUFFER);
    let sink = Sink { tx: tx.clone() };
    let ping_every = meta.keepalive.unwrap_or(DEFAULT_KEEPALIVE);
    tokio::spawn(async move {
        let pinger = {
            let tx = tx.clone();
            tokio::spawn(async move {
                let ping = encode(0, Bytes::from_static(keepalive.as_bytes()));
                let mut tick = tokio::time::interval(ping_every);
                tick.tick().await;
                loop {
                    tick.tick().await;
                    if tx.send(ping.clone()).await.is_err() {
                        return;
                    }
                }
            })
        };
        let deadline = meta.deadline;
        let work = f(first, meta, sink);
        let result = match deadline {
            Some(limit) => tokio::time::timeout(limit, work).await.unwrap_or_else(|_| {
                Err(RpcError::new(
                    super::Code::DeadlineExceeded,
                    "the call's deadline passed",
                ))
            }),
            None => work.await,
        };
        pinger.abort();
        let _ = tx.send(end_envelope(&result)).await;
    });
    streaming(rx)
}
