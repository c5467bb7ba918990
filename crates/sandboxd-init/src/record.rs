//! Rule: `/.sandboxd/init record-listeners [--out PATH]` replaces the
//! relaunch list with how to start again every process that listens on TCP
//! right now, except the ones the init starts anyway.
//!
//! The control plane runs it through `docker exec`, as the sandbox user,
//! just before it stops the container, so that servers a user started by
//! hand come back at the next start (relaunched servers are recorded again,
//! so they keep coming back). Which processes count is decided by
//! [`select`] from what [`procfs`] reads; PID 1, the agent (any process
//! running `/.sandboxd/agent`, whose port 49983 is ours) and the recorder
//! itself never count as listeners (what they started still can), and
//! neither does the start command, whose process group PID
//! 1 publishes (see [`crate::start::pgid`]; if it did not, a warning says so
//! and nothing is left out). The list is written with
//! [`crate::relaunch::render`] and replaced atomically ([`output`]) at PATH,
//! by default where the init reads it: `$SANDBOXD_RELAUNCH_FILE`, else
//! `$HOME/.sandboxd/relaunch.json`. No listeners means an empty list, so a
//! stale one never relaunches anything. Entries that would push the file
//! past the reader's size limit are left out.
//!
//! On success one line goes to stdout, `recorded N listener(s): CMD; CMD`,
//! and the exit code is 0; warnings and errors are `sandboxd-init:` lines on
//! stderr, with exit code 1 when nothing was written and 2 for usage errors.

mod output;
mod procfs;
mod select;

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use crate::config;
use crate::log::log;
use crate::relaunch::{render, MAX_FILE_BYTES};
use crate::start::pgid::{self, START_PGID_FILE};

pub const USAGE: &str = "usage: /.sandboxd/init record-listeners [--out PATH]";

const EXIT_FAILED: i32 = 1;
const EXIT_USAGE: i32 = 2;
const OUT_FLAG: &str = "--out";

/// Runs record mode on the words after `record-listeners`; returns the exit
/// code.
pub fn main(words: &[OsString]) -> i32 {
    let out = match parse_args(words) {
        Ok(Some(out)) => out,
        Ok(None) => {
            let explicit = std::env::var_os("SANDBOXD_RELAUNCH_FILE");
            let home = std::env::var_os("HOME").filter(|h| !h.is_empty());
            match config::relaunch_path(explicit, home.as_deref().map(Path::new)) {
                Some(path) => path,
                None => {
                    log!("record-listeners: no {OUT_FLAG} given and HOME is not set");
                    return EXIT_USAGE;
                }
            }
        }
        Err(msg) => {
            log!("record-listeners: {msg}");
            log!("{USAGE}");
            return EXIT_USAGE;
        }
    };
    match record(&out) {
        Ok(summary) => {
            println!("{summary}");
            0
        }
        Err(msg) => {
            log!("record-listeners: {msg}");
            EXIT_FAILED
        }
    }
}

/// The output path given with `--out PATH` / `--out=PATH`, if any.
fn parse_args(words: &[OsString]) -> Result<Option<PathBuf>, String> {
    let mut out = None;
    let mut rest = words.iter();
    while let Some(word) = rest.next() {
        let value = match word.to_str() {
            Some(OUT_FLAG) => rest
                .next()
                .ok_or(format!("{OUT_FLAG} needs a value"))?
                .clone(),
            Some(w) => match w.strip_prefix(OUT_FLAG).and_then(|v| v.strip_prefix('=')) {
                Some(value) => value.into(),
                None => return Err(format!("unexpected argument {word:?}")),
            },
            None => return Err(format!("unexpected argument {word:?}")),
        };
        if value.is_empty() {
            return Err(format!("{OUT_FLAG} needs a non-empty path"));
        }
        if out.replace(PathBuf::from(value)).is_some() {
            return Err(format!("{OUT_FLAG} given twice"));
        }
    }
    Ok(out)
}

