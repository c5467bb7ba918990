//! Message rule: the envd messages (E2B's public `process.proto` and
//! `filesystem.proto`) are plain serde types in proto3's JSON mapping —
//! lowerCamelCase out, camelCase or snake_case in, enums by name (numbers
//! accepted), int64 as a string (numbers accepted), bytes as base64,
//! defaults omitted — so a field means the same here as in E2B's SDKs.

pub mod filesystem;
pub mod json;
pub mod process;
