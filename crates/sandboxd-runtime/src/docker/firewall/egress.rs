//! The egress chain: what a sandbox may reach beyond the host. Packets forwarded from the sandbox
//! bridge jump (from Docker's `DOCKER-USER`) into a chain of ours that drops, for every sandbox,
//! link-local (cloud metadata at 169.254.169.254), private (RFC 1918), CGNAT, multicast and
//! reserved ranges and every other Docker network's subnet; then, per sandbox, what its policy
//! closes on top (`none`: everything, DNS forwarding included; an allow-list: everything but DNS
//! and its CIDRs, checked after the closed ranges so it can only narrow). Replies to connections that were
//! let through pass, and so does DNS to the host's resolvers (which Docker's embedded resolver
//! forwards from inside the sandbox's network namespace) for sandboxes whose policy allows it.
//!
//! Sandboxes are matched by MAC address, which the runtime sets at container create (derived from
//! the container name, see [`mac_for`]): rules exist before the container first runs, survive
//! restarts and do not depend on which IP Docker hands out; a sandbox cannot change its MAC
//! without `CAP_NET_ADMIN`. The whole chain is written in one `iptables-restore` transaction, and
//! its first rule carries a fingerprint of the desired rules, so a check is one `iptables -S`.

use sandboxd_core::Egress;
use sha2::{Digest, Sha256};
use std::io::Write;
use std::process::{Command, Stdio};

/// Ranges no sandbox reaches, whatever its policy.
pub(crate) const CLOSED_RANGES: &[&str] = &[
    "0.0.0.0/8",
    "10.0.0.0/8",
    "100.64.0.0/10",
    "169.254.0.0/16",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "224.0.0.0/4",
    "240.0.0.0/4",
];

/// One sandbox container as the chain sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SandboxRule {
    pub mac: String,
    pub egress: Egress,
}

/// Everything the chain depends on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Desired {
    /// IPv4 subnets of other Docker networks (dropped unless already in [`CLOSED_RANGES`]).
    pub other_subnets: Vec<String>,
    /// The host's IPv4 name servers (DNS to them passes).
    pub resolvers: Vec<String>,
    pub sandboxes: Vec<SandboxRule>,
}

/// `SANDBOXD-<bridge>`: at most 28 bytes (the bridge name has 14).
pub(crate) fn chain_name(bridge: &str) -> String {
    format!("SANDBOXD-{bridge}")
}

/// A locally administered unicast MAC (`02:5b:…`, outside Docker's `02:42:` range) derived from
/// the container name. The name is itself an opaque keyed hash, so the MAC says nothing either.
pub fn mac_for(container: &str) -> String {
    let d = Sha256::digest(format!("sandboxd mac\0{container}").as_bytes());
    format!("02:5b:{:02x}:{:02x}:{:02x}:{:02x}", d[0], d[1], d[2], d[3])
}

