//! The error responses operations declare, in small sets that each operation combines. Every one
//! carries the error envelope.

use crate::wire::ErrorBody;
use utoipa::IntoResponses;

/// Input refused: any operation.
#[allow(dead_code)] // Only its schema is used.
#[derive(IntoResponses)]
pub enum Refused {
    #[response(status = 400, description = "Invalid request")]
    Invalid(ErrorBody),
    #[response(status = 401, description = "Missing or wrong bearer token")]
    Unauthorized(ErrorBody),
    #[response(
        status = 403,
        description = "A cross-site browser request (Origin, Sec-Fetch-Site) or a Host that is not a name of the API"
    )]
    Forbidden(ErrorBody),
    #[response(
        status = 415,
        description = "A body (or content-type) that is not application/json (methods other than GET)"
    )]
    NotJson(ErrorBody),
}

/// The sandbox named in the path does not exist (any more).
#[allow(dead_code)] // Only its schema is used.
#[derive(IntoResponses)]
pub enum Missing {
    #[response(status = 404, description = "Unknown sandbox")]
    NotFound(ErrorBody),
    #[response(status = 410, description = "Sandbox was deleted")]
    Gone(ErrorBody),
}

/// The action could not be carried out.
#[allow(dead_code)] // Only its schema is used.
#[derive(IntoResponses)]
pub enum Failed {
    #[response(status = 500, description = "Internal error")]
    Internal(ErrorBody),
    #[response(
        status = 503,
        description = "Capacity, sandbox in error, or engine unavailable (Retry-After when retryable)"
    )]
    Unavailable(ErrorBody),
}

#[allow(dead_code)] // Only its schema is used.
#[derive(IntoResponses)]
pub enum Conflict {
    #[response(status = 409, description = "Conflict")]
    Conflict(ErrorBody),
}

#[allow(dead_code)] // Only its schema is used.
#[derive(IntoResponses)]
pub enum TooLarge {
    #[response(status = 413, description = "Body too large")]
    TooLarge(ErrorBody),
}
