//! Rule: the init's only inputs are environment variables, read once at
//! startup; a bad value is logged and replaced by its default, never fatal.
//!
//! - `SANDBOXD_START`: shell command to keep running (unset/blank: none).
//! - `SANDBOXD_STOP_GRACE_MS`: SIGTERM→SIGKILL grace on shutdown (2500).
//! - `SANDBOXD_RELAUNCH_FILE`: relaunch list (`$HOME/.sandboxd/relaunch.json`).
//! - `HOME`: base for the start command's working directory.

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::log::log;

pub const DEFAULT_GRACE: Duration = Duration::from_millis(2500);

#[derive(Debug)]
pub struct Config {
    pub start: Option<OsString>,
    pub grace: Duration,
    pub relaunch_file: Option<PathBuf>,
    pub home: Option<PathBuf>,
}

impl Config {
    pub fn from_env() -> Config {
        let home = std::env::var_os("HOME")
            .filter(|h| !h.is_empty())
            .map(PathBuf::from);
        let grace = parse_grace(std::env::var_os("SANDBOXD_STOP_GRACE_MS").as_deref())
            .unwrap_or_else(|err| {
                log!("{err}; using {}ms", DEFAULT_GRACE.as_millis());
                DEFAULT_GRACE
            });
        Config {
            start: start_command(std::env::var_os("SANDBOXD_START")),
            grace,
            relaunch_file: relaunch_path(
                std::env::var_os("SANDBOXD_RELAUNCH_FILE"),
                home.as_deref(),
            ),
            home,
        }
    }
}

/// The start command, unless it is unset or only whitespace.
pub fn start_command(raw: Option<OsString>) -> Option<OsString> {
    raw.filter(|cmd| !cmd.to_string_lossy().trim().is_empty())
}

/// Grace period in milliseconds; unset or blank means the default.
pub fn parse_grace(raw: Option<&OsStr>) -> Result<Duration, String> {
    let Some(raw) = raw else {
        return Ok(DEFAULT_GRACE);
    };
    let text = raw.to_string_lossy();
    let text = text.trim();
    if text.is_empty() {
        return Ok(DEFAULT_GRACE);
    }
    text.parse::<u64>()
        .map(Duration::from_millis)
        .map_err(|_| format!("SANDBOXD_STOP_GRACE_MS={text:?} is not a number of milliseconds"))
}

/// Explicit path if given, else `$HOME/.sandboxd/relaunch.json`, else none.
pub fn relaunch_path(explicit: Option<OsString>, home: Option<&Path>) -> Option<PathBuf> {
    match explicit.filter(|p| !p.is_empty()) {
        Some(path) => Some(PathBuf::from(path)),
        None => home.map(|h| h.join(".sandboxd/relaunch.json")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grace_defaults_and_parses() {
        assert_eq!(parse_grace(None), Ok(DEFAULT_GRACE));
        assert_eq!(parse_grace(Some(OsStr::new(" "))), Ok(DEFAULT_GRACE));
        assert_eq!(
            parse_grace(Some(OsStr::new("100"))),
            Ok(Duration::from_millis(100))
        );
        assert_eq!(parse_grace(Some(OsStr::new("0"))), Ok(Duration::ZERO));
        assert!(parse_grace(Some(OsStr::new("-5"))).is_err());
        assert!(parse_grace(Some(OsStr::new("2s"))).is_err());
    }

    #[test]
    fn blank_start_command_means_none() {
        assert_eq!(start_command(None), None);
        assert_eq!(start_command(Some(" \n".into())), None);
        assert_eq!(
            start_command(Some("npm start".into())),
            Some(OsString::from("npm start"))
        );
    }

    #[test]
    fn relaunch_path_prefers_explicit_then_home() {
        let home = Path::new("/home/sandbox");
        assert_eq!(
            relaunch_path(Some("/x.json".into()), Some(home)),
            Some(PathBuf::from("/x.json"))
        );
        assert_eq!(
            relaunch_path(Some("".into()), Some(home)),
            Some(PathBuf::from("/home/sandbox/.sandboxd/relaunch.json"))
        );
        assert_eq!(relaunch_path(None, None), None);
    }
}
