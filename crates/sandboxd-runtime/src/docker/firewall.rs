//! The host guard: packets arriving from the sandbox bridge addressed to the host itself are
//! dropped, except replies to connections the host opened. Docker filters only forwarded traffic,
//! so without this a sandbox could reach every host port (the API, the preview listener, sshd).

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

/// Insert the rules unless present (ACCEPT ends up before DROP).
pub(super) fn install(bridge: &str) -> Result<(), String> {
    let [accept, drop] = rules(bridge);
    for rule in [&drop, &accept] {
        if !iptables("-C", rule)? {
            let mut args = vec!["1".to_string()];
            args.splice(0..0, rule[..1].iter().cloned());
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
