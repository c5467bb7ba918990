//! The agent in a real sandbox (issue 8): its binary is mounted read-only and executable, the
//! init supervises it (restarts after exits), and its access token reaches neither exec'd
//! commands nor the start command nor init's own /proc environ, and is rotated when the
//! container is re-created. The agent answers only with that token, runs what it starts as the
//! sandbox user, and when it is killed the init starts it again and it answers again.

use bollard::container::{LogOutput, LogsOptions, RemoveContainerOptions};
use futures_util::StreamExt;
use sandboxd_agent_client::{AgentClient, CallError, Endpoint};
use sandboxd_core::SandboxId;
use sandboxd_engine::AgentEndpoint;
use sandboxd_testkit::dexec::{docker_sh, KILL_AGENT};
use sandboxd_testkit::{docker, TestServer};
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

const START: &str = "env > /tmp/start-env; exec sleep 100000";

async fn endpoint(s: &TestServer, id: &str) -> Option<AgentEndpoint> {
    let running = s.running.as_ref().expect("server running");
    let id = SandboxId::parse_lookup(id).expect("id");
    running
        .engine
        .agent_endpoint(&id)
        .await
        .expect("agent endpoint")
}

/// Bounded wait for `check` to give a value.
async fn wait_for<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + Duration::from_secs(40);
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Distinct pids of `agent running pid=N` lines the init logged.
async fn agent_pids(container: &str) -> BTreeSet<u32> {
    let opts = LogsOptions::<String> {
        stdout: true,
        stderr: true,
        ..Default::default()
    };
    let d = docker().await.expect("docker");
    let mut logs = d.logs(container, Some(opts));
    let mut pids = BTreeSet::new();
    while let Some(Ok(item)) = logs.next().await {
        let (LogOutput::StdErr { message } | LogOutput::StdOut { message }) = item else {
            continue;
        };
        let text = String::from_utf8_lossy(&message);
        for line in text.lines() {
            if let Some(pid) = line.strip_prefix("sandboxd-init: agent running pid=") {
                pids.extend(pid.trim().parse::<u32>().ok());
            }
        }
    }
    pids
}

/// `id -u` run through the agent's process.Start, as the SDK would.
async fn agent_uid(client: &AgentClient, ep: &Endpoint) -> Result<String, CallError> {
    let req = serde_json::json!({"process": {"cmd": "/bin/sh", "args": ["-c", "id -u"]}});
    let mut stream = client
        .stream::<_, serde_json::Value>(ep, "/process.Process/Start", &req, &[])
        .await?;
    let mut out = Vec::new();
    while let Some(msg) = stream.next().await {
        let msg = msg?;
        if let Some(b64) = msg["event"]["data"]["stdout"].as_str() {
            use base64::Engine as _;
            out.extend(
                base64::engine::general_purpose::STANDARD
                    .decode(b64)
                    .unwrap(),
            );
        }
    }
    Ok(String::from_utf8_lossy(&out).trim().to_string())
}

/// Asserts that nothing a user runs in the sandbox sees `token`.
async fn assert_token_hidden(s: &TestServer, id: &str, token: &str) {
    let (code, env, _) = s.sh(id, "env").await.unwrap();
    assert_eq!(code, 0);
    assert!(env.contains("SANDBOX_ID="), "exec env looks wrong: {env}");
    assert!(!env.contains("SANDBOXD_AGENT_TOKEN"), "exec env: {env}");
    assert!(!env.contains(token), "token in exec env");

    let start_env = wait_for("the start command's env", || async {
        let (code, out, _) = s.sh(id, "cat /tmp/start-env").await.ok()?;
        (code == 0 && out.contains("SANDBOX_ID=")).then_some(out)
    })
    .await;
    assert!(!start_env.contains("SANDBOXD_AGENT_TOKEN"), "{start_env}");
    assert!(
        !start_env.contains(token),
        "token in the start command's env"
    );

    let (_, init_env, _) = s.sh(id, "tr '\\0' '\\n' < /proc/1/environ").await.unwrap();
    assert!(
        init_env.contains("SANDBOX_ID="),
        "init environ unreadable: {init_env}"
    );
    assert!(!init_env.contains(token), "token in /proc/1/environ");
}

