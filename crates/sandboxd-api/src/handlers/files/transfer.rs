//! Transfers: file bytes and directory tars stream end to end between the API's client and the
//! agent (axum body ↔ hyper body, never buffered whole, no size limit of the API's own), each
//! holding a `Transfer` session for its whole life so the sandbox stays awake. An upload is
//! atomic in the agent (temp file + rename; tar via a staging directory), so a cut-short upload
//! leaves the old content intact; a download cut short by the agent aborts the response body.

use super::{path_query, reach, root, stat, utf8_query};
use crate::error::ApiError;
use crate::handlers::{query, IdPath};
use crate::wire::{ArchiveResult, Binary, FileEntry, FileType, PathParams};
use crate::ApiState;
use axum::body::{Body, Bytes};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, RawQuery, State};
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use futures_util::StreamExt;
use http_body_util::{BodyExt, StreamBody};
use hyper::body::{Frame, Incoming};
use sandboxd_agent_client::{connect_error, empty, BoxError, Endpoint};
use sandboxd_core::{ErrorCode, SandboxId};
use sandboxd_engine::SessionKind;
use tokio::sync::mpsc;

/// Streams a file's bytes from the agent (after `getFile` found a file there).
pub async fn download(
    st: &ApiState,
    id: &SandboxId,
    ep: &Endpoint,
    path: &str,
) -> Result<Response, ApiError> {
    let guard = st.engine.session(id, SessionKind::Transfer);
    let uri = format!("/files?{}", path_query(path));
    let resp = st
        .engine
        .agent_client()
        .send(ep, Method::GET, &uri, &root(), empty())
        .await?;
    relay_down(resp, "application/octet-stream", guard).await
}

/// The agent's answer as ours: its bytes streamed (the guard lives as long as the body), or its
/// error in the API's envelope.
async fn relay_down<G: Send + 'static>(
    resp: hyper::Response<Incoming>,
    content_type: &'static str,
    guard: G,
) -> Result<Response, ApiError> {
    let status = resp.status();
    if status != StatusCode::OK {
        let bytes = resp
            .into_body()
            .collect()
            .await
            .map(|c| c.to_bytes())
            .unwrap_or_default();
        return Err(connect_error(status, &bytes).into());
    }
    let length = resp.headers().get(CONTENT_LENGTH).cloned();
    let chunks = resp.into_body().into_data_stream().map(move |chunk| {
        let _held = &guard;
        chunk
    });
    let mut out = Body::from_stream(chunks).into_response();
    out.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Some(length) = length {
        out.headers_mut().insert(CONTENT_LENGTH, length);
    }
    Ok(out)
}

/// An axum request body as the agent client's body: relayed through a small channel (the
/// client's body type must be `Sync`); a client that breaks off aborts the agent's upload too.
fn relay_up(body: Body) -> sandboxd_agent_client::Body {
    let (tx, mut rx) = mpsc::channel::<Result<Bytes, BoxError>>(8);
    tokio::spawn(async move {
        let mut data = body.into_data_stream();
        while let Some(item) = data.next().await {
            let item = item.map_err(|e| Box::new(e) as BoxError);
            let failed = item.is_err();
            if tx.send(item).await.is_err() || failed {
                return;
            }
        }
    });
    let frames = futures_util::stream::poll_fn(move |cx| {
        rx.poll_recv(cx)
            .map(|item| item.map(|r| r.map(Frame::data)))
    });
    BodyExt::boxed(StreamBody::new(frames))
}

/// The agent's JSON answer to an upload, or its error.
async fn answer(resp: hyper::Response<Incoming>) -> Result<Bytes, ApiError> {
    let status = resp.status();
    let bytes = resp.into_body().collect().await.map_err(|e| {
        ApiError::new(
            ErrorCode::AgentUnavailable,
            format!("the sandbox's agent broke off: {e}"),
        )
    })?;
    let bytes = bytes.to_bytes();
    if status != StatusCode::OK {
        return Err(connect_error(status, &bytes).into());
    }
    Ok(bytes)
}

fn octet(ct: &str) -> &str {
    ct.split(';').next().unwrap_or("").trim()
}

