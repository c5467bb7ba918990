//! E2B's sandbox list. Rule: filters apply in this order — the caller's own sandboxes (tenants),
//! metadata (all pairs must match), state, template, `startedAfter` — then the list is sorted by
//! start time (`order`, default newest first) with the id breaking ties, and cut into pages of
//! `limit`. A page that is followed by more carries `X-Next-Token`: the sort key of its last
//! item, so the next page starts strictly after it even if sandboxes come and go meanwhile.

use super::view::{detail, state};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::handlers::query;
use crate::wire::{E2bError, E2bListParams, E2bSandboxDetail, E2bSandboxList};
use crate::ApiState;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use percent_encoding::percent_decode_str;
use sandboxd_core::time::parse_rfc3339_ms;
use sandboxd_engine::SandboxQuery;
use std::collections::BTreeMap;

/// Most items per page.
const MAX_LIMIT: u32 = 100;

/// The response header naming the next page.
pub const NEXT_TOKEN: &str = "x-next-token";

fn decode(s: &str) -> String {
    percent_decode_str(&s.replace('+', " "))
        .decode_utf8_lossy()
        .into_owned()
}

/// The metadata filter: `k=v&k2=v2` (already decoded once as a query parameter) whose keys and
/// values are each URL-encoded twice more by the SDK.
pub fn metadata_filter(raw: &str) -> BTreeMap<String, String> {
    raw.split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(&decode(k)), decode(&decode(v)))
        })
        .collect()
}

/// The sort key of a sandbox as a page token.
fn token(created_ms: i64, id: &str) -> String {
    format!("{created_ms}.{id}")
}

fn parse_token(t: &str) -> Result<(i64, String), ApiError> {
    let bad = || ApiError::invalid("nextToken is not a token this server issued");
    let (ms, id) = t.split_once('.').ok_or_else(bad)?;
    Ok((ms.parse().map_err(|_| bad())?, id.to_string()))
}

/// One page of the caller's sandboxes and the token of the next one.
pub async fn page(
    st: &ApiState,
    caller: &Caller,
    p: E2bListParams,
) -> Result<(Vec<E2bSandboxDetail>, Option<String>), ApiError> {
    let states: Vec<String> = match &p.state {
        Some(s) => s.split(',').map(|x| x.trim().to_string()).collect(),
        None => vec!["running".into(), "paused".into()],
    };
    if let Some(bad) = states
        .iter()
        .find(|s| !matches!(s.as_str(), "running" | "paused"))
    {
        return Err(ApiError::invalid(format!(
            "state {bad:?}: running or paused"
        )));
    }
    let asc = match p.order.as_deref() {
        None | Some("desc") => false,
        Some("asc") => true,
        Some(o) => return Err(ApiError::invalid(format!("order {o:?}: asc or desc"))),
    };
    let after = match &p.started_after {
        Some(t) => Some(
            parse_rfc3339_ms(t)
                .ok_or_else(|| ApiError::invalid("startedAfter must be an RFC 3339 time"))?,
        ),
        None => None,
    };
    let limit = p.limit.unwrap_or(MAX_LIMIT).clamp(1, MAX_LIMIT) as usize;
    let cursor = p.next_token.as_deref().map(parse_token).transpose()?;
    let query = SandboxQuery {
        metadata: p
            .metadata
            .as_deref()
            .map(metadata_filter)
            .unwrap_or_default(),
        owner: caller.owner().map(str::to_string),
        ..SandboxQuery::default()
    };
    let mut rows: Vec<_> = st
        .engine
        .list(query)
        .await?
        .into_iter()
        .filter(|sb| states.iter().any(|s| s == state(sb.status)))
        .filter(|sb| after.is_none_or(|a| sb.created_at_ms > a))
        .filter(|sb| {
            p.template
                .as_ref()
                .is_none_or(|t| *t == st.e2b.template_of(sb))
        })
        .collect();
    rows.sort_by(|a, b| (a.created_at_ms, &a.id).cmp(&(b.created_at_ms, &b.id)));
    if !asc {
        rows.reverse();
    }
    if let Some((ms, id)) = &cursor {
        rows.retain(|sb| {
            let key = (sb.created_at_ms, sb.id.as_str());
            if asc {
                key > (*ms, id.as_str())
            } else {
                key < (*ms, id.as_str())
            }
        });
    }
    let more = rows.len() > limit;
    rows.truncate(limit);
    let next = more
        .then(|| {
            rows.last()
                .map(|sb| token(sb.created_at_ms, sb.id.as_str()))
        })
        .flatten();
    Ok((rows.iter().map(|sb| detail(st, sb)).collect(), next))
}

/// The page as a response with `X-Next-Token` when more follow.
pub fn answer(items: Vec<E2bSandboxDetail>, next: Option<String>) -> Response {
    let mut headers = HeaderMap::new();
    if let Some(v) = next.and_then(|t| HeaderValue::from_str(&t).ok()) {
        headers.insert(NEXT_TOKEN, v);
    }
    (headers, Json(E2bSandboxList(items))).into_response()
}

/// List sandboxes (E2B), filtered and paginated (`X-Next-Token`)
#[utoipa::path(get, path = "/v2/sandboxes", operation_id = "e2bList", tag = "e2b",
    params(E2bListParams),
    responses((status = 200, description = "Sandboxes (more pages: X-Next-Token header)",
        body = E2bSandboxList),
        (status = 400, description = "Invalid filter", body = E2bError)))]
pub async fn list_v2(
    State(st): State<ApiState>,
    Extension(caller): Extension<Caller>,
    q: Result<Query<E2bListParams>, QueryRejection>,
) -> Result<Response, ApiError> {
    let (items, next) = page(&st, &caller, query(q)?).await?;
    Ok(answer(items, next))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sdks_metadata_encoding_decodes() {
        // The SDK's query string for {"a b": "c&d", "k": "v"}, as the query extractor leaves it.
        let raw = "metadata=a%252520b%3Dc%252526d%26k%3Dv";
        let once: Vec<(String, String)> =
            serde_urlencoded_like(raw.strip_prefix("metadata=").unwrap());
        let f = metadata_filter(&once[0].0);
        assert_eq!(f.get("a b").map(String::as_str), Some("c&d"));
        assert_eq!(f.get("k").map(String::as_str), Some("v"));
        assert_eq!(metadata_filter(""), BTreeMap::new());
    }

    /// The one decoding a query extractor applies to a parameter value.
    fn serde_urlencoded_like(v: &str) -> Vec<(String, String)> {
        vec![(decode(v), String::new())]
    }

    #[test]
    fn tokens_round_trip() {
        assert_eq!(
            parse_token(&token(42, "ab-c")).unwrap(),
            (42, "ab-c".into())
        );
        assert!(parse_token("nope").is_err());
    }
}
