//! Figure 2 (agent paths): the three ways to run `true` in a running sandbox — sandboxd's exec
//! API (which goes through the in-sandbox agent), a raw `docker exec`, and the agent called
//! directly (a raw container started with a bench token, one pooled HTTP connection) — and the
//! first output byte of a streamed process (start it through the API, follow its SSE output until
//! the first `stdout` event) against a raw attached `docker exec` of the same command. Rule: the
//! three exec paths run in one interleaved loop, each round in a rotated order, so drift on a
//! shared host hits them alike.

use super::report::Figure;
use super::stats::Series;
use super::Env;
use anyhow::{bail, Context, Result};
use bollard::container::LogOutput;
use bollard::exec::{CreateExecOptions, StartExecOptions, StartExecResults};
use futures_util::StreamExt;
use sandboxd_agent_client::process_events::{ProcessEvent, ProcessMessage};
use sandboxd_agent_client::{AgentClient, Endpoint, PORT};
use sandboxd_engine::container::HOME;
use std::future::Future;
use std::time::{Duration, Instant};

const SECTION: &str = "2. Exec round trip";
const WARMUP: usize = 3;

async fn timed<F: Future<Output = Result<()>>>(op: F) -> Result<Duration> {
    let t = Instant::now();
    op.await.map(|()| t.elapsed())
}

/// `true` through the agent's process.Start, drained to its end, which must be exit 0.
async fn agent_true(client: &AgentClient, ep: &Endpoint) -> Result<()> {
    let req = serde_json::json!({"process": {"cmd": "true", "cwd": format!("{HOME}/workspace")}});
    let mut s = client
        .stream::<_, ProcessMessage>(ep, "/process.Process/Start", &req, &[])
        .await?;
    while let Some(msg) = s.next().await {
        if let ProcessEvent::End(end) = msg?.event {
            anyhow::ensure!(end.exited && end.exit_code == 0, "agent true: {end:?}");
            return Ok(());
        }
    }
    bail!("agent stream ended without an end event")
}

/// The raw agent's endpoint, once it answers (bounded wait).
async fn raw_agent(env: &Env, client: &AgentClient, name: &str) -> Result<Endpoint> {
    let ep = Endpoint {
        addr: std::net::SocketAddr::new(env.raw.ip(name).await?, PORT),
        token: env.raw.agent_token().expose().to_string(),
    };
    for _ in 0..100 {
        if agent_true(client, &ep).await.is_ok() {
            return Ok(ep);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    bail!("the raw container's agent never answered")
}

/// The exec series of the three paths (API, docker exec, agent direct) on `id` / `name`.
pub async fn exec_paths(env: &Env, id: &str, name: &str) -> Result<(Series, Series, Figure)> {
    let client = AgentClient::new();
    let ep = raw_agent(env, &client, name).await?;
    let (mut api, mut raw, mut direct) = (Series::new(), Series::new(), Series::new());
    for i in 0..WARMUP + env.plan.n_fast {
        let mut round: [Option<Result<Duration>>; 3] = [None, None, None];
        for k in 0..3 {
            let which = (i + k) % 3;
            round[which] = Some(match which {
                0 => timed(env.api.exec_true(id)).await,
                1 => timed(env.raw.exec_true(name)).await,
                _ => timed(agent_true(&client, &ep)).await,
            });
        }
        if i >= WARMUP {
            let [a, r, d] = round.map(|r| r.unwrap_or_else(|| Err(anyhow::anyhow!("not run"))));
            api.record("exec (sandboxd API, agent)", a);
            raw.record("exec (raw docker exec)", r);
            direct.record("exec (agent direct)", d);
        }
    }
    let f = Figure::new(SECTION, "exec_true_agent_direct", "ms", &direct, Some(&raw)).note(
        "process.Start of `true` on a raw container's agent over one pooled connection, \
         against raw docker exec: the floor under sandboxd's exec API",
    );
    Ok((api, raw, f))
}

/// Start `echo x` and wait for its first stdout byte: through the API (process start + SSE),
/// and as a raw attached docker exec.
pub async fn first_output_byte(env: &Env, id: &str, name: &str) -> Result<Figure> {
    let (mut api, mut raw) = (Series::new(), Series::new());
    for i in 0..WARMUP + env.plan.n_fast {
        let (a, r) = if i % 2 == 0 {
            let a = timed(api_first_byte(env, id)).await;
            (a, timed(raw_first_byte(env, name)).await)
        } else {
            let r = timed(raw_first_byte(env, name)).await;
            (timed(api_first_byte(env, id)).await, r)
        };
        if i >= WARMUP {
            api.record("first output byte (sandboxd)", a);
            raw.record("first output byte (raw)", r);
        }
    }
    let f = Figure::new(SECTION, "first_output_byte", "ms", &api, Some(&raw)).note(
        "POST .../processes of `sh -c 'echo x'` then GET .../output until the first stdout \
         event, against docker exec create + start attached until the first output chunk",
    );
    Ok(f)
}

async fn api_first_byte(env: &Env, id: &str) -> Result<()> {
    let base = env.api.base();
    let client = env.api.client();
    let started: serde_json::Value = client
        .post(format!("{base}/v1/sandboxes/{id}/processes"))
        .header("content-type", "application/json")
        .body(r#"{"cmd":["sh","-c","echo x"]}"#)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let pid = started["pid"].as_u64().context("no pid")?;
    let mut resp = client
        .get(format!("{base}/v1/sandboxes/{id}/processes/{pid}/output"))
        .send()
        .await?
        .error_for_status()?;
    let mut seen = String::new();
    while let Some(chunk) = resp.chunk().await? {
        seen.push_str(&String::from_utf8_lossy(&chunk));
        if seen.contains("event: stdout") {
            return Ok(());
        }
    }
    bail!("the output stream ended without stdout: {seen}")
}

async fn raw_first_byte(env: &Env, name: &str) -> Result<()> {
    let docker = &env.raw.docker;
    let opts = CreateExecOptions {
        attach_stdout: Some(true),
        attach_stderr: Some(true),
        cmd: Some(vec!["sh".to_string(), "-c".into(), "echo x".into()]),
        user: Some("1000:1000".to_string()),
        ..Default::default()
    };
    let created = docker.create_exec(name, opts).await?;
    let start = StartExecOptions {
        detach: false,
        tty: false,
        output_capacity: Some(64 * 1024),
    };
    if let StartExecResults::Attached { mut output, .. } =
        docker.start_exec(&created.id, Some(start)).await?
    {
        while let Some(item) = output.next().await {
            if let LogOutput::StdOut { .. } = item? {
                return Ok(());
            }
        }
    }
    bail!("raw exec printed nothing")
}
