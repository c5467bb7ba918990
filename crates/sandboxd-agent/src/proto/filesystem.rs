//! `filesystem.Filesystem` messages (E2B's `filesystem.proto`, JSON
//! mapping). `EntryInfo.type` is the target's type for a symlink, with
//! `symlinkTarget` holding the resolved absolute path.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::json::{int64, u32_lenient};

crate::proto_enum!(
    FileType {
        Unspecified = 0 => "FILE_TYPE_UNSPECIFIED",
        File = 1 => "FILE_TYPE_FILE",
        Directory = 2 => "FILE_TYPE_DIRECTORY",
    }
);

crate::proto_enum!(
    EventType {
        Unspecified = 0 => "EVENT_TYPE_UNSPECIFIED",
        Create = 1 => "EVENT_TYPE_CREATE",
        Write = 2 => "EVENT_TYPE_WRITE",
        Remove = 3 => "EVENT_TYPE_REMOVE",
        Rename = 4 => "EVENT_TYPE_RENAME",
        Chmod = 5 => "EVENT_TYPE_CHMOD",
    }
);

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EntryInfo {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: FileType,
    pub path: String,
    #[serde(with = "int64")]
    pub size: i64,
    pub mode: u32,
    /// `ls -l` style, e.g. `-rw-r--r--`.
    pub permissions: String,
    pub owner: String,
    pub group: String,
    /// RFC 3339 UTC (see `proto::json::timestamp`).
    pub modified_time: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub symlink_target: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct PathRequest {
    pub path: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct ListDirRequest {
    pub path: String,
    #[serde(deserialize_with = "u32_lenient")]
    pub depth: u32,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct MoveRequest {
    pub source: String,
    pub destination: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct WatchRequest {
    pub path: String,
    pub recursive: bool,
    #[serde(alias = "include_entry")]
    pub include_entry: bool,
    #[serde(alias = "allow_network_mounts")]
    pub allow_network_mounts: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct WatcherRequest {
    #[serde(alias = "watcher_id")]
    pub watcher_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EntryResponse {
    pub entry: EntryInfo,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ListDirResponse {
    pub entries: Vec<EntryInfo>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateWatcherResponse {
    pub watcher_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FilesystemEvent {
    /// Path relative to the watched directory.
    pub name: String,
    #[serde(rename = "type")]
    pub kind: EventType,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entry: Option<EntryInfo>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct GetWatcherEventsResponse {
    pub events: Vec<FilesystemEvent>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Start {}

/// `WatchDirResponse.event`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum WatchEvent {
    Start(Start),
    Filesystem(Box<FilesystemEvent>),
}

/// The keepalive message of WatchDir streams, pre-encoded.
pub const KEEPALIVE: &str = r#"{"keepalive":{}}"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_accept_both_spellings() {
        let w: WatchRequest =
            serde_json::from_str(r#"{"path":"/x","recursive":true,"include_entry":true}"#).unwrap();
        assert!(w.recursive && w.include_entry);
        let w: WatcherRequest = serde_json::from_str(r#"{"watcherId":"w1"}"#).unwrap();
        assert_eq!(w.watcher_id, "w1");
        let l: ListDirRequest = serde_json::from_str(r#"{"path":"/","depth":"2"}"#).unwrap();
        assert_eq!(l.depth, 2);
    }

    #[test]
    fn entries_encode_as_proto_json() {
        let e = EntryInfo {
            name: "a".into(),
            kind: FileType::File,
            size: 5,
            ..Default::default()
        };
        let v = serde_json::to_value(&e).unwrap();
        assert_eq!(v["type"], "FILE_TYPE_FILE");
        assert_eq!(v["size"], "5");
        assert!(v.get("symlinkTarget").is_none());
        let w = WatchEvent::Start(Start {});
        assert_eq!(serde_json::to_string(&w).unwrap(), r#"{"start":{}}"#);
    }
}
