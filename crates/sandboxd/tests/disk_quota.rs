//! Per-sandbox disk quotas against the real engine: a sandbox writing past its `disk_mb` gets
//! ENOSPC inside while another sandbox and sandboxd's store keep working; the sandbox object
//! reports the limit and a usage that grows; delete unmounts (image kept), purge leaves no mount
//! and no image; a workspace whose mount vanished (a reboot) is mounted again on start with its
//! files; invalid sizes are refused before anything exists.

use sandboxd_testkit::TestServer;
use std::path::{Path, PathBuf};

fn mounted(dir: &Path) -> bool {
    let want = dir.to_string_lossy().to_string();
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .any(|l| l.split(' ').nth(4) == Some(want.as_str()))
}

fn ws(s: &TestServer, id: &str) -> PathBuf {
    std::fs::canonicalize(s.workspaces()).unwrap().join(id)
}

fn image(s: &TestServer, id: &str) -> PathBuf {
    ws(s, id).with_extension("img")
}

async fn disk(s: &TestServer, id: &str) -> serde_json::Value {
    let (status, v) = s
        .call("GET", &format!("/v1/sandboxes/{id}"), None)
        .await
        .unwrap();
    assert_eq!(status, 200, "{v}");
    v["disk"].clone()
}

#[tokio::test]
async fn writes_past_the_quota_fail_inside_only() {
    let s = TestServer::start().await.unwrap();
    let small = s.create(r#"{"id":"small","disk_mb":64}"#).await.unwrap();
    let other = s.create(r#"{"id":"other","disk_mb":128}"#).await.unwrap();
    assert!(mounted(&ws(&s, &small)) && image(&s, &small).is_file());

    let before = disk(&s, &small).await;
    assert_eq!(before["limit_mb"], 64, "{before}");
    let used_before = before["used_mb"].as_u64().expect("used_mb while mounted");

    let (code, _, err) = s
        .sh(
            &small,
            "dd if=/dev/zero of=/home/sandbox/big bs=1048576 count=100",
        )
        .await
        .unwrap();
    assert_ne!(code, 0, "a 100 MB write in a 64 MB workspace succeeded");
    assert!(err.contains("No space left"), "stderr: {err}");

    let (code, _, err) = s
        .sh(
            &other,
            "dd if=/dev/zero of=/home/sandbox/ten bs=1048576 count=10 && sync",
        )
        .await
        .unwrap();
    assert_eq!(code, 0, "the other sandbox could not write 10 MB: {err}");

    let after = disk(&s, &small).await;
    let used_after = after["used_mb"].as_u64().unwrap();
    assert!(
        used_after >= used_before + 50,
        "usage {used_before} → {used_after}"
    );
    // sandboxd's own state keeps working.
    let third = s.create("{}").await.unwrap();
    assert_eq!(disk(&s, &third).await["limit_mb"], 10240);

    // Metrics add the workspaces up.
    let (_, m) = s.call("GET", "/metrics", None).await.unwrap();
    let text = m.as_str().unwrap_or_default().to_string();
    assert!(text.contains("sandboxd_workspaces_full 1"), "{text}");

    let (status, _) = s
        .call("POST", &format!("/sandbox/{small}/purge"), None)
        .await
        .unwrap();
    assert_eq!(status, 204);
    assert!(!mounted(&ws(&s, &small)), "purge left the mount");
    assert!(!image(&s, &small).exists(), "purge left the image");
    assert!(!ws(&s, &small).exists());
}

#[tokio::test]
async fn invalid_sizes_are_refused_before_anything_exists() {
    let s = TestServer::start().await.unwrap();
    for body in [
        r#"{"id":"q","disk_mb":0}"#,
        r#"{"id":"q","disk_mb":63}"#,
        r#"{"id":"q","disk_mb":99999999}"#,
        r#"{"id":"q","disk_mb":"64"}"#,
        r#"{"id":"q","disk_mb":-5}"#,
    ] {
        let (status, v) = s.call("POST", "/v1/sandboxes", Some(body)).await.unwrap();
        assert_eq!(status, 400, "{body}: {v}");
        assert_eq!(v["error"]["code"], "invalid_request", "{body}: {v}");
    }
    let (_, v) = s
        .call("GET", "/v1/sandboxes?include_deleted=true", None)
        .await
        .unwrap();
    assert_eq!(v["sandboxes"].as_array().unwrap().len(), 0, "{v}");
    assert!(!ws(&s, "q").exists() && !image(&s, "q").exists());
    assert!(s.containers().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_lost_mount_comes_back_on_start_and_delete_releases_it() {
    let s = TestServer::start().await.unwrap();
    let id = s.create(r#"{"id":"reboot","disk_mb":64}"#).await.unwrap();
    let (code, _, err) = s
        .sh(&id, "echo kept > /home/sandbox/note && sync")
        .await
        .unwrap();
    assert_eq!(code, 0, "{err}");
    let (status, _) = s
        .call("POST", &format!("/v1/sandboxes/{id}/stop"), None)
        .await
        .unwrap();
    assert_eq!(status, 200);

    // A reboot: the mount is gone, the image is not.
    let dir = ws(&s, &id);
    let out = std::process::Command::new("umount")
        .arg(&dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert!(!mounted(&dir) && image(&s, &id).is_file());
    assert!(disk(&s, &id).await["used_mb"].is_null());

    let (status, v) = s
        .call("POST", &format!("/v1/sandboxes/{id}/start"), None)
        .await
        .unwrap();
    assert_eq!(status, 200, "{v}");
    assert!(mounted(&dir), "start did not remount the workspace");
    let (code, out, _) = s.sh(&id, "cat /home/sandbox/note").await.unwrap();
    assert_eq!((code, out.trim()), (0, "kept"));

    // Delete keeps the workspace but releases its mount; re-creating the id reattaches it.
    let (status, _) = s
        .call("DELETE", &format!("/v1/sandboxes/{id}"), None)
        .await
        .unwrap();
    assert_eq!(status, 204);
    assert!(!mounted(&dir) && image(&s, &id).is_file());
    s.create(r#"{"id":"reboot","disk_mb":64}"#).await.unwrap();
    assert!(mounted(&dir));
    let (code, out, _) = s.sh(&id, "cat /home/sandbox/note").await.unwrap();
    assert_eq!((code, out.trim()), (0, "kept"));
}

#[tokio::test]
async fn quotas_off_means_plain_directories() {
    let s = TestServer::start_with(|cfg| {
        cfg.limits.default_disk_mb = None;
        cfg.limits.max_disk_mb = 0;
    })
    .await
    .unwrap();
    let id = s.create("{}").await.unwrap();
    assert!(disk(&s, &id).await.is_null());
    assert!(!mounted(&ws(&s, &id)) && !image(&s, &id).exists());
    let (status, v) = s
        .call("POST", "/v1/sandboxes", Some(r#"{"disk_mb":64}"#))
        .await
        .unwrap();
    assert_eq!(status, 400, "{v}");
    assert!(v["error"]["message"]
        .as_str()
        .unwrap()
        .contains("quotas are off"));
}
