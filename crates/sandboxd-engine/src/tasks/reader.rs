//! From output chunks to stored events. Rule: output is cut into whole lines per stream; the
//! resume point only moves to a chunk after which no partial line is pending, and counts the
//! lines already turned into events since then, so replaying from it (after a reconnect or a
//! sandboxd restart) skips exactly those lines and stores no event twice or never. Every event's
//! data is redacted (each secret, raw and JSON-escaped) before it is stored.

use super::adapter::{Adapter, Stream};
use sandboxd_store::TaskProgress;

/// Longest line kept whole; a longer one is cut here (the same way on every replay).
const MAX_LINE: usize = 256 * 1024;
/// What replaces a secret in stored events.
pub const REDACTED: &str = "[redacted]";

pub struct Reader {
    adapter: Adapter,
    secrets: Vec<String>,
    out: Vec<u8>,
    err: Vec<u8>,
    /// Lines still to drop (already stored before the resume).
    skip: u64,
    progress: TaskProgress,
}

impl Reader {
    /// A reader resuming at `progress` (replay must start after `progress.resume_seq`).
    pub fn new(adapter: Adapter, secrets: Vec<String>, progress: TaskProgress) -> Self {
        let mut secrets: Vec<String> = secrets.into_iter().filter(|s| !s.is_empty()).collect();
        // Longest first, so a secret containing another is replaced whole.
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        Reader {
            adapter,
            secrets,
            out: Vec::new(),
            err: Vec::new(),
            skip: progress.skip_lines,
            progress: TaskProgress {
                resume_seq: progress.resume_seq,
                skip_lines: 0,
            },
        }
    }

    pub fn progress(&self) -> TaskProgress {
        self.progress
    }

    /// The events (kind, JSON text) of one chunk with agent seq `seq`.
    pub fn chunk(&mut self, seq: u64, stream: Stream, bytes: &[u8]) -> Vec<(String, String)> {
        let buf = match stream {
            Stream::Stdout => &mut self.out,
            Stream::Stderr => &mut self.err,
        };
        buf.extend_from_slice(bytes);
        let mut lines = Vec::new();
        loop {
            let cut = match buf.iter().position(|b| *b == b'\n') {
                Some(p) if p <= MAX_LINE => (p, 1),
                _ if buf.len() > MAX_LINE => (MAX_LINE, 0),
                _ => break,
            };
            let line: Vec<u8> = buf.drain(..cut.0 + cut.1).take(cut.0).collect();
            lines.push(line);
        }
        let events = self.lines(stream, lines);
        if self.out.is_empty() && self.err.is_empty() {
            self.progress = TaskProgress {
                resume_seq: seq,
                skip_lines: 0,
            };
        }
        events
    }

    /// The events of what is left once the process ended (partial last lines).
    pub fn finish(&mut self) -> Vec<(String, String)> {
        let out = std::mem::take(&mut self.out);
        let err = std::mem::take(&mut self.err);
        let mut events = self.lines(Stream::Stdout, vec![out]);
        events.extend(self.lines(Stream::Stderr, vec![err]));
        events
    }

    fn lines(&mut self, stream: Stream, lines: Vec<Vec<u8>>) -> Vec<(String, String)> {
        let mut events = Vec::new();
        for line in lines.into_iter().filter(|l| !l.is_empty()) {
            self.progress.skip_lines += 1;
            if self.skip > 0 {
                self.skip -= 1;
                continue;
            }
            let text = String::from_utf8_lossy(&line);
            for (kind, data) in self.adapter.line(stream, &text) {
                events.push((kind.to_string(), self.redact(data.to_string())));
            }
        }
        events
    }

    /// `text` with every secret replaced, as given and as it reads inside a JSON string.
    pub fn redact(&self, mut text: String) -> String {
        for s in &self.secrets {
            let escaped = serde_json::to_string(s).unwrap_or_default();
            let escaped = escaped.trim_matches('"');
            for form in [s.as_str(), escaped] {
                if !form.is_empty() && text.contains(form) {
                    text = text.replace(form, REDACTED);
                }
            }
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(r: &mut Reader, chunks: &[(u64, &str)]) -> Vec<String> {
        let mut out = Vec::new();
        for (seq, c) in chunks {
            out.extend(r.chunk(*seq, Stream::Stdout, c.as_bytes()));
        }
        out.into_iter().map(|(_, d)| d).collect()
    }

    #[test]
    fn replay_from_the_progress_yields_exactly_the_rest() {
        let chunks = [(1, "a\nb"), (2, "c\nd\n"), (3, "e\nf"), (4, "g\n")];
        let mut whole = Reader::new(Adapter::Lines, vec![], TaskProgress::default());
        let all = run(&mut whole, &chunks);
        assert_eq!(all.len(), 5);
        for stop in 1..chunks.len() {
            let mut first = Reader::new(Adapter::Lines, vec![], TaskProgress::default());
            let mut got = run(&mut first, &chunks[..stop]);
            let p = first.progress();
            let mut again = Reader::new(Adapter::Lines, vec![], p);
            let rest: Vec<_> = chunks
                .iter()
                .filter(|(s, _)| *s > p.resume_seq)
                .copied()
                .collect();
            got.extend(run(&mut again, &rest));
            assert_eq!(got, all, "stopped after chunk {stop}, progress {p:?}");
        }
    }

    #[test]
    fn secrets_are_redacted_raw_and_escaped() {
        let r = Reader::new(
            Adapter::Lines,
            vec!["sk-\"q\"".into(), "abcd1234".into()],
            TaskProgress::default(),
        );
        let text = serde_json::json!({"t": "key sk-\"q\" and abcd1234"}).to_string();
        let red = r.redact(text);
        assert!(!red.contains("abcd1234") && !red.contains("sk-"), "{red}");
        assert_eq!(red.matches(REDACTED).count(), 2);
    }
}
