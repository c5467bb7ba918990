//! Stream rule: a server-streaming answer is read message by message as it
//! arrives (never buffered whole); it ends cleanly only with the agent's
//! end-stream envelope — an end-stream carrying an error becomes that
//! error, and a body that stops without one is a protocol error (the agent
//! or its sandbox died mid-stream), never a clean end.

use std::marker::PhantomData;
use std::pin::Pin;

use futures_util::{Stream, StreamExt, TryStreamExt};
use http_body_util::BodyExt;
use hyper::header::{HeaderName, HeaderValue, CONTENT_TYPE};
use hyper::{Method, StatusCode};
use sandboxd_agent::connect::envelope::{self, Envelope, FLAG_END_STREAM};
use sandboxd_agent::connect::RpcError;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::{connect_error, full, AgentClient, CallError, Endpoint};

type Envelopes = Pin<Box<dyn Stream<Item = Result<Envelope, RpcError>> + Send>>;

/// The messages of one streaming answer.
pub struct RpcStream<T> {
    envelopes: Envelopes,
    done: bool,
    _kind: PhantomData<fn() -> T>,
}

impl<T> std::fmt::Debug for RpcStream<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RpcStream")
            .field("done", &self.done)
            .finish()
    }
}

impl<T: DeserializeOwned> RpcStream<T> {
    /// The next message; `None` after a clean end; an error ends the stream.
    pub async fn next(&mut self) -> Option<Result<T, CallError>> {
        if self.done {
            return None;
        }
        let item = match self.envelopes.next().await {
            None => Some(Err(CallError::Protocol(
                "the stream stopped without its end message (the agent or sandbox went away)"
                    .into(),
            ))),
            Some(Err(e)) => Some(Err(CallError::Protocol(e.message))),
            Some(Ok(env)) if env.flags & FLAG_END_STREAM != 0 => end(&env.payload),
            Some(Ok(env)) => Some(
                serde_json::from_slice(&env.payload)
                    .map_err(|e| CallError::Protocol(format!("bad stream message: {e}"))),
            ),
        };
        match &item {
            Some(Ok(_)) => {}
            _ => self.done = true,
        }
        item
    }
}

/// The outcome carried by an end-stream envelope.
fn end<T>(payload: &[u8]) -> Option<Result<T, CallError>> {
    #[derive(serde::Deserialize)]
    struct End {
        #[serde(default)]
        error: Option<Err>,
    }
    #[derive(serde::Deserialize)]
    struct Err {
        code: String,
        #[serde(default)]
        message: String,
    }
    match serde_json::from_slice::<End>(payload) {
        Ok(End { error: None }) => None,
        Ok(End {
            error: Some(Err { code, message }),
        }) => Some(Result::Err(CallError::Rpc { code, message })),
        Result::Err(e) => Some(Result::Err(CallError::Protocol(format!(
            "bad end-stream message: {e}"
        )))),
    }
}

pub(crate) async fn open<Req: Serialize, Resp: DeserializeOwned>(
    client: &AgentClient,
    ep: &Endpoint,
    path: &str,
    request: &Req,
    headers: &[(HeaderName, HeaderValue)],
) -> Result<RpcStream<Resp>, CallError> {
    let json = serde_json::to_vec(request)
        .map_err(|e| CallError::Protocol(format!("encoding the request: {e}")))?;
    let mut all = headers.to_vec();
    all.push((
        CONTENT_TYPE,
        HeaderValue::from_static("application/connect+json"),
    ));
    all.push((
        HeaderName::from_static("connect-protocol-version"),
        HeaderValue::from_static("1"),
    ));
    let body = full(envelope::encode(0, json.into()));
    let resp = client.send(ep, Method::POST, path, &all, body).await?;
    let status = resp.status();
    if status != StatusCode::OK {
        let bytes = resp
            .into_body()
            .collect()
            .await
            .map(|c| c.to_bytes())
            .unwrap_or_default();
        return Err(connect_error(status, &bytes));
    }
    let chunks = resp
        .into_body()
        .into_data_stream()
        .map_err(|e| e.to_string())
        .boxed();
    Ok(RpcStream {
        envelopes: Box::pin(envelope::decode(chunks)),
        done: false,
        _kind: PhantomData,
    })
}
