//! Build progress: every line a user sees carries the seconds since the build started, and
//! long tool output (debootstrap, apt, docker build) is summarized to phase changes plus at
//! most one line per interval, so a build visibly moves without flooding the terminal.

use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _, Result};
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::Command;
use tokio::sync::mpsc;

/// The sink for progress lines plus the build's start time.
pub(crate) struct Progress<'a> {
    start: Instant,
    sink: &'a (dyn Fn(&str) + Send + Sync),
}

impl<'a> Progress<'a> {
    pub(crate) fn new(sink: &'a (dyn Fn(&str) + Send + Sync)) -> Self {
        Progress {
            start: Instant::now(),
            sink,
        }
    }

    /// Print one line as `[ 12s] msg`.
    pub(crate) fn step(&self, msg: impl AsRef<str>) {
        (self.sink)(&format!(
            "[{:>3}s] {}",
            self.start.elapsed().as_secs(),
            msg.as_ref()
        ));
    }
}

/// Decides which lines of a long tool output are worth showing.
pub(crate) struct Summarizer {
    interval: Duration,
    phase: Option<String>,
    last_emit: Option<Instant>,
    hidden: usize,
}

impl Summarizer {
    pub(crate) fn new(interval: Duration) -> Self {
        Summarizer {
            interval,
            phase: None,
            last_emit: None,
            hidden: 0,
        }
    }

    /// The line to show for `line` seen at `now`, if any.
    pub(crate) fn feed(&mut self, line: &str, now: Instant) -> Option<String> {
        let line = line.trim_end();
        if line.trim().is_empty() {
            return None;
        }
        let always = always_shown(line);
        let phase = phase_of(line);
        let changed = phase.is_some() && phase != self.phase;
        let due = match self.last_emit {
            Some(t) => now.duration_since(t) >= self.interval,
            None => true,
        };
        if phase.is_some() || always {
            // A headline ends the current phase: the next per-package line shows again.
            self.phase = phase;
        }
        if !(always || changed || due) {
            self.hidden += 1;
            return None;
        }
        let shown = match std::mem::take(&mut self.hidden) {
            0 => line.to_string(),
            n => format!("{line}  (+{n} lines)"),
        };
        self.last_emit = Some(now);
        Some(shown)
    }
}

/// The phase of a per-package line of debootstrap or apt output; `None` for other lines.
fn phase_of(line: &str) -> Option<String> {
    if let Some(rest) = line.strip_prefix("I: ") {
        let mut words = rest.split_whitespace();
        let verb = words.next().unwrap_or("");
        let per_package = words.count() <= 2;
        return match verb {
            "Retrieving" | "Validating" => Some("I: fetch".into()),
            "Extracting" | "Unpacking" | "Configuring" if per_package => Some(format!("I: {verb}")),
            _ => None,
        };
    }
    let apt = [
        ("Get:", "download"),
        ("Fetched ", "download"),
        ("Selecting previously", "install"),
        ("Preparing to unpack", "install"),
        ("Unpacking ", "install"),
        ("Setting up ", "install"),
        ("Processing triggers", "install"),
    ];
    apt.iter()
        .find(|(p, _)| line.starts_with(p))
        .map(|(_, phase)| phase.to_string())
}

/// Whether a line is always worth showing: step headlines, errors and warnings.
fn always_shown(line: &str) -> bool {
    let prefixes = [
        "==> ", "E: ", "W: ", "ERROR", "Error", "error:", "npm ERR!", "Step ",
    ];
    prefixes.iter().any(|p| line.starts_with(p))
        || (line.starts_with("I: ") && phase_of(line).is_none())
}

/// Run `cmd`, forwarding its summarized stdout+stderr as `label: line`; on failure the error
/// carries the last lines of output.
pub(crate) async fn run_logged(
    cmd: &mut Command,
    label: &str,
    progress: &Progress<'_>,
) -> Result<()> {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut child = cmd
        .spawn()
        .with_context(|| format!("{label}: cannot start {cmd:?}"))?;
    let (tx, mut rx) = mpsc::unbounded_channel();
    if let Some(out) = child.stdout.take() {
        tokio::spawn(pump(out, tx.clone()));
    }
    if let Some(err) = child.stderr.take() {
        tokio::spawn(pump(err, tx.clone()));
    }
    drop(tx);
    let mut summary = Summarizer::new(Duration::from_secs(5));
    let mut tail = Tail::default();
    while let Some(line) = rx.recv().await {
        if let Some(shown) = summary.feed(&line, Instant::now()) {
            progress.step(format!("{label}: {shown}"));
        }
        tail.push(line);
    }
    let status = child
        .wait()
        .await
        .with_context(|| format!("{label}: waiting for {cmd:?}"))?;
    if !status.success() {
        bail!("{label} failed ({status}); last output:\n{}", tail.text());
    }
    Ok(())
}

/// The last 40 lines of a tool's output, for error messages.
#[derive(Default)]
pub(crate) struct Tail(std::collections::VecDeque<String>);

impl Tail {
    pub(crate) fn push(&mut self, line: String) {
        if self.0.len() == 40 {
            self.0.pop_front();
        }
        self.0.push_back(line);
    }

    pub(crate) fn text(&self) -> String {
        self.0
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>()
            .join("\n")
    }
}

async fn pump(stream: impl AsyncRead + Unpin, tx: mpsc::UnboundedSender<String>) {
    let mut lines = BufReader::new(stream).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        if tx.send(line).is_err() {
            break;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summarizer_shows_phase_changes_and_throttles_the_rest() {
        let mut s = Summarizer::new(Duration::from_secs(5));
        let t0 = Instant::now();
        let at = |secs| t0 + Duration::from_secs(secs);
        assert!(s.feed("I: Retrieving InRelease", t0).is_some());
        assert!(s.feed("I: Validating Packages", t0).is_none());
        assert!(s
            .feed("I: Resolving dependencies of required packages...", t0)
            .is_some());
        assert!(
            s.feed("I: Retrieving libc6 2.36-9", at(1)).is_some(),
            "fetch after a headline"
        );
        assert!(s.feed("I: Validating libc6 2.36-9", at(1)).is_none());
        assert!(s.feed("I: Retrieving bash 5.2", at(2)).is_none());
        let shown = s.feed("I: Extracting adduser...", at(3)).unwrap();
        assert_eq!(shown, "I: Extracting adduser...  (+2 lines)");
        assert!(s.feed("I: Extracting bash...", at(4)).is_none());
        assert!(
            s.feed("I: Extracting zlib...", at(9)).is_some(),
            "due after the interval"
        );
        assert!(s.feed("I: Unpacking the base system...", at(9)).is_some());
        assert!(s.feed("W: something odd", at(9)).is_some());
        assert!(s.feed("==> npm: skipped", at(9)).is_some());
        assert!(s.feed("   ", at(60)).is_none());
    }

    #[test]
    fn apt_lines_have_phases() {
        let get = "Get:12 http://deb.debian.org/debian bookworm/main amd64 git";
        assert_eq!(phase_of(get).as_deref(), Some("download"));
        assert_eq!(
            phase_of("Preparing to unpack .../git.deb ...").as_deref(),
            Some("install")
        );
        assert_eq!(
            phase_of("Setting up git (1:2.39.5-0+deb12u1) ...").as_deref(),
            Some("install")
        );
        assert_eq!(phase_of("Reading package lists..."), None);
        assert!(!always_shown("Reading package lists..."));
    }
}
