//! The conformance suite: the real `e2b` Python SDK from PyPI, unchanged, against a sandboxd
//! this test starts, in plain-HTTP mode (`E2B_API_URL` = the API listener, `E2B_SANDBOX_URL` =
//! the preview listener, which routes on the SDK's `E2b-Sandbox-*` headers). For each pinned SDK
//! version it makes a virtualenv once (cached under the target dir, keyed by version) and runs
//! the scripts in `tests/e2b/` (sync and async), which print one line per check and stop at the
//! first failure with its reason. A second test runs the current SDK in TLS mode (host routing
//! through the preview listener's TLS, a local CA in `SSL_CERT_FILE`). Needs `python3` with the
//! `venv` module, access to PyPI, and `openssl` (for the test CA).

use sandboxd_testkit::TestServer;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

/// The SDK versions the suite pins: the current one and an older 2.x (v1 create/connect paths).
const VERSIONS: [&str; 2] = ["2.63.0", "2.10.0"];
const SCRIPTS: [&str; 2] = ["sync_suite.py", "async_suite.py"];
const INSTALL_HINT: &str = "the E2B SDK suite needs python3 with venv and pip \
    (Debian/Ubuntu: apt-get install python3 python3-venv; scripts/setup.sh installs them)";

fn scripts_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/e2b")
}

