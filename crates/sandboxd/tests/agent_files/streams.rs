//! The streaming half of the files tests: atomic and 1 GiB uploads, tar down/up with a hostile
//! tar, the watch, wake-on-read, 410 after delete, and `sandboxd cp`.

use super::support::{self, raw_entry, tar_of, Files};
use futures_util::StreamExt;
use sandboxd_testkit::TestServer;
use serde_json::Value;
use sha2::{Digest, Sha256};

#[tokio::test]
async fn uploads_are_atomic_and_a_gib_streams_both_ways() {
    let s = TestServer::start().await.unwrap();
    let f = Files::new(&s, "big").await;
    f.put(
        "files?path=keep.txt",
        b"old content".to_vec(),
        "application/octet-stream",
    )
    .await;
    // A PUT whose body breaks after 4 MiB: the old file stays, no temp file is left.
    let broken = futures_util::stream::iter((0..5).map(|i| {
        if i < 4 {
            Ok(bytes::Bytes::from(vec![b'n'; 1 << 20]))
        } else {
            Err(std::io::Error::other("client gave up"))
        }
    }));
    let res = f
        .request(reqwest::Method::PUT, "files?path=keep.txt")
        .header("content-type", "application/octet-stream")
        .body(reqwest::Body::wrap_stream(broken))
        .send()
        .await;
    assert!(res.is_err() || !res.unwrap().status().is_success());
    support::wait_for("the aborted upload's temp file to go", || async {
        let (_, out, _) = f.s.sh(&f.id, "ls -A /home/sandbox").await.ok()?;
        (!out.contains(".upload")).then_some(())
    })
    .await;
    assert_eq!(f.get("files?path=keep.txt").await.2, b"old content");

    // 1 GiB, generated while sent and hashed while received.
    const GIB: usize = 1 << 30;
    let sent = std::sync::Arc::new(std::sync::Mutex::new(Sha256::new()));
    let hasher = sent.clone();
    let chunks = futures_util::stream::iter(0..GIB / (1 << 20)).map(move |i| {
        let chunk = support::noise(i as u64, 1 << 20);
        hasher.lock().unwrap().update(&chunk);
        Ok::<_, std::io::Error>(bytes::Bytes::from(chunk))
    });
    let resp = f
        .request(reqwest::Method::PUT, "files?path=big.bin")
        .header("content-type", "application/octet-stream")
        .body(reqwest::Body::wrap_stream(chunks))
        .send()
        .await
        .unwrap();
    let status = resp.status();
    let v: Value = resp.json().await.unwrap();
    assert_eq!(
        (status.as_u16(), v["size"].as_u64()),
        (200, Some(GIB as u64)),
        "{v}"
    );
    let want = sent.lock().unwrap().clone().finalize();
    let resp = f
        .request(reqwest::Method::GET, "files?path=big.bin")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.content_length(), Some(GIB as u64));
    let mut got = Sha256::new();
    let mut n = 0;
    let mut body = resp.bytes_stream();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.unwrap();
        n += chunk.len();
        got.update(&chunk);
    }
    assert_eq!((n, got.finalize()), (GIB, want));
    // Memory stayed flat: this process (client and server) never came near holding the GiB.
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let hwm_kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    assert!(hwm_kib < 256 * 1024, "peak RSS {hwm_kib} KiB");
    assert_eq!(f.call("DELETE", "files?path=big.bin").await.0, 204);
}

