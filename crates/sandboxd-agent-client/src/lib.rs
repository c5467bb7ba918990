//! Client rule: sandboxd reaches a sandbox's agent only through this crate —
//! one pooled HTTP/1.1 client (keep-alive, no Nagle), the token on every
//! request, the agent's own message types and envelope codec — so a call
//! fails with one typed [`CallError`] that says whether the agent refused it
//! (a Connect code), could not be reached, or broke the protocol.

pub mod process_events;
mod stream;

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{HeaderName, HeaderValue, CONTENT_TYPE};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde::de::DeserializeOwned;
use serde::Serialize;

pub use sandboxd_agent::proto;
pub use sandboxd_agent::PORT;
pub use stream::RpcStream;

/// Boxed error of request bodies (streamed uploads).
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;
/// A request body: whole or streamed.
pub type Body = BoxBody<Bytes, BoxError>;

/// Where one sandbox's agent answers, and its token.
#[derive(Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub addr: SocketAddr,
    pub token: String,
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the token.
        f.debug_struct("Endpoint")
            .field("addr", &self.addr)
            .finish()
    }
}

/// Why a call to the agent failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallError {
    /// The agent answered with a Connect error (`code` is its snake_case name).
    #[error("agent refused the call ({code}): {message}")]
    Rpc { code: String, message: String },
    /// A plain-HTTP route answered with an error status.
    #[error("agent answered {status}: {message}")]
    Http { status: u16, message: String },
    /// The agent could not be reached or the connection broke.
    #[error("agent unreachable: {0}")]
    Unreachable(String),
    /// The answer was not what the protocol says (bad JSON, cut stream…).
    #[error("agent protocol error: {0}")]
    Protocol(String),
}

impl CallError {
    /// The Connect code, when the agent gave one.
    pub fn code(&self) -> Option<&str> {
        match self {
            CallError::Rpc { code, .. } => Some(code),
            _ => None,
        }
    }
}

/// A pooled client for every sandbox's agent.
#[derive(Clone, Debug)]
pub struct AgentClient {
    http: Client<HttpConnector, Body>,
}

impl Default for AgentClient {
    fn default() -> Self {
        AgentClient::new()
    }
}

impl AgentClient {
    pub fn new() -> AgentClient {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        connector.set_connect_timeout(Some(Duration::from_secs(3)));
        let http = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .pool_max_idle_per_host(8)
            .build(connector);
        AgentClient { http }
    }

    /// Sends one request to `ep` with the token added; transport failures
    /// become [`CallError::Unreachable`].
    pub async fn send(
        &self,
        ep: &Endpoint,
        method: Method,
        path_and_query: &str,
        headers: &[(HeaderName, HeaderValue)],
        body: Body,
    ) -> Result<Response<Incoming>, CallError> {
        let uri = format!("http://{}{}", ep.addr, path_and_query);
        let mut req = Request::builder().method(method).uri(uri);
        for (k, v) in headers {
            req = req.header(k, v);
        }
        let req = req
            .header("x-access-token", &ep.token)
            .body(body)
            .map_err(|e| CallError::Protocol(format!("building the request: {e}")))?;
        self.http
            .request(req)
            .await
            .map_err(|e| CallError::Unreachable(describe(&e)))
    }

    /// `GET /health` answered 204.
    pub async fn healthy(&self, ep: &Endpoint) -> bool {
        matches!(
            self.send(ep, Method::GET, "/health", &[], empty()).await,
            Ok(r) if r.status() == StatusCode::NO_CONTENT
        )
    }

    /// A unary Connect call (`path` like `/process.Process/List`).
    pub async fn unary<Req: Serialize, Resp: DeserializeOwned>(
        &self,
        ep: &Endpoint,
        path: &str,
        request: &Req,
        headers: &[(HeaderName, HeaderValue)],
    ) -> Result<Resp, CallError> {
        let json = serde_json::to_vec(request)
            .map_err(|e| CallError::Protocol(format!("encoding the request: {e}")))?;
        let mut all = headers.to_vec();
        all.push((CONTENT_TYPE, HeaderValue::from_static("application/json")));
        all.push((
            HeaderName::from_static("connect-protocol-version"),
            HeaderValue::from_static("1"),
        ));
        let resp = self.send(ep, Method::POST, path, &all, full(json)).await?;
        let status = resp.status();
        let bytes = resp
            .into_body()
            .collect()
            .await
            .map_err(|e| CallError::Unreachable(format!("reading the answer: {e}")))?
            .to_bytes();
        if status != StatusCode::OK {
            return Err(connect_error(status, &bytes));
        }
        serde_json::from_slice(&bytes)
            .map_err(|e| CallError::Protocol(format!("bad answer to {path}: {e}")))
    }

    /// A server-streaming Connect call; see [`RpcStream`].
    pub async fn stream<Req: Serialize, Resp: DeserializeOwned>(
        &self,
        ep: &Endpoint,
        path: &str,
        request: &Req,
        headers: &[(HeaderName, HeaderValue)],
    ) -> Result<RpcStream<Resp>, CallError> {
        stream::open(self, ep, path, request, headers).await
    }
}

/// An empty body.
pub fn empty() -> Body {
    Full::new(Bytes::new())
        .map_err(|never| match never {})
        .boxed()
}

/// A whole body.
pub fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into())
        .map_err(|never| match never {})
        .boxed()
}

/// The error of a non-200 unary answer: Connect's `{code,message}` when the
/// body has it, else E2B's plain `{code:<int>,message}`, else the status.
pub fn connect_error(status: StatusCode, body: &[u8]) -> CallError {
    #[derive(serde::Deserialize)]
    struct Shape {
        code: serde_json::Value,
        #[serde(default)]
        message: String,
    }
    match serde_json::from_slice::<Shape>(body) {
        Ok(Shape {
            code: serde_json::Value::String(code),
            message,
        }) => CallError::Rpc { code, message },
        Ok(Shape { message, .. }) => CallError::Http {
            status: status.as_u16(),
            message,
        },
        Err(_) => CallError::Http {
            status: status.as_u16(),
            message: String::from_utf8_lossy(&body[..body.len().min(512)]).into_owned(),
        },
    }
}

fn describe(err: &hyper_util::client::legacy::Error) -> String {
    let mut text = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests;
