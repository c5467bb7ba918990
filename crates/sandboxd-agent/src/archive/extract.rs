//! Extraction rule: a tar body is unpacked into a staging directory inside
//! the destination, checked, and only then merged into place, so a refused
//! or cut-short archive leaves nothing behind. Refused (invalid_argument):
//! absolute names, `..`, non-UTF-8 names, hard links, device nodes and
//! fifos, absolute symlinks, symlinks whose target resolves (following the
//! archive's own links) outside the destination, and entries that would be
//! written through a symlink. Merging replaces files and symlinks, merges
//! directories, and refuses (failed_precondition, before anything moves) a
//! directory where a file is or the reverse. Files get the archive's
//! permission bits (no setuid), are owned by the agent's user, and the
//! answer counts the files and symlinks written: `{"files":N}`.

use std::fs;
use std::io::{self, Read};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};
use std::time::{Duration, UNIX_EPOCH};

use bytes::{Buf, Bytes};
use futures_util::StreamExt;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::StatusCode;
use tokio::sync::mpsc;

mod links;
mod merge;

use super::{io as io_err, refuse, Refusal};
use crate::connect::RpcError;
use crate::filesystem::path::{check_text, Resolver};
use crate::server::body::{self, Response};

pub async fn serve(resolver: Resolver, raw: String, body: Incoming) -> Response {
    let (tx, rx) = mpsc::channel::<Option<Bytes>>(8);
    let worker = tokio::task::spawn_blocking(move || {
        let reader = ChannelReader {
            rx,
            chunk: Bytes::new(),
        };
        unpack(&resolver, &raw, reader)
    });
    let mut data = body.into_data_stream();
    let mut clean_end = true;
    while let Some(chunk) = data.next().await {
        // The worker stopped (its error is the answer) or the body broke.
        let sent = match chunk {
            Ok(bytes) => tx.send(Some(bytes)).await.is_ok(),
            Err(_) => false,
        };
        if !sent {
            clean_end = false;
            break;
        }
    }
    if clean_end {
        let _ = tx.send(None).await;
    }
    drop(tx);
    let result = worker
        .await
        .unwrap_or_else(|e| Err(RpcError::internal(format!("extract task: {e}")).into()));
    match result {
        Ok(files) => body::full(
            StatusCode::OK,
            "application/json",
            serde_json::json!({ "files": files }).to_string(),
        ),
        Err(refusal) => refuse(refusal),
    }
}

/// Reads what the request task forwards; `None` is the clean end, a closed
/// channel without it is a cut-short body.
struct ChannelReader {
    rx: mpsc::Receiver<Option<Bytes>>,
    chunk: Bytes,
}

impl Read for ChannelReader {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.chunk.is_empty() {
            match self.rx.blocking_recv() {
                Some(Some(bytes)) => self.chunk = bytes,
                Some(None) => return Ok(0),
                None => {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the upload was cut short",
                    ))
                }
            }
        }
        let n = out.len().min(self.chunk.len());
        out[..n].copy_from_slice(&self.chunk[..n]);
        self.chunk.advance(n);
        Ok(n)
    }
}

fn invalid(message: impl Into<String>) -> Refusal {
    RpcError::invalid(message).into()
}

/// Extracts `reader`'s tar into `raw`'s directory (created when missing).
pub fn unpack(resolver: &Resolver, raw: &str, mut reader: impl Read) -> Result<usize, Refusal> {
    let dest = resolver.resolve(raw)?;
    let mut created = None;
    match fs::metadata(&dest) {
        Ok(meta) if meta.is_dir() => {}
        Ok(_) => return Err(invalid(format!("{} is not a directory", dest.display()))),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            created = Some(first_missing(&dest));
            fs::create_dir_all(&dest).map_err(|e| io_err(&e, &dest))?;
        }
        Err(e) => return Err(io_err(&e, &dest)),
    }
    let result = tempfile::Builder::new()
        .prefix(crate::filesystem::EXTRACT_PREFIX)
        .tempdir_in(&dest)
        .map_err(|e| io_err(&e, &dest))
        .and_then(|staging| {
            let files = stage(&mut reader, staging.path())?;
            // Read to the end so a body cut after the archive's end is noticed.
            io::copy(&mut reader, &mut io::sink()).map_err(bad_tar)?;
            links::check_links(staging.path(), staging.path())?;
            merge::check_merge(staging.path(), &dest)?;
            merge::merge(staging.path(), &dest)?;
            Ok(files)
        });
    if let (Err(_), Some(top)) = (&result, created) {
        let _ = fs::remove_dir_all(top);
    }
    result
}

/// The highest ancestor of `path` (or itself) that does not exist yet.
fn first_missing(path: &Path) -> PathBuf {
    let mut top = path.to_path_buf();
    while let Some(parent) = top.parent() {
        if parent.exists() {
            break;
        }
        top = parent.to_path_buf();
    }
    top
}

