//! Rule: processes in the relaunch file are started exactly once, at boot,
//! each exactly as recorded and in its own process group; they are never
//! restarted.
//!
//! The file (`SANDBOXD_RELAUNCH_FILE`, default
//! `$HOME/.sandboxd/relaunch.json`) is a JSON array of
//! `{"argv": [...], "cwd": "...", "env": ["K=V", ...]}`. `argv` is required
//! and non-empty; `env` replaces the whole environment (missing: empty);
//! `cwd` missing means the init's own working directory; unknown keys are
//! ignored. A missing file is normal, a malformed one is logged and ignored
//! as a whole, and an entry that fails to launch is logged and skipped. The
//! file is written by the sandbox's user, so it is distrusted: opened without
//! following a symlink and without blocking (a FIFO planted there must not
//! hang the boot), used only when it is a regular file, read up to
//! [`MAX_FILE_BYTES`]. The
//! init never modifies the file at boot: it lives in the user's home, and
//! `record-listeners` (see the `record` module, run by the control plane
//! before a stop) rewrites it with [`render`].

mod json;
pub mod render;

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::log::log;
use crate::spawn;
use json::Value;

/// Larger files are not a relaunch list the control plane wrote.
pub const MAX_FILE_BYTES: u64 = 1 << 20;

#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub argv: Vec<String>,
    pub cwd: Option<PathBuf>,
    pub env: Vec<(String, String)>,
}

/// Launches every entry of the file at `path`; returns pid → short label
/// of the processes that started.
pub fn boot(path: &Path) -> HashMap<i32, String> {
    let mut launched = HashMap::new();
    let Some(entries) = load(path) else {
        return launched;
    };
    for entry in entries {
        let label = entry.argv.join(" ");
        match spawn::exact(&entry.argv, &entry.env, entry.cwd.as_deref()) {
            Ok(pid) => {
                log!("relaunch running pid={pid}: {label}");
                launched.insert(pid, label);
            }
            Err(err) => log!("relaunch failed to launch {label:?}: {err}"),
        }
    }
    launched
}

/// Reads and parses the file; `None` (logged unless absent) on any problem.
fn load(path: &Path) -> Option<Vec<Entry>> {
    use std::os::unix::fs::OpenOptionsExt;
    let file = match std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(crate::sys::O_NONBLOCK | crate::sys::O_NOFOLLOW)
        .open(path)
    {
        Ok(file) => file,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return None,
        Err(err) => {
            log!("cannot open relaunch file {}: {err}", path.display());
            return None;
        }
    };
    match file.metadata() {
        Ok(meta) if meta.file_type().is_file() => {}
        Ok(_) => {
            log!(
                "ignoring relaunch file {}: not a regular file",
                path.display()
            );
            return None;
        }
        Err(err) => {
            log!("cannot stat relaunch file {}: {err}", path.display());
            return None;
        }
    }
    let mut text = String::new();
    let read = file.take(MAX_FILE_BYTES + 1).read_to_string(&mut text);
    let parsed = match read {
        Ok(n) if n as u64 > MAX_FILE_BYTES => Err(format!("larger than {MAX_FILE_BYTES} bytes")),
        Ok(_) => parse(&text),
        Err(err) => Err(err.to_string()),
    };
    match parsed {
        Ok(entries) => Some(entries),
        Err(err) => {
            log!("ignoring relaunch file {}: {err}", path.display());
            None
        }
    }
}

/// Parses the whole relaunch list; any malformed entry rejects the file.
pub fn parse(text: &str) -> Result<Vec<Entry>, String> {
    let value = json::parse(text)?;
    let Value::Array(items) = value else {
        return Err(format!("expected an array, found {}", value.kind()));
    };
    items
        .iter()
        .enumerate()
        .map(|(i, item)| entry(item).map_err(|err| format!("entry {i}: {err}")))
        .collect()
}

