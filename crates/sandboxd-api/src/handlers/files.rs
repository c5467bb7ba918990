//! The files routes: every call goes to the sandbox's agent (woken first by `Engine::agent`)
//! with `x-sandboxd-root: /home/sandbox`, so paths are relative to the home and the agent
//! refuses `..`, absolute paths and paths through a symlink. This module owns the small ones
//! (list or stat, delete, mkdir, move) and the mapping of the agent's entries to [`FileEntry`];
//! byte transfers live in `transfer`, the watch in `watch`.

pub mod transfer;
pub mod watch;

use super::{parse_id, query, IdPath};
use crate::body::JsonBody;
use crate::error::ApiError;
use crate::wire::{
    Binary, DirListing, FileEntry, FileParams, FileType, MkdirBody, MoveBody, PathParams,
};
use crate::ApiState;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, RawQuery, State};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::Json;
use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
use sandboxd_agent_client::{AgentClient, Endpoint};
use sandboxd_core::SandboxId;
use sandboxd_engine::container::HOME;
use serde::Deserialize;
use serde_json::json;
use utoipa::IntoResponses;

/// Most directory levels one listing descends.
const MAX_DEPTH: u32 = 32;

/// The errors every files route can answer besides the common ones.
#[allow(dead_code)] // Only its schema is used.
#[derive(IntoResponses)]
pub enum FileErrors {
    #[response(status = 404, description = "Unknown sandbox, or no such file")]
    NotFound(crate::wire::ErrorBody),
    #[response(
        status = 409,
        description = "Already exists (conflict), or the path goes through \
        a symlink / names the wrong kind of entry (failed_precondition)"
    )]
    Conflict(crate::wire::ErrorBody),
    #[response(status = 410, description = "Sandbox was deleted")]
    Gone(crate::wire::ErrorBody),
    #[response(status = 422, description = "Too many entries (limit_exceeded)")]
    Limit(crate::wire::ErrorBody),
    #[response(status = 500, description = "Internal error")]
    Internal(crate::wire::ErrorBody),
    #[response(
        status = 503,
        description = "The sandbox's agent is unavailable (Retry-After)"
    )]
    Unavailable(crate::wire::ErrorBody),
    #[response(status = 507, description = "The sandbox's disk is full")]
    Full(crate::wire::ErrorBody),
}

/// The sandbox's agent, started or woken as needed.
pub(crate) async fn reach(st: &ApiState, raw_id: &str) -> Result<(SandboxId, Endpoint), ApiError> {
    let id = parse_id(raw_id)?;
    let ep = st.engine.agent(&id).await?;
    let ep = Endpoint {
        addr: ep.addr,
        token: ep.token.expose().to_string(),
    };
    Ok((id, ep))
}

/// The strict-mode header: every path is relative to the home.
pub(crate) fn root() -> [(HeaderName, HeaderValue); 1] {
    [(
        HeaderName::from_static("x-sandboxd-root"),
        HeaderValue::from_static(HOME),
    )]
}

/// Refuses a query string with a value that is not UTF-8 once percent-decoded (`%ff`): axum's
/// query parsing would silently replace the bytes, naming a different file.
pub(crate) fn utf8_query(raw: Option<&str>) -> Result<(), ApiError> {
    let raw = raw.unwrap_or("");
    for part in raw.split(['&', '=']) {
        let plus = part.replace('+', " ");
        let bytes: Vec<u8> = percent_encoding::percent_decode(plus.as_bytes()).collect();
        if String::from_utf8(bytes).is_err() {
            return Err(ApiError::invalid(
                "the query string is not valid UTF-8 once decoded",
            ));
        }
    }
    Ok(())
}

/// `path=` for the agent's plain-HTTP routes.
pub(crate) fn path_query(path: &str) -> String {
    format!("path={}", utf8_percent_encode(path, NON_ALPHANUMERIC))
}

/// An entry as the agent sends it (E2B's `EntryInfo`, JSON mapping).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AgentEntry {
    name: String,
    #[serde(rename = "type")]
    kind: String,
    path: String,
    #[serde(default)]
    size: serde_json::Value,
    #[serde(default)]
    mode: u32,
    #[serde(default)]
    modified_time: String,
    symlink_target: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct AgentEntryResponse {
    entry: AgentEntry,
}

/// `/home/sandbox/a/b` → `a/b` (the home itself → empty).
pub(crate) fn relative(path: &str) -> String {
    match path.strip_prefix(HOME) {
        Some("") => String::new(),
        Some(rest) if rest.starts_with('/') => rest.trim_start_matches('/').to_string(),
        _ => path.to_string(),
    }
}

impl From<AgentEntry> for FileEntry {
    fn from(e: AgentEntry) -> FileEntry {
        // int64 arrives as a JSON string (proto JSON mapping), tolerate a number too.
        let size = match &e.size {
            serde_json::Value::String(s) => s.parse().unwrap_or(0),
            v => v.as_u64().unwrap_or(0),
        };
        FileEntry {
            name: e.name,
            path: relative(&e.path),
            kind: if e.kind == "FILE_TYPE_DIRECTORY" {
                FileType::Dir
            } else {
                FileType::File
            },
            size,
            mode: e.mode,
            modified_at: e.modified_time,
            symlink_target: e.symlink_target,
        }
    }
}

