//! `filesystem.Filesystem` rule: every RPC resolves its paths through
//! [`path::Resolver`] (E2B or strict mode, see there), runs its filesystem
//! work in `spawn_blocking` (the agent's runtime has one thread), and
//! answers with E2B's messages: Stat, ListDir, MakeDir, Move, Remove
//! (unary), WatchDir (server stream) and the polling watchers
//! CreateWatcher / GetWatcherEvents / RemoveWatcher.

pub mod entry;
pub mod ops;
pub mod path;
pub mod watch;
pub mod watchers;

use std::sync::Arc;

use hyper::body::Incoming;
use hyper::Request;

use crate::connect::{self, stream, Empty, RpcError};
use crate::proto::filesystem::{
    CreateWatcherResponse, EntryResponse, ListDirRequest, ListDirResponse, MoveRequest,
    PathRequest, WatchRequest, WatcherRequest, KEEPALIVE,
};
use crate::server::{self, body::Response};
use crate::state::Agent;
pub use watchers::Watchers;

/// Suffix of the temp file an upload is written to before it is renamed into place.
pub const UPLOAD_SUFFIX: &str = ".sandboxd-upload";
/// Prefix of the staging directory an archive is extracted into before it is merged.
pub const EXTRACT_PREFIX: &str = ".sandboxd-extract-";

/// Whether `rel` is (or is inside) the agent's own staging: an upload's temp file or an
/// archive's extraction directory. Watches never report these.
pub fn is_agent_temp(rel: &std::path::Path) -> bool {
    let mut parts = rel.components().peekable();
    while let Some(part) = parts.next() {
        let name = part.as_os_str().to_string_lossy();
        if name.starts_with(EXTRACT_PREFIX) {
            return true;
        }
        if parts.peek().is_none() && name.starts_with('.') && name.ends_with(UPLOAD_SUFFIX) {
            return true;
        }
    }
    false
}

/// Runs blocking filesystem work off the runtime thread.
pub async fn blocking<T, F>(f: F) -> Result<T, RpcError>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T, RpcError> + Send + 'static,
{
    tokio::task::spawn_blocking(f)
        .await
        .unwrap_or_else(|e| Err(RpcError::internal(format!("filesystem task failed: {e}"))))
}

pub async fn serve(agent: Arc<Agent>, method: &str, req: Request<Incoming>) -> Response {
    let resolver = match path::Resolver::new(&agent, req.headers()) {
        Ok(r) => r,
        Err(err) if method == "WatchDir" => return stream::error_only(err.into()),
        Err(err) => return connect::unary_response::<()>(Err(err.into())),
    };
    match method {
        "Stat" => {
            connect::unary(req, |r: PathRequest, _| {
                blocking(move || {
                    let entry = ops::stat(&resolver.resolve(&r.path)?)?;
                    Ok(EntryResponse { entry })
                })
            })
            .await
        }
        "ListDir" => {
            connect::unary(req, |r: ListDirRequest, _| {
                blocking(move || {
                    let entries = ops::list_dir(&resolver.resolve(&r.path)?, r.depth)?;
                    Ok(ListDirResponse { entries })
                })
            })
            .await
        }
        "MakeDir" => {
            connect::unary(req, |r: PathRequest, _| {
                blocking(move || {
                    let entry = ops::make_dir(&resolver.resolve(&r.path)?)?;
                    Ok(EntryResponse { entry })
                })
            })
            .await
        }
        "Move" => {
            connect::unary(req, |r: MoveRequest, _| {
                blocking(move || {
                    let from = resolver.resolve_below(&r.source)?;
                    let to = resolver.resolve_below(&r.destination)?;
                    Ok(EntryResponse {
                        entry: ops::rename(&from, &to)?,
                    })
                })
            })
            .await
        }
        "Remove" => {
            connect::unary(req, |r: PathRequest, _| {
                blocking(move || {
                    ops::remove(&resolver.resolve_below(&r.path)?)?;
                    Ok(Empty {})
                })
            })
            .await
        }
        "WatchDir" => {
            stream::server_stream(req, KEEPALIVE, move |r: WatchRequest, _, sink| {
                watch::stream(resolver, r, sink)
            })
            .await
        }
        "CreateWatcher" => {
            connect::unary(req, |r: WatchRequest, _| async move {
                let watcher_id = agent.watchers.create(resolver, r).await?;
                Ok(CreateWatcherResponse { watcher_id })
            })
            .await
        }
        "GetWatcherEvents" => {
            connect::unary(req, |r: WatcherRequest, _| async move {
                agent.watchers.events(&r.watcher_id)
            })
            .await
        }
        "RemoveWatcher" => {
            connect::unary(req, |r: WatcherRequest, _| async move {
                agent.watchers.remove(&r.watcher_id).map(|()| Empty {})
            })
            .await
        }
        _ => server::unknown_method("filesystem.Filesystem", method),
    }
}

#[cfg(test)]
mod tests;