/// Scans, writes the list to `out`, and returns the summary line.
fn record(out: &Path) -> Result<String, String> {
    let start_pgid = start_group();
    let me = i32::try_from(std::process::id()).unwrap_or(0);
    let inodes = procfs::listening_inodes()?;
    let mut ignore = vec![1, me];
    ignore.extend(procfs::pids_running(Path::new(crate::agent::AGENT_PATH)));
    let table = procfs::process_table(&inodes, &ignore)?;
    let mut rendered = Vec::new();
    let mut labels = Vec::new();
    // "[\n  " and "\n]\n" around the entries, minus one separator (below).
    let mut size = 3;
    for pid in select::topmost(&table, start_pgid) {
        let entry = match procfs::entry(pid) {
            Ok(Some(entry)) => entry,
            Ok(None) => continue, // exited, or a zombie
            Err(msg) => {
                log!("record-listeners: skipping pid {pid}: {msg}");
                continue;
            }
        };
        let label = entry.argv.join(" ");
        let line = render::entry(&entry);
        // Each entry but the first also costs its ",\n  " separator.
        let cost = line.len() as u64 + 4;
        if size + cost > MAX_FILE_BYTES {
            log!("record-listeners: skipping pid {pid} ({label}): the list would exceed {MAX_FILE_BYTES} bytes");
            continue;
        }
        size += cost;
        rendered.push(line);
        labels.push(label);
    }
    output::replace(out, render::list(&rendered).as_bytes())?;
    Ok(summary(&labels))
}

/// The start command's process group, if PID 1 published one.
fn start_group() -> Option<i32> {
    match pgid::read(&pgid::locations()) {
        Ok(Some(pgid)) => Some(pgid),
        Ok(None) => {
            let start = config::start_command(std::env::var_os("SANDBOXD_START"));
            if start.is_some() {
                log!("record-listeners: {START_PGID_FILE} is missing; the start command may be recorded too");
            }
            None
        }
        Err(err) => {
            log!("record-listeners: ignoring the published start command group: {err}");
            None
        }
    }
}

/// `recorded N listener(s): CMD; CMD`, control characters (newlines in
/// arguments) shown as spaces so it stays one line.
fn summary(labels: &[String]) -> String {
    let count = labels.len();
    if labels.is_empty() {
        return format!("recorded {count} listener(s)");
    }
    let joined = labels.join("; ");
    let flat: String = joined
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    format!("recorded {count} listener(s): {flat}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(list: &[&str]) -> Result<Option<PathBuf>, String> {
        parse_args(&list.iter().map(OsString::from).collect::<Vec<_>>())
    }

    #[test]
    fn out_is_optional_and_takes_both_forms() {
        assert_eq!(parse_str(&[]), Ok(None));
        assert_eq!(parse_str(&["--out", "/x.json"]), Ok(Some("/x.json".into())));
        assert_eq!(
            parse_str(&["--out=/y z.json"]),
            Ok(Some("/y z.json".into()))
        );
    }

    #[test]
    fn rejects_everything_else() {
        for bad in [
            &["--out"][..],
            &["--out="],
            &["--out", ""],
            &["--out", "/a", "--out=/b"],
            &["--output", "/a"],
            &["/a"],
            &["--", "/a"],
        ] {
            assert!(parse_str(bad).is_err(), "accepted {bad:?}");
        }
    }

    #[test]
    fn finds_processes_by_program() {
        let me = i32::try_from(std::process::id()).expect("pid fits");
        let exe = std::env::current_exe().expect("own exe");
        assert!(procfs::pids_running(&exe).contains(&me));
        assert!(procfs::pids_running(Path::new("/nonexistent/agent")).is_empty());
    }

    #[test]
    fn summarizes_in_one_line() {
        assert_eq!(summary(&[]), "recorded 0 listener(s)");
        let labels = [
            "python3 -m http.server 3000".to_string(),
            "httpd -f -p 80".to_string(),
        ];
        assert_eq!(
            summary(&labels),
            "recorded 2 listener(s): python3 -m http.server 3000; httpd -f -p 80"
        );
        let odd = ["sh -c echo a\nsleep 9".to_string()];
        assert_eq!(
            summary(&odd),
            "recorded 1 listener(s): sh -c echo a sleep 9"
        );
    }
}