#[tokio::test]
async fn agent_is_mounted_supervised_and_its_token_hidden_and_rotated() {
    let s = TestServer::start().await.unwrap();
    let body = serde_json::json!({"id": "agentboot", "start": START}).to_string();
    let id = s.create(&body).await.unwrap();
    let name = s.container_name(&id);

    // Mounted read-only and executable for the sandbox user.
    let (code, out, err) = s
        .sh(
            &id,
            "test -x /.sandboxd/agent && test ! -w /.sandboxd/agent && \
             grep ' /.sandboxd/agent ' /proc/mounts",
        )
        .await
        .unwrap();
    assert_eq!(code, 0, "{out} {err}");
    let options = out.split_whitespace().nth(3).unwrap_or("");
    assert!(options.split(',').any(|o| o == "ro"), "mount: {out}");

    let first = endpoint(&s, &id)
        .await
        .expect("endpoint of a running sandbox");
    assert_eq!(first.addr.port(), 49983);
    // The container is handed the stored token (and only the init's scrubbing hides it).
    let d = docker().await.unwrap();
    let env = d
        .inspect_container(&name, None)
        .await
        .unwrap()
        .config
        .unwrap()
        .env
        .unwrap();
    let handed = format!("SANDBOXD_AGENT_TOKEN={}", first.token.expose());
    assert!(
        env.contains(&handed),
        "container env lacks the stored token"
    );
    assert_token_hidden(&s, &id, first.token.expose()).await;

    // The agent answers with the stored token only, and runs commands as the sandbox user.
    let client = AgentClient::new();
    let ep = Endpoint {
        addr: first.addr,
        token: first.token.expose().to_string(),
    };
    wait_for("the agent to answer", || async {
        client.healthy(&ep).await.then_some(())
    })
    .await;
    assert_eq!(agent_uid(&client, &ep).await.as_deref(), Ok("1000"));
    let forged = Endpoint {
        token: "0".repeat(64),
        ..ep.clone()
    };
    let refused = agent_uid(&client, &forged).await.unwrap_err();
    assert_eq!(refused.code(), Some("unauthenticated"), "{refused}");

    // Killed, it is started again by the init (after a 1 s backoff) while the sandbox keeps
    // working, and answers again. (Killed from a `docker exec`: a command run through the agent
    // cannot report after killing the agent that reports for it.)
    let (code, out) = docker_sh(&name, KILL_AGENT).await.unwrap();
    assert_eq!(code, 0, "{out}");
    let pids = wait_for("a second agent start", || async {
        let pids = agent_pids(&name).await;
        (pids.len() >= 2).then_some(pids)
    })
    .await;
    assert!(pids.len() >= 2, "{pids:?}");
    let (code, _, _) = s.sh(&id, "true").await.unwrap();
    assert_eq!(code, 0, "sandbox unusable while the agent restarts");
    let uid = wait_for("the restarted agent to answer", || async {
        agent_uid(&client, &ep).await.ok()
    })
    .await;
    assert_eq!(uid, "1000");

    // A re-created container gets a new token.
    let opts = RemoveContainerOptions {
        force: true,
        ..Default::default()
    };
    d.remove_container(&name, Some(opts)).await.unwrap();
    let second = wait_for("a re-created container with a new token", || async {
        let ep = endpoint(&s, &id).await?;
        let running = d
            .inspect_container(&name, None)
            .await
            .ok()?
            .state?
            .running?;
        (running && ep.token != first.token).then_some(ep)
    })
    .await;
    assert_ne!(second.token, first.token);
    assert_token_hidden(&s, &id, second.token.expose()).await;
}
