//! The default image's toolchain, for real: the image (flavor `agents`, the default) is built
//! when its recipe changed — reused otherwise — and in a sandbox of it Node is a current LTS
//! (≥ 22) with npm, npx and corepack, uv, bun and the Claude Code CLI run, the image-info records
//! where each tool came from, and a Node HTTP server started through the processes route serves
//! through the preview URL.
//!
//! `SANDBOXD_TEST_IMAGE_TAG` builds and uses another tag than `sandboxd/default:latest` (for
//! working on the recipe while other suites use the default tag).

use std::time::{Duration, Instant};

use reqwest::Method;
use sandboxd_image::{ensure_default_image, BuildMethod, DefaultImageOptions, DEFAULT_IMAGE_TAG};
use sandboxd_testkit::{docker, TestServer};
use serde_json::json;

const SERVER_JS: &str = r#"
const http = require('node:http');
http.createServer((req, res) => {
  res.writeHead(200, {'content-type': 'text/plain'});
  res.end(`node ${process.version} says hi\n`);
}).listen(3000, '0.0.0.0');
"#;

#[tokio::test]
async fn default_image_has_a_current_toolchain_and_serves_node() {
    let docker = docker().await.unwrap();
    let tag = std::env::var("SANDBOXD_TEST_IMAGE_TAG").unwrap_or(DEFAULT_IMAGE_TAG.into());
    let method = std::env::var("SANDBOXD_TEST_METHOD").unwrap_or_else(|_| "auto".into());
    let opts = DefaultImageOptions {
        tag: tag.clone(),
        method: method.parse::<BuildMethod>().unwrap(),
        ..Default::default()
    };
    let progress = |line: &str| eprintln!("{line}");
    let t0 = Instant::now();
    let image = ensure_default_image(&docker, &opts, &progress)
        .await
        .unwrap();
    eprintln!("ensure {tag}: {:?} -> {image:?}", t0.elapsed());

    let s = TestServer::start_with(|c| {
        c.image = image.tag.clone();
        c.limits.default.memory_mb = 1024;
        c.limits.default.pids = 512;
    })
    .await
    .unwrap();
    let id = s.create(r#"{"ports":[3000]}"#).await.unwrap();

    let check = "set -e; node --version; npm --version; npx --version; corepack --version; \
                 uv --version; bun --version; claude --version; cat /etc/sandboxd/image-info";
    let (code, out, err) = s.sh(&id, check).await.unwrap();
    assert_eq!(code, 0, "{out}{err}");
    let major: u32 = out
        .strip_prefix('v')
        .and_then(|v| v.split('.').next())
        .and_then(|m| m.parse().ok())
        .unwrap_or(0);
    assert!(major >= 22, "node must be a current LTS: {out}");
    assert!(out.contains("(Claude Code)"), "{out}");
    assert!(out.contains("\nflavor=agents\n"), "{out}");
    assert!(
        out.contains("\ntool.node=") && out.contains("\ntool.claude="),
        "{out}"
    );
    assert!(
        out.contains("\nmissing="),
        "missing tools are recorded: {out}"
    );

    // A Node HTTP server from the image, started as a background process, through the preview.
    let write = format!("cat > ~/workspace/server.js <<'EOF'{SERVER_JS}EOF");
    let (code, _, err) = s.sh(&id, &write).await.unwrap();
    assert_eq!(code, 0, "{err}");
    let body = json!({"cmd": ["node", "server.js"]}).to_string();
    let (st, v) = s
        .call(
            "POST",
            &format!("/v1/sandboxes/{id}/processes"),
            Some(&body),
        )
        .await
        .unwrap();
    assert_eq!(st, 201, "{v}");
    let deadline = Instant::now() + Duration::from_secs(30);
    let page = loop {
        let r = s.preview(Method::GET, &id, 3000, "/").send().await.unwrap();
        if r.status() == 200 {
            break r.text().await.unwrap();
        }
        assert!(Instant::now() < deadline, "never served: {}", r.status());
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let version = out.lines().next().unwrap_or_default();
    assert_eq!(page, format!("node {version} says hi\n"));
}
