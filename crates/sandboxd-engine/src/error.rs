//! Engine errors, one enum for every lifecycle operation, each variant mapped to exactly one
//! stable API code. Runtime errors keep the engine's own message.

use sandboxd_core::{ErrorCode, SandboxId, ValidationError};
use sandboxd_runtime::RuntimeError;
use sandboxd_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("{0}")]
    Invalid(#[from] ValidationError),
    #[error("sandbox {0} not found")]
    NotFound(SandboxId),
    #[error("task {0} not found")]
    TaskNotFound(String),
    #[error("sandbox {0} was deleted")]
    Gone(SandboxId),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Capacity(String),
    #[error("sandbox failed: {0}")]
    Failed(String),
    /// The wake rate limit refused to start the sandbox again (its last wakes failed).
    #[error("{0}")]
    Throttled(String),
    /// The sandbox runs but its in-sandbox agent does not answer.
    #[error("{0}")]
    AgentUnavailable(String),
    #[error("container engine: {0}")]
    Runtime(#[from] RuntimeError),
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error("{0}")]
    Internal(String),
}

impl EngineError {
    pub fn code(&self) -> ErrorCode {
        match self {
            EngineError::Invalid(_) => ErrorCode::InvalidRequest,
            EngineError::NotFound(_) | EngineError::TaskNotFound(_) => ErrorCode::NotFound,
            EngineError::Gone(_) => ErrorCode::Gone,
            EngineError::Conflict(_) => ErrorCode::Conflict,
            EngineError::Capacity(_) => ErrorCode::Capacity,
            EngineError::Failed(_) => ErrorCode::SandboxError,
            EngineError::Throttled(_) => ErrorCode::AppNotReady,
            EngineError::AgentUnavailable(_) => ErrorCode::AgentUnavailable,
            EngineError::Runtime(RuntimeError::Unavailable(_)) => ErrorCode::RuntimeUnavailable,
            EngineError::Runtime(_) => ErrorCode::Internal,
            EngineError::Store(_) | EngineError::Internal(_) => ErrorCode::Internal,
        }
    }
}
