//! Rule: exec mode's command line is `[--timeout-ms N] -- COMMAND [ARG...]`
//! (what follows the `exec` word), and anything else is a usage error.
//!
//! `--` is mandatory, so a command can never be mistaken for an option; every
//! word after it belongs to the command, unchanged (`--` and non-UTF-8 bytes
//! included). `N` is a whole number of milliseconds, at least 1, given once,
//! as `--timeout-ms N` or `--timeout-ms=N`. Without it the command may run
//! forever.

use std::ffi::{OsStr, OsString};
use std::time::Duration;

pub const USAGE: &str = "usage: /.sandboxd/init exec [--timeout-ms N] -- COMMAND [ARG...]";

const TIMEOUT_FLAG: &str = "--timeout-ms";

#[derive(Debug, PartialEq)]
pub struct Args {
    /// Kill the command's process group once this much time has passed.
    pub timeout: Option<Duration>,
    /// The command; never empty.
    pub argv: Vec<OsString>,
}

/// Parses the words after `exec`; the error is a one-line explanation.
pub fn parse(words: &[OsString]) -> Result<Args, String> {
    let Some(split) = words.iter().position(|w| w == "--") else {
        return Err("missing `--` before the command".into());
    };
    let (options, command) = (&words[..split], &words[split + 1..]);
    let mut timeout = None;
    let mut rest = options.iter();
    while let Some(word) = rest.next() {
        let unknown = || format!("unknown option {word:?}");
        let value: &OsStr = match word.to_str() {
            Some(TIMEOUT_FLAG) => rest
                .next()
                .ok_or_else(|| format!("{TIMEOUT_FLAG} needs a value"))?,
            Some(w) => w
                .strip_prefix(TIMEOUT_FLAG)
                .and_then(|v| v.strip_prefix('='))
                .map(OsStr::new)
                .ok_or_else(unknown)?,
            None => return Err(unknown()),
        };
        if timeout.is_some() {
            return Err(format!("{TIMEOUT_FLAG} given twice"));
        }
        timeout = Some(parse_millis(value)?);
    }
    if command.is_empty() {
        return Err("no command after `--`".into());
    }
    Ok(Args {
        timeout,
        argv: command.to_vec(),
    })
}

/// A positive number of milliseconds, digits only.
fn parse_millis(value: &OsStr) -> Result<Duration, String> {
    let bad = || format!("bad {TIMEOUT_FLAG} value {value:?}: want milliseconds, at least 1");
    let text = value.to_str().ok_or_else(bad)?;
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    match text.parse::<u64>() {
        Ok(0) | Err(_) => Err(bad()),
        Ok(ms) => Ok(Duration::from_millis(ms)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::ffi::OsStringExt;

    fn words(list: &[&str]) -> Vec<OsString> {
        list.iter().map(OsString::from).collect()
    }

    fn parse_str(list: &[&str]) -> Result<Args, String> {
        parse(&words(list))
    }

    #[test]
    fn parses_timeout_and_command() {
        let args = parse_str(&["--timeout-ms", "1000", "--", "sh", "-c", "sleep 30"]);
        let want = Args {
            timeout: Some(Duration::from_secs(1)),
            argv: words(&["sh", "-c", "sleep 30"]),
        };
        assert_eq!(args, Ok(want));
        let joined = parse_str(&["--timeout-ms=250", "--", "true"]).expect("parses");
        assert_eq!(joined.timeout, Some(Duration::from_millis(250)));
    }

    #[test]
    fn timeout_is_optional() {
        let args = parse_str(&["--", "true"]).expect("parses");
        assert_eq!(args.timeout, None);
        assert_eq!(args.argv, words(&["true"]));
    }

    #[test]
    fn words_after_the_separator_are_kept_verbatim() {
        let args = parse_str(&["--", "echo", "--", "--timeout-ms", "x"]).expect("parses");
        assert_eq!(args.argv, words(&["echo", "--", "--timeout-ms", "x"]));
        let raw = vec![OsString::from("--"), OsString::from_vec(vec![b'a', 0xff])];
        assert_eq!(parse(&raw).expect("parses").argv, raw[1..]);
    }

    #[test]
    fn separator_and_command_are_required() {
        let missing = parse_str(&["--timeout-ms", "1000", "sh"]).expect_err("no --");
        assert!(missing.contains("missing `--`"), "{missing}");
        assert!(parse_str(&[]).is_err());
        let empty = parse_str(&["--timeout-ms", "1000", "--"]).expect_err("no command");
        assert!(empty.contains("no command"), "{empty}");
    }

    #[test]
    fn rejects_bad_timeouts() {
        for bad in [
            "",
            "0",
            "-5",
            "+5",
            "1.5",
            "1e3",
            "abc",
            " 5",
            "99999999999999999999",
        ] {
            let err = parse_str(&["--timeout-ms", bad, "--", "true"]).expect_err(bad);
            assert!(err.starts_with("bad --timeout-ms value"), "{bad}: {err}");
            let joined = format!("--timeout-ms={bad}");
            assert!(parse_str(&[&joined, "--", "true"]).is_err(), "{joined}");
        }
        let max = parse_str(&["--timeout-ms", &u64::MAX.to_string(), "--", "true"]);
        assert_eq!(
            max.expect("parses").timeout,
            Some(Duration::from_millis(u64::MAX))
        );
    }

    #[test]
    fn rejects_unknown_missing_and_repeated_options() {
        let unknown = parse_str(&["--verbose", "--", "true"]).expect_err("unknown");
        assert!(unknown.contains("unknown option"), "{unknown}");
        assert!(parse_str(&["sh", "--", "true"]).is_err(), "stray word");
        assert!(parse_str(&["--timeout", "5", "--", "true"]).is_err());
        // The first `--` always ends the options, so it is never a value.
        let no_value = parse_str(&["--timeout-ms", "--", "true"]).expect_err("no value");
        assert!(no_value.contains("needs a value"), "{no_value}");
        let twice = parse_str(&["--timeout-ms", "1", "--timeout-ms=2", "--", "x"]);
        assert!(twice.expect_err("twice").contains("twice"));
    }
}
