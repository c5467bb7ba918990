//! The host guard: packets arriving from the sandbox bridge addressed to the host itself are
//! dropped, except replies to connections the host opened. Docker filters only forwarded traffic,
//! so without this a sandbox could reach every host port (the API, the preview listener, sshd).
//! What a sandbox reaches beyond the host is [`egress`]'s business. IPv6 needs no rules: it is
//! switched off inside every sandbox (see `config.rs`).

pub(super) mod egress;
pub(super) mod names;

use std::process::Command;

fn rules(bridge: &str) -> [Vec<String>; 2] {
    let base = |extra: &[&str]| {
        let mut v: Vec<String> = vec!["INPUT".into(), "-i".into(), bridge.into()];
        v.extend(extra.iter().map(|s| s.to_string()));
        v.extend(["-m", "comment", "--comment", "sandboxd host guard"].map(String::from));
        v
    };
    [
        base(&[
            "-m",
            "conntrack",
            "--ctstate",
            "ESTABLISHED,RELATED",
            "-j",
            "ACCEPT",
        ]),
        base(&["-j", "DROP"]),
    ]
}

fn iptables(op: &str, rule: &[String]) -> Result<bool, String> {
    let out = Command::new("iptables")
        .arg("-w")
        .arg(op)
        .args(rule)
        .output()
        .map_err(|e| format!("cannot run iptables for the host guard: {e}"))?;
    Ok(out.status.success())
}

/// Whether both rules are in place.
pub(super) fn intact(bridge: &str) -> Result<bool, String> {
    for rule in rules(bridge) {
        if !iptables("-C", &rule)? {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Put the rules in place, ACCEPT before DROP. When only one of them is there (removed by hand),
/// both are removed and inserted again, so the order is right whatever was left.
pub(super) fn install(bridge: &str) -> Result<(), String> {
    if intact(bridge)? {
        return Ok(());
    }
    uninstall(bridge)?;
    let [accept, drop] = rules(bridge);
    for rule in [&drop, &accept] {
        let mut args = vec![rule[0].clone(), "1".to_string()];
        args.extend(rule[1..].iter().cloned());
        let out = Command::new("iptables")
            .arg("-w")
            .arg("-I")
            .args(&args)
            .output()
            .map_err(|e| format!("cannot run iptables: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "iptables refused the host guard rule: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
    }
    Ok(())
}

/// Remove the rules (every copy). Fails only when iptables cannot be run or a rule is still
/// there afterwards.
pub(super) fn uninstall(bridge: &str) -> Result<(), String> {
    for rule in rules(bridge) {
        for _ in 0..8 {
            if !iptables("-D", &rule)? {
                break;
            }
        }
        if iptables("-C", &rule)? {
            return Err(format!("host guard rule for {bridge} could not be removed"));
        }
    }
    Ok(())
}
