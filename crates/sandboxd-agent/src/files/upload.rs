//! Upload rule: `POST /files` writes each file atomically — streamed into a
//! temp file in the destination's directory, then renamed over it (no
//! fsync) — so a client that disconnects, a bad gzip stream or a full disk
//! (507) leaves the old file intact and no temp behind. Bodies are
//! `application/octet-stream` (optionally `Content-Encoding: gzip`) to
//! `path=`, or `multipart/form-data` whose file parts go to `path=` when
//! given (every part, the last one wins, as envd does) or else to the
//! part's raw filename (relative → working directory). Parents are
//! created; a directory at the destination is 400. New files get 0644, a
//! replaced file keeps its mode. In E2B mode a destination that is a
//! symlink is written through to its target. `X-Metadata-<k>: v` headers
//! become xattrs `user.e2b.<k>` on every written file, best effort (a
//! filesystem without user xattrs just skips them). Answer:
//! `200 [{"path","name","type":"file"}]`.

use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::header::{HeaderMap, CONTENT_ENCODING, CONTENT_TYPE};
use hyper::{Request, StatusCode};
use tokio::sync::mpsc;

use super::{error, query::Query};
use crate::connect::{Code, RpcError};
use crate::filesystem::{blocking, path::Resolver};
use crate::server::body::{self, Response};

type Xattrs = Vec<(String, Vec<u8>)>;

#[derive(Debug, serde::Serialize)]
struct Written {
    path: String,
    name: String,
    #[serde(rename = "type")]
    kind: &'static str,
}

pub async fn serve(resolver: Resolver, query: Query, req: Request<Incoming>) -> Response {
    let headers = req.headers().clone();
    let xattrs = xattrs(&headers);
    let ct = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/octet-stream")
        .to_string();
    let result = if ct.to_ascii_lowercase().starts_with("multipart/form-data") {
        multipart(&resolver, &query, &ct, req.into_body(), &xattrs).await
    } else {
        match &query.path {
            None => Err(RpcError::invalid(
                "path= is required for a non-multipart upload",
            )),
            Some(raw) => {
                let gzip = headers
                    .get(CONTENT_ENCODING)
                    .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"gzip"));
                let data = req.into_body().into_data_stream();
                write(&resolver, raw.clone(), data, gzip, &xattrs)
                    .await
                    .map(|w| vec![w])
            }
        }
    };
    match result {
        // A Vec of plain structs always serializes.
        Ok(written) => body::full(
            StatusCode::OK,
            "application/json",
            serde_json::to_vec(&written).unwrap_or_default(),
        ),
        Err(err) => error(err),
    }
}

async fn multipart(
    resolver: &Resolver,
    query: &Query,
    ct: &str,
    body: Incoming,
    xattrs: &Xattrs,
) -> Result<Vec<Written>, RpcError> {
    let boundary = multer::parse_boundary(ct)
        .map_err(|e| RpcError::invalid(format!("multipart body: {e}")))?;
    let mut form = multer::Multipart::new(body.into_data_stream(), boundary);
    let mut written = Vec::new();
    loop {
        let field = match form.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(e) => return Err(RpcError::invalid(format!("multipart body: {e}"))),
        };
        let dest = match (&query.path, field.file_name()) {
            (Some(path), _) => path.clone(),
            (None, Some(name)) => name.to_string(),
            (None, None) => continue,
        };
        written.push(write(resolver, dest, field, false, xattrs).await?);
    }
    if written.is_empty() {
        return Err(RpcError::invalid("the form carries no file part"));
    }
    Ok(written)
}

/// What the receiving side hears.
enum Chunk {
    Data(Bytes),
    Done,
}

/// Streams `data` into `raw`'s destination atomically.
async fn write<S, E>(
    resolver: &Resolver,
    raw: String,
    mut data: S,
    gzip: bool,
    xattrs: &Xattrs,
) -> Result<Written, RpcError>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    let (tx, rx) = mpsc::channel(8);
    let (resolver, xattrs) = (resolver.clone(), xattrs.clone());
    let writer = tokio::spawn(blocking(move || {
        write_blocking(&resolver, &raw, rx, gzip, &xattrs)
    }));
    let mut cut = None;
    while let Some(chunk) = data.next().await {
        match chunk {
            Ok(bytes) => {
                if tx.send(Chunk::Data(bytes)).await.is_err() {
                    break; // the writer failed; its error is the answer
                }
            }
            Err(e) => {
                cut = Some(e.to_string());
                break;
            }
        }
    }
    if cut.is_none() {
        let _ = tx.send(Chunk::Done).await;
    }
    drop(tx);
    let result = writer
        .await
        .unwrap_or_else(|e| Err(RpcError::internal(format!("upload task: {e}"))));
    match cut {
        Some(why) => Err(RpcError::invalid(format!(
            "the upload was cut short ({why}); nothing was changed"
        ))),
        None => result,
    }
}

