//! One collector per running task: follows the task's process with the agent's `Connect`,
//! replaying after the stored resume point, and stores the adapted events. Rule: it never wakes
//! a sandbox (a stopped or deleted sandbox ends the task as `failed`), reconnects after a lost
//! stream, ends the task exactly once (`succeeded`, `failed`, `cancelled`, with a final `end`
//! event), holds the task's session for its whole life, and stops without touching the task when
//! sandboxd shuts down (the next start resumes it).

use super::adapter::{Adapter, Stream};
use super::reader::Reader;
use crate::activity::SessionGuard;
use crate::{Engine, EngineError};
use sandboxd_agent_client::process_events::{Chunk, ProcessEvent, ProcessMessage, SINCE_HEADER};
use sandboxd_agent_client::{CallError, RpcStream};
use sandboxd_core::{SandboxId, Status};
use sandboxd_store::TaskRow;
use serde_json::json;
use std::time::Duration;

/// Consecutive failed reconnects before a task is given up as `failed`.
const MAX_RETRIES: u32 = 60;
const RETRY_PAUSE: Duration = Duration::from_secs(1);

/// How one attempt to follow the process ended.
enum Attempt {
    /// The process ended (the task is finished).
    Ended,
    /// Not now: try again after a pause.
    Retry(String),
    /// The task cannot go on.
    Fail(String),
}

impl Engine {
    pub(crate) fn spawn_collector(&self, row: TaskRow, guard: SessionGuard) {
        let engine = self.clone();
        let stop = self.inner.shutdown.clone();
        self.spawn(async move {
            tokio::select! {
                _ = stop.cancelled() => {}
                r = engine.collect(row, guard) => if let Err(e) = r {
                    tracing::warn!(error = %e, "task collector failed");
                }
            }
        });
    }

    async fn collect(&self, row: TaskRow, _guard: SessionGuard) -> Result<(), EngineError> {
        let adapter = Adapter::parse(&row.adapter).unwrap_or(Adapter::Lines);
        let mut reader = Reader::new(adapter, row.secrets.clone(), row.progress);
        let mut failures = 0;
        loop {
            match self.follow(&row, &mut reader).await? {
                Attempt::Ended => return Ok(()),
                Attempt::Fail(reason) => {
                    return self.end_task(&row, &mut reader, None, Some(reason)).await
                }
                Attempt::Retry(why) => {
                    failures += 1;
                    if failures > MAX_RETRIES {
                        let reason = format!("lost the task's process output: {why}");
                        return self.end_task(&row, &mut reader, None, Some(reason)).await;
                    }
                    tracing::debug!(task = %row.id, %why, "task output lost; reconnecting");
                    tokio::time::sleep(RETRY_PAUSE).await;
                    // Replay from the stored point: the reader starts over from it.
                    let stored = self.inner.store.task(&row.id).await?;
                    let progress = stored.map(|t| t.progress).unwrap_or(row.progress);
                    reader = Reader::new(adapter, row.secrets.clone(), progress);
                }
            }
        }
    }

