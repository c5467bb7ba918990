//! sandboxd-init: PID 1 of every sandbox container, bind-mounted read-only
//! at `/.sandboxd/init` and run without arguments. Run as
//! `/.sandboxd/init exec …` it is instead the wrapper of one `docker exec`
//! command, with a timeout (see the `exec` module), and run as
//! `/.sandboxd/init record-listeners …` it rewrites the relaunch list from
//! the processes listening on TCP (see the `record` module); the rest of
//! this applies to PID 1 only. In every mode the agent token is first taken
//! out of the environment (see the `agent` module).
//!
//! Rule: the init owns the container's lifetime. It reaps every process
//! (orphans included), keeps the agent and the start command running, boots
//! the relaunch list once, and turns SIGTERM/SIGINT/SIGQUIT/SIGHUP into an orderly stop of
//! the whole namespace followed by exit 0. With nothing to run it just waits.
//! All signals it cares about are blocked and consumed synchronously in one
//! loop (`sigtimedwait`); it never installs a handler. It is std-only and is
//! built as a static executable by `sandboxd-runtime`'s build script, so it
//! runs on any rootfs (bare busybox included) and performs no NSS lookups.

mod agent;
mod config;
mod exec;
mod log;
mod record;
mod relaunch;
mod shutdown;
mod spawn;
mod start;
mod sys;

use std::collections::HashMap;
use std::ffi::OsString;
use std::process::ExitStatus;
use std::time::{Duration, Instant};

use agent::Agent;
use config::Config;
use log::log;
use shutdown::Scope;
use start::StartCommand;
use sys::{Reaped, SignalSet, SIGCHLD, SIGHUP, SIGINT, SIGQUIT, SIGTERM};

const TERMINATE: [i32; 4] = [SIGTERM, SIGINT, SIGQUIT, SIGHUP];

/// What the init supervises between boot and shutdown.
struct Supervisor {
    agent: Option<Agent>,
    start: Option<StartCommand>,
    /// Relaunched processes still running: pid → command line.
    relaunched: HashMap<i32, String>,
}

impl Supervisor {
    /// Reaps every exited child and routes its exit to its owner.
    fn reap(&mut self) {
        loop {
            match sys::reap_one() {
                Ok(Reaped::Child { pid, status }) => self.on_exit(pid, status),
                Ok(Reaped::NoneReady | Reaped::NoChildren) => return,
                Err(err) => {
                    log!("waitpid failed: {err}");
                    return;
                }
            }
        }
    }

    fn on_exit(&mut self, pid: i32, status: ExitStatus) {
        if let Some(agent) = self.agent.as_mut() {
            if agent.on_exit(pid, status, Instant::now()) {
                return;
            }
        }
        if let Some(start) = self.start.as_mut() {
            if start.on_exit(pid, status, Instant::now()) {
                return;
            }
        }
        if let Some(label) = self.relaunched.remove(&pid) {
            let how = sys::describe_status(status);
            log!("relaunch pid={pid} exited {how} (not restarted): {label}");
        }
        // Anything else is an orphan or an exec-session leftover: just reaped.
    }

    /// How long the main loop may sleep before the agent or the start
    /// command is due.
    fn timeout(&self) -> Option<Duration> {
        let start = self.start.as_ref().and_then(StartCommand::deadline);
        let agent = self.agent.as_ref().and_then(Agent::deadline);
        let due = start.into_iter().chain(agent).min()?;
        Some(due.saturating_duration_since(Instant::now()))
    }

    fn poll(&mut self) {
        if let Some(agent) = self.agent.as_mut() {
            agent.poll(Instant::now());
        }
        if let Some(start) = self.start.as_mut() {
            start.poll(Instant::now());
        }
    }

    /// Process groups the init started and that may still be alive.
    fn groups(&self) -> Vec<i32> {
        let start = self.start.as_ref().and_then(StartCommand::running_pid);
        let agent = self.agent.as_ref().and_then(Agent::running_pid);
        start
            .into_iter()
            .chain(agent)
            .chain(self.relaunched.keys().copied())
            .collect()
    }
}

fn main() {
    // Before anything can be spawned, in every mode.
    let token = agent::take_token();
    let args: Vec<OsString> = std::env::args_os().collect();
    if args.get(1).is_some_and(|word| word == "exec") {
        std::process::exit(exec::main(&args[2..]));
    }
    if args.get(1).is_some_and(|word| word == "record-listeners") {
        std::process::exit(record::main(&args[2..]));
    }
    let signals = SignalSet::new(&[SIGTERM, SIGINT, SIGQUIT, SIGHUP, SIGCHLD]);
    if let Err(err) = signals.block() {
        log!("cannot block signals: {err}");
        std::process::exit(1);
    }
    let config = Config::from_env();
    let is_pid1 = std::process::id() == 1;
    if !is_pid1 {
        if let Err(err) = sys::become_subreaper() {
            log!("cannot become a child subreaper: {err}");
        }
        log!("not running as PID 1; shutdown will only signal processes started here");
    }

    // The agent first: it is what sandboxd talks to.
    let agent = Agent::boot(agent::AGENT_PATH.into(), token, Instant::now());
    let mut supervisor = Supervisor {
        agent,
        relaunched: config
            .relaunch_file
            .as_deref()
            .map(relaunch::boot)
            .unwrap_or_default(),
        start: config.start.clone().map(|cmd| {
            let start = StartCommand::new(cmd, config.home.clone(), Instant::now());
            if is_pid1 {
                start.publishing_pgid_to(start::pgid::locations())
            } else {
                start
            }
        }),
    };

    let sig = loop {
        supervisor.reap();
        supervisor.poll();
        match signals.wait(supervisor.timeout()) {
            Ok(Some(sig)) if TERMINATE.contains(&sig) => break sig,
            Ok(_) => {}
            Err(err) => {
                log!("waiting for signals failed: {err}");
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    };

    log!(
        "received {}; stopping (grace {}ms)",
        sys::signal_name(sig),
        config.grace.as_millis()
    );
    let scope = if is_pid1 {
        Scope::Namespace
    } else {
        Scope::Groups(supervisor.groups())
    };
    shutdown::run(&signals, &scope, config.grace);
    log!("stopped");
    std::process::exit(0);
}
