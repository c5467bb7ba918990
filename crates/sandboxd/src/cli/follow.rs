//! `sandboxd exec` and `sandboxd ps`: exec starts the command as a background process and follows
//! its output stream live — stdout to stdout, stderr (and nothing else) to stderr — and exits with
//! the command's exit code. Rule: the process belongs to the sandbox, not to this client: a broken
//! stream is resumed from the last event id (no output lost or repeated), and Ctrl-C sends
//! SIGTERM to the process (a second Ctrl-C sends SIGKILL) and keeps following until it exits.

use super::client::Api;
use anyhow::{bail, Context, Result};
use base64::Engine as _;
use reqwest::Method;
use serde_json::{json, Value};
use std::io::Write;

/// Stream reconnections tried in a row before giving up.
const RESUMES: u32 = 5;

/// Runs `cmd` in sandbox `id`, printing its output as it comes; returns its exit code.
pub async fn exec(api: &Api, id: &str, cmd: Vec<String>, timeout: Option<u64>) -> Result<i32> {
    // Listening before the process exists: a Ctrl-C at any point reaches it.
    let mut sigint = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())?;
    let mut body = json!({ "cmd": cmd });
    if let Some(t) = timeout {
        body["timeout_s"] = json!(t);
    }
    let started = api
        .call(
            Method::POST,
            &format!("/v1/sandboxes/{id}/processes"),
            Some(body),
        )
        .await?;
    let pid = started["pid"]
        .as_u64()
        .context("the start answer has no pid")?;
    let mut last_id: u64 = 0;
    let mut interrupts = 0u32;
    let mut failures = 0u32;
    loop {
        let path = format!("/v1/sandboxes/{id}/processes/{pid}/output?since={last_id}");
        let mut resp = api.request(Method::GET, &path, None).send().await?;
        if !resp.status().is_success() {
            let text = resp.text().await.unwrap_or_default();
            bail!("following pid {pid}: {text}");
        }
        let mut buf = String::new();
        loop {
            let chunk = tokio::select! {
                c = resp.chunk() => c,
                _ = sigint.recv() => {
                    interrupts += 1;
                    let signal = if interrupts == 1 { "SIGTERM" } else { "SIGKILL" };
                    let path = format!("/v1/sandboxes/{id}/processes/{pid}/signal");
                    if let Err(e) = api.call(Method::POST, &path, Some(json!({"signal": signal}))).await {
                        eprintln!("sandboxd: sending {signal}: {e:#}");
                    }
                    continue;
                }
            };
            match chunk {
                Ok(Some(bytes)) => buf.push_str(&String::from_utf8_lossy(&bytes)),
                // Ended or broken without an exit: resume after the last event seen.
                Ok(None) | Err(_) => break,
            }
            while let Some(end) = buf.find("\n\n") {
                let block: String = buf.drain(..end + 2).collect();
                failures = 0;
                if let Some(code) = handle(&block, &mut last_id)? {
                    return Ok(code);
                }
            }
        }
        failures += 1;
        if failures > RESUMES {
            bail!("lost the output stream of pid {pid} (it may still run; see `sandboxd ps {id}`)");
        }
    }
}

/// Prints one event; returns the exit code when it is the `exit` event.
fn handle(block: &str, last_id: &mut u64) -> Result<Option<i32>> {
    let (mut event, mut data) = ("message", String::new());
    for line in block.lines() {
        if let Some(v) = line.strip_prefix("event:") {
            event = v.trim();
        } else if let Some(v) = line.strip_prefix("data:") {
            data.push_str(v.strip_prefix(' ').unwrap_or(v));
        } else if let Some(v) = line.strip_prefix("id:") {
            *last_id = v.trim().parse().unwrap_or(*last_id);
        }
    }
    let v: Value = serde_json::from_str(&data).unwrap_or(Value::Null);
    match event {
        "stdout" | "pty" => write(&mut std::io::stdout(), &v)?,
        "stderr" => write(&mut std::io::stderr(), &v)?,
        "gap" => eprintln!("sandboxd: some output was dropped (the client fell behind)"),
        "exit" => return Ok(Some(v["exit_code"].as_i64().unwrap_or(1) as i32)),
        "error" => bail!(
            "{}",
            v["message"].as_str().unwrap_or("the output stream failed")
        ),
        _ => {}
    }
    Ok(None)
}

fn write(out: &mut dyn Write, chunk: &Value) -> Result<()> {
    let bytes = match (chunk["text"].as_str(), chunk["base64"].as_str()) {
        (Some(t), _) => t.as_bytes().to_vec(),
        (None, Some(b)) => base64::engine::general_purpose::STANDARD.decode(b)?,
        _ => Vec::new(),
    };
    out.write_all(&bytes)?;
    out.flush()?;
    Ok(())
}

/// `sandboxd ps ID`: one line per process the agent keeps.
pub async fn ps(api: &Api, id: &str) -> Result<()> {
    let v = api
        .call(Method::GET, &format!("/v1/sandboxes/{id}/processes"), None)
        .await?;
    println!("{:>7}  {:<12} COMMAND", "PID", "TAG");
    for p in v["processes"].as_array().into_iter().flatten() {
        let cmd: Vec<&str> = p["cmd"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        println!(
            "{:>7}  {:<12} {}",
            p["pid"].as_u64().unwrap_or(0),
            p["tag"].as_str().unwrap_or("-"),
            cmd.join(" ")
        );
    }
    Ok(())
}