/// Upload a file (octet-stream body, streamed; replaced atomically; parents created)
#[utoipa::path(put, path = "/v1/sandboxes/{id}/files", operation_id = "putFile", tag = "files",
    params(IdPath, PathParams),
    request_body(content = Binary, content_type = "application/octet-stream"),
    responses((status = 200, description = "The written file", body = FileEntry),
        crate::openapi::errors::Refused, super::FileErrors))]
pub async fn put(
    State(st): State<ApiState>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
    q: Result<Query<PathParams>, QueryRejection>,
    req: axum::extract::Request,
) -> Result<Json<FileEntry>, ApiError> {
    utf8_query(raw.as_deref())?;
    let path = query(q)?.path.unwrap_or_default();
    let (id, ep) = reach(&st, &id).await?;
    // Refuse a directory (or a path through a symlink) before any byte is sent.
    match stat(st.engine.agent_client(), &ep, &path).await {
        Ok(e) if e.kind == FileType::Dir => {
            return Err(ApiError::invalid(format!(
                "{path:?} is a directory; upload to a file path"
            )))
        }
        Ok(_) => {}
        Err(e) if e.code == ErrorCode::NotFound => {}
        Err(e) => return Err(e),
    }
    let _guard = st.engine.session(&id, SessionKind::Transfer);
    let headers = [
        root()[0].clone(),
        (
            CONTENT_TYPE,
            HeaderValue::from_static("application/octet-stream"),
        ),
    ];
    let uri = format!("/files?{}", path_query(&path));
    let body = relay_up(req.into_body());
    let resp = st
        .engine
        .agent_client()
        .send(&ep, Method::POST, &uri, &headers, body)
        .await?;
    answer(resp).await?;
    Ok(Json(stat(st.engine.agent_client(), &ep, &path).await?))
}

/// Download a directory as a tar stream (symlinks stored as symlinks)
#[utoipa::path(get, path = "/v1/sandboxes/{id}/files/archive", operation_id = "getArchive",
    tag = "files", params(IdPath, PathParams),
    responses((status = 200, description = "The directory as a tar stream",
            content_type = "application/x-tar", body = Binary),
        crate::openapi::errors::Refused, super::FileErrors))]
pub async fn archive_get(
    State(st): State<ApiState>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
    q: Result<Query<PathParams>, QueryRejection>,
) -> Result<Response, ApiError> {
    utf8_query(raw.as_deref())?;
    let path = query(q)?.path.unwrap_or_default();
    let (id, ep) = reach(&st, &id).await?;
    let guard = st.engine.session(&id, SessionKind::Transfer);
    let uri = format!("/archive?{}", path_query(&path));
    let resp = st
        .engine
        .agent_client()
        .send(&ep, Method::GET, &uri, &root(), empty())
        .await?;
    relay_down(resp, "application/x-tar", guard).await
}

/// Extract a tar body into a directory (created when missing); hostile entries refuse it whole
#[utoipa::path(put, path = "/v1/sandboxes/{id}/files/archive", operation_id = "putArchive",
    tag = "files", params(IdPath, PathParams),
    request_body(content = Binary, content_type = "application/x-tar"),
    responses((status = 200, description = "Files and symlinks written", body = ArchiveResult),
        crate::openapi::errors::Refused, super::FileErrors))]
pub async fn archive_put(
    State(st): State<ApiState>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
    q: Result<Query<PathParams>, QueryRejection>,
    req: axum::extract::Request,
) -> Result<Json<ArchiveResult>, ApiError> {
    utf8_query(raw.as_deref())?;
    let path = query(q)?.path.unwrap_or_default();
    let ct = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !octet(ct).eq_ignore_ascii_case("application/x-tar") {
        return Err(ApiError::new(
            ErrorCode::UnsupportedMediaType,
            "send the archive as content-type: application/x-tar",
        ));
    }
    let (id, ep) = reach(&st, &id).await?;
    let _guard = st.engine.session(&id, SessionKind::Transfer);
    let uri = format!("/archive?{}", path_query(&path));
    let body = relay_up(req.into_body());
    let resp = st
        .engine
        .agent_client()
        .send(&ep, Method::POST, &uri, &root(), body)
        .await?;
    let bytes = answer(resp).await?;
    serde_json::from_slice(&bytes)
        .map(Json)
        .map_err(|e| ApiError::new(ErrorCode::Internal, format!("bad agent answer: {e}")))
}
