//! The fake coding-agent CLI the task tests install as `~/bin/claude`: it speaks Claude Code's
//! stream-JSON (init, assistant text, a Write tool call, its result, the final result with usage)
//! over a few seconds, writes a file, echoes `$ANTHROPIC_API_KEY` (which must come back
//! redacted), and on SIGTERM says so and exits 143. `STEPS` and `PAUSE` (env) set its pace; with
//! `CHILD=1` it first starts a long `sleep` in its process group and records its pid.

use sandboxd_testkit::TestServer;

const SCRIPT: &str = r#"#!/bin/sh
trap 'echo "{\"type\":\"assistant\",\"message\":{\"content\":[{\"type\":\"text\",\"text\":\"got SIGTERM\"}]}}"; exit 143' TERM
if [ -n "$CHILD" ]; then sleep 600 & echo $! > "$HOME/child.pid"; fi
echo "{\"type\":\"system\",\"subtype\":\"init\",\"session_id\":\"fake-1\",\"model\":\"fake\",\"cwd\":\"$PWD\"}"
i=1
while [ $i -le ${STEPS:-4} ]; do
  echo "{\"type\":\"assistant\",\"message\":{\"content\":[{\"type\":\"text\",\"text\":\"step $i key=$ANTHROPIC_API_KEY\"}]}}"
  sleep ${PAUSE:-0.4} & wait $!
  i=$((i+1))
done
echo '{"type":"assistant","message":{"content":[{"type":"tool_use","id":"tu1","name":"Write","input":{"file_path":"/home/sandbox/workspace/hello.txt","content":"hi"}}]}}'
echo hi > /home/sandbox/workspace/hello.txt
echo '{"type":"user","message":{"content":[{"type":"tool_result","tool_use_id":"tu1","content":"ok"}]}}'
echo "warning: $ANTHROPIC_API_KEY on stderr" >&2
echo '{"type":"result","subtype":"success","is_error":false,"result":"done","usage":{"input_tokens":10,"output_tokens":5},"total_cost_usd":0.001,"num_turns":1,"duration_ms":5}'
"#;

/// The PATH a task needs to find the fake.
pub const PATH: &str = "/home/sandbox/bin:/usr/local/bin:/usr/bin:/bin";

/// Install the fake in sandbox `id`.
pub async fn install(s: &TestServer, id: &str) {
    let script = format!(
        "mkdir -p ~/bin ~/workspace && cat > ~/bin/claude <<'FAKE'\n{SCRIPT}FAKE\nchmod +x ~/bin/claude"
    );
    let (code, _, err) = s.sh(id, &script).await.unwrap();
    assert_eq!(code, 0, "{err}");
}
