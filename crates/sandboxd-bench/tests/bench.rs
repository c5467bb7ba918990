//! `sandboxd-bench --quick --wrk` against the real engine: every figure is produced with samples
//! and finite numbers on both sides, the proxy figures carry the L4 relay, the wrk cross-check
//! and (when /usr/sbin/nginx is installed, as scripts/setup.sh does) nginx, and cleanup leaves no container, network or directory behind — checked here independently of
//! what the bench itself reports.

use bollard::container::ListContainersOptions;
use bollard::network::InspectNetworkOptions;
use sandboxd_testkit::docker;
use serde_json::Value;
use std::collections::HashMap;
use std::process::Command;

const FIGURES: &[&str] = &[
    "time_to_interactive",
    "exec_true",
    "stop",
    "start",
    "wake_to_first_byte",
    "wake_frozen_to_first_byte",
    "http_c1",
    "http_c16",
    "http_c64",
    "websocket_echo",
    "burst_5",
    "burst_10",
    "rss_idle",
    "rss_10_stopped",
    "rss_5_running",
    "host_mem_per_running_sandbox",
    "container_mem_per_running_sandbox",
    "exec_true_agent_direct",
    "first_output_byte",
    "terminal_keystroke_echo",
    "agent_rss_idle",
    "file_write_1mib",
    "file_read_1mib",
    "file_write_100mib",
    "file_read_100mib",
];

fn finite_summary(fig: &str, side: &str, s: &Value) {
    let n = s["samples"].as_u64().unwrap_or(0);
    assert!(n > 0, "{fig}: no {side} samples: {s}");
    for p in ["p50", "p90", "p99"] {
        let v = s[p].as_f64();
        assert!(v.is_some_and(f64::is_finite), "{fig}: {side} {p} = {v:?}");
    }
}

#[tokio::test]
async fn quick_bench_produces_every_figure_and_leaves_nothing_behind() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("bench.json");
    let out = Command::new(env!("CARGO_BIN_EXE_sandboxd-bench"))
        .args(["--quick", "--wrk", "--json"])
        .arg(&json)
        .output()
        .expect("running sandboxd-bench");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "bench failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert!(report["error"].is_null(), "{}", report["error"]);

    let figures = report["figures"].as_array().unwrap();
    for name in FIGURES {
        let f = figures
            .iter()
            .find(|f| f["name"] == *name)
            .unwrap_or_else(|| panic!("figure {name} missing"));
        finite_summary(name, "sandboxd", &f["sandboxd"]);
        if !f["raw"].is_null() {
            finite_summary(name, "raw", &f["raw"]);
            let r = f["ratio"]["p50"].as_f64();
            assert!(r.is_some_and(f64::is_finite), "{name}: ratio {r:?}");
        }
        if !f["target"].is_null() {
            assert!(f["met"].is_boolean(), "{name}: target without verdict");
        }
        assert!(
            stdout.contains(&format!("| {name} |")),
            "{name} not in the table"
        );
    }
    // The proxy figures carry the L4 relay floor and sandboxd's kernel share beside them, and
    // nginx when it is installed.
    let nginx = std::path::Path::new("/usr/sbin/nginx").is_file();
    let mut keys = vec![
        "rps_l4_relay",
        "l4_relay_p50_ms",
        "sandboxd_kernel_share",
        "wrk_rps_sandboxd",
        "wrk_rps_raw",
        "wrk_p50_sandboxd_ms",
    ];
    if nginx {
        keys.extend(["rps_nginx", "nginx_p50_ms", "nginx_cpu_us_per_request"]);
    }
    for c in [1, 16, 64] {
        let f = figures.iter().find(|f| f["name"] == format!("http_c{c}"));
        let extra = &f.unwrap()["extra"];
        if nginx {
            let note = f.unwrap()["note"].as_str().unwrap_or("");
            assert!(
                note.contains("nginx 1."),
                "http_c{c} note names no nginx: {note}"
            );
        }
        for key in &keys {
            let v = extra[key].as_f64();
            assert!(
                v.is_some_and(|v| v.is_finite() && v > 0.0),
                "http_c{c} {key}: {v:?}"
            );
        }
    }
    assert!(stdout.contains("Cleanup verified"), "{stdout}");
    assert_eq!(report["cleanup"]["ok"], true, "{}", report["cleanup"]);

    // Independently of the bench's own verdict: nothing of its instance is left.
    let instance = report["instance"].as_str().unwrap();
    let d = docker().await.unwrap();
    for label in ["io.sandboxd.instance", "io.sandboxd.bench"] {
        let opts = ListContainersOptions {
            all: true,
            filters: HashMap::from([("label".to_string(), vec![format!("{label}={instance}")])]),
            ..Default::default()
        };
        let left = d.list_containers(Some(opts)).await.unwrap();
        assert!(left.is_empty(), "containers left with {label}: {left:?}");
    }
    let raw_network = report["raw_network"].as_str().unwrap();
    for net in [format!("sandboxd-{instance}"), raw_network.to_string()] {
        let found = d
            .inspect_network(&net, None::<InspectNetworkOptions<String>>)
            .await;
        assert!(found.is_err(), "network {net} left behind");
    }
    let data_dir = report["data_dir"].as_str().unwrap();
    assert!(
        !std::path::Path::new(data_dir).exists(),
        "{data_dir} left behind"
    );
}
