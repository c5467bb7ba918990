//! The /v1 files routes against a real sandbox and its agent: every route, the strict-mode
//! refusals (`..`, absolute, NUL, over-long and non-UTF-8 names, wrong kinds, symlinks) with
//! nothing created, atomic uploads (a cut-short PUT keeps the old file), a 1 GiB streamed round
//! trip, tar down/up and a hostile tar, the watch, wake-on-read, 410 after delete, and `cp`.

#[path = "agent_files/streams.rs"]
mod streams;
#[path = "agent_files/support.rs"]
mod support;

use sandboxd_agent_client::{empty, AgentClient, Endpoint};
use sandboxd_testkit::TestServer;
use serde_json::Value;
use support::Files;

#[tokio::test]
async fn crud_and_every_bad_path_is_refused_with_nothing_created() {
    let s = TestServer::start().await.unwrap();
    let f = Files::new(&s, "crud").await;
    let before = f.home_listing().await;

    let (st, v) = f.json("POST", "files/mkdir", r#"{"path":"d/e"}"#).await;
    assert_eq!(
        (st, v["type"].as_str(), v["path"].as_str()),
        (201, Some("dir"), Some("d/e")),
        "{v}"
    );
    let (st, v) = f
        .put(
            "files?path=d/a.txt",
            b"hello".to_vec(),
            "application/octet-stream",
        )
        .await;
    assert_eq!(
        (st, v["size"].as_u64(), v["path"].as_str()),
        (200, Some(5), Some("d/a.txt")),
        "{v}"
    );
    let (st, ct, body) = f.get("files?path=d/a.txt").await;
    assert_eq!(
        (st, ct.as_str(), body.as_slice()),
        (200, "application/octet-stream", &b"hello"[..])
    );
    let (st, ct, body) = f.get("files?path=d&depth=2").await;
    assert_eq!((st, ct.as_str()), (200, "application/json"));
    let v: Value = serde_json::from_slice(&body).unwrap();
    let names: Vec<&str> = v["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["path"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["d/a.txt", "d/e"], "{v}");
    let (st, v) = f
        .json(
            "POST",
            "files/move",
            r#"{"from":"d/a.txt","to":"d/e/b.txt"}"#,
        )
        .await;
    assert_eq!((st, v["path"].as_str()), (200, Some("d/e/b.txt")), "{v}");
    assert_eq!(
        f.s.sh(&f.id, "cat /home/sandbox/d/e/b.txt")
            .await
            .unwrap()
            .1,
        "hello"
    );
    assert_eq!(
        f.json("POST", "files/mkdir", r#"{"path":"d"}"#).await.0,
        409
    );
    assert_eq!(f.call("DELETE", "files?path=d").await.0, 204);
    assert_eq!(f.get("files?path=d").await.0, 404);
    assert_eq!(f.home_listing().await, before);

    // Bad input: each with its documented code, and nothing created anywhere.
    f.put(
        "files?path=plain",
        b"p".to_vec(),
        "application/octet-stream",
    )
    .await;
    f.json("POST", "files/mkdir", r#"{"path":"dir"}"#).await;
    let long = "n".repeat(256);
    let cases = [
        (
            "PUT",
            "files?path=../escape".to_string(),
            400,
            "invalid_request",
        ),
        ("PUT", "files?path=/tmp/abs".into(), 400, "invalid_request"),
        (
            "PUT",
            "files?path=nul%00byte".into(),
            400,
            "invalid_request",
        ),
        ("PUT", format!("files?path={long}"), 400, "invalid_request"),
        (
            "PUT",
            "files?path=bad%ffutf8".into(),
            400,
            "invalid_request",
        ),
        ("PUT", "files?path=dir".into(), 400, "invalid_request"),
        (
            "GET",
            "files/archive?path=plain".into(),
            400,
            "invalid_request",
        ),
        (
            "GET",
            "files/watch?path=plain".into(),
            400,
            "invalid_request",
        ),
        ("POST", "files/mkdir".into(), 409, "failed_precondition"),
        ("GET", "files?path=missing".into(), 404, "not_found"),
        (
            "GET",
            "files?path=../../etc/passwd".into(),
            400,
            "invalid_request",
        ),
    ];
    for (method, path, want, code) in cases {
        let (st, v) = if method == "PUT" {
            f.put(&path, b"x".to_vec(), "application/octet-stream")
                .await
        } else if method == "POST" {
            f.json("POST", &path, r#"{"path":"plain/sub"}"#).await
        } else {
            f.call(method, &path).await
        };
        assert_eq!(
            (st, v["error"]["code"].as_str()),
            (want, Some(code)),
            "{method} {path}: {v}"
        );
    }
    let (_, out, _) =
        f.s.sh(&f.id, "ls -A /home/sandbox; ls /tmp; ls /home")
            .await
            .unwrap();
    let mut want = before.clone();
    want.extend(["dir".to_string(), "plain".to_string()]);
    want.sort();
    assert_eq!(f.home_listing().await, want);
    assert!(!out.contains("abs") && !out.contains("escape"), "{out}");
    // text/plain stays refused (a web page could send it without a preflight).
    let (st, _) = f.put("files?path=t.txt", b"x".to_vec(), "text/plain").await;
    assert_eq!(st, 415);
}

#[tokio::test]
async fn symlinks_e2b_mode_follows_them_v1_refuses_them() {
    let s = TestServer::start().await.unwrap();
    let f = Files::new(&s, "links").await;
    let (code, passwd, _) =
        f.s.sh(
            &f.id,
            "ln -s /etc/passwd /home/sandbox/pw && cat /etc/passwd",
        )
        .await
        .unwrap();
    assert_eq!(code, 0);
    // E2B mode, straight to the agent: the link is followed to the sandbox's own file.
    let ep = f.endpoint().await;
    let resp = AgentClient::new()
        .send(
            &ep,
            hyper::Method::GET,
            "/files?path=/home/sandbox/pw",
            &[],
            empty(),
        )
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    use http_body_util::BodyExt;
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(String::from_utf8_lossy(&bytes), passwd);
    // /v1 (strict mode): refused, reading and writing.
    let (st, v) = f.call("GET", "files?path=pw").await;
    assert_eq!(
        (st, v["error"]["code"].as_str()),
        (409, Some("failed_precondition")),
        "{v}"
    );
    let (st, v) = f
        .put("files?path=pw", b"x".to_vec(), "application/octet-stream")
        .await;
    assert_eq!(
        (st, v["error"]["code"].as_str()),
        (409, Some("failed_precondition")),
        "{v}"
    );
    assert_eq!(f.call("GET", "files/archive?path=pw").await.0, 409);
    assert_eq!(f.s.sh(&f.id, "cat /etc/passwd").await.unwrap().1, passwd);
}

impl Files<'_> {
    async fn endpoint(&self) -> Endpoint {
        let running = self.s.running.as_ref().unwrap();
        let id = sandboxd_core::SandboxId::parse_lookup(&self.id).unwrap();
        let ep = running.engine.agent(&id).await.unwrap();
        Endpoint {
            addr: ep.addr,
            token: ep.token.expose().to_string(),
        }
    }
}
