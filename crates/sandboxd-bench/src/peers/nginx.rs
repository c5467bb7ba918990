//! nginx as a reference proxy (`--nginx PATH`, by default `/usr/sbin/nginx` when present, from
//! Debian's `nginx-light`): what many operators would put in front of the sandboxes instead.
//! Rule: it is configured the way one would tune it for this job — one worker per core, upstream
//! keep-alive, `proxy_buffering off`, the client's Host and the `X-Forwarded-*` trio passed on,
//! HTTP/1.1 to the same container address sandboxd proxies to — entirely inside the bench's temp
//! dir (config, pid file, error log, temp paths; `-p`/`-e` keep it from touching /var/log or
//! /var/lib, so it runs as any user), in the foreground as the bench's child, and is stopped
//! (SIGTERM to the master, which ends its workers; SIGKILL after a bounded wait) when dropped.

use super::{free_loopback_port, wait_routing};
use anyhow::{Context, Result};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The path `--nginx` defaults to.
pub const DEFAULT_BIN: &str = "/usr/sbin/nginx";

/// `--nginx PATH` when given, else the Debian binary when installed.
pub fn locate(given: Option<&Path>) -> Option<PathBuf> {
    match given {
        Some(p) => Some(p.to_path_buf()),
        None => Some(PathBuf::from(DEFAULT_BIN)).filter(|p| p.is_file()),
    }
}

/// An nginx master (and its workers) routing `host` to `target`; stopped when dropped.
pub struct Nginx {
    pub addr: SocketAddr,
    pub pid: u32,
    pub version: String,
    child: std::process::Child,
}

impl Nginx {
    pub async fn start(bin: &Path, dir: &Path, host: &str, target: SocketAddr) -> Result<Self> {
        let version = tokio::process::Command::new(bin)
            .arg("-v")
            .output()
            .await
            .with_context(|| format!("running {} -v", bin.display()))?;
        // `nginx -v` prints "nginx version: nginx/1.22.1" on stderr.
        let version = String::from_utf8_lossy(&version.stderr)
            .trim()
            .rsplit('/')
            .next()
            .unwrap_or("unknown")
            .to_string();
        let root = dir.join("nginx");
        std::fs::create_dir_all(root.join("tmp"))
            .with_context(|| format!("creating {}", root.display()))?;
        let addr = free_loopback_port()?;
        let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
        let conf = root.join("nginx.conf");
        std::fs::write(&conf, config(&root, workers, addr, host, target))?;
        let log = std::fs::File::create(root.join("stderr.log"))?;
        let child = std::process::Command::new(bin)
            .arg("-p")
            .arg(&root)
            .arg("-e")
            .arg(root.join("error.log"))
            .arg("-c")
            .arg(&conf)
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .with_context(|| format!("starting {}", bin.display()))?;
        let mut nginx = Nginx {
            addr,
            pid: child.id(),
            version,
            child,
        };
        let child = &mut nginx.child;
        wait_routing(addr, host, "nginx", || Ok(child.try_wait()?)).await?;
        Ok(nginx)
    }

    /// CPU seconds of the master `pid` and its workers so far.
    pub fn cpu_of(pid: u32) -> Option<f64> {
        let mut total = crate::child::cpu_seconds(pid)?;
        for pid in children(pid) {
            total += crate::child::cpu_seconds(pid).unwrap_or(0.0);
        }
        Some(total)
    }
}

/// Processes whose parent is `pid` (nginx's workers).
fn children(pid: u32) -> Vec<u32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&p| {
            std::fs::read_to_string(format!("/proc/{p}/stat"))
                .ok()
                .and_then(|s| {
                    // The parent pid is the second field after the command name.
                    let rest = s.rsplit_once(')')?.1.to_string();
                    rest.split_whitespace().nth(1)?.parse::<u32>().ok()
                })
                == Some(pid)
        })
        .collect()
}

impl Drop for Nginx {
    fn drop(&mut self) {
        // SIGTERM is nginx's fast shutdown: the master ends its workers, then exits. Killing the
        // master alone would leave the workers serving the port.
        // SAFETY: kill has no memory-safety preconditions; the pid is our own child's, not yet
        // reaped (it is only reaped by the wait below), so it cannot name another process.
        unsafe {
            libc::kill(self.pid as libc::pid_t, libc::SIGTERM);
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if !matches!(self.child.try_wait(), Ok(None)) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        eprintln!("bench: nginx did not stop in 5 s; killing it");
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn config(root: &Path, workers: usize, addr: SocketAddr, host: &str, target: SocketAddr) -> String {
    let r = root.display();
    format!(
        "daemon off;\nmaster_process on;\nworker_processes {workers};\npid {r}/nginx.pid;\n\
         error_log {r}/error.log error;\n\
         events {{ worker_connections 4096; }}\n\
         http {{\n\
         \x20 access_log off;\n\
         \x20 keepalive_requests 1000000;\n\
         \x20 client_body_temp_path {r}/tmp/body;\n\
         \x20 proxy_temp_path {r}/tmp/proxy;\n\
         \x20 fastcgi_temp_path {r}/tmp/fastcgi;\n\
         \x20 uwsgi_temp_path {r}/tmp/uwsgi;\n\
         \x20 scgi_temp_path {r}/tmp/scgi;\n\
         \x20 upstream app {{\n    server {target};\n    keepalive 256;\n    keepalive_requests 1000000;\n  }}\n\
         \x20 server {{\n\
         \x20   listen {addr};\n\
         \x20   server_name {host};\n\
         \x20   location / {{\n\
         \x20     proxy_pass http://app;\n\
         \x20     proxy_http_version 1.1;\n\
         \x20     proxy_set_header Connection \"\";\n\
         \x20     proxy_set_header Host $http_host;\n\
         \x20     proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;\n\
         \x20     proxy_set_header X-Forwarded-Proto $scheme;\n\
         \x20     proxy_set_header X-Forwarded-Host $http_host;\n\
         \x20     proxy_buffering off;\n\
         \x20   }}\n\
         \x20 }}\n\
         }}\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_keeps_everything_in_the_temp_dir_and_tunes_the_upstream() {
        let c = config(
            Path::new("/t/nginx"),
            2,
            "127.0.0.1:1234".parse().unwrap(),
            "s-a-3000.preview.localhost",
            "10.0.0.2:3000".parse().unwrap(),
        );
        for want in [
            "worker_processes 2;",
            "pid /t/nginx/nginx.pid;",
            "error_log /t/nginx/error.log error;",
            "proxy_temp_path /t/nginx/tmp/proxy;",
            "server 10.0.0.2:3000;",
            "keepalive 256;",
            "listen 127.0.0.1:1234;",
            "proxy_http_version 1.1;",
            "proxy_set_header Connection \"\";",
            "proxy_set_header Host $http_host;",
            "proxy_buffering off;",
            "daemon off;",
        ] {
            assert!(c.contains(want), "{want} missing from:\n{c}");
        }
        assert!(!c.contains("/var/"), "{c}");
    }

    #[test]
    fn an_explicit_path_wins_over_the_default() {
        let p = Path::new("/opt/nginx/sbin/nginx");
        assert_eq!(locate(Some(p)).as_deref(), Some(p));
    }
}
