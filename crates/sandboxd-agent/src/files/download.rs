//! Download rule: `GET /files?path=` streams the file in 64 KiB chunks
//! (never read whole) as `application/octet-stream` with Content-Length and
//! a Content-Disposition naming it; a directory is 400, a missing path 404.
//! A read error mid-way cuts the body short of its Content-Length, so the
//! client sees a broken transfer rather than a silently truncated file.
//! Responses are never compressed (gzip is optional in envd's contract).

use hyper::body::Incoming;
use hyper::header::{HeaderValue, CONTENT_DISPOSITION, CONTENT_LENGTH};
use hyper::{Request, StatusCode};
use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
use tokio::sync::mpsc;
use tokio_util::io::ReaderStream;

use super::{error, query::Query};
use crate::connect::RpcError;
use crate::filesystem::{blocking, path::Resolver};
use crate::server::body::{self, Response};

const CHUNK: usize = 64 * 1024;

pub async fn serve(resolver: Resolver, query: Query, _req: Request<Incoming>) -> Response {
    let Some(raw) = query.path else {
        return error(RpcError::invalid("path= is required"));
    };
    let opened = blocking(move || {
        let path = resolver.resolve(&raw)?;
        let what = path.display().to_string();
        let meta = std::fs::metadata(&path).map_err(|e| RpcError::from_io(&e, &what))?;
        if meta.is_dir() {
            return Err(RpcError::invalid(format!(
                "{what} is a directory; download files one at a time"
            )));
        }
        let file = std::fs::File::open(&path).map_err(|e| RpcError::from_io(&e, &what))?;
        Ok((path, file, meta.len()))
    })
    .await;
    let (path, file, len) = match opened {
        Ok(opened) => opened,
        Err(err) => return error(err),
    };
    let (tx, rx) = mpsc::channel(4);
    tokio::spawn(async move {
        let mut chunks = ReaderStream::with_capacity(tokio::fs::File::from_std(file), CHUNK);
        while let Some(chunk) = futures_util::StreamExt::next(&mut chunks).await {
            let Ok(chunk) = chunk else {
                return;
            };
            if tx.send(chunk).await.is_err() {
                return;
            }
        }
    });
    let mut resp = body::channel(StatusCode::OK, "application/octet-stream", rx);
    let headers = resp.headers_mut();
    headers.insert(CONTENT_LENGTH, HeaderValue::from(len));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if let Ok(value) = HeaderValue::from_str(&disposition(&name)) {
        headers.insert(CONTENT_DISPOSITION, value);
    }
    resp
}

/// `attachment; filename="…"; filename*=UTF-8''…` (ASCII fallback with
/// anything unsafe replaced by `_`).
fn disposition(name: &str) -> String {
    let plain: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded = utf8_percent_encode(name, NON_ALPHANUMERIC);
    format!("attachment; filename=\"{plain}\"; filename*=UTF-8''{encoded}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn disposition_is_ascii() {
        let d = super::disposition("a \"b\".txt");
        assert!(d.starts_with("attachment; filename=\"a _b_.txt\""));
        assert!(super::disposition("é").contains("%C3%A9"));
    }
}
