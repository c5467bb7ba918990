//! Output adapters: each turns one whole line of an agent's output into task events of the one
//! shape every agent shares (`message`, `tool_call`, `tool_result`, `file_change`, `usage`,
//! `result`, `error`, `log`). Rule: adapters are pure functions of one line (no state between
//! lines), so replaying output after a reconnect yields exactly the same events.

use serde_json::{json, Value};

/// One adapted event: its kind and its data object.
pub type Adapted = (&'static str, Value);

/// Which stream a line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

/// How a task's output is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Adapter {
    /// Claude Code's `--output-format stream-json` (one JSON object per line).
    ClaudeStreamJson,
    /// Any program: each line is a `message` (stdout) or a `log` (stderr); a stdout line that is
    /// a JSON object is passed on whole as `raw`.
    Lines,
}

impl Adapter {
    pub fn name(self) -> &'static str {
        match self {
            Adapter::ClaudeStreamJson => "claude-stream-json",
            Adapter::Lines => "lines",
        }
    }

    pub fn parse(name: &str) -> Option<Adapter> {
        match name {
            "claude-stream-json" => Some(Adapter::ClaudeStreamJson),
            "lines" => Some(Adapter::Lines),
            _ => None,
        }
    }

    /// The events of one line (without its newline).
    pub fn line(self, stream: Stream, line: &str) -> Vec<Adapted> {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.trim().is_empty() {
            return Vec::new();
        }
        if stream == Stream::Stderr {
            return vec![("log", json!({"stream": "stderr", "text": line}))];
        }
        let parsed = serde_json::from_str::<Value>(line)
            .ok()
            .filter(Value::is_object);
        match (self, parsed) {
            (Adapter::ClaudeStreamJson, Some(v)) => claude(&v),
            (Adapter::ClaudeStreamJson, None) => {
                vec![("log", json!({"stream": "stdout", "text": line}))]
            }
            (Adapter::Lines, Some(v)) => vec![("message", json!({"role": "agent", "raw": v}))],
            (Adapter::Lines, None) => vec![("message", json!({"role": "agent", "text": line}))],
        }
    }
}

/// Tools of Claude Code that change files, and the input field naming the file.
const FILE_TOOLS: &[(&str, &str)] = &[
    ("Write", "file_path"),
    ("Edit", "file_path"),
    ("MultiEdit", "file_path"),
    ("NotebookEdit", "notebook_path"),
];

fn claude(v: &Value) -> Vec<Adapted> {
    let mut out = Vec::new();
    match v["type"].as_str().unwrap_or("") {
        "system" => {
            let mut data = json!({"role": "system", "subtype": v["subtype"]});
            for k in ["session_id", "model", "cwd"] {
                if !v[k].is_null() {
                    data[k] = v[k].clone();
                }
            }
            out.push(("message", data));
        }
        "assistant" | "user" => {
            let role = v["type"].as_str().unwrap_or("assistant");
            let content = &v["message"]["content"];
            if let Some(text) = content.as_str() {
                out.push(("message", json!({"role": role, "text": text})));
            }
            for block in content.as_array().into_iter().flatten() {
                content_block(role, block, &mut out);
            }
        }
        "result" => {
            if !v["usage"].is_null() || !v["total_cost_usd"].is_null() {
                out.push((
                    "usage",
                    json!({"usage": v["usage"], "cost_usd": v["total_cost_usd"],
                        "num_turns": v["num_turns"], "duration_ms": v["duration_ms"]}),
                ));
            }
            let is_error = v["is_error"].as_bool().unwrap_or(false)
                || v["subtype"].as_str().is_some_and(|s| s != "success");
            out.push((
                "result",
                json!({"text": v["result"], "is_error": is_error, "subtype": v["subtype"],
                    "session_id": v["session_id"]}),
            ));
        }
        _ => out.push(("log", json!({"stream": "stdout", "raw": v}))),
    }
    out
}

fn content_block(role: &str, block: &Value, out: &mut Vec<Adapted>) {
    match block["type"].as_str().unwrap_or("") {
        "text" => out.push(("message", json!({"role": role, "text": block["text"]}))),
        "thinking" => out.push((
            "message",
            json!({"role": role, "thinking": true, "text": block["thinking"]}),
        )),
        "tool_use" => {
            let name = block["name"].as_str().unwrap_or("");
            out.push((
                "tool_call",
                json!({"id": block["id"], "name": name, "input": block["input"]}),
            ));
            if let Some((_, field)) = FILE_TOOLS.iter().find(|(t, _)| *t == name) {
                if let Some(path) = block["input"][field].as_str() {
                    out.push(("file_change", json!({"path": path, "tool": name})));
                }
            }
        }
        "tool_result" => out.push((
            "tool_result",
            json!({"id": block["tool_use_id"], "is_error": block["is_error"].as_bool()
                .unwrap_or(false), "content": block["content"]}),
        )),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(evs: &[Adapted]) -> Vec<&'static str> {
        evs.iter().map(|(k, _)| *k).collect()
    }

    #[test]
    fn claude_stream_json_maps_to_the_shared_shape() {
        let a = Adapter::ClaudeStreamJson;
        let evs = a.line(
            Stream::Stdout,
            r#"{"type":"system","subtype":"init","session_id":"s1","model":"m"}"#,
        );
        assert_eq!(evs[0].1["session_id"], "s1");
        let evs = a.line(
            Stream::Stdout,
            r#"{"type":"assistant","message":{"content":[{"type":"text","text":"hi"},
            {"type":"tool_use","id":"t1","name":"Write","input":{"file_path":"/a","content":"x"}}]}}"#
                .replace('\n', "")
                .as_str(),
        );
        assert_eq!(kinds(&evs), ["message", "tool_call", "file_change"]);
        assert_eq!(evs[2].1["path"], "/a");
        let evs = a.line(
            Stream::Stdout,
            r#"{"type":"user","message":{"content":[{"type":"tool_result","tool_use_id":"t1","content":"ok"}]}}"#,
        );
        assert_eq!(
            (kinds(&evs)[0], &evs[0].1["id"]),
            ("tool_result", &json!("t1"))
        );
        let evs = a.line(
            Stream::Stdout,
            r#"{"type":"result","subtype":"success","is_error":false,"result":"done","usage":{"input_tokens":3},"total_cost_usd":0.01}"#,
        );
        assert_eq!(kinds(&evs), ["usage", "result"]);
        assert_eq!(evs[1].1["is_error"], false);
        assert_eq!(kinds(&a.line(Stream::Stdout, "not json")), ["log"]);
        assert_eq!(kinds(&a.line(Stream::Stderr, "warn")), ["log"]);
        assert!(a.line(Stream::Stdout, "  \r").is_empty());
    }

    #[test]
    fn lines_pass_text_and_json_through() {
        let evs = Adapter::Lines.line(Stream::Stdout, r#"{"k":1}"#);
        assert_eq!(evs[0].1["raw"]["k"], 1);
        let evs = Adapter::Lines.line(Stream::Stdout, "plain");
        assert_eq!(
            evs[0],
            ("message", json!({"role": "agent", "text": "plain"}))
        );
    }
}