fn io(err: std::io::Error, what: &Path) -> RpcError {
    RpcError::from_io(&err, &what.display().to_string())
}

fn write_blocking(
    resolver: &Resolver,
    raw: &str,
    mut rx: mpsc::Receiver<Chunk>,
    gzip: bool,
    xattrs: &Xattrs,
) -> Result<Written, RpcError> {
    let mut path = resolver.resolve_below(raw)?;
    if std::fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_symlink()) {
        // Only reachable in E2B mode (strict mode refuses symlinks).
        path = std::fs::canonicalize(&path).unwrap_or(path);
    }
    let old = std::fs::metadata(&path).ok();
    if old.as_ref().is_some_and(|m| m.is_dir()) {
        return Err(RpcError::invalid(format!(
            "{} is a directory; upload to a file path",
            path.display()
        )));
    }
    let (Some(parent), Some(name)) = (path.parent(), path.file_name()) else {
        return Err(RpcError::invalid(format!(
            "{} names no file",
            path.display()
        )));
    };
    std::fs::create_dir_all(parent).map_err(|e| io(e, parent))?;
    let tmp = tempfile::Builder::new()
        .prefix(&format!(".{}.", name.to_string_lossy()))
        .suffix(crate::filesystem::UPLOAD_SUFFIX)
        .tempfile_in(parent)
        .map_err(|e| io(e, parent))?;
    let mode = old
        .map(|m| m.permissions().mode() & 0o7777)
        .unwrap_or(0o644);
    std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(mode))
        .map_err(|e| io(e, tmp.path()))?;
    {
        let mut gz = gzip.then(|| flate2::write::GzDecoder::new(tmp.as_file()));
        loop {
            let bytes = match rx.blocking_recv() {
                Some(Chunk::Data(bytes)) => bytes,
                Some(Chunk::Done) => break,
                // The client went away: the temp file is dropped (removed).
                None => return Err(RpcError::new(Code::Aborted, "the upload was cut short")),
            };
            match gz.as_mut() {
                Some(gz) => gz.write_all(&bytes),
                None => tmp.as_file().write_all(&bytes),
            }
            .map_err(|e| bad(e, &path))?;
        }
        // try_finish also checks the gzip trailer, so a truncated or
        // non-gzip body is refused.
        if let Some(gz) = gz.as_mut() {
            gz.try_finish().map_err(|e| bad(e, &path))?;
        }
    }
    for (key, value) in xattrs {
        set_xattr(tmp.path(), key, value);
    }
    tmp.persist(&path).map_err(|e| io(e.error, &path))?;
    Ok(Written {
        path: path.to_string_lossy().into_owned(),
        name: name.to_string_lossy().into_owned(),
        kind: "file",
    })
}

/// A write error: an OS error is I/O (e.g. a full disk → 507); anything
/// else comes from the gzip decoder and is the client's corrupt body.
fn bad(err: std::io::Error, path: &Path) -> RpcError {
    if err.raw_os_error().is_some() {
        io(err, path)
    } else {
        RpcError::invalid(format!("the gzip body is corrupt: {err}"))
    }
}

/// `X-Metadata-<k>` headers as `(k, value)`.
fn xattrs(headers: &HeaderMap) -> Xattrs {
    headers
        .iter()
        .filter_map(|(name, value)| {
            let key = name.as_str().strip_prefix("x-metadata-")?;
            Some((key.to_string(), value.as_bytes().to_vec()))
        })
        .collect()
}

/// Best effort `user.e2b.<key>` on `path`.
fn set_xattr(path: &Path, key: &str, value: &[u8]) {
    let Ok(c_path) = std::ffi::CString::new(path.as_os_str().as_bytes()) else {
        return;
    };
    let Ok(c_name) = std::ffi::CString::new(format!("user.e2b.{key}")) else {
        return;
    };
    // SAFETY: both strings are NUL-terminated and live across the call;
    // value is a valid slice of value.len() bytes.
    unsafe {
        libc::setxattr(
            c_path.as_ptr(),
            c_name.as_ptr(),
            value.as_ptr().cast(),
            value.len(),
            0,
        );
    }
}
