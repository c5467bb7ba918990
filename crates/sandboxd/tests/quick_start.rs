//! The default image and the product brief's quick start, for real: `sandboxd/default` is built
//! when missing (debootstrap or a Dockerfile, a couple of minutes the first time on a machine,
//! a no-op afterwards), carries the tools the brief promises, and the brief's shell commands —
//! `python3 -m http.server 3000` started by hand through exec — serve the page through the preview
//! listener, before and after the sandbox was stopped.

use std::time::Instant;

use sandboxd_image::{ensure_default_image, BuildMethod, DefaultImageOptions, DEFAULT_IMAGE_TAG};
use sandboxd_testkit::{docker, TestServer};

#[tokio::test]
async fn default_image_serves_the_brief_quick_start_across_a_stop() {
    let docker = docker().await.unwrap();
    let method = std::env::var("SANDBOXD_TEST_METHOD").unwrap_or_else(|_| "auto".into());
    let opts = DefaultImageOptions {
        method: method.parse::<BuildMethod>().unwrap(),
        ..Default::default()
    };
    let progress = |line: &str| eprintln!("{line}");
    let t0 = Instant::now();
    let built = ensure_default_image(&docker, &opts, &progress)
        .await
        .unwrap();
    eprintln!("ensure default image: {:?} -> {built:?}", t0.elapsed());
    let again = ensure_default_image(&docker, &opts, &progress)
        .await
        .unwrap();
    assert_eq!(again.built, None, "a current image is not rebuilt");
    assert_eq!(again.id, built.id);

    let s = TestServer::start_with(|c| {
        c.image = DEFAULT_IMAGE_TAG.to_string();
        c.limits.default.memory_mb = 1024;
        c.limits.default.pids = 512;
    })
    .await
    .unwrap();

    // The tools the brief promises (what this machine's registries cannot reach is listed in
    // /etc/sandboxd/image-info and skipped), and the seeded home.
    let id = s.create("").await.unwrap();
    let check = "node -v && npm -v && python3 -V && uv --version && git --version \
                 && rg --version | sed -n 1p && fd --version && jq --version \
                 && ls -A ~ && cat /etc/sandboxd/image-info";
    let (code, out, err) = s.sh(&id, check).await.unwrap();
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("workspace") && out.contains(".bashrc") && out.contains(".profile"),
        "{out}"
    );

    // The brief's commands, verbatim but for the API address (a private test port) and `open`,
    // which becomes curl against the preview listener (also a private port). The exec does not
    // return while the server runs, so the script backgrounds it.
    let preview = s.preview_addr().port();
    let script = format!(
        r#"set -e
ID=$(curl -s -XPOST {api}/sandbox \
  -H 'content-type: application/json' \
  -d '{{"ports":[3000]}}' | sed -E 's/.*"id":"([^"]+)".*/\1/')

curl -s -XPOST {api}/sandbox/$ID/exec \
  -H 'content-type: application/json' \
  -d '{{"cmd":["bash","-lc","cd ~/workspace && echo hello > index.html && python3 -m http.server 3000"]}}' \
  >/dev/null 2>&1 &

echo "ID=$ID"
for i in $(seq 1 100); do
  if curl -sf "http://s-$ID-3000.preview.localhost:{preview}/" -o page; then cat page; exit 0; fi
  sleep 0.2
done
echo "never served" >&2; exit 1
"#,
        api = s.api
    );
    let out = tokio::process::Command::new("sh")
        .arg("-c")
        .arg(&script)
        .current_dir(s.data.path())
        .kill_on_drop(true)
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}{stderr}");
    let id = stdout
        .lines()
        .find_map(|l| l.strip_prefix("ID="))
        .unwrap()
        .to_string();
    assert_eq!(id.len(), 26, "sed must extract a ULID: {id:?}");
    assert!(s
        .workspaces()
        .join(&id)
        .join("workspace/index.html")
        .exists());
    assert!(stdout.ends_with("hello\n"), "{stdout}");

    // Force a stop (the hand-started server is recorded), then the same URL wakes it.
    let t = Instant::now();
    let (st, v) = s
        .call("POST", &format!("/v1/sandboxes/{id}/stop"), None)
        .await
        .unwrap();
    assert_eq!((st, v["status"].as_str()), (200, Some("stopped")), "{v}");
    eprintln!("stop: {:?}", t.elapsed());
    let t = Instant::now();
    let page = tokio::process::Command::new("curl")
        .args(["-s", "--max-time", "60"])
        .arg(format!("http://s-{id}-3000.preview.localhost:{preview}/"))
        .output()
        .await
        .unwrap();
    eprintln!("first fetch after the stop (wake): {:?}", t.elapsed());
    assert_eq!(String::from_utf8_lossy(&page.stdout), "hello\n");
    let (_, v) = s
        .call("GET", &format!("/v1/sandboxes/{id}"), None)
        .await
        .unwrap();
    assert_eq!(v["status"], "running", "{v}");
}
