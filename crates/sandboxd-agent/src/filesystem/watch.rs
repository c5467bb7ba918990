//! Watch rule: one inotify instance per watch, opened on an existing
//! directory (missing → not_found, not a directory → invalid_argument);
//! a recursive watch also watches every subdirectory (not through
//! symlinks), including ones created later. Kernel events map as
//! fsnotify maps them: CREATE/MOVED_TO → CREATE, MODIFY → WRITE,
//! DELETE → REMOVE, MOVED_FROM → RENAME, ATTRIB → CHMOD; names are
//! relative to the watched directory. The watch ends when that directory
//! is removed or moved away.

use std::collections::HashMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use futures_util::StreamExt;
use inotify::{EventMask, EventStream, Inotify, WatchDescriptor, WatchMask, Watches};

use super::entry::{entry, Names};
use super::path::Resolver;
use crate::connect::stream::Sink;
use crate::connect::{Code, RpcError};
use crate::proto::filesystem::{EventType, FilesystemEvent, Start, WatchEvent, WatchRequest};

/// Most directories one recursive watch covers.
pub const MAX_DIRS: usize = 8_192;

fn mask() -> WatchMask {
    WatchMask::CREATE
        | WatchMask::DELETE
        | WatchMask::MODIFY
        | WatchMask::MOVED_FROM
        | WatchMask::MOVED_TO
        | WatchMask::ATTRIB
        | WatchMask::DELETE_SELF
        | WatchMask::MOVE_SELF
}

/// An open watch.
pub struct Watch {
    events: EventStream<Vec<u8>>,
    /// Watched directory of each descriptor, relative to the root.
    dirs: HashMap<WatchDescriptor, PathBuf>,
    root: PathBuf,
    recursive: bool,
    include_entry: bool,
    names: Names,
}

impl std::fmt::Debug for Watch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Watch").field("root", &self.root).finish()
    }
}

/// Watches `rel` (under `root`) and, when `recursive`, its subdirectories.
fn add_tree(
    watches: &mut Watches,
    dirs: &mut HashMap<WatchDescriptor, PathBuf>,
    root: &Path,
    rel: PathBuf,
    recursive: bool,
) -> Result<(), RpcError> {
    let mut todo = vec![rel];
    while let Some(rel) = todo.pop() {
        if dirs.len() >= MAX_DIRS {
            return Err(RpcError::new(
                Code::ResourceExhausted,
                format!("more than {MAX_DIRS} directories to watch; watch a smaller tree"),
            ));
        }
        let abs = root.join(&rel);
        match watches.add(&abs, mask()) {
            Ok(wd) => dirs.insert(wd, rel.clone()),
            // A directory that vanished meanwhile is simply not watched.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !dirs.is_empty() => continue,
            Err(e) => return Err(RpcError::from_io(&e, &abs.display().to_string())),
        };
        if recursive {
            for child in std::fs::read_dir(&abs).into_iter().flatten().flatten() {
                if child.file_type().is_ok_and(|t| t.is_dir()) {
                    todo.push(rel.join(child.file_name()));
                }
            }
        }
    }
    Ok(())
}

impl Watch {
    pub async fn open(resolver: Resolver, req: WatchRequest) -> Result<Watch, RpcError> {
        let recursive = req.recursive;
        let (inotify, dirs, root) = super::blocking(move || {
            let root = resolver.resolve(&req.path)?;
            let meta = std::fs::metadata(&root)
                .map_err(|e| RpcError::from_io(&e, &root.display().to_string()))?;
            if !meta.is_dir() {
                return Err(RpcError::invalid(format!(
                    "{} is not a directory; only directories can be watched",
                    root.display()
                )));
            }
            let inotify = Inotify::init().map_err(|e| {
                RpcError::new(
                    Code::ResourceExhausted,
                    format!("cannot open an inotify instance ({e}); close other watches first"),
                )
            })?;
            let mut dirs = HashMap::new();
            add_tree(
                &mut inotify.watches(),
                &mut dirs,
                &root,
                PathBuf::new(),
                recursive,
            )?;
            Ok((inotify, dirs, root))
        })
        .await?;
        let events = inotify
            .into_event_stream(vec![0u8; 16 * 1024])
            .map_err(|e| RpcError::from_io(&e, "inotify"))?;
        Ok(Watch {
            events,
            dirs,
            root,
            recursive,
            include_entry: req.include_entry,
            names: if req.include_entry {
                Names::load()
            } else {
                Names::default()
            },
        })
    }

