//! Rule: everything the init says goes to stderr (Docker's log) as one line
//! prefixed `sandboxd-init:`, written with a single `write` so it does not
//! interleave with the workloads' output, and a failed write (closed log
//! pipe) never stops the init.

use std::io::Write;
use std::time::Duration;

/// Writes one `sandboxd-init: …` line to stderr, ignoring write errors.
pub fn line(args: std::fmt::Arguments<'_>) {
    let text = format!("sandboxd-init: {args}\n");
    let _ = std::io::stderr().write_all(text.as_bytes());
}

/// `log!("fmt", args…)` — see [`line`].
macro_rules! log {
    ($($arg:tt)*) => {
        $crate::log::line(format_args!($($arg)*))
    };
}
pub(crate) use log;

/// Human-readable elapsed time with one decimal, e.g. `0.2s`, `61.0s`.
pub fn secs(elapsed: Duration) -> String {
    format!("{:.1}s", elapsed.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_seconds_with_one_decimal() {
        assert_eq!(secs(Duration::from_millis(200)), "0.2s");
        assert_eq!(secs(Duration::from_secs(61)), "61.0s");
    }
}
