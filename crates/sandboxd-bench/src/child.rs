//! Rule: the sandboxd under test is a child process of the bench — by default this very
//! executable run as `sandboxd-bench serve ...`, which `main.rs` hands to `sandboxd::cli::main`,
//! the same code `sandboxd serve` runs (`--sandboxd-bin` starts another binary, e.g.
//! `target/release/sandboxd`, with the same arguments) — on two free loopback ports, a temp data
//! dir and its own instance name, in its own process group, its log in a file — so its resident
//! memory is its own and a Ctrl-C reaches the bench, which stops the child with SIGTERM (SIGKILL
//! after a bounded wait), never the reverse.

use super::raw::Limits;
use anyhow::{bail, Context, Result};
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

/// How long the child gets to become ready, and to exit after SIGTERM.
const READY_TIMEOUT: Duration = Duration::from_secs(90);
const EXIT_TIMEOUT: Duration = Duration::from_secs(15);

pub struct Child {
    proc: tokio::process::Child,
    pub pid: u32,
    pub api: String,
    pub preview_addr: SocketAddr,
    pub log_path: PathBuf,
}

/// A port that was free a moment ago (bind :0, read it, release it).
pub fn free_port() -> Result<u16> {
    let l = TcpListener::bind("127.0.0.1:0").context("binding a probe socket")?;
    Ok(l.local_addr()?.port())
}

pub struct Spawn<'a> {
    pub bin: &'a Path,
    pub data_dir: &'a Path,
    pub instance: &'a str,
    pub image: &'a str,
    pub limits: Limits,
}

impl Child {
    pub fn spawn(s: Spawn<'_>) -> Result<Self> {
        let api_port = free_port()?;
        let mut preview_port = free_port()?;
        for _ in 0..8 {
            if preview_port != api_port {
                break;
            }
            preview_port = free_port()?;
        }
        let log_path = s.data_dir.join("sandboxd.log");
        let log = std::fs::File::create(&log_path)
            .with_context(|| format!("creating {}", log_path.display()))?;
        let api_addr = SocketAddr::from(([127, 0, 0, 1], api_port));
        let preview_addr = SocketAddr::from(([127, 0, 0, 1], preview_port));
        let l = s.limits;
        let mut cmd = tokio::process::Command::new(s.bin);
        cmd.arg("serve")
            .arg("--data-dir")
            .arg(s.data_dir.join("data"))
            .args(["--instance", s.instance])
            .args(["--api-addr", &api_addr.to_string()])
            .args(["--preview-addr", &preview_addr.to_string()])
            .args(["--preview-domain", "preview.localhost"])
            .args(["--image", s.image, "--no-image-build"])
            .args(["--memory-mb", &l.memory_mb.to_string()])
            .args(["--cpus", &l.cpus.to_string()])
            .args(["--pids", &l.pids.to_string()])
            .args(["--nofile", &l.nofile.to_string()])
            .args(["--tmp-mb", &l.tmp_mb.to_string()])
            // Flags win over these, but a token in the environment would turn on auth.
            .env_remove("SANDBOXD_API_TOKEN")
            .env("SANDBOXD_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .process_group(0)
            .kill_on_drop(true);
        let proc = cmd
            .spawn()
            .with_context(|| format!("starting {} serve", s.bin.display()))?;
        let pid = proc.id().context("child exited at once")?;
        Ok(Child {
            proc,
            pid,
            api: format!("http://{api_addr}"),
            preview_addr,
            log_path,
        })
    }

    /// Wait for `GET /readyz` to answer 200 (bounded), failing early if the child exits.
    pub async fn wait_ready(&mut self, client: &reqwest::Client) -> Result<Duration> {
        let started = Instant::now();
        while started.elapsed() < READY_TIMEOUT {
            if let Some(status) = self.proc.try_wait()? {
                bail!(
                    "sandboxd exited during start-up ({status}); its log:\n{}",
                    self.log_tail()
                );
            }
            let probe = client
                .get(format!("{}/readyz", self.api))
                .timeout(Duration::from_secs(2))
                .send()
                .await;
            if matches!(&probe, Ok(r) if r.status().is_success()) {
                return Ok(started.elapsed());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        bail!(
            "sandboxd was not ready after {READY_TIMEOUT:?}; its log:\n{}",
            self.log_tail()
        )
    }

    /// Resident memory of the child (VmRSS), in MiB.
    pub fn rss_mib(&self) -> Result<f64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid))
            .context("reading the child's /proc status")?;
        let kib = sandboxd_engine::memory::kib_field(&status, "VmRSS:").context("no VmRSS line")?;
        Ok(kib as f64 / 1024.0)
    }

    /// The last lines of the child's log (for error messages).
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log_path).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }

    /// SIGTERM, wait (bounded), then SIGKILL. Returns how it ended.
    pub async fn terminate(&mut self) -> String {
        if let Ok(Some(status)) = self.proc.try_wait() {
            return format!("had already exited ({status})");
        }
        // SAFETY: kill(2) with a pid we spawned and have not reaped (try_wait saw it running).
        let sent = unsafe { libc::kill(self.pid as libc::pid_t, libc::SIGTERM) } == 0;
        if sent {
            if let Ok(Ok(status)) = tokio::time::timeout(EXIT_TIMEOUT, self.proc.wait()).await {
                return format!("stopped by SIGTERM ({status})");
            }
        }
        let _ = self.proc.start_kill();
        match tokio::time::timeout(EXIT_TIMEOUT, self.proc.wait()).await {
            Ok(Ok(status)) => format!("killed with SIGKILL ({status})"),
            _ => "did not exit even after SIGKILL".into(),
        }
    }
}

/// CPU time (user + system) of a process so far, in seconds, from /proc/<pid>/stat.
pub fn cpu_seconds(pid: u32) -> Option<f64> {
    cpu_split(pid).map(|(user, sys)| user + sys)
}

/// CPU seconds a process spent in user space and in the kernel so far (`/proc/<pid>/stat`).
pub fn cpu_split(pid: u32) -> Option<(f64, f64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may hold spaces) start after the last ')'.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    let user: f64 = fields.get(11)?.parse().ok()?;
    let sys: f64 = fields.get(12)?.parse().ok()?;
    // SAFETY: sysconf has no preconditions; it only reads a system constant.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    (hz > 0).then(|| (user / hz as f64, sys / hz as f64))
}