    /// The next event; `None` once the watched directory is gone.
    pub async fn next(&mut self) -> Result<Option<FilesystemEvent>, RpcError> {
        loop {
            let Some(item) = self.events.next().await else {
                return Ok(None);
            };
            let event = item.map_err(|e| RpcError::from_io(&e, "inotify"))?;
            if let Some(out) = self.translate(event.wd, event.mask, event.name)? {
                return Ok(Some(out));
            }
            if self.dirs.is_empty() {
                return Ok(None);
            }
        }
    }

    fn translate(
        &mut self,
        wd: WatchDescriptor,
        mask: EventMask,
        name: Option<OsString>,
    ) -> Result<Option<FilesystemEvent>, RpcError> {
        let Some(dir) = self.dirs.get(&wd).cloned() else {
            return Ok(None);
        };
        if mask.contains(EventMask::IGNORED)
            || (dir.as_os_str().is_empty()
                && mask.intersects(EventMask::DELETE_SELF | EventMask::MOVE_SELF))
        {
            // Gone (or the root moved away): stop following it.
            self.dirs.remove(&wd);
            if dir.as_os_str().is_empty() {
                self.dirs.clear();
            }
            return Ok(None);
        }
        let Some(name) = name else {
            return Ok(None);
        };
        let rel = dir.join(name);
        if super::is_agent_temp(&rel) {
            // Our own staging (upload temp files, archive extraction): watchers see only the
            // result, as the rename into place (E2B shows only the final name too).
            return Ok(None);
        }
        let kind = if mask.intersects(EventMask::CREATE | EventMask::MOVED_TO) {
            EventType::Create
        } else if mask.contains(EventMask::MODIFY) {
            EventType::Write
        } else if mask.contains(EventMask::DELETE) {
            EventType::Remove
        } else if mask.contains(EventMask::MOVED_FROM) {
            EventType::Rename
        } else if mask.contains(EventMask::ATTRIB) {
            EventType::Chmod
        } else {
            return Ok(None);
        };
        if kind == EventType::Create && self.recursive && mask.contains(EventMask::ISDIR) {
            let mut watches = self.events.watches();
            add_tree(&mut watches, &mut self.dirs, &self.root, rel.clone(), true)?;
        }
        let entry = match kind {
            EventType::Remove | EventType::Rename => None,
            _ if self.include_entry => entry(&self.root.join(&rel), &self.names).ok(),
            _ => None,
        };
        Ok(Some(FilesystemEvent {
            name: rel.to_string_lossy().into_owned(),
            kind,
            entry,
        }))
    }
}

/// WatchDir: `start{}` once the watch is set up, then one message per
/// event until the client leaves or the directory is gone.
pub async fn stream(resolver: Resolver, req: WatchRequest, sink: Sink) -> Result<(), RpcError> {
    let mut watch = Watch::open(resolver, req).await?;
    if sink.send(&WatchEvent::Start(Start {})).await.is_err() {
        return Ok(());
    }
    loop {
        tokio::select! {
            _ = sink.closed() => return Ok(()),
            next = watch.next() => match next? {
                None => return Ok(()),
                Some(event) => {
                    if sink.send(&WatchEvent::Filesystem(Box::new(event))).await.is_err() {
                        return Ok(());
                    }
                }
            },
        }
    }
}
