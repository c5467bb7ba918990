//! Image building against the real engine: the busybox test image, built concurrently and
//! idempotently. The default image is built and used by `tests/quick_start.rs`.

use std::time::Instant;

use bollard::container::{
    Config, CreateContainerOptions, LogOutput, LogsOptions, RemoveContainerOptions,
    WaitContainerOptions,
};
use bollard::models::HostConfig;
use bollard::Docker;
use futures_util::StreamExt;
use sandboxd_image::{ensure_test_image, LABEL_RECIPE};

async fn docker() -> Docker {
    let docker = Docker::connect_with_local_defaults().expect("docker socket");
    docker
        .negotiate_version()
        .await
        .expect("negotiate API version")
}

/// Run `cmd` in a fresh read-only container of `image` as uid 1000; returns (exit code, output).
async fn run(docker: &Docker, image: &str, cmd: &[&str]) -> (i64, String) {
    let config = Config {
        image: Some(image.to_string()),
        cmd: Some(cmd.iter().map(|s| s.to_string()).collect()),
        user: Some("1000:1000".into()),
        host_config: Some(HostConfig {
            readonly_rootfs: Some(true),
            network_mode: Some("none".into()),
            ..Default::default()
        }),
        ..Default::default()
    };
    let id = docker
        .create_container(None::<CreateContainerOptions<String>>, config)
        .await
        .unwrap()
        .id;
    docker.start_container::<String>(&id, None).await.unwrap();
    let mut code = 0;
    let mut waits = docker.wait_container(&id, None::<WaitContainerOptions<String>>);
    while let Some(w) = waits.next().await {
        match w {
            Ok(r) => code = r.status_code,
            Err(bollard::errors::Error::DockerContainerWaitError { code: c, .. }) => code = c,
            Err(e) => panic!("wait: {e}"),
        }
    }
    let opts = LogsOptions::<String> {
        stdout: true,
        stderr: true,
        ..Default::default()
    };
    let mut logs = docker.logs(&id, Some(opts));
    let mut out = String::new();
    while let Some(Ok(chunk)) = logs.next().await {
        if let LogOutput::StdOut { message } | LogOutput::StdErr { message } = chunk {
            out.push_str(&String::from_utf8_lossy(&message));
        }
    }
    let rm = RemoveContainerOptions {
        force: true,
        ..Default::default()
    };
    docker.remove_container(&id, Some(rm)).await.unwrap();
    (code, out)
}

#[tokio::test]
async fn test_image_builds_concurrently_and_is_idempotent() {
    let docker = docker().await;
    let dir = tempfile::tempdir().unwrap();
    let fixture = dir.path().join("hello");
    std::fs::write(
        &fixture,
        format!(
            "#!/bin/sh\necho hello-from-fixture {}\n",
            std::process::id()
        ),
    )
    .unwrap();
    std::fs::set_permissions(
        &fixture,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    // A tag (and content) of our own, so that removing it at the end can't hurt anyone else.
    let name = format!("sandboxd-test/image-test-{}", std::process::id());
    let tag = format!("{name}:latest");
    let name = name.as_str();
    let extras = [(fixture.clone(), "/opt/fixture/hello")];

    // Several builders at once (as parallel test processes would be) must all succeed.
    let t0 = Instant::now();
    let (a, b, c) = tokio::join!(
        ensure_test_image(&docker, name, &extras),
        ensure_test_image(&docker, name, &extras),
        ensure_test_image(&docker, name, &extras),
    );
    a.unwrap();
    b.unwrap();
    c.unwrap();
    eprintln!("test image built in {:?}", t0.elapsed());
    let image = docker.inspect_image(&tag).await.unwrap();
    let labels = image.config.and_then(|c| c.labels).unwrap_or_default();
    assert_eq!(labels.get(LABEL_RECIPE).map(String::len), Some(64));

    let t1 = Instant::now();
    ensure_test_image(&docker, name, &extras).await.unwrap();
    eprintln!("no-op rerun took {:?}", t1.elapsed());
    let again = docker.inspect_image(&tag).await.unwrap();
    assert_eq!(
        again.id, image.id,
        "a rerun with equal inputs must keep the image"
    );

    let script = "id; for a in sh nc ps sleep cat id grep env timeout; do command -v $a >/dev/null || echo missing $a; done; \
                  /opt/fixture/hello; test -d /home/sandbox -a -w /home/sandbox && echo home-ok; grep ^sandbox: /etc/passwd";
    let (code, out) = run(&docker, &tag, &["sh", "-c", script]).await;
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("uid=1000(sandbox) gid=1000(sandbox)"), "{out}");
    assert!(!out.contains("missing"), "{out}");
    assert!(
        out.contains(&format!("hello-from-fixture {}", std::process::id())),
        "{out}"
    );
    assert!(out.contains("home-ok"), "{out}");

    // Changed extra files give a new image under the same tag.
    std::fs::write(&fixture, "#!/bin/sh\necho changed\n").unwrap();
    ensure_test_image(&docker, name, &extras).await.unwrap();
    let changed = docker.inspect_image(&tag).await.unwrap();
    assert_ne!(changed.id, image.id);
    for id in [changed.id, image.id].into_iter().flatten() {
        let opts = bollard::image::RemoveImageOptions {
            force: true,
            ..Default::default()
        };
        docker.remove_image(&id, Some(opts), None).await.unwrap();
    }
}
