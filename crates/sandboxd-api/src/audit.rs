//! The audit log of mutating calls. Rule: every POST, PUT, PATCH and DELETE, and every upgrade to
//! a stream (terminal, WebSocket), is recorded with its actor, route, sandbox and status — refused
//! calls too — without ever slowing or failing the call: records go through a bounded queue to a
//! single writer task that commits them in batches; when the queue is full the record is dropped,
//! counted (`sandboxd_audit_dropped`) and logged.

use crate::auth::Caller;
use crate::scope::id_segment;
use crate::ApiState;
use axum::extract::{MatchedPath, Request, State};
use axum::http::header::UPGRADE;
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use sandboxd_core::{request_id, SandboxId};
use sandboxd_engine::{AuditEntry, Engine};
use tokio::sync::mpsc;

/// Records waiting for the writer.
const QUEUE: usize = 4096;
/// Most records per commit.
const BATCH: usize = 512;

/// The request id the trace layer gave this request.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// Set on a response by a handler whose sandbox is not named in the path (a create).
#[derive(Debug, Clone)]
pub struct AuditedSandbox(pub SandboxId);

/// Where the API sends audit records. Cheap to clone.
#[derive(Clone)]
pub struct AuditLog {
    tx: mpsc::Sender<AuditEntry>,
}

impl AuditLog {
    /// Start the writer; it ends when every sender is gone (the router is dropped), after
    /// writing what is queued. It is engine work, so shutdown's drain waits for that flush.
    pub fn spawn(engine: Engine) -> Self {
        let (tx, mut rx) = mpsc::channel::<AuditEntry>(QUEUE);
        let writer = engine.clone();
        writer.spawn(async move {
            let mut batch = Vec::with_capacity(BATCH);
            while rx.recv_many(&mut batch, BATCH).await > 0 {
                let n = batch.len();
                if let Err(e) = engine.record_audit(std::mem::take(&mut batch)).await {
                    tracing::error!(records = n, error = %e, "writing the audit log failed");
                }
            }
        });
        AuditLog { tx }
    }

    fn record(&self, engine: &Engine, entry: AuditEntry) {
        if let Err(e) = self.tx.try_send(entry) {
            engine.metrics().audit_dropped();
            tracing::warn!(error = %e, "audit record dropped: the writer is behind");
        }
    }
}

fn audited(req: &Request) -> bool {
    matches!(
        *req.method(),
        Method::POST | Method::PUT | Method::PATCH | Method::DELETE
    ) || req.headers().contains_key(UPGRADE)
}

pub async fn record_mutations(State(state): State<ApiState>, req: Request, next: Next) -> Response {
    if !audited(&req) {
        return next.run(req).await;
    }
    let method = req.method().to_string();
    let path = req.uri().path().to_string();
    let template = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string());
    let request_id = req
        .extensions()
        .get::<RequestId>()
        .map(|r| r.0.clone())
        .or_else(|| {
            let given = req.headers().get(request_id::HEADER)?;
            given.to_str().ok().map(str::to_string)
        })
        .unwrap_or_default();
    let resp = next.run(req).await;
    let named = resp
        .extensions()
        .get::<AuditedSandbox>()
        .map(|s| s.0.clone());
    let sandbox_id = template
        .as_deref()
        .and_then(|t| id_segment(t, &path))
        .and_then(|raw| SandboxId::parse_lookup(raw).ok())
        .or(named)
        .map(|id| id.as_str().to_string());
    let (actor_key_id, actor) = match resp.extensions().get::<Caller>() {
        Some(caller) => caller.actor(),
        None => (None, "anonymous".to_string()),
    };
    let entry = AuditEntry {
        at_ms: state.engine.now_ms(),
        actor_key_id,
        actor,
        method,
        route: template.unwrap_or(path),
        sandbox_id,
        status: resp.status().as_u16(),
        request_id,
    };
    state.audit.record(&state.engine, entry);
    resp
}