    async fn follow(&self, row: &TaskRow, reader: &mut Reader) -> Result<Attempt, EngineError> {
        let id = SandboxId::from_trusted(row.sandbox_id.clone());
        let Some(ep) = self.agent_endpoint(&id).await? else {
            return Ok(match self.inner.store.get(&id).await? {
                Some(sb) if sb.status == Status::Running || sb.status == Status::Creating => {
                    Attempt::Retry("the sandbox's agent has no address yet".into())
                }
                Some(sb) => Attempt::Fail(format!(
                    "the sandbox became {} while the task ran",
                    sb.status.as_str()
                )),
                None => Attempt::Fail("the sandbox is gone".into()),
            });
        };
        let since = reader.progress().resume_seq;
        let header = [(
            hyper::header::HeaderName::from_static(SINCE_HEADER),
            hyper::header::HeaderValue::from(since),
        )];
        let req = json!({"process": {"pid": row.pid}});
        let mut events: RpcStream<ProcessMessage> = match self
            .agent_client()
            .stream(
                &ep.client_endpoint(),
                "/process.Process/Connect",
                &req,
                &header,
            )
            .await
        {
            Ok(s) => s,
            Err(e) => return Ok(lost(e)),
        };
        loop {
            let msg = match events.next().await {
                Some(Ok(m)) => m,
                Some(Err(e)) => return Ok(lost(e)),
                None => return Ok(Attempt::Retry("the agent ended the stream".into())),
            };
            let mut stored = Vec::new();
            if msg.gap {
                let data =
                    json!({"message": "some of the agent's output was dropped before it was read"});
                stored.push(("error".to_string(), data.to_string()));
            }
            match msg.event {
                ProcessEvent::Start { .. } | ProcessEvent::Keepalive {} => {}
                ProcessEvent::Data(chunk) => {
                    let (stream, bytes) = match chunk {
                        Chunk::Stdout(b) | Chunk::Pty(b) => (Stream::Stdout, b),
                        Chunk::Stderr(b) => (Stream::Stderr, b),
                    };
                    stored.extend(reader.chunk(msg.seq, stream, &bytes));
                    self.inner
                        .store
                        .append_task_events(&row.id, stored, reader.progress())
                        .await?;
                    self.tasks_changed();
                    continue;
                }
                ProcessEvent::End(end) => {
                    let mut rest = stored;
                    rest.extend(reader.finish());
                    if !rest.is_empty() {
                        self.inner
                            .store
                            .append_task_events(&row.id, rest, reader.progress())
                            .await?;
                    }
                    let code = i64::from(end.shell_code());
                    // The agent kills the group with SIGKILL at the deadline.
                    let elapsed_ms = self.now_ms() - row.created_at_ms;
                    let reason = (code != 0).then(|| match row.timeout_s {
                        Some(t) if code == 137 && elapsed_ms >= (t * 1000) as i64 => {
                            format!("timed out after {t} s")
                        }
                        _ => format!("the agent exited: {}", end.status),
                    });
                    self.end_task(row, reader, Some(code), reason).await?;
                    return Ok(Attempt::Ended);
                }
            }
            if !stored.is_empty() {
                self.inner
                    .store
                    .append_task_events(&row.id, stored, reader.progress())
                    .await?;
                self.tasks_changed();
            }
        }
    }

    /// Record the end (once): the final `end` event, then the status.
    async fn end_task(
        &self,
        row: &TaskRow,
        reader: &mut Reader,
        exit_code: Option<i64>,
        reason: Option<String>,
    ) -> Result<(), EngineError> {
        let now = self.inner.store.task(&row.id).await?;
        let cancelled = now.as_ref().is_some_and(|t| t.cancel_requested);
        let status = match (cancelled, exit_code) {
            (true, _) => "cancelled",
            (false, Some(0)) => "succeeded",
            _ => "failed",
        };
        let reason = if cancelled {
            Some("cancelled".to_string())
        } else {
            reason
        };
        let data = json!({"status": status, "exit_code": exit_code, "reason": reason});
        let end = vec![("end".to_string(), reader.redact(data.to_string()))];
        self.inner
            .store
            .append_task_events(&row.id, end, reader.progress())
            .await?;
        let at = self.now_ms();
        self.inner
            .store
            .finish_task(&row.id, status, reason, exit_code, at)
            .await?;
        self.tasks_changed();
        Ok(())
    }
}

/// A failed `Connect`: an unknown process is final; anything else is worth another try.
fn lost(e: CallError) -> Attempt {
    match e {
        CallError::Rpc { code, .. } if code == "not_found" => Attempt::Fail(
            "the task's process is gone (its sandbox was restarted or its container recreated)"
                .into(),
        ),
        e => Attempt::Retry(e.to_string()),
    }
}
