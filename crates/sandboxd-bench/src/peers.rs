//! Reference proxies for figure 5, measured in the same rounds as sandboxd's preview listener.
//! Rule: a peer sees exactly the requests sandboxd sees (same container, same Host header, same
//! load generator) and only ever talks to loopback and to the bench's own container.
//! - The **L4 relay** copies bytes between a loopback listener and the container with no HTTP
//!   work at all (tokio's `copy_bidirectional`, two worker threads like sandboxd's runtime): what
//!   any user-space proxy pays for the extra sockets alone, the floor for figure 5.
//! - **Traefik** (with `--traefik PATH`), the proxy the reference system put in front of its
//!   sandboxes: a file-provider route for the one Host, version checks and telemetry off.
//! - **nginx** ([`nginx`]; `--nginx PATH`, found at /usr/sbin/nginx by default), what many
//!   operators would put there instead.

mod nginx;

pub use nginx::{locate as locate_nginx, Nginx};

use anyhow::{bail, Context, Result};
use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};
use tokio::net::{TcpListener, TcpStream};

/// A byte relay from a loopback port to `target`, on a runtime of its own.
pub struct Relay {
    pub addr: SocketAddr,
    runtime: Option<tokio::runtime::Runtime>,
}

impl Relay {
    pub fn start(target: SocketAddr) -> Result<Self> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("bench-relay")
            .enable_all()
            .build()
            .context("relay runtime")?;
        let std_listener = std::net::TcpListener::bind(("127.0.0.1", 0))?;
        std_listener.set_nonblocking(true)?;
        let addr = std_listener.local_addr()?;
        runtime.spawn(async move {
            let Ok(listener) = TcpListener::from_std(std_listener) else {
                return;
            };
            loop {
                let mut down = match listener.accept().await {
                    Ok((down, _)) => down,
                    Err(e) => {
                        // Out of descriptors and the like: keep serving once it passes.
                        eprintln!("bench: relay accept failed: {e}");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                tokio::spawn(async move {
                    let Ok(mut up) = TcpStream::connect(target).await else {
                        return;
                    };
                    let _ = (down.set_nodelay(true), up.set_nodelay(true));
                    let _ = tokio::io::copy_bidirectional(&mut down, &mut up).await;
                });
            }
        });
        Ok(Relay {
            addr,
            runtime: Some(runtime),
        })
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        // Dropping a runtime inside another's context would panic; this one never blocks.
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

/// A Traefik process routing `host` to `target`; killed when dropped.
pub struct Traefik {
    pub addr: SocketAddr,
    pub pid: u32,
    pub version: String,
    child: tokio::process::Child,
}

impl Traefik {
    pub async fn start(bin: &Path, dir: &Path, host: &str, target: SocketAddr) -> Result<Self> {
        let version = tokio::process::Command::new(bin)
            .arg("version")
            .output()
            .await
            .with_context(|| format!("running {} version", bin.display()))?;
        let version = String::from_utf8_lossy(&version.stdout)
            .lines()
            .find_map(|l| {
                l.trim()
                    .strip_prefix("Version:")
                    .map(|v| v.trim().to_string())
            })
            .unwrap_or_else(|| "unknown".into());
        let addr = free_loopback_port()?;
        let (static_cfg, dynamic_cfg) = (dir.join("traefik.yml"), dir.join("traefik-routes.yml"));
        std::fs::write(&dynamic_cfg, routes_yaml(host, target))?;
        std::fs::write(&static_cfg, static_yaml(addr, &dynamic_cfg))?;
        let log = std::fs::File::create(dir.join("traefik.log"))?;
        let child = tokio::process::Command::new(bin)
            .arg(format!("--configFile={}", static_cfg.display()))
            .stdout(log.try_clone()?)
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {}", bin.display()))?;
        let pid = child.id().context("traefik exited at once")?;
        let mut traefik = Traefik {
            addr,
            pid,
            version,
            child,
        };
        let child = &mut traefik.child;
        wait_routing(addr, host, "traefik", || Ok(child.try_wait()?)).await?;
        Ok(traefik)
    }
}

/// Until a request through the peer at `addr` reaches the app (30 s at most, or until
/// `exited` reports that the peer's process ended).
async fn wait_routing(
    addr: SocketAddr,
    host: &str,
    name: &str,
    mut exited: impl FnMut() -> Result<Option<std::process::ExitStatus>>,
) -> Result<()> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .no_proxy()
        .build()?;
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        let r = client
            .get(format!("http://{addr}/"))
            .header(reqwest::header::HOST, host)
            .send()
            .await;
        if matches!(&r, Ok(r) if r.status() == 200) {
            return Ok(());
        }
        if let Some(status) = exited()? {
            bail!("{name} exited ({status}) before routing; see its log in the bench dir");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    bail!("{name} on {addr} never routed to the app in 30 s")
}

fn free_loopback_port() -> Result<SocketAddr> {
    Ok(std::net::TcpListener::bind(("127.0.0.1", 0))?.local_addr()?)
}

fn static_yaml(addr: SocketAddr, routes: &Path) -> String {
    format!(
        "global:\n  checkNewVersion: false\n  sendAnonymousUsage: false\n\
         entryPoints:\n  web:\n    address: \"{addr}\"\n\
         providers:\n  file:\n    filename: \"{}\"\n\
         log:\n  level: ERROR\n",
        routes.display()
    )
}

fn routes_yaml(host: &str, target: SocketAddr) -> String {
    format!(
        "http:\n  routers:\n    preview:\n      rule: \"Host(`{host}`)\"\n      service: app\n\
         \x20     entryPoints: [web]\n\
         \x20 services:\n    app:\n      loadBalancer:\n        servers:\n\
         \x20         - url: \"http://{target}\"\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traefik_config_routes_one_host_and_phones_nowhere() {
        let s = static_yaml("127.0.0.1:1234".parse().unwrap(), Path::new("/d/r.yml"));
        assert!(s.contains("checkNewVersion: false") && s.contains("sendAnonymousUsage: false"));
        assert!(s.contains("address: \"127.0.0.1:1234\"") && s.contains("filename: \"/d/r.yml\""));
        let r = routes_yaml(
            "s-a-3000.preview.localhost",
            "10.0.0.2:3000".parse().unwrap(),
        );
        assert!(
            r.contains("rule: \"Host(`s-a-3000.preview.localhost`)\""),
            "{r}"
        );
        assert!(r.contains("      entryPoints: [web]\n  services:\n"), "{r}");
        assert!(
            r.contains("          - url: \"http://10.0.0.2:3000\"\n"),
            "{r}"
        );
    }

    #[tokio::test]
    async fn relay_copies_bytes_both_ways() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let upstream = TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
        let target = upstream.local_addr().unwrap();
        let relay = Relay::start(target).unwrap();
        let echo = tokio::spawn(async move {
            let (mut s, _) = upstream.accept().await.unwrap();
            let mut buf = [0u8; 5];
            s.read_exact(&mut buf).await.unwrap();
            s.write_all(&buf).await.unwrap();
        });
        let mut c = TcpStream::connect(relay.addr).await.unwrap();
        c.write_all(b"hello").await.unwrap();
        let mut got = [0u8; 5];
        c.read_exact(&mut got).await.unwrap();
        assert_eq!(&got, b"hello");
        echo.await.unwrap();
    }
}
