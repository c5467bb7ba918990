//! Sandbox routes, legacy and v1. Legacy shapes match the reference API (so its clients and the
//! product brief's quick start work unchanged); v1 shapes are the REST ones in the OpenAPI
//! document.

use crate::body::JsonBody;
use crate::error::ApiError;
use crate::{view, ApiState};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use sandboxd_core::{CreateRequest, SandboxId};
use sandboxd_engine::{ExecCommand, Keepalive};
use sandboxd_store::ListFilter;
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// Run a lifecycle action to completion even if the client goes away: a create, stop or delete
/// cut off half-way would leave state to undo. (Exec is not detached: its activity ends when its
/// caller leaves.)
async fn detached<T, F>(st: &ApiState, action: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: std::future::Future<Output = Result<T, sandboxd_engine::EngineError>> + Send + 'static,
{
    st.engine
        .spawn(action)
        .await
        .map_err(|e| {
            ApiError::new(
                sandboxd_core::ErrorCode::Internal,
                format!("action failed: {e}"),
            )
        })?
        .map_err(ApiError::from)
}

fn parse_id(raw: &str) -> Result<SandboxId, ApiError> {
    Ok(SandboxId::parse_lookup(raw)?)
}

pub async fn create(
    State(st): State<ApiState>,
    JsonBody(req): JsonBody<CreateRequest>,
) -> Result<Response, ApiError> {
    let spec = req.validate(&st.engine.config().limits)?;
    let engine = st.engine.clone();
    let sb = detached(&st, async move { engine.create_sandbox(spec).await }).await?;
    Ok((StatusCode::CREATED, Json(view::sandbox(&sb, &st.previews))).into_response())
}

pub async fn create_legacy(
    st: State<ApiState>,
    body: JsonBody<CreateRequest>,
) -> Result<Response, ApiError> {
    create(st, body).await
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    external_user_id: Option<String>,
    external_project_id: Option<String>,
    include_deleted: Option<bool>,
}

async fn list_values(st: &ApiState, q: ListQuery) -> Result<Vec<Value>, ApiError> {
    let mut metadata = Vec::new();
    if let Some(v) = q.external_user_id {
        metadata.push(("external_user_id".to_string(), v));
    }
    if let Some(v) = q.external_project_id {
        metadata.push(("external_project_id".to_string(), v));
    }
    let filter = ListFilter {
        include_deleted: q.include_deleted.unwrap_or(false),
        metadata,
    };
    let rows = st.engine.list(filter).await?;
    Ok(rows
        .iter()
        .map(|s| view::sandbox(s, &st.previews))
        .collect())
}

fn query<T: serde::de::DeserializeOwned>(
    q: Result<Query<T>, axum::extract::rejection::QueryRejection>,
) -> Result<T, ApiError> {
    q.map(|Query(v)| v)
        .map_err(|e| ApiError::invalid(format!("query string: {e}")))
}

pub async fn list(
    State(st): State<ApiState>,
    q: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(
        json!({ "sandboxes": list_values(&st, query(q)?).await? }),
    ))
}

pub async fn list_legacy(
    State(st): State<ApiState>,
    q: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(Value::Array(list_values(&st, query(q)?).await?)))
}

async fn live_state(st: &ApiState, id: &SandboxId) -> Value {
    match st
        .engine
        .runtime()
        .inspect(&st.engine.container_name(id))
        .await
    {
        Ok(c) if !c.exists() => {
            json!({"container": null, "running": false, "state": "absent"})
        }
        Ok(c) => json!({
            "container": st.engine.container_name(id),
            "running": c.is_running(),
            "state": c.as_str(),
            "exit_code": c.exit_code(),
            "oom_killed": c.oom_killed(),
        }),
        Err(e) => json!({"error": e.to_string()}),
    }
}

pub async fn get_one(
    State(st): State<ApiState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id = parse_id(&id)?;
    let sb = st.engine.get_live(&id).await?;
    let mut v = view::sandbox(&sb, &st.previews);
    v["live"] = live_state(&st, &id).await;
    Ok(Json(v))
}