#[tokio::test]
async fn tar_round_trip_hostile_tar_and_watch() {
    let s = TestServer::start().await.unwrap();
    let f = Files::new(&s, "tars").await;
    let script = "cd /home/sandbox && mkdir -p t/sub && echo one > t/a && echo two > t/sub/b \
        && ln -s sub/b t/link";
    assert_eq!(f.s.sh(&f.id, script).await.unwrap().0, 0);
    let (st, ct, tar) = f.get("files/archive?path=t").await;
    assert_eq!((st, ct.as_str()), (200, "application/x-tar"));
    let names = support::tar_names(&tar);
    assert_eq!(names, ["a", "link -> sub/b", "sub", "sub/b"]);
    let (st, v) = f
        .put("files/archive?path=copy", tar, "application/x-tar")
        .await;
    assert_eq!((st, v["files"].as_u64()), (200, Some(3)), "{v}");
    let (_, out, _) =
        f.s.sh(
            &f.id,
            "cd /home/sandbox/copy && cat a sub/b link && readlink link",
        )
        .await
        .unwrap();
    assert_eq!(out, "one\ntwo\ntwo\nsub/b\n");
    // Hostile: nothing written, not even the destination.
    let before = f.home_listing().await;
    let hostile = tar_of(&[raw_entry("ok.txt", b"fine"), raw_entry("../x", b"evil")]);
    let (st, v) = f
        .put("files/archive?path=new", hostile, "application/x-tar")
        .await;
    assert_eq!(
        (st, v["error"]["code"].as_str()),
        (400, Some("invalid_request")),
        "{v}"
    );
    assert_eq!(f.home_listing().await, before);
    let (_, home, _) = f.s.sh(&f.id, "ls /home").await.unwrap();
    assert!(!home.lines().any(|l| l == "x"), "{home}");

    // Watch: create, write, rename, remove, with home-relative paths.
    f.json("POST", "files/mkdir", r#"{"path":"w"}"#).await;
    let events = f.watch("files/watch?path=w&recursive=true").await;
    f.put(
        "files?path=w/a.txt",
        b"1".to_vec(),
        "application/octet-stream",
    )
    .await;
    f.json("POST", "files/move", r#"{"from":"w/a.txt","to":"w/b.txt"}"#)
        .await;
    f.s.sh(&f.id, "echo more >> /home/sandbox/w/b.txt")
        .await
        .unwrap();
    f.call("DELETE", "files?path=w/b.txt").await;
    // (An upload lands by rename, so its writes go to a temp name; the append is a write.)
    let wanted = [
        "create w/a.txt",
        "rename w/a.txt",
        "create w/b.txt",
        "write w/b.txt",
        "remove w/b.txt",
    ];
    for want in wanted {
        support::wait_for(want, || async {
            events
                .lock()
                .unwrap()
                .iter()
                .any(|e| e == want)
                .then_some(())
        })
        .await;
    }
    let (_, v) =
        f.s.call("GET", &format!("/v1/sandboxes/{}/activity", f.id), None)
            .await
            .unwrap();
    assert_eq!(v["sessions"]["watch"], 1, "{v}");
}

#[tokio::test]
async fn stopped_is_woken_deleted_is_gone_and_cp_copies_both_ways() {
    let s = TestServer::start().await.unwrap();
    let f = Files::new(&s, "wake").await;
    f.put(
        "files?path=note.txt",
        b"hi".to_vec(),
        "application/octet-stream",
    )
    .await;
    assert_eq!(
        f.s.call("POST", "/v1/sandboxes/wake/stop", None)
            .await
            .unwrap()
            .0,
        200
    );
    let (st, _, body) = f.get("files?path=note.txt").await;
    assert_eq!((st, body.as_slice()), (200, &b"hi"[..]));
    let (_, v) = f.s.call("GET", "/v1/sandboxes/wake", None).await.unwrap();
    assert_eq!(v["status"], "running");

    // cp: a file and a directory, each way.
    let local = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(local.path().join("tree/sub")).unwrap();
    std::fs::write(local.path().join("tree/sub/f.txt"), b"deep").unwrap();
    std::fs::write(local.path().join("one.txt"), b"single").unwrap();
    let cp = |a: String, b: String| support::cli(&f.s.api, ["cp".to_string(), a, b]);
    let l = |p: &str| local.path().join(p).to_string_lossy().into_owned();
    assert_eq!(cp(l("one.txt"), "wake:".into()).await, 0);
    assert_eq!(cp(l("tree"), "wake:".into()).await, 0);
    let (_, out, _) =
        f.s.sh(
            "wake",
            "cat /home/sandbox/one.txt /home/sandbox/tree/sub/f.txt",
        )
        .await
        .unwrap();
    assert_eq!(out, "singledeep");
    assert_eq!(cp("wake:tree".into(), l("back")).await, 0);
    assert_eq!(
        std::fs::read(local.path().join("back/sub/f.txt")).unwrap(),
        b"deep"
    );
    assert_eq!(cp("wake:note.txt".into(), l("")).await, 0);
    assert_eq!(std::fs::read(local.path().join("note.txt")).unwrap(), b"hi");
    assert_ne!(
        cp(l("one.txt"), l("two.txt")).await,
        0,
        "one side must be ID:PATH"
    );

    assert_eq!(
        f.s.call("DELETE", "/v1/sandboxes/wake", None)
            .await
            .unwrap()
            .0,
        204
    );
    let (st, v) = f.call("GET", "files?path=note.txt").await;
    assert_eq!((st, v["error"]["code"].as_str()), (410, Some("gone")));
}
