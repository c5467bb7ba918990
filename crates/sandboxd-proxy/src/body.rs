//! Response bodies. Upstream bodies are passed through frame by frame (never buffered), wrapped
//! so that the activity guard lives exactly as long as the body is being sent: an SSE stream or a
//! long download keeps its sandbox awake until it ends.

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::{Body, Frame, Incoming, SizeHint};
use prometheus_client::metrics::counter::Counter;
use sandboxd_engine::ConnectionGuard;
use std::pin::Pin;
use std::task::{Context, Poll};

pub type ProxyBody = BoxBody<Bytes, hyper::Error>;

pub fn full(bytes: impl Into<Bytes>) -> ProxyBody {
    Full::new(bytes.into())
        .map_err(|never| match never {})
        .boxed()
}

pub fn empty() -> ProxyBody {
    full(Bytes::new())
}

/// An upstream body that holds a connection guard until it is finished or dropped.
pub struct Guarded {
    inner: Incoming,
    _guard: Option<ConnectionGuard>,
    /// Counts the body's bytes as they are sent.
    bytes: Counter,
}

impl Guarded {
    pub fn wrap(inner: Incoming, guard: Option<ConnectionGuard>, bytes: Counter) -> ProxyBody {
        Guarded {
            inner,
            _guard: guard,
            bytes,
        }
        .boxed()
    }
}

impl Body for Guarded {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if let Poll::Ready(Some(Ok(frame))) = &polled {
            if let Some(data) = frame.data_ref() {
                self.bytes.inc_by(data.len() as u64);
            }
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
