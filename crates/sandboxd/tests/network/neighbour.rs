//! A stand-in for the world beyond the host, for the network tests: a network namespace routed
//! from the host (a veth pair on this machine: no traffic leaves it) answering `pong` on port 80
//! at a private LAN address, at the cloud metadata address and at two documentation-range
//! addresses standing in for the internet. Everything it made is undone on drop.
#![allow(dead_code)] // each test binary that includes this uses part of it

use sandboxd_testkit::{rand_u32, TestServer};
use std::net::Ipv4Addr;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

pub fn sh(cmd: &str) -> bool {
    Command::new("sh")
        .args(["-c", cmd])
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

pub fn must(cmd: &str) {
    assert!(sh(cmd), "failed: {cmd}");
}

/// A network namespace routed from the host; everything it made is undone on drop (panics too).
pub struct Neighbour {
    pub ns: String,
    pub host_if: String,
    pub routes: Vec<String>,
    pub lan: Ipv4Addr,
    pub metadata: Ipv4Addr,
    pub public: Ipv4Addr,
    /// A second "internet" address, outside the allow-list of the allow-list test.
    pub other: Ipv4Addr,
}

impl Neighbour {
    /// A neighbour with every address, its third octets drawn from `octets` (test binaries
    /// that run at once draw from disjoint ranges, so their addresses and routes never clash).
    pub fn create(octets: std::ops::Range<u8>) -> Self {
        Self::build(octets, true)
    }

    /// As [`Neighbour::create`] without the metadata address (its host route is one per
    /// machine, so only one test binary may hold it).
    pub fn create_without_metadata(octets: std::ops::Range<u8>) -> Self {
        Self::build(octets, false)
    }

    fn build(octets: std::ops::Range<u8>, metadata: bool) -> Self {
        let tag = format!("{:06x}", rand_u32() & 0xff_ffff);
        let span = u32::from(octets.end - octets.start).max(1);
        let octet = octets.start + (rand_u32() % span) as u8;
        let mut n = Neighbour {
            ns: format!("sbxt-{tag}"),
            host_if: format!("sbxh-{tag}"),
            routes: Vec::new(),
            lan: Ipv4Addr::new(10, 213, octet, 2),
            metadata: Ipv4Addr::new(169, 254, 169, 254),
            public: Ipv4Addr::new(198, 51, 100, octet),
            other: Ipv4Addr::new(203, 0, 113, octet),
        };
        let (ns, hif, nif) = (n.ns.clone(), n.host_if.clone(), format!("sbxn-{tag}"));
        must(&format!("ip netns add {ns}"));
        must(&format!("ip link add {hif} type veth peer name {nif}"));
        must(&format!("ip link set {nif} netns {ns}"));
        must(&format!("ip addr add 10.213.{octet}.1/24 dev {hif}"));
        must(&format!("ip link set {hif} up"));
        for a in [
            format!("{}/24", n.lan),
            format!("{}/32", n.metadata),
            format!("{}/32", n.public),
            format!("{}/32", n.other),
        ] {
            must(&format!("ip -n {ns} addr add {a} dev {nif}"));
        }
        must(&format!("ip -n {ns} link set lo up"));
        must(&format!("ip -n {ns} link set {nif} up"));
        must(&format!(
            "ip -n {ns} route add default via 10.213.{octet}.1"
        ));
        let routed = if metadata {
            vec![n.metadata, n.public, n.other]
        } else {
            vec![n.public, n.other]
        };
        for dst in routed {
            let route = format!("{dst}/32 via {}", n.lan);
            must(&format!("ip route add {route}"));
            n.routes.push(route);
        }
        n
    }

    /// Listen on port 80 inside the namespace: every connection gets `pong`; returns the count
    /// of connections accepted.
    pub async fn serve(&self) -> Arc<AtomicUsize> {
        let path = format!("/var/run/netns/{}", self.ns);
        let listener = std::thread::spawn(move || {
            use std::os::fd::AsRawFd;
            let f = std::fs::File::open(&path).unwrap();
            // SAFETY: setns on this (short-lived) thread only; the fd is valid while `f` lives.
            let rc = unsafe { libc::setns(f.as_raw_fd(), libc::CLONE_NEWNET) };
            assert_eq!(rc, 0, "setns: {}", std::io::Error::last_os_error());
            std::net::TcpListener::bind("0.0.0.0:80").unwrap()
        })
        .join()
        .unwrap();
        listener.set_nonblocking(true).unwrap();
        let listener = tokio::net::TcpListener::from_std(listener).unwrap();
        let count = Arc::new(AtomicUsize::new(0));
        let c = count.clone();
        tokio::spawn(async move {
            while let Ok((mut conn, _)) = listener.accept().await {
                c.fetch_add(1, Ordering::SeqCst);
                let _ = conn.write_all(b"pong\n").await;
            }
        });
        count
    }
}

impl Drop for Neighbour {
    fn drop(&mut self) {
        for r in &self.routes {
            sh(&format!("ip route del {r}"));
        }
        sh(&format!("ip link del {}", self.host_if));
        sh(&format!("ip netns del {}", self.ns));
    }
}

pub async fn host_reaches(addr: Ipv4Addr) -> bool {
    let attempt = async {
        let mut s = tokio::net::TcpStream::connect((addr, 80)).await.ok()?;
        let mut buf = String::new();
        s.read_to_string(&mut buf).await.ok()?;
        Some(buf)
    };
    matches!(
        tokio::time::timeout(Duration::from_secs(3), attempt).await,
        Ok(Some(b)) if b == "pong\n"
    )
}

pub async fn sandbox_reaches(s: &TestServer, id: &str, addr: Ipv4Addr) -> bool {
    let (code, out, _) = s
        .sh(id, &format!("echo hi | nc -w 2 {addr} 80"))
        .await
        .unwrap();
    code == 0 && out == "pong\n"
}
