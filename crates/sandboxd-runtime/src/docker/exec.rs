//! Exec and logs. Output is collected up to a cap per stream; the rest is still read (so the
//! process never blocks on a full pipe) but dropped, and the result says it was truncated.

use super::{map_err, DockerRuntime};
use crate::{ExecOutput, ExecRequest, LogLine, RuntimeError};
use bollard::container::{LogOutput, LogsOptions};
use bollard::exec::{CreateExecOptions, StartExecOptions, StartExecResults};
use futures_util::StreamExt;

pub(super) async fn run(rt: &DockerRuntime, req: ExecRequest) -> Result<ExecOutput, RuntimeError> {
    let opts = CreateExecOptions {
        attach_stdout: Some(true),
        attach_stderr: Some(true),
        attach_stdin: Some(false),
        tty: Some(false),
        env: Some(req.env.clone()),
        cmd: Some(req.cmd.clone()),
        user: Some(req.user.clone()),
        working_dir: req.cwd.clone(),
        ..Default::default()
    };
    let created = rt
        .docker
        .create_exec(&req.container, opts)
        .await
        .map_err(map_err)?;
    let start = StartExecOptions {
        detach: false,
        tty: false,
        output_capacity: Some(64 * 1024),
    };
    let mut out = ExecOutput::default();
    match rt
        .docker
        .start_exec(&created.id, Some(start))
        .await
        .map_err(map_err)?
    {
        StartExecResults::Attached { mut output, .. } => {
            while let Some(item) = output.next().await {
                match item.map_err(map_err)? {
                    LogOutput::StdOut { message } => append(
                        &mut out.stdout,
                        &mut out.stdout_truncated,
                        &message,
                        req.output_cap,
                    ),
                    LogOutput::StdErr { message } => append(
                        &mut out.stderr,
                        &mut out.stderr_truncated,
                        &message,
                        req.output_cap,
                    ),
                    _ => {}
                }
            }
        }
        StartExecResults::Detached => {}
    }
    let inspect = rt.docker.inspect_exec(&created.id).await.map_err(map_err)?;
    out.exit_code = inspect.exit_code.unwrap_or(-1);
    Ok(out)
}

fn append(buf: &mut Vec<u8>, truncated: &mut bool, data: &[u8], cap: usize) {
    let room = cap.saturating_sub(buf.len());
    if data.len() > room {
        *truncated = true;
    }
    buf.extend_from_slice(&data[..data.len().min(room)]);
}

pub(super) async fn logs(
    rt: &DockerRuntime,
    name: &str,
    tail: usize,
) -> Result<Vec<LogLine>, RuntimeError> {
    let opts = LogsOptions::<String> {
        stdout: true,
        stderr: true,
        tail: tail.to_string(),
        ..Default::default()
    };
    let mut stream = rt.docker.logs(name, Some(opts));
    let mut lines = Vec::new();
    while let Some(item) = stream.next().await {
        let (stream, message) = match item.map_err(map_err)? {
            LogOutput::StdOut { message } => ("stdout", message),
            LogOutput::StdErr { message } => ("stderr", message),
            LogOutput::Console { message } => ("stdout", message),
            LogOutput::StdIn { .. } => continue,
        };
        let text = String::from_utf8_lossy(&message);
        lines.push(LogLine {
            stream,
            text: text.trim_end_matches('\n').to_string(),
        });
    }
    Ok(lines)
}

#[cfg(test)]
mod tests {
    use super::append;

    #[test]
    fn append_caps_and_flags() {
        let (mut buf, mut t) = (Vec::new(), false);
        append(&mut buf, &mut t, b"hello", 8);
        assert!(!t);
        append(&mut buf, &mut t, b"world", 8);
        assert_eq!(buf, b"hellowor");
        assert!(t);
        append(&mut buf, &mut t, b"more", 8);
        assert_eq!(buf.len(), 8);
    }
}
