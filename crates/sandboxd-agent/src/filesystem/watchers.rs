//! Polling watcher rule: CreateWatcher opens a [`Watch`] whose events are
//! buffered per watcher id (at most [`MAX_BUFFERED`]; the oldest are
//! dropped beyond that) until GetWatcherEvents drains them; RemoveWatcher
//! stops it. Unknown ids are not_found; at most [`MAX_WATCHERS`] exist at
//! once (resource_exhausted beyond).

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use super::path::Resolver;
use super::watch::Watch;
use crate::connect::{Code, RpcError};
use crate::proto::filesystem::{FilesystemEvent, GetWatcherEventsResponse, WatchRequest};

pub const MAX_WATCHERS: usize = 64;
pub const MAX_BUFFERED: usize = 10_000;

type Buffer = Arc<Mutex<VecDeque<FilesystemEvent>>>;

#[derive(Debug)]
struct Polled {
    buffer: Buffer,
    task: tokio::task::JoinHandle<()>,
}

/// Polling watchers by id.
#[derive(Debug, Default)]
pub struct Watchers {
    inner: Mutex<(u64, HashMap<String, Polled>)>,
}

/// A poisoned lock only means a panic mid-update of plain data.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Watchers {
    pub async fn create(&self, resolver: Resolver, req: WatchRequest) -> Result<String, RpcError> {
        if lock(&self.inner).1.len() >= MAX_WATCHERS {
            return Err(RpcError::new(
                Code::ResourceExhausted,
                format!("{MAX_WATCHERS} watchers exist already; remove one first"),
            ));
        }
        let mut watch = Watch::open(resolver, req).await?;
        let buffer: Buffer = Arc::default();
        let feed = buffer.clone();
        let task = tokio::spawn(async move {
            while let Ok(Some(event)) = watch.next().await {
                let mut q = lock(&feed);
                if q.len() >= MAX_BUFFERED {
                    q.pop_front();
                }
                q.push_back(event);
            }
        });
        let mut inner = lock(&self.inner);
        inner.0 += 1;
        let id = format!("w{}", inner.0);
        inner.1.insert(id.clone(), Polled { buffer, task });
        Ok(id)
    }

    pub fn events(&self, id: &str) -> Result<GetWatcherEventsResponse, RpcError> {
        let inner = lock(&self.inner);
        let polled = inner.1.get(id).ok_or_else(|| unknown(id))?;
        let events = lock(&polled.buffer).drain(..).collect();
        Ok(GetWatcherEventsResponse { events })
    }

    pub fn remove(&self, id: &str) -> Result<(), RpcError> {
        let polled = lock(&self.inner).1.remove(id).ok_or_else(|| unknown(id))?;
        polled.task.abort();
        Ok(())
    }
}

fn unknown(id: &str) -> RpcError {
    RpcError::not_found(format!("no watcher {id:?}"))
}