/// `filesystem.Filesystem/Stat` of a home-relative path.
pub(crate) async fn stat(
    client: &AgentClient,
    ep: &Endpoint,
    path: &str,
) -> Result<FileEntry, ApiError> {
    let r: AgentEntryResponse = client
        .unary(
            ep,
            "/filesystem.Filesystem/Stat",
            &json!({ "path": path }),
            &root(),
        )
        .await?;
    Ok(r.entry.into())
}

/// List a directory (JSON) or download a file (octet-stream, streamed)
#[utoipa::path(get, path = "/v1/sandboxes/{id}/files", operation_id = "getFile", tag = "files",
    params(IdPath, FileParams),
    responses(
        (status = 200, description = "A directory's entries (JSON) or a file's bytes",
            content((DirListing = "application/json"), (Binary = "application/octet-stream"))),
        crate::openapi::errors::Refused, FileErrors))]
pub async fn get(
    State(st): State<ApiState>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
    q: Result<Query<FileParams>, QueryRejection>,
) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse;
    utf8_query(raw.as_deref())?;
    let q = query(q)?;
    let depth = q.depth.unwrap_or(1);
    if !(1..=MAX_DEPTH).contains(&depth) {
        return Err(ApiError::invalid(format!("depth must be 1..={MAX_DEPTH}")));
    }
    let path = q.path.unwrap_or_default();
    let (id, ep) = reach(&st, &id).await?;
    let entry = stat(st.engine.agent_client(), &ep, &path).await?;
    if entry.kind == FileType::File {
        return transfer::download(&st, &id, &ep, &path).await;
    }
    #[derive(Deserialize)]
    struct Listed {
        #[serde(default)]
        entries: Vec<AgentEntry>,
    }
    let listed: Listed = st
        .engine
        .agent_client()
        .unary(
            &ep,
            "/filesystem.Filesystem/ListDir",
            &json!({ "path": path, "depth": depth }),
            &root(),
        )
        .await?;
    let body = DirListing {
        path: entry.path,
        entries: listed.entries.into_iter().map(FileEntry::from).collect(),
    };
    Ok(Json(body).into_response())
}

/// Delete a file, a symlink (not its target) or a whole directory
#[utoipa::path(delete, path = "/v1/sandboxes/{id}/files", operation_id = "deleteFile",
    tag = "files", params(IdPath, PathParams),
    responses((status = 204, description = "Deleted"), crate::openapi::errors::Refused, FileErrors))]
pub async fn delete(
    State(st): State<ApiState>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
    q: Result<Query<PathParams>, QueryRejection>,
) -> Result<StatusCode, ApiError> {
    utf8_query(raw.as_deref())?;
    let path = query(q)?.path.unwrap_or_default();
    let (_, ep) = reach(&st, &id).await?;
    let _: serde_json::Value = st
        .engine
        .agent_client()
        .unary(
            &ep,
            "/filesystem.Filesystem/Remove",
            &json!({ "path": path }),
            &root(),
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Create a directory and its parents
#[utoipa::path(post, path = "/v1/sandboxes/{id}/files/mkdir", operation_id = "makeDir",
    tag = "files", params(IdPath), request_body = MkdirBody,
    responses((status = 201, description = "Created", body = FileEntry),
        crate::openapi::errors::Refused, crate::openapi::errors::TooLarge, FileErrors))]
pub async fn mkdir(
    State(st): State<ApiState>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<MkdirBody>,
) -> Result<(StatusCode, Json<FileEntry>), ApiError> {
    let (_, ep) = reach(&st, &id).await?;
    let r: AgentEntryResponse = st
        .engine
        .agent_client()
        .unary(
            &ep,
            "/filesystem.Filesystem/MakeDir",
            &json!({ "path": body.path }),
            &root(),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(r.entry.into())))
}

/// Move or rename a file or directory (parents of `to` are created)
#[utoipa::path(post, path = "/v1/sandboxes/{id}/files/move", operation_id = "moveFile",
    tag = "files", params(IdPath), request_body = MoveBody,
    responses((status = 200, description = "The moved entry", body = FileEntry),
        crate::openapi::errors::Refused, crate::openapi::errors::TooLarge, FileErrors))]
pub async fn rename(
    State(st): State<ApiState>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<MoveBody>,
) -> Result<Json<FileEntry>, ApiError> {
    let (_, ep) = reach(&st, &id).await?;
    let request = json!({ "source": body.from, "destination": body.to });
    let r: AgentEntryResponse = st
        .engine
        .agent_client()
        .unary(&ep, "/filesystem.Filesystem/Move", &request, &root())
        .await?;
    Ok(Json(r.entry.into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_come_back_home_relative_and_queries_must_be_utf8() {
        assert_eq!(relative("/home/sandbox"), "");
        assert_eq!(relative("/home/sandbox/a/b"), "a/b");
        assert_eq!(relative("/home/sandboxes/x"), "/home/sandboxes/x");
        assert!(utf8_query(Some("path=caf%C3%A9&depth=2")).is_ok());
        assert!(utf8_query(None).is_ok());
        assert!(utf8_query(Some("path=bad%ff")).is_err());
        assert_eq!(path_query("a b/é"), "path=a%20b%2F%C3%A9");
    }
}
