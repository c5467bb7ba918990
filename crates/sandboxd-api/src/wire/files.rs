//! Wire types of the files routes. Paths are always relative to the sandbox user's home
//! (`/home/sandbox`, the persistent workspace); the agent enforces that (`..`, absolute paths and
//! paths through a symlink are refused). Entries describe a symlink by its target, with
//! `symlink_target` its absolute path inside the sandbox.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// Raw bytes: a file's content or a tar stream (documentation only; bodies stream).
#[derive(ToSchema)]
#[schema(value_type = String, format = Binary)]
#[allow(dead_code)] // Only its schema is used.
pub struct Binary(Vec<u8>);

/// `?path=` (relative to the home; empty = the home itself) and, for a directory, `?depth=`.
#[derive(Debug, Deserialize, Default, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct FileParams {
    /// Path relative to the home directory.
    pub path: Option<String>,
    /// How many directory levels to list (default 1).
    #[param(minimum = 1, maximum = 32)]
    pub depth: Option<u32>,
}

/// `?path=` of a single target.
#[derive(Debug, Deserialize, Default, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PathParams {
    /// Path relative to the home directory.
    pub path: Option<String>,
}

/// `GET .../files/watch` options.
#[derive(Debug, Deserialize, Default, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct WatchParams {
    /// Directory relative to the home directory (default: the home).
    pub path: Option<String>,
    /// Also watch subdirectories.
    pub recursive: Option<bool>,
}

/// `POST .../files/mkdir`.
#[derive(Debug, Deserialize, Default, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = MkdirRequest)]
pub struct MkdirBody {
    /// Directory to create (with its parents), relative to the home.
    pub path: String,
}

/// `POST .../files/move`.
#[derive(Debug, Deserialize, Default, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = MoveRequest)]
pub struct MoveBody {
    pub from: String,
    pub to: String,
}

/// What an entry is (a symlink is described by its target).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FileType {
    File,
    Dir,
}

/// One file or directory.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FileEntry {
    pub name: String,
    /// Relative to the home directory.
    pub path: String,
    #[serde(rename = "type")]
    pub kind: FileType,
    pub size: u64,
    /// Permission bits (e.g. 420 = 0644).
    pub mode: u32,
    #[schema(format = DateTime)]
    pub modified_at: String,
    /// For a symlink: the absolute path it resolves to inside the sandbox.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub symlink_target: Option<String>,
}

/// `GET .../files` of a directory.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DirListing {
    pub path: String,
    pub entries: Vec<FileEntry>,
}

/// `PUT .../files/archive`: how many files and symlinks were written.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ArchiveResult {
    pub files: u64,
}

/// The data of a `files/watch` event (`create`, `write`, `remove`, `rename`, `chmod`).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FileEvent {
    /// Relative to the home directory.
    pub path: String,
}
