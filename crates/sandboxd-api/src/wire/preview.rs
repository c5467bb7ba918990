//! Wire types of the preview-token routes. A token appears only in the answer that mints it.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// `POST /v1/sandboxes/{id}/preview-tokens`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreviewTokenRequest {
    /// The sandbox port the token opens (required; any port but the agent's, 49983).
    #[schema(minimum = 1, maximum = 65535, required = true)]
    // Signed so that 0 and 70000 get a clear message instead of a type error.
    pub port: Option<i64>,
    /// Life of the token in seconds (default 3600, at most 604800 = 7 days).
    #[schema(minimum = 1, maximum = 604800)]
    pub ttl_seconds: Option<i64>,
}

/// A minted preview token.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PreviewToken {
    /// Send as the `X-Sandboxd-Preview-Token` header, or open `url` in a browser (the proxy
    /// exchanges it for an HttpOnly cookie on the preview's host and redirects to the bare URL).
    pub token: String,
    /// The port's preview URL carrying the token as `?sandboxd_preview_token=`.
    pub url: String,
    #[schema(format = DateTime)]
    pub expires_at: String,
    pub port: u16,
}
