//! The wire types: every request body, query string and response body of the API, as Rust
//! types that derive both their serde form and their OpenAPI schema. Handlers build these and
//! nothing else, so the generated document describes exactly what is sent; field names and
//! shapes are the public contract and must not change (the legacy routes keep their legacy
//! shapes).

mod access;
mod e2b;
mod files;
mod output;
mod preview;
mod process;
mod request;
mod response;
mod task;
mod terminal;

pub use access::{
    AuditPage, AuditParams, AuditView, CreateKeyRequest, CreatedKey, KeyList, KeyView,
};
pub use e2b::{
    E2bConnect, E2bError, E2bHealth, E2bListParams, E2bNewSandbox, E2bSandbox, E2bSandboxDetail,
    E2bSandboxList, E2bTimeout,
};
pub use files::{
    ArchiveResult, Binary, DirListing, FileEntry, FileEvent, FileParams, FileType, MkdirBody,
    MoveBody, PathParams, WatchParams,
};
pub use output::{OutputBytes, OutputEncoding};
pub use preview::{PreviewToken, PreviewTokenRequest};
pub use process::{
    ExitEvent, OutputChunk, OutputParams, ProcessBody, ProcessList, ProcessView, SignalBody,
    SignalName, StdinBody,
};
pub use request::{DeleteParams, ExecBody, KeepaliveBody, ListParams, LogsParams};
pub use response::{
    ActivityBody, ActivitySourceName, AgentSessions, DiskView, ErrorBody, ErrorDetail, ExecOutput,
    Health, Lease, LegacySandboxDetail, LegacySandboxList, LiveView, LogLineView, Logs,
    OpenApiDocument, Ready, SandboxDetail, SandboxList, SandboxView,
};
pub use task::{AgentChoice, TaskBody, TaskList, TaskView};
pub use terminal::{
    TerminalClientFrame, TerminalParams, TerminalServerFrame, TERMINAL_CMD_MAX, TERMINAL_DIM_MAX,
};
