//! Request bodies and query strings. Unknown fields are refused (a typo is an error, not an
//! ignored setting); an empty body means the type's defaults (see `body.rs`).

use sandboxd_core::ValidationError;
use sandboxd_engine::{ExecCommand, LeaseRequest};
use serde::Deserialize;
use std::collections::BTreeMap;
use utoipa::{IntoParams, ToSchema};

/// `POST .../exec`: one command, run without a shell.
#[derive(Debug, Deserialize, Default, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = ExecRequest)]
pub struct ExecBody {
    /// Program and arguments.
    #[schema(min_items = 1)]
    pub cmd: Vec<String>,
    /// Absolute working directory (default `~/workspace`).
    pub cwd: Option<String>,
    /// Extra environment variables for this command only.
    pub env: Option<BTreeMap<String, String>>,
    /// Kill the command's process group after this many seconds (exit 124, `timed_out`).
    #[schema(minimum = 1, maximum = 86400)]
    pub timeout_s: Option<u64>,
}

impl From<ExecBody> for ExecCommand {
    fn from(b: ExecBody) -> Self {
        ExecCommand {
            cmd: b.cmd,
            cwd: b.cwd,
            env: b.env.unwrap_or_default(),
            timeout_s: b.timeout_s,
        }
    }
}

/// `POST .../keepalive`: empty (one idle timeout), `{"until": unix_s}` or `{"seconds": n}`.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = Keepalive)]
pub struct KeepaliveBody {
    /// Unix seconds.
    pub until: Option<i64>,
    /// Seconds from now.
    pub seconds: Option<u64>,
}

impl KeepaliveBody {
    pub fn lease(&self) -> Result<LeaseRequest, ValidationError> {
        match (self.until, self.seconds) {
            (Some(_), Some(_)) => Err(ValidationError::new(
                "keepalive",
                "give either until or seconds, not both",
            )),
            (Some(u), None) => Ok(LeaseRequest::Until(u)),
            (None, Some(s)) => Ok(LeaseRequest::Seconds(s)),
            (None, None) => Ok(LeaseRequest::IdleTimeout),
        }
    }
}

/// Filters of the sandbox lists.
#[derive(Debug, Deserialize, Default, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// Only sandboxes created with this `external_user_id`.
    pub external_user_id: Option<String>,
    /// Only sandboxes created with this `external_project_id`.
    pub external_project_id: Option<String>,
    /// Include deleted sandboxes (tombstones).
    pub include_deleted: Option<bool>,
}

impl From<ListParams> for sandboxd_engine::SandboxQuery {
    fn from(q: ListParams) -> Self {
        let mut metadata = BTreeMap::new();
        if let Some(v) = q.external_user_id {
            metadata.insert("external_user_id".to_string(), v);
        }
        if let Some(v) = q.external_project_id {
            metadata.insert("external_project_id".to_string(), v);
        }
        sandboxd_engine::SandboxQuery {
            include_deleted: q.include_deleted.unwrap_or(false),
            metadata,
            owner: None,
        }
    }
}

/// `DELETE /v1/sandboxes/{id}` options.
#[derive(Debug, Deserialize, Default, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DeleteParams {
    /// Also remove the workspace.
    pub purge: Option<bool>,
}

/// `GET .../logs` options.
#[derive(Debug, Deserialize, Default, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct LogsParams {
    /// How many of the last lines (default 200).
    #[param(minimum = 1, maximum = 10000)]
    pub tail: Option<usize>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keepalive_forms_become_lease_requests() {
        let body = |j: &str| crate::body::parse::<KeepaliveBody>(j.as_bytes()).unwrap();
        assert_eq!(body("").lease(), Ok(LeaseRequest::IdleTimeout));
        assert_eq!(body(r#"{"until":5}"#).lease(), Ok(LeaseRequest::Until(5)));
        assert_eq!(
            body(r#"{"seconds":9}"#).lease(),
            Ok(LeaseRequest::Seconds(9))
        );
        let both = body(r#"{"until":5,"seconds":9}"#).lease().unwrap_err();
        assert_eq!(
            both.to_string(),
            "keepalive: give either until or seconds, not both"
        );
    }

    #[test]
    fn list_params_become_a_metadata_query() {
        let q: sandboxd_engine::SandboxQuery = ListParams {
            external_user_id: Some("u".into()),
            external_project_id: None,
            include_deleted: Some(true),
        }
        .into();
        assert!(q.include_deleted);
        assert_eq!(
            q.metadata.get("external_user_id").map(String::as_str),
            Some("u")
        );
        assert_eq!(q.metadata.len(), 1);
    }
}