/// Serializes venv creation between the tests of this binary (they run in parallel in one
/// process, so a pid-named scratch dir alone would be shared by two installs).
static MAKING_VENVS: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The virtualenv of one SDK version, made on first use: built beside its final path and
/// renamed into place only once `pip install` succeeded, so a half-made one is never reused.
async fn venv(version: &str) -> PathBuf {
    let _one_at_a_time = MAKING_VENVS.lock().await;
    let root = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let done = root.join(format!("e2b-sdk-{version}"));
    let python = done.join("bin/python");
    if python.exists() {
        return python;
    }
    let probe = tokio::process::Command::new("python3")
        .args(["-c", "import venv, ensurepip"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .await;
    assert!(matches!(probe, Ok(s) if s.success()), "{INSTALL_HINT}");
    let partial = root.join(format!("e2b-sdk-{version}.partial-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&partial);
    run_ok("python3", &["-m", "venv", path_str(&partial)]).await;
    let pip = partial.join("bin/python");
    let spec = format!("e2b=={version}");
    run_ok(
        path_str(&pip),
        &[
            "-m",
            "pip",
            "install",
            "-q",
            "--disable-pip-version-check",
            &spec,
        ],
    )
    .await;
    // A concurrent run may have won the race: either copy is complete.
    if std::fs::rename(&partial, &done).is_err() {
        let _ = std::fs::remove_dir_all(&partial);
    }
    python
}

fn path_str(p: &Path) -> &str {
    p.to_str().expect("target paths are UTF-8 in this repo")
}

async fn run_ok(program: &str, args: &[&str]) {
    let out = tokio::process::Command::new(program)
        .args(args)
        .output()
        .await
        .unwrap_or_else(|e| panic!("{program}: {e} ({INSTALL_HINT})"));
    assert!(
        out.status.success(),
        "{program} {args:?} failed ({INSTALL_HINT}):\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A tenant key for the SDK (`e2b_` + hex), issued through the admin routes.
async fn api_key(s: &TestServer) -> String {
    let body = r#"{"name":"e2b-suite","role":"tenant","owner":"e2b-suite"}"#;
    let (status, v) = s.call("POST", "/v1/keys", Some(body)).await.unwrap();
    assert_eq!(status, 201, "key: {v}");
    let key = v["key"].as_str().expect("key").to_string();
    assert!(key.starts_with("e2b_"), "{key}");
    key
}

/// Run one script; returns whether it passed and its whole output.
async fn run_script(python: &Path, script: &str, env: &[(&str, String)]) -> (bool, String) {
    let mut cmd = tokio::process::Command::new(python);
    cmd.arg(scripts_dir().join(script))
        .current_dir(scripts_dir())
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("PYTHONUNBUFFERED", "1")
        .env_remove("E2B_DEBUG")
        .env_remove("HTTP_PROXY")
        .env_remove("HTTPS_PROXY")
        .env_remove("http_proxy")
        .env_remove("https_proxy")
        .kill_on_drop(true);
    for (k, v) in env {
        cmd.env(k, v);
    }
    // Debugging: `E2B_SUITE_ONLY=pty,files` runs only those steps.
    if let Ok(only) = std::env::var("E2B_SUITE_ONLY") {
        cmd.env("SUITE_ONLY", only);
    }
    let run = tokio::time::timeout(Duration::from_secs(600), cmd.output()).await;
    match run {
        Ok(Ok(out)) => {
            let text = format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            (out.status.success(), text)
        }
        Ok(Err(e)) => (false, format!("could not run {}: {e}", python.display())),
        Err(_) => (false, "timed out after 600 s".into()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_stock_e2b_sdk_works_unchanged() {
    let s = TestServer::start_with(|c| c.require_token = true)
        .await
        .unwrap();
    let key = api_key(&s).await;
    let preview = s.preview_addr();
    let mut report = Vec::new();
    let mut failed = Vec::new();
    for version in VERSIONS {
        let python = venv(version).await;
        for script in SCRIPTS {
            let env = [
                ("E2B_API_URL", s.api.clone()),
                ("E2B_SANDBOX_URL", format!("http://{preview}")),
                (
                    "E2B_DOMAIN",
                    format!("preview.localhost:{}", preview.port()),
                ),
                ("E2B_API_KEY", key.clone()),
                ("SUITE_RUN_ID", format!("{version}-{script}-{}", s.instance)),
                ("SUITE_PREVIEW_ADDR", preview.to_string()),
            ];
            let (passed, output) = run_script(&python, script, &env).await;
            eprintln!("===== e2b {version} {script} =====\n{output}");
            report.push(format!(
                "{version} {script}: {}",
                if passed { "pass" } else { "FAIL" }
            ));
            if !passed {
                failed.push(format!("{version} {script}"));
            }
        }
    }
    eprintln!("===== summary =====\n{}", report.join("\n"));
    assert!(failed.is_empty(), "failed: {failed:?} (output above)");
}

/// A CA and a leaf for `*.preview.localhost` (openssl CLI); returns (ca, leaf, key).
fn local_ca(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let script = r#"set -e
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ca.key -out ca.pem -days 1 -subj /CN=sandboxd-e2b-suite-ca 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout leaf.key -out leaf.csr -subj /CN=preview.localhost 2>/dev/null
printf 'subjectAltName=DNS:*.preview.localhost,DNS:preview.localhost\nbasicConstraints=CA:FALSE\n' > ext
openssl x509 -req -in leaf.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out leaf.pem -days 1 -extfile ext 2>/dev/null
"#;
    let made = std::process::Command::new("sh")
        .args(["-c", script])
        .current_dir(dir)
        .status()
        .expect("sh");
    assert!(
        made.success(),
        "openssl failed (the TLS check needs the openssl CLI)"
    );
    (
        dir.join("ca.pem"),
        dir.join("leaf.pem"),
        dir.join("leaf.key"),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_sdk_reaches_envd_by_host_over_tls_with_a_local_ca() {
    let certs = tempfile::tempdir().unwrap();
    let (ca, cert, key) = local_ca(certs.path());
    let s = TestServer::start_with(|c| {
        c.require_token = true;
        c.preview_tls = Some((cert, key));
    })
    .await
    .unwrap();
    let api_key = api_key(&s).await;
    let python = venv(VERSIONS[0]).await;
    let preview = s.preview_addr();
    let env = [
        ("E2B_API_URL", s.api.clone()),
        (
            "E2B_DOMAIN",
            format!("preview.localhost:{}", preview.port()),
        ),
        ("E2B_API_KEY", api_key),
        ("SSL_CERT_FILE", path_str(&ca).to_string()),
        ("SUITE_RUN_ID", format!("tls-{}", s.instance)),
        ("SUITE_PREVIEW_ADDR", preview.to_string()),
    ];
    let (passed, output) = run_script(&python, "tls_check.py", &env).await;
    eprintln!("===== e2b {} tls_check.py =====\n{output}", VERSIONS[0]);
    assert!(passed, "TLS mode failed (output above)");
}
