//! `/archive` rule: whole directories move as tar streams, built and read on
//! blocking threads and never held whole. `GET /archive?path=` streams a tar
//! of the directory (entries relative to it; symlinks stored as symlinks,
//! never followed; an unreadable entry aborts the body, so the client sees a
//! broken transfer rather than a silently short archive). `POST
//! /archive?path=` extracts a tar body into the directory (see [`extract`]).
//! Paths go through the same [`Resolver`] as `/files` and the RPCs (strict
//! mode with `x-sandboxd-root`). Errors are Connect-shaped JSON
//! (`{"code":"invalid_argument",…}` with Connect's HTTP status) so callers
//! keep the exact code, except a full disk: `{"code":507,"message"}`.

pub mod extract;

use std::io::{self, Write};
use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use hyper::body::Incoming;
use hyper::{Method, Request, StatusCode};
use tokio::sync::mpsc;

use crate::connect::{Code, RpcError};
use crate::files::query::Query;
use crate::filesystem::{blocking, path::Resolver};
use crate::server::body::{self, Response};
use crate::state::Agent;

/// Size of the chunks a tar stream is sent in.
const CHUNK: usize = 64 * 1024;

/// Why an archive call failed.
#[derive(Debug)]
pub enum Refusal {
    Rpc(RpcError),
    /// The disk (or quota) is full.
    Full(String),
}

impl From<RpcError> for Refusal {
    fn from(err: RpcError) -> Refusal {
        Refusal::Rpc(err)
    }
}

impl From<crate::filesystem::path::PathError> for Refusal {
    fn from(err: crate::filesystem::path::PathError) -> Refusal {
        Refusal::Rpc(err.into())
    }
}

/// An I/O failure on `what`: a full disk is [`Refusal::Full`].
pub fn io(err: &io::Error, what: &std::path::Path) -> Refusal {
    let what = what.display().to_string();
    match err.kind() {
        io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded => {
            Refusal::Full(format!("{what}: {err}"))
        }
        _ => Refusal::Rpc(RpcError::from_io(err, &what)),
    }
}

/// The answer for a refusal.
pub fn refuse(refusal: Refusal) -> Response {
    match refusal {
        Refusal::Rpc(err) => body::full(err.code.http_status(), "application/json", err.to_json()),
        Refusal::Full(message) => body::http_error(StatusCode::INSUFFICIENT_STORAGE, message),
    }
}

pub async fn serve(agent: Arc<Agent>, req: Request<Incoming>) -> Response {
    let query = match Query::parse(req.uri().query().unwrap_or("")) {
        Ok(q) => q,
        Err(err) => return refuse(err.into()),
    };
    let resolver = match Resolver::new(&agent, req.headers()) {
        Ok(r) => r,
        Err(err) => return refuse(err.into()),
    };
    let Some(raw) = query.path else {
        return refuse(RpcError::invalid("path= is required").into());
    };
    match *req.method() {
        Method::GET => pack(resolver, raw).await,
        Method::POST => extract::serve(resolver, raw, req.into_body()).await,
        _ => {
            let err = RpcError::new(Code::Unimplemented, "/archive takes GET or POST");
            let mut resp = refuse(err.into());
            *resp.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
            resp
        }
    }
}

/// `GET /archive`: checks the directory, then streams its tar.
async fn pack(resolver: Resolver, raw: String) -> Response {
    let dir = blocking(move || {
        let path = resolver.resolve(&raw)?;
        let meta = std::fs::metadata(&path)
            .map_err(|e| RpcError::from_io(&e, &path.display().to_string()))?;
        if !meta.is_dir() {
            return Err(RpcError::invalid(format!(
                "{} is not a directory; download files with /files",
                path.display()
            )));
        }
        Ok(path)
    })
    .await;
    let dir = match dir {
        Ok(dir) => dir,
        Err(err) => return refuse(err.into()),
    };
    let (tx, rx) = mpsc::channel(4);
    tokio::task::spawn_blocking(move || write_tar(dir, tx));
    body::fallible_channel(StatusCode::OK, "application/x-tar", rx)
}

/// Writes the tar of `dir` into `tx`; an error is sent last (aborting the body).
fn write_tar(dir: PathBuf, tx: mpsc::Sender<io::Result<Bytes>>) {
    let mut out = ChannelWriter {
        tx: tx.clone(),
        buf: Vec::with_capacity(CHUNK),
    };
    let result = {
        let mut builder = tar::Builder::new(&mut out);
        builder.follow_symlinks(false);
        builder
            .append_dir_all("", &dir)
            .and_then(|()| builder.finish())
    };
    if let Err(err) = result.and_then(|()| out.flush()) {
        let _ = tx.blocking_send(Err(err));
    }
}

/// A `Write` that sends 64 KiB chunks into a channel (blocking when full).
struct ChannelWriter {
    tx: mpsc::Sender<io::Result<Bytes>>,
    buf: Vec<u8>,
}

impl Write for ChannelWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= CHUNK {
            self.flush()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK)));
        self.tx
            .blocking_send(Ok(chunk))
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the client went away"))
    }
}

#[cfg(test)]
mod tests;
