//! `docker exec` straight to a sandbox's container, bypassing sandboxd and its agent: for tests
//! that must act on the agent itself (kill it, look at it) without going through it.

use anyhow::Result;
use bollard::container::LogOutput;
use bollard::exec::{CreateExecOptions, StartExecResults};
use futures_util::StreamExt;

/// Runs `sh -c script` in `container` as the sandbox user; returns (exit code, stdout+stderr).
pub async fn docker_sh(container: &str, script: &str) -> Result<(i64, String)> {
    let d = crate::docker().await?;
    let opts = CreateExecOptions {
        cmd: Some(vec!["sh", "-c", script]),
        user: Some("1000:1000"),
        attach_stdout: Some(true),
        attach_stderr: Some(true),
        ..Default::default()
    };
    let created = d.create_exec(container, opts).await?;
    let mut text = String::new();
    if let StartExecResults::Attached { mut output, .. } = d.start_exec(&created.id, None).await? {
        while let Some(item) = output.next().await {
            match item? {
                LogOutput::StdOut { message } | LogOutput::StdErr { message } => {
                    text.push_str(&String::from_utf8_lossy(&message))
                }
                _ => {}
            }
        }
    }
    let code = d.inspect_exec(&created.id).await?.exit_code.unwrap_or(-1);
    Ok((code, text))
}

/// The shell snippet that SIGKILLs every agent process of a sandbox.
pub const KILL_AGENT: &str = "for p in /proc/[0-9]*; do \
    [ \"$(readlink $p/exe)\" = /.sandboxd/agent ] && kill -9 ${p#/proc/}; done; true";