fn bad_tar(err: io::Error) -> Refusal {
    match err.kind() {
        io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded => Refusal::Full(err.to_string()),
        _ => invalid(format!("the tar body is unreadable: {err}")),
    }
}

/// Unpacks every entry under `root`; returns how many files and symlinks.
fn stage(reader: &mut impl Read, root: &Path) -> Result<usize, Refusal> {
    let mut archive = tar::Archive::new(reader);
    let mut files = 0;
    for entry in archive.entries().map_err(bad_tar)? {
        let mut entry = entry.map_err(bad_tar)?;
        let Some(rel) = entry_path(&entry.path_bytes())? else {
            continue; // the archive's own root (`./`)
        };
        let target = root.join(&rel);
        let kind = entry.header().entry_type();
        let mode = entry.header().mode().unwrap_or(0o644) & 0o777;
        no_symlink_on_the_way(root, &rel)?;
        if let Some(parent) = target.parent() {
            fs::create_dir_all(parent).map_err(|e| io_err(&e, parent))?;
        }
        use tar::EntryType as T;
        match kind {
            T::Directory => {
                if !fs::symlink_metadata(&target).is_ok_and(|m| m.is_dir()) {
                    replace_non_dir(&target)?;
                    fs::DirBuilder::new()
                        .mode(mode | 0o700)
                        .create(&target)
                        .map_err(|e| io_err(&e, &target))?;
                }
            }
            T::Regular | T::Continuous => {
                replace_non_dir(&target)?;
                let mut file = fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(0o600)
                    .open(&target)
                    .map_err(|e| io_err(&e, &target))?;
                io::copy(&mut entry, &mut file).map_err(|e| match e.raw_os_error() {
                    Some(_) => io_err(&e, &target),
                    None => bad_tar(e),
                })?;
                file.set_permissions(fs::Permissions::from_mode(mode))
                    .map_err(|e| io_err(&e, &target))?;
                if let Ok(secs) = entry.header().mtime() {
                    let _ = file.set_modified(UNIX_EPOCH + Duration::from_secs(secs));
                }
                files += 1;
            }
            T::Symlink => {
                let link = entry
                    .link_name_bytes()
                    .ok_or_else(|| invalid(format!("symlink {rel:?} has no target")))?;
                let link = String::from_utf8(link.into_owned())
                    .map_err(|_| invalid(format!("symlink {rel:?}: target is not UTF-8")))?;
                links::lexically_inside(&rel, Path::new(&link))?;
                replace_non_dir(&target)?;
                std::os::unix::fs::symlink(&link, &target).map_err(|e| io_err(&e, &target))?;
                files += 1;
            }
            T::Link => return Err(invalid(format!("{rel:?} is a hard link; they are refused"))),
            T::Char | T::Block | T::Fifo => {
                return Err(invalid(format!(
                    "{rel:?} is a device node or fifo; only files, directories and symlinks are accepted"
                )))
            }
            T::XGlobalHeader | T::XHeader | T::GNULongName | T::GNULongLink => {}
            other => return Err(invalid(format!("{rel:?}: unsupported tar entry type {other:?}"))),
        }
    }
    Ok(files)
}

/// A checked relative path for an entry name; `None` for the root itself.
fn entry_path(raw: &[u8]) -> Result<Option<PathBuf>, Refusal> {
    let text = std::str::from_utf8(raw).map_err(|_| invalid("an entry name is not valid UTF-8"))?;
    check_text(text)?;
    if text.starts_with('/') {
        return Err(invalid(format!(
            "{text:?}: absolute entry names are refused"
        )));
    }
    let mut rel = PathBuf::new();
    for part in Path::new(text).components() {
        match part {
            Component::Normal(name) => rel.push(name),
            Component::CurDir => {}
            _ => {
                return Err(invalid(format!(
                    "{text:?}: `..` in an entry name is refused"
                )))
            }
        }
    }
    Ok((!rel.as_os_str().is_empty()).then_some(rel))
}

/// Refuses an entry whose existing parents (within `root`) include a symlink.
fn no_symlink_on_the_way(root: &Path, rel: &Path) -> Result<(), Refusal> {
    let mut at = root.to_path_buf();
    let parents: Vec<_> = rel
        .parent()
        .map(|p| p.components().collect())
        .unwrap_or_default();
    for part in parents {
        at.push(part);
        if fs::symlink_metadata(&at).is_ok_and(|m| m.file_type().is_symlink()) {
            return Err(invalid(format!(
                "{rel:?} would be written through a symlink"
            )));
        }
    }
    Ok(())
}

/// Removes a file or symlink at `path` (a later entry replaces an earlier one).
fn replace_non_dir(path: &Path) -> Result<(), Refusal> {
    match fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => Err(invalid(format!(
            "{} is both a directory and a file in the archive",
            path.display()
        ))),
        Ok(_) => fs::remove_file(path).map_err(|e| io_err(&e, path)),
        Err(_) => Ok(()),
    }
}