/// The chain's rules (without `-A CHAIN`), in order; the first carries the fingerprint.
pub(crate) fn rules(d: &Desired) -> Vec<String> {
    let mut body: Vec<String> = Vec::new();
    // Per-sandbox policy first: `none` closes DNS forwarding to the host's resolvers too.
    for s in &d.sandboxes {
        if s.egress == Egress::None {
            body.push(format!("-m mac --mac-source {} -j DROP", s.mac));
        }
    }
    for ns in &d.resolvers {
        for proto in ["udp", "tcp"] {
            body.push(format!(
                "-d {ns}/32 -p {proto} -m {proto} --dport 53 -j RETURN"
            ));
        }
    }
    for r in CLOSED_RANGES {
        body.push(format!("-d {r} -j DROP"));
    }
    for s in &d.other_subnets {
        if !CLOSED_RANGES.iter().any(|r| contains(r, s)) {
            body.push(format!("-d {s} -j DROP"));
        }
    }
    // Allow-lists after the closed ranges: listing a private range opens nothing.
    for s in &d.sandboxes {
        if let Egress::Allow(list) = &s.egress {
            for cidr in list {
                body.push(format!("-d {cidr} -m mac --mac-source {} -j RETURN", s.mac));
            }
            body.push(format!("-m mac --mac-source {} -j DROP", s.mac));
        }
    }
    let fp: String = Sha256::digest(body.join("\n").as_bytes())[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let mut all = vec![format!(
        "-m conntrack --ctstate RELATED,ESTABLISHED -m comment --comment \"sandboxd egress {fp}\" -j RETURN"
    )];
    all.extend(body);
    all
}

fn run(args: &[&str]) -> Result<std::process::Output, String> {
    Command::new("iptables")
        .arg("-w")
        .args(args)
        .output()
        .map_err(|e| format!("cannot run iptables for the egress rules: {e}"))
}

/// Whether the chain holds exactly `rules` (by fingerprint and count) and the bridge jumps to it.
pub(crate) fn intact(bridge: &str, rules: &[String]) -> Result<bool, String> {
    let chain = chain_name(bridge);
    let out = run(&["-S", &chain])?;
    if !out.status.success() {
        return Ok(false);
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let listed = text.lines().filter(|l| l.starts_with("-A ")).count();
    let fp = rules[0]
        .split("sandboxd egress ")
        .nth(1)
        .and_then(|t| t.split('"').next())
        .unwrap_or_default();
    let has_fp = text.contains(&format!("sandboxd egress {fp}"));
    Ok(has_fp && listed == rules.len() && jump_present(bridge)?)
}

fn jump_args(bridge: &str) -> Vec<String> {
    ["DOCKER-USER", "-i", bridge, "-j", &chain_name(bridge)]
        .map(String::from)
        .to_vec()
}

fn jump_present(bridge: &str) -> Result<bool, String> {
    let mut args = vec!["-C".to_string()];
    args.extend(jump_args(bridge));
    Ok(run(&args.iter().map(String::as_str).collect::<Vec<_>>())?
        .status
        .success())
}

/// Write the chain (one transaction replacing what it held) and make sure the bridge jumps to it.
pub(crate) fn install(bridge: &str, rules: &[String]) -> Result<(), String> {
    let chain = chain_name(bridge);
    let mut input = format!("*filter\n:{chain} - [0:0]\n-F {chain}\n");
    for r in rules {
        input.push_str(&format!("-A {chain} {r}\n"));
    }
    input.push_str("COMMIT\n");
    let mut child = Command::new("iptables-restore")
        .args(["-w", "--noflush"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run iptables-restore for the egress rules: {e}"))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(input.as_bytes())
            .map_err(|e| format!("writing to iptables-restore: {e}"))?;
    }
    let out = child
        .wait_with_output()
        .map_err(|e| format!("waiting for iptables-restore: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "iptables-restore refused the egress rules: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    if !jump_present(bridge)? {
        let mut args = vec!["-I".to_string(), "DOCKER-USER".into(), "1".into()];
        args.extend(jump_args(bridge)[1..].iter().cloned());
        let out = run(&args.iter().map(String::as_str).collect::<Vec<_>>())?;
        if !out.status.success() {
            return Err(format!(
                "iptables refused the egress jump (is Docker's DOCKER-USER chain there?): {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
    }
    Ok(())
}

/// Packets the chain's DROP rules have counted since it was last written (0 when it is absent).
pub(crate) fn denied(bridge: &str) -> Result<u64, String> {
    let out = run(&["-L", &chain_name(bridge), "-v", "-x", "-n"])?;
    if !out.status.success() {
        return Ok(0);
    }
    Ok(sum_drops(&String::from_utf8_lossy(&out.stdout)))
}

/// Sum the packet counts of `DROP` lines in `iptables -L -v -x -n` output.
fn sum_drops(listing: &str) -> u64 {
    listing
        .lines()
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            let pkts = w.next()?.parse::<u64>().ok()?;
            w.next()?; // bytes
            (w.next()? == "DROP").then_some(pkts)
        })
        .sum()
}

/// Remove the jump (every copy) and the chain.
pub(crate) fn uninstall(bridge: &str) -> Result<(), String> {
    let chain = chain_name(bridge);
    let mut del = vec!["-D".to_string()];
    del.extend(jump_args(bridge));
    let del: Vec<&str> = del.iter().map(String::as_str).collect();
    for _ in 0..8 {
        if !run(&del)?.status.success() {
            break;
        }
    }
    if run(&["-S", &chain])?.status.success() {
        run(&["-F", &chain])?;
        let out = run(&["-X", &chain])?;
        if !out.status.success() {
            return Err(format!(
                "egress chain {chain} could not be removed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
    }
    Ok(())
}

/// An IPv4 CIDR as (network, prefix length).
fn cidr(s: &str) -> Option<(u32, u32)> {
    let (addr, len) = s.split_once('/')?;
    let addr: std::net::Ipv4Addr = addr.parse().ok()?;
    let len: u32 = len.parse().ok().filter(|l| *l <= 32)?;
    Some((u32::from(addr), len))
}

/// Whether CIDR `outer` covers all of `inner` (false when either does not parse).
fn contains(outer: &str, inner: &str) -> bool {
    let (Some((o, ol)), Some((i, il))) = (cidr(outer), cidr(inner)) else {
        return false;
    };
    let mask = if ol == 0 { 0 } else { u32::MAX << (32 - ol) };
    il >= ol && (o & mask) == (i & mask)
}

/// The host's IPv4 name servers from a resolv.conf text (loopback ones are Docker's business:
/// it replaces them with public resolvers).
pub(crate) fn resolvers(resolv_conf: &str) -> Vec<String> {
    resolv_conf
        .lines()
        .filter_map(|l| l.trim().strip_prefix("nameserver"))
        .filter_map(|a| a.trim().parse::<std::net::Ipv4Addr>().ok())
        .filter(|a| !a.is_loopback())
        .map(|a| a.to_string())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_close_private_ranges_then_per_sandbox_policy() {
        let d = Desired {
            other_subnets: vec!["172.17.0.0/16".into(), "198.18.0.0/15".into()],
            resolvers: vec!["10.0.0.2".into()],
            sandboxes: vec![
                SandboxRule {
                    mac: "02:5b:00:00:00:01".into(),
                    egress: Egress::Open,
                },
                SandboxRule {
                    mac: "02:5b:00:00:00:02".into(),
                    egress: Egress::None,
                },
                SandboxRule {
                    mac: "02:5b:00:00:00:03".into(),
                    egress: Egress::Allow(vec!["203.0.113.0/24".into()]),
                },
            ],
        };
        let r = rules(&d);
        assert!(r[0].contains("ESTABLISHED") && r[0].contains("sandboxd egress "));
        let dns = r.iter().position(|x| x.contains("--dport 53")).unwrap();
        let private = r.iter().position(|x| x == "-d 10.0.0.0/8 -j DROP").unwrap();
        assert!(dns < private, "DNS to the host's resolver passes first");
        let none = r
            .iter()
            .position(|x| x.contains("02:5b:00:00:00:02"))
            .unwrap();
        assert!(none < dns, "`none` closes DNS forwarding too");
        assert!(r.contains(&"-d 169.254.0.0/16 -j DROP".to_string()));
        assert!(r.contains(&"-d 198.18.0.0/15 -j DROP".to_string()));
        assert!(!r.iter().any(|x| x.contains("172.17.0.0/16")));
        assert!(r.contains(&"-m mac --mac-source 02:5b:00:00:00:02 -j DROP".to_string()));
        assert!(!r.iter().any(|x| x.contains("02:5b:00:00:00:01")));
        let allow = r
            .iter()
            .position(|x| x == "-d 203.0.113.0/24 -m mac --mac-source 02:5b:00:00:00:03 -j RETURN")
            .unwrap();
        assert!(
            allow > private,
            "an allow-list cannot reopen a closed range"
        );
        assert_eq!(
            r[allow + 1],
            "-m mac --mac-source 02:5b:00:00:00:03 -j DROP"
        );
        let mut other = d.clone();
        other.sandboxes.pop();
        assert_ne!(rules(&other)[0], r[0], "the fingerprint follows the rules");
    }

    #[test]
    fn macs_are_local_unicast_and_stable() {
        let m = mac_for("s-abc");
        assert!(m.starts_with("02:5b:") && m.len() == 17);
        assert_eq!(m, mac_for("s-abc"));
        assert_ne!(m, mac_for("s-abd"));
        assert!(chain_name("sbx-0123456789").len() <= 28);
    }

    #[test]
    fn drop_counters_are_summed() {
        let listing = "Chain SANDBOXD-sbx-1 (1 references)\n    pkts      bytes target     prot opt in     out     source               destination\n      12      900 RETURN     all  --  *      *       0.0.0.0/0            0.0.0.0/0            ctstate RELATED,ESTABLISHED\n       3      180 DROP       all  --  *      *       0.0.0.0/0            10.0.0.0/8\n       4      240 DROP       all  --  *      *       0.0.0.0/0            0.0.0.0/0            MAC 02:5B:00:00:00:02\n";
        assert_eq!(sum_drops(listing), 7);
    }

    #[test]
    fn resolvers_skip_loopback_and_ipv6() {
        let conf =
            "# c\nnameserver 10.255.255.53\nnameserver 127.0.0.53\nnameserver ::1\nsearch x\n";
        assert_eq!(resolvers(conf), vec!["10.255.255.53".to_string()]);
    }
}