pub async fn get_legacy(
    State(st): State<ApiState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id = parse_id(&id)?;
    let sb = st.engine.get_live(&id).await?;
    let mut v = view::sandbox(&sb, &st.previews);
    v["row"] = view::sandbox(&sb, &st.previews);
    v["live_state"] = live_state(&st, &id).await;
    Ok(Json(v))
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct DeleteQuery {
    purge: Option<bool>,
}

pub async fn delete(
    State(st): State<ApiState>,
    Path(id): Path<String>,
    q: Result<Query<DeleteQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<StatusCode, ApiError> {
    let id = parse_id(&id)?;
    let purge = query(q)?.purge.unwrap_or(false);
    let engine = st.engine.clone();
    detached(&st, async move { engine.delete_sandbox(&id, purge).await }).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn delete_legacy(
    State(st): State<ApiState>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = parse_id(&id)?;
    let engine = st.engine.clone();
    detached(&st, async move { engine.delete_sandbox(&id, false).await }).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn purge(
    State(st): State<ApiState>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = parse_id(&id)?;
    let engine = st.engine.clone();
    detached(&st, async move { engine.delete_sandbox(&id, true).await }).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn start(
    State(st): State<ApiState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id = parse_id(&id)?;
    let engine = st.engine.clone();
    let sb = detached(&st, async move { engine.start_sandbox(&id).await }).await?;
    Ok(Json(view::sandbox(&sb, &st.previews)))
}

pub async fn stop(
    State(st): State<ApiState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id = parse_id(&id)?;
    let engine = st.engine.clone();
    let sb = detached(&st, async move { engine.stop_sandbox(&id).await }).await?;
    Ok(Json(view::sandbox(&sb, &st.previews)))
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ExecBody {
    cmd: Vec<String>,
    cwd: Option<String>,
    env: Option<BTreeMap<String, String>>,
    timeout_s: Option<u64>,
}

pub async fn exec(
    State(st): State<ApiState>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<ExecBody>,
) -> Result<Json<Value>, ApiError> {
    let id = parse_id(&id)?;
    let cmd = ExecCommand {
        cmd: body.cmd,
        cwd: body.cwd,
        env: body.env.unwrap_or_default(),
        timeout_s: body.timeout_s,
    };
    cmd.validate()?;
    let out = st.engine.exec(&id, cmd).await?;
    Ok(Json(view::exec(&out)))
}

pub async fn keepalive(
    State(st): State<ApiState>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<Keepalive>,
) -> Result<Json<Value>, ApiError> {
    let id = parse_id(&id)?;
    let until_ms = st.engine.keepalive(&id, body).await?;
    Ok(Json(json!({
        "id": id,
        "lease_until": sandboxd_core::time::rfc3339_ms(until_ms),
        "lease_until_unix": until_ms / 1000,
    })))
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct LogsQuery {
    tail: Option<usize>,
}

pub async fn logs(
    State(st): State<ApiState>,
    Path(id): Path<String>,
    q: Result<Query<LogsQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let id = parse_id(&id)?;
    let tail = query(q)?.tail.unwrap_or(200).clamp(1, 10_000);
    let lines = st.engine.logs(&id, tail).await?;
    let lines: Vec<Value> = lines
        .into_iter()
        .map(|l| json!({"stream": l.stream, "text": l.text}))
        .collect();
    Ok(Json(json!({ "id": id, "lines": lines })))
}

pub async fn activity(
    State(st): State<ApiState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id = parse_id(&id)?;
    let v = st.engine.activity(&id).await?;
    let r = &v.report;
    let ts = sandboxd_core::time::rfc3339_ms;
    Ok(Json(json!({
        "id": id,
        "status": v.status,
        "idle_policy": v.idle_policy,
        "idle_timeout_s": v.idle_timeout_ms / 1000,
        "last_active_at": ts(r.last_active_ms),
        "last_source": r.last_source,
        "execs_in_flight": r.execs_in_flight,
        "open_connections": r.open_connections,
        "lease_until": r.lease_until_ms.map(ts),
        "held_by": v.held_by,
        "sleeps_at": v.sleeps_at_ms.map(ts),
    })))
}