fn entry(item: &Value) -> Result<Entry, String> {
    if !matches!(item, Value::Object(_)) {
        return Err(format!("expected an object, found {}", item.kind()));
    }
    let argv = match item.get("argv") {
        Some(Value::Array(items)) => strings(items, "argv")?,
        Some(other) => return Err(format!("argv must be an array, found {}", other.kind())),
        None => return Err("missing argv".to_string()),
    };
    if !matches!(argv.first(), Some(program) if !program.is_empty()) {
        return Err("argv must start with a program name".to_string());
    }
    let cwd = match item.get("cwd") {
        None | Some(Value::Null) => None,
        Some(Value::String(cwd)) if !cwd.is_empty() => Some(PathBuf::from(cwd)),
        Some(other) => return Err(format!("cwd must be a path, found {}", other.kind())),
    };
    let env = match item.get("env") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => strings(items, "env")?
            .iter()
            .map(|pair| env_pair(pair))
            .collect::<Result<_, _>>()?,
        Some(other) => return Err(format!("env must be an array, found {}", other.kind())),
    };
    Ok(Entry { argv, cwd, env })
}

fn strings(items: &[Value], field: &str) -> Result<Vec<String>, String> {
    items
        .iter()
        .map(|item| match item {
            Value::String(s) => Ok(s.clone()),
            other => Err(format!("{field} must hold strings, found {}", other.kind())),
        })
        .collect()
}

/// `KEY=VALUE` (the value may itself contain `=` or be empty).
fn env_pair(pair: &str) -> Result<(String, String), String> {
    match pair.split_once('=') {
        Some((key, value)) if !key.is_empty() => Ok((key.to_string(), value.to_string())),
        _ => Err(format!("env entry {pair:?} is not KEY=VALUE")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_regular_file_is_read_and_a_fifo_does_not_block() {
        let dir = std::env::temp_dir().join(format!("relaunch-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let real = dir.join("real.json");
        std::fs::write(&real, r#"[{"argv":["true"]}]"#).unwrap();
        assert_eq!(load(&real).map(|e| e.len()), Some(1));
        let fifo = dir.join("fifo.json");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        assert!(made.unwrap().success());
        // A plain open would block here until a writer appears.
        assert_eq!(load(&fifo), None);
        let link = dir.join("link.json");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        assert_eq!(load(&link), None);
        let big = dir.join("big.json");
        std::fs::write(&big, " ".repeat(MAX_FILE_BYTES as usize + 1)).unwrap();
        assert_eq!(load(&big), None);
        assert_eq!(load(&dir.join("missing.json")), None);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn parses_the_documented_shape() {
        let text = r#"[
            {"argv":["python3","-m","http.server","3000"],
             "cwd":"/home/sandbox/workspace",
             "env":["PATH=/usr/bin:/bin","A=b=c","EMPTY="],
             "port": 3000},
            {"argv":["sleep","1"]}
        ]"#;
        let entries = parse(text);
        let pair = |k: &str, v: &str| (k.to_string(), v.to_string());
        assert_eq!(
            entries,
            Ok(vec![
                Entry {
                    argv: vec![
                        "python3".into(),
                        "-m".into(),
                        "http.server".into(),
                        "3000".into()
                    ],
                    cwd: Some(PathBuf::from("/home/sandbox/workspace")),
                    env: vec![
                        pair("PATH", "/usr/bin:/bin"),
                        pair("A", "b=c"),
                        pair("EMPTY", "")
                    ],
                },
                Entry {
                    argv: vec!["sleep".into(), "1".into()],
                    cwd: None,
                    env: vec![]
                },
            ])
        );
        assert_eq!(parse("[]"), Ok(vec![]));
    }

    #[test]
    fn rejects_malformed_lists() {
        let bad = [
            ("{}", "expected an array"),
            ("[1]", "entry 0: expected an object"),
            (r#"[{"cwd":"/"}]"#, "missing argv"),
            (r#"[{"argv":[]}]"#, "argv must start"),
            (r#"[{"argv":[""]}]"#, "argv must start"),
            (r#"[{"argv":"ls"}]"#, "argv must be an array"),
            (r#"[{"argv":["ls",1]}]"#, "argv must hold strings"),
            (r#"[{"argv":["ls"],"env":["NOEQUALS"]}]"#, "not KEY=VALUE"),
            (r#"[{"argv":["ls"],"env":["=v"]}]"#, "not KEY=VALUE"),
            (r#"[{"argv":["ls"],"cwd":7}]"#, "cwd must be a path"),
            (r#"[{"argv":["ls"]}, {"argv":[]}]"#, "entry 1:"),
            ("[{\"argv\":[\"ls\"]}", "expected ',' or ']'"),
        ];
        for (text, want) in bad {
            match parse(text) {
                Err(err) => assert!(err.contains(want), "{text}: {err:?} lacks {want:?}"),
                Ok(entries) => panic!("{text}: accepted as {entries:?}"),
            }
        }
    }
}
