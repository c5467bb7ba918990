//! The filesystem service over real HTTP on loopback, in tempdirs.

use serde_json::{json, Value};

use crate::connect::tests::{start, Client, Item};

async fn setup() -> (Client, tempfile::TempDir) {
    let (base, agent) = start(Some("tok")).await;
    let dir = tempfile::tempdir().unwrap();
    agent.defaults.write().unwrap().workdir = Some(dir.path().to_path_buf());
    (Client::new(&base, "tok"), dir)
}

const FS: &str = "/filesystem.Filesystem/";

async fn call(c: &Client, method: &str, body: Value) -> (u16, Value) {
    c.unary(&format!("{FS}{method}"), body).await
}

/// A unary call in strict mode rooted at `root`.
async fn strict(c: &Client, root: &std::path::Path, method: &str, body: Value) -> (u16, Value) {
    let resp = c
        .http
        .post(format!("{}{FS}{method}", c.base))
        .header("x-access-token", &c.token)
        .header("x-sandboxd-root", root.to_str().unwrap())
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn unary_rpcs_and_entry_info() {
    let (c, dir) = setup().await;
    let root = dir.path();
    std::fs::write(root.join("f.txt"), b"hello").unwrap();
    std::os::unix::fs::symlink(root.join("f.txt"), root.join("link")).unwrap();
    // Relative paths resolve against the working directory.
    let (s, v) = call(&c, "Stat", json!({"path": "f.txt"})).await;
    assert_eq!(s, 200, "{v}");
    let e = &v["entry"];
    assert_eq!(e["type"], "FILE_TYPE_FILE");
    assert_eq!(e["size"], "5");
    assert_eq!(e["path"], root.join("f.txt").to_str().unwrap());
    assert!(e["modifiedTime"].as_str().unwrap().ends_with('Z'));
    assert!(e["owner"].as_str().is_some_and(|o| !o.is_empty()));
    let (_, v) = call(&c, "Stat", json!({"path": "link"})).await;
    let real = std::fs::canonicalize(root.join("f.txt")).unwrap();
    assert_eq!(v["entry"]["symlinkTarget"], real.to_str().unwrap());
    assert_eq!(v["entry"]["type"], "FILE_TYPE_FILE");
    let (s, v) = call(&c, "Stat", json!({"path": "nope"})).await;
    assert_eq!((s, v["code"].as_str()), (404, Some("not_found")));

    let (s, v) = call(&c, "MakeDir", json!({"path": "d/e"})).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["entry"]["type"], "FILE_TYPE_DIRECTORY");
    assert!(v["entry"]["permissions"].as_str().unwrap().starts_with('d'));
    let (s, v) = call(&c, "MakeDir", json!({"path": "d/e"})).await;
    assert_eq!((s, v["code"].as_str()), (409, Some("already_exists")));

    let (s, v) = call(
        &c,
        "Move",
        json!({"source": "f.txt", "destination": "new/g.txt"}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["entry"]["name"], "g.txt");
    assert!(root.join("new/g.txt").exists() && !root.join("f.txt").exists());
    let (s, _) = call(&c, "Move", json!({"source": "f.txt", "destination": "x"})).await;
    assert_eq!(s, 404);

    let (s, _) = call(&c, "Remove", json!({"path": "d"})).await;
    assert_eq!(s, 200);
    assert!(!root.join("d").exists());
    let (s, v) = call(&c, "Remove", json!({"path": "d"})).await;
    assert_eq!((s, v["code"].as_str()), (404, Some("not_found")));
    let (s, v) = call(&c, "ListDir", json!({"path": "new/g.txt"})).await;
    assert_eq!((s, v["code"].as_str()), (400, Some("invalid_argument")));
}

#[tokio::test]
async fn list_dir_depth_symlinks_and_cap() {
    let (c, dir) = setup().await;
    let root = dir.path();
    std::fs::create_dir_all(root.join("a/b/c")).unwrap();
    std::fs::write(root.join("a/b/file"), b"x").unwrap();
    std::os::unix::fs::symlink(root.join("a"), root.join("la")).unwrap();
    let names = |v: &Value| -> Vec<String> {
        let mut n: Vec<String> = v["entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["path"].as_str().unwrap().to_string())
            .collect();
        n.sort();
        n
    };
    let p = |s: &str| root.join(s).to_str().unwrap().to_string();
    let (_, v) = call(&c, "ListDir", json!({"path": root})).await;
    assert_eq!(names(&v), vec![p("a"), p("la")]);
    let la = v["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "la")
        .unwrap();
    assert_eq!(la["type"], "FILE_TYPE_DIRECTORY");
    let (_, v) = call(&c, "ListDir", json!({"path": root, "depth": 3})).await;
    // The symlinked directory is listed, not descended into.
    assert_eq!(
        names(&v),
        vec![p("a"), p("a/b"), p("a/b/c"), p("a/b/file"), p("la")]
    );

    let many = root.join("many");
    std::fs::create_dir(&many).unwrap();
    for i in 0..=crate::filesystem::ops::MAX_ENTRIES {
        std::fs::File::create(many.join(i.to_string())).unwrap();
    }
    let (s, v) = call(&c, "ListDir", json!({"path": "many"})).await;
    assert_eq!((s, v["code"].as_str()), (429, Some("resource_exhausted")));
    assert!(v["message"].as_str().unwrap().contains("smaller depth"));
}

#[tokio::test]
async fn strict_mode_refusals() {
    let (c, dir) = setup().await;
    let root = dir.path();
    std::fs::create_dir(root.join("ok")).unwrap();
    std::os::unix::fs::symlink("/etc", root.join("esc")).unwrap();
    let (s, v) = strict(&c, root, "ListDir", json!({"path": "ok"})).await;
    assert_eq!(s, 200, "{v}");
    let (s, v) = strict(&c, root, "Stat", json!({"path": "../etc"})).await;
    assert_eq!((s, v["code"].as_str()), (400, Some("invalid_argument")));
    let (s, v) = strict(&c, root, "Stat", json!({"path": "/etc/passwd"})).await;
    assert_eq!((s, v["code"].as_str()), (400, Some("invalid_argument")));
    let (s, v) = strict(&c, root, "Stat", json!({"path": "esc/passwd"})).await;
    assert_eq!((s, v["code"].as_str()), (412, Some("failed_precondition")));
    assert!(v["message"]
        .as_str()
        .unwrap()
        .contains("path goes through a symlink"));
    let (s, _) = strict(
        &c,
        root,
        "Move",
        json!({"source": "ok", "destination": "esc/x"}),
    )
    .await;
    assert_eq!(s, 412);
    assert!(root.join("ok").exists());
    let (s, v) = strict(&c, root, "Remove", json!({"path": "."})).await;
    assert_eq!((s, v["code"].as_str()), (400, Some("invalid_argument")));
    assert!(root.exists());
    let (s, _) = call(&c, "Stat", json!({"path": "a\u{0}b"})).await;
    assert_eq!(s, 400);
    let (s, _) = call(&c, "MakeDir", json!({"path": "x".repeat(256)})).await;
    assert_eq!(s, 400);
}

/// Reads watch messages until `want` (name, type) pairs were all seen.
async fn expect_events(stream: &mut crate::connect::tests::Stream, want: &[(&str, &str)]) {
    let mut missing: Vec<(&str, &str)> = want.to_vec();
    while !missing.is_empty() {
        match stream.next().await {
            Some(Item::Message(m)) if m.get("filesystem").is_some() => {
                let f = &m["filesystem"];
                let got = (f["name"].as_str().unwrap(), f["type"].as_str().unwrap());
                missing.retain(|w| *w != got);
            }
            Some(Item::Message(_)) => {}
            other => panic!("watch ended early: {other:?}; still missing {missing:?}"),
        }
    }
}

#[tokio::test]
async fn watch_dir_streams_changes_recursively() {
    let (c, dir) = setup().await;
    let root = dir.path().to_path_buf();
    let mut s = c
        .stream(
            &format!("{FS}WatchDir"),
            vec![json!({"path": root, "recursive": true, "includeEntry": true})],
            &[],
        )
        .await;
    assert_eq!(s.next().await, Some(Item::Message(json!({"start": {}}))));
    std::fs::write(root.join("a"), b"1").unwrap();
    expect_events(
        &mut s,
        &[("a", "EVENT_TYPE_CREATE"), ("a", "EVENT_TYPE_WRITE")],
    )
    .await;
    std::fs::rename(root.join("a"), root.join("b")).unwrap();
    expect_events(
        &mut s,
        &[("a", "EVENT_TYPE_RENAME"), ("b", "EVENT_TYPE_CREATE")],
    )
    .await;
    std::fs::create_dir(root.join("sub")).unwrap();
    expect_events(&mut s, &[("sub", "EVENT_TYPE_CREATE")]).await;
    std::fs::write(root.join("sub/n"), b"2").unwrap();
    expect_events(&mut s, &[("sub/n", "EVENT_TYPE_CREATE")]).await;
    std::fs::remove_file(root.join("b")).unwrap();
    expect_events(&mut s, &[("b", "EVENT_TYPE_REMOVE")]).await;

    let file = root.join("sub/n");
    let mut bad = c
        .stream(&format!("{FS}WatchDir"), vec![json!({"path": file})], &[])
        .await;
    let end = bad.next().await;
    assert!(
        matches!(&end, Some(Item::End(e)) if e["error"]["code"] == "invalid_argument"),
        "{end:?}"
    );
    let mut gone = c
        .stream(
            &format!("{FS}WatchDir"),
            vec![json!({"path": root.join("zz")})],
            &[],
        )
        .await;
    let end = gone.next().await;
    assert!(
        matches!(&end, Some(Item::End(e)) if e["error"]["code"] == "not_found"),
        "{end:?}"
    );
}

#[tokio::test]
async fn polling_watchers() {
    let (c, dir) = setup().await;
    let root = dir.path();
    let (s, v) = call(
        &c,
        "CreateWatcher",
        json!({"path": root, "recursive": false}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let id = v["watcherId"].as_str().unwrap().to_string();
    std::fs::write(root.join("p"), b"x").unwrap();
    let mut seen = Vec::new();
    for _ in 0..200 {
        let (s, v) = call(&c, "GetWatcherEvents", json!({"watcherId": id})).await;
        assert_eq!(s, 200);
        seen.extend(v["events"].as_array().cloned().unwrap_or_default());
        if seen
            .iter()
            .any(|e| e["name"] == "p" && e["type"] == "EVENT_TYPE_CREATE")
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert!(
        seen.iter()
            .any(|e| e["name"] == "p" && e["type"] == "EVENT_TYPE_CREATE"),
        "{seen:?}"
    );
    let (s, _) = call(&c, "RemoveWatcher", json!({"watcherId": id})).await;
    assert_eq!(s, 200);
    let (s, v) = call(&c, "GetWatcherEvents", json!({"watcherId": id})).await;
    assert_eq!((s, v["code"].as_str()), (404, Some("not_found")));
}

#[tokio::test]
async fn watches_show_results_not_the_agents_staging() {
    let (c, dir) = setup().await;
    let root = dir.path().to_path_buf();
    let mut s = c
        .stream(
            &format!("{FS}WatchDir"),
            vec![json!({"path": root, "recursive": true})],
            &[],
        )
        .await;
    assert_eq!(s.next().await, Some(Item::Message(json!({"start": {}}))));
    // What an upload does: a temp file next to the target, written, renamed into place.
    let tmp = root.join(format!(".hello.txt.x1y2z3{}", super::UPLOAD_SUFFIX));
    std::fs::write(&tmp, b"hi").unwrap();
    std::fs::rename(&tmp, root.join("hello.txt")).unwrap();
    // What an archive upload does: a staging directory whose entries are moved out.
    let staging = root.join(format!("{}abc", super::EXTRACT_PREFIX));
    std::fs::create_dir(&staging).unwrap();
    std::fs::write(staging.join("f"), b"1").unwrap();
    std::fs::rename(staging.join("f"), root.join("f")).unwrap();
    std::fs::remove_dir(&staging).unwrap();
    std::fs::write(root.join("zz-end"), b"").unwrap();
    let mut names = Vec::new();
    loop {
        match s.next().await {
            Some(Item::Message(m)) if m.get("filesystem").is_some() => {
                let name = m["filesystem"]["name"].as_str().unwrap().to_string();
                let done = name == "zz-end";
                names.push(name);
                if done {
                    break;
                }
            }
            Some(Item::Message(_)) => {}
            other => panic!("watch ended early: {other:?}; saw {names:?}"),
        }
    }
    assert!(names.iter().any(|n| n == "hello.txt"), "{names:?}");
    assert!(names.iter().any(|n| n == "f"), "{names:?}");
    assert!(
        !names.iter().any(|n| n.contains("sandboxd-")),
        "staging leaked into the watch: {names:?}"
    );
}

#[test]
fn agent_temp_names() {
    use std::path::Path;
    assert!(super::is_agent_temp(Path::new(
        ".a.txt.Xy12.sandboxd-upload"
    )));
    assert!(super::is_agent_temp(Path::new("d/.sandboxd-extract-q/x/y")));
    assert!(!super::is_agent_temp(Path::new("a.sandboxd-upload/b")));
    assert!(!super::is_agent_temp(Path::new("notes.upload")));
}
