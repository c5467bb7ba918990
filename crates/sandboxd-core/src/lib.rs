//! The sandboxd core: the sandbox model, its state machine, the rules for ids, input and preview
//! host names. Nothing in this crate performs I/O; every other crate builds on these types.

pub mod agent_token;
pub mod api_key;
pub mod egress;
pub mod error;
pub mod host;
pub mod id;
pub mod model;
pub mod preview;
pub mod request_id;
pub mod spec;
pub mod status;
pub mod time;

pub use agent_token::{AgentToken, AGENT_TOKEN_BYTES};
pub use api_key::{hash_secret, ApiKey, KeyRole, API_KEY_BYTES};
pub use egress::{Egress, EgressSchema};
pub use error::{ErrorCode, ValidationError};
pub use host::{
    parse_e2b_headers, parse_e2b_host, parse_preview_host, routes_by_headers, PreviewTarget,
};
pub use id::SandboxId;
pub use model::{E2bLifetime, IdlePolicy, OnEnd, Resources, Sandbox};
pub use preview::{Preview, PreviewKey, PREVIEW_KEY_BYTES};
pub use spec::{CreateRequest, Limits, SandboxSpec};
pub use status::Status;
