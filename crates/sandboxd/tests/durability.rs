//! Installation identity, private state files, tombstones without secrets, a distrusted
//! relaunch file and bounded exec, against the real engine: a second installation of the same
//! instance name is refused and leaves the first one's sandboxes alone; the data dir is 0700 and
//! state files 0600 while the sandbox user still writes its workspace; a deleted sandbox's env
//! values are nowhere in the state files; a FIFO planted as relaunch.json does not hang a boot;
//! non-text output comes back base64; a sandbox runs at most 16 execs at once.

use sandboxd_testkit::TestServer;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[tokio::test]
async fn a_second_installation_of_an_instance_is_refused_and_touches_nothing() {
    let first = TestServer::start().await.unwrap();
    let id = first.create("").await.unwrap();
    let before = first.containers().await.unwrap();
    let instance = first.instance.clone();
    let err = match TestServer::start_with(|cfg| cfg.instance = instance).await {
        Ok(_) => panic!("a second installation of the same instance started"),
        Err(e) => format!("{e:#}"),
    };
    let first_dir = std::fs::canonicalize(first.data.path()).unwrap();
    assert!(
        err.contains("another installation") && err.contains(&first_dir.display().to_string()),
        "{err}"
    );
    // Give a stray reconciler time to act, then check nothing of the first was touched.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(first.containers().await.unwrap(), before);
    let (code, out, _) = first.sh(&id, "echo alive").await.unwrap();
    assert_eq!((code, out.as_str()), (0, "alive\n"));
}

#[tokio::test]
async fn state_is_private_and_tombstones_forget_env_values() {
    let s = TestServer::start().await.unwrap();
    let secret = "s3cret-value-7f3a";
    let id = s
        .create(&format!(r#"{{"env":{{"TOKEN":"{secret}"}}}}"#))
        .await
        .unwrap();
    let data = s.data.path();
    assert_eq!(mode(data), 0o700);
    assert_eq!(mode(&data.join("state")), 0o700);
    for f in ["sandboxd.db", "installation", "instance"] {
        assert_eq!(mode(&data.join("state").join(f)), 0o600, "{f}");
    }
    assert_eq!(mode(&s.workspaces()), 0o700);
    // The sandbox user still owns and writes its workspace through the bind mount.
    let (code, out, err) = s
        .sh(
            &id,
            "echo hi > ~/workspace/f && cat ~/workspace/f && echo $TOKEN",
        )
        .await
        .unwrap();
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, format!("hi\n{secret}\n"));

    let (st, _) = s
        .call("DELETE", &format!("/v1/sandboxes/{id}"), None)
        .await
        .unwrap();
    assert!(st == 200 || st == 204, "{st}");
    let (data, instance) = s.stop_keep().await;
    // stop_keep hands the installation to the caller: remove it from the engine.
    sandboxd_testkit::remove_instance(&instance).await.unwrap();
    sandboxd::workspaces::unmount_all(data.path()).unwrap();
    for entry in std::fs::read_dir(data.path().join("state")).unwrap() {
        let path = entry.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        assert!(
            !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "{} still holds the env value",
            path.display()
        );
    }
}

#[tokio::test]
async fn a_fifo_as_relaunch_file_does_not_hang_the_boot() {
    let s = TestServer::start().await.unwrap();
    let id = s
        .create(r#"{"start":"echo started > /tmp/started; exec sleep 1000"}"#)
        .await
        .unwrap();
    let (st, _) = s
        .call("POST", &format!("/v1/sandboxes/{id}/stop"), None)
        .await
        .unwrap();
    assert_eq!(st, 200);
    let file = s.workspaces().join(&id).join(".sandboxd/relaunch.json");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    let _ = std::fs::remove_file(&file);
    let made = std::process::Command::new("mkfifo")
        .arg(&file)
        .status()
        .unwrap();
    assert!(made.success());
    // Planted as the sandbox user would: its own, readable by it.
    for p in [file.parent().unwrap(), file.as_path()] {
        std::os::unix::fs::chown(p, Some(1000), Some(1000)).unwrap();
    }
    let (st, v) = s
        .call("POST", &format!("/v1/sandboxes/{id}/start"), None)
        .await
        .unwrap();
    assert_eq!(st, 200, "{v}");
    let mut started = String::new();
    for _ in 0..50 {
        started = s.sh(&id, "cat /tmp/started 2>/dev/null").await.unwrap().1;
        if !started.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(started, "started\n", "the start command never ran");
}

#[tokio::test]
async fn binary_output_is_base64_and_execs_per_sandbox_are_capped() {
    let s = TestServer::start().await.unwrap();
    let id = s.create("").await.unwrap();
    let body = r#"{"cmd":["sh","-c","printf 'ok\\377'; printf 'text' >&2"]}"#;
    let (st, v) = s
        .call("POST", &format!("/v1/sandboxes/{id}/exec"), Some(body))
        .await
        .unwrap();
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["stdout"], "b2v/");
    assert_eq!(v["stdout_encoding"], "base64");
    assert_eq!(v["stderr"], "text");
    assert_eq!(v["stderr_encoding"], "utf-8");

    let path = format!("/v1/sandboxes/{id}/exec");
    let body = r#"{"cmd":["sleep","3"]}"#;
    let calls =
        (0..sandboxd_engine::MAX_CONCURRENT_EXECS + 1).map(|_| s.call("POST", &path, Some(body)));
    let results = futures_util::future::join_all(calls).await;
    let statuses: Vec<u16> = results.into_iter().map(|r| r.unwrap().0).collect();
    assert_eq!(
        statuses.iter().filter(|&&st| st == 200).count(),
        16,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|&&st| st == 503).count(),
        1,
        "{statuses:?}"
    );
}
