//! `sandboxd uninstall` against the real engine: refused while a sandboxd owns the data dir, for
//! another installation's data dir (another instance marker, or another installation id for the
//! same instance) or a dir that is not sandboxd's, and without --yes for
//! --purge-data; then it removes the installation's containers (running and
//! stopped), network and host-guard rules, and with --purge-data its data dir — and nothing of
//! another installation on the same engine.

use bollard::network::InspectNetworkOptions;
use sandboxd_testkit::{containers_of, docker, TestServer};
use std::process::Command;

fn uninstall(instance: &str, data: &std::path::Path, extra: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_sandboxd"))
        .args(["uninstall", "--instance", instance, "--data-dir"])
        .arg(data)
        .args(extra)
        .output()
        .expect("running sandboxd uninstall")
}

#[tokio::test]
async fn uninstall_removes_one_installation_and_nothing_else() {
    let s = TestServer::start().await.unwrap();
    let other = TestServer::start().await.unwrap();
    s.create("").await.unwrap();
    let stopped = s.create("").await.unwrap();
    let (st, _) = s
        .call("POST", &format!("/v1/sandboxes/{stopped}/stop"), None)
        .await
        .unwrap();
    assert_eq!(st, 200);
    let survivor = other.create("").await.unwrap();
    let d = docker().await.unwrap();
    let network = format!("sandboxd-{}", s.instance);
    let info = d
        .inspect_network(&network, None::<InspectNetworkOptions<String>>)
        .await
        .unwrap();
    let bridge = info.options.unwrap()["com.docker.network.bridge.name"].clone();

    // A live sandboxd owns the data dir: refused, nothing touched.
    let out = uninstall(&s.instance, s.data.path(), &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("in use by another sandboxd"), "{err}");
    assert_eq!(s.containers().await.unwrap().len(), 2);

    let (data, instance) = s.stop_keep().await;
    // Not this installation's data dir, or not a data dir at all: refused, nothing touched.
    let out = uninstall(&other.instance, data.path(), &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("belongs to installation"),
        "{err}"
    );
    let stranger = tempfile::tempdir().unwrap();
    std::fs::write(stranger.path().join("precious"), "keep me").unwrap();
    let out = uninstall(&instance, stranger.path(), &["--purge-data", "--yes"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("not a sandboxd data dir"),
        "{err}"
    );
    assert!(stranger.path().join("precious").exists());
    assert_eq!(containers_of(&instance).await.unwrap().len(), 2);
    assert_eq!(other.containers().await.unwrap().len(), 1);

    // Another installation's data dir for the same instance name (a copy of this one's state
    // with its own installation id): refused before anything is removed.
    let impostor = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(impostor.path().join("state")).unwrap();
    std::fs::copy(
        data.path().join("state/sandboxd.db"),
        impostor.path().join("state/sandboxd.db"),
    )
    .unwrap();
    std::fs::write(impostor.path().join("state/installation"), "someone-else\n").unwrap();
    let out = uninstall(&instance, impostor.path(), &["--purge-data", "--yes"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success()
            && err.contains("belongs to installation")
            && err.contains("nothing was removed"),
        "{err}"
    );
    assert_eq!(containers_of(&instance).await.unwrap().len(), 2);
    assert!(impostor.path().join("state/sandboxd.db").exists());

    let out = uninstall(&instance, data.path(), &["--purge-data"]);
    assert!(!out.status.success(), "--purge-data needs --yes");
    assert!(data.path().join("workspaces").exists());

    // The sandboxes' size-limited workspaces are mounted until uninstall releases them.
    let mounts_under = |p: &std::path::Path| {
        let p = std::fs::canonicalize(p).unwrap_or(p.to_path_buf());
        std::fs::read_to_string("/proc/self/mountinfo")
            .unwrap()
            .lines()
            .filter(|l| {
                l.split(' ')
                    .nth(4)
                    .is_some_and(|m| std::path::Path::new(m).starts_with(&p))
            })
            .count()
    };
    let data_path = std::fs::canonicalize(data.path()).unwrap();
    assert_eq!(mounts_under(&data_path), 2);
    let out = uninstall(&instance, data.path(), &["--purge-data", "--yes"]);
    assert_eq!(
        mounts_under(&data_path),
        0,
        "uninstall left workspace mounts"
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("removed 2 container(s)"), "{stdout}");
    assert!(containers_of(&instance).await.unwrap().is_empty());
    let gone = d
        .inspect_network(&network, None::<InspectNetworkOptions<String>>)
        .await;
    assert!(gone.is_err(), "network {network} left behind");
    let rules = Command::new("iptables")
        .args(["-S", "INPUT"])
        .output()
        .unwrap();
    let rules = String::from_utf8_lossy(&rules.stdout);
    assert!(!rules.contains(&bridge), "host-guard rules left: {rules}");
    let rules = Command::new("iptables").args(["-S"]).output().unwrap();
    let rules = String::from_utf8_lossy(&rules.stdout);
    assert!(
        !rules.contains(&format!("SANDBOXD-{bridge}")),
        "egress chain or its jump left: {rules}"
    );
    assert!(!data.path().exists(), "data dir left behind");

    // The other installation is untouched.
    let (_, v) = other
        .call("GET", &format!("/v1/sandboxes/{survivor}"), None)
        .await
        .unwrap();
    assert_eq!(v["status"], "running", "{v}");
    let (code, out, _) = other.sh(&survivor, "echo still here").await.unwrap();
    assert_eq!((code, out.as_str()), (0, "still here\n"));
}
