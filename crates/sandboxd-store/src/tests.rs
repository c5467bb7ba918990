use super::*;
use sandboxd_core::{IdlePolicy, Resources, Status};
use std::collections::BTreeMap;

pub(crate) fn sample(id: &str, created: i64) -> Sandbox {
    Sandbox {
        id: SandboxId::parse_new(id).unwrap(),
        status: Status::Running,
        image: "img:1".into(),
        ports: vec![3000, 8080],
        env: BTreeMap::from([("K".to_string(), "v".to_string())]),
        resources: Resources {
            memory_mb: 512,
            cpus: 0.5,
            pids: 256,
            nofile: 4096,
            tmp_mb: 64,
        },
        disk_mb: Some(256),
        start: Some("python3 -m http.server".into()),
        idle_policy: IdlePolicy::AlwaysOn,
        idle_timeout_s: Some(60),
        freeze_after_s: Some(5),
        egress: sandboxd_core::Egress::None,
        preview: sandboxd_core::Preview::Private,
        metadata: BTreeMap::from([("external_user_id".to_string(), "u1".to_string())]),
        created_at_ms: created,
        updated_at_ms: created,
        last_active_at_ms: created,
        last_error: None,
        owner: None,
        e2b: None,
    }
}

#[tokio::test]
async fn rows_round_trip_and_list_newest_first() {
    let store = Store::open_in_memory().unwrap();
    store.put(&sample("a", 1)).await.unwrap();
    store.put(&sample("b", 2)).await.unwrap();
    let got = store
        .get(&SandboxId::parse_new("a").unwrap())
        .await
        .unwrap();
    assert_eq!(got, Some(sample("a", 1)));
    let ids: Vec<_> = store
        .list(ListFilter::default())
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.id.to_string())
        .collect();
    assert_eq!(ids, vec!["b", "a"]);
}

#[tokio::test]
async fn tombstones_are_hidden_unless_asked_and_filters_apply() {
    let store = Store::open_in_memory().unwrap();
    let mut gone = sample("gone", 1);
    gone.status = Status::Deleted;
    store.put(&gone).await.unwrap();
    let mut other = sample("other", 2);
    other.metadata.clear();
    store.put(&other).await.unwrap();
    assert_eq!(store.list(ListFilter::default()).await.unwrap().len(), 1);
    let all = ListFilter {
        include_deleted: true,
        ..Default::default()
    };
    assert_eq!(store.list(all).await.unwrap().len(), 2);
    let by_user = ListFilter {
        include_deleted: true,
        metadata: vec![("external_user_id".into(), "u1".into())],
        ..Default::default()
    };
    let rows = store.list(by_user).await.unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].id.as_str(), "gone");
}

#[tokio::test]
async fn touch_only_moves_forward_and_remove_deletes() {
    let store = Store::open_in_memory().unwrap();
    let id = SandboxId::parse_new("a").unwrap();
    store.put(&sample("a", 10)).await.unwrap();
    store.touch(&id, 50).await.unwrap();
    store.touch(&id, 20).await.unwrap();
    assert_eq!(store.get(&id).await.unwrap().unwrap().last_active_at_ms, 50);
    store.remove(&id).await.unwrap();
    assert_eq!(store.get(&id).await.unwrap(), None);
}

#[tokio::test]
async fn reopening_a_file_keeps_rows_and_schema_version() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db.sqlite");
    {
        let store = Store::open(&path).unwrap();
        store.put(&sample("a", 1)).await.unwrap();
    }
    let store = Store::open(&path).unwrap();
    assert!(store
        .get(&SandboxId::parse_new("a").unwrap())
        .await
        .unwrap()
        .is_some());
    let conn = store.conn.lock().unwrap();
    let v: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap();
    assert_eq!(v, migrate::latest());
    let mode: String = conn
        .pragma_query_value(None, "journal_mode", |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
}

#[tokio::test]
async fn a_second_owner_of_the_file_is_refused_until_the_first_is_gone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db.sqlite");
    let first = Store::open(&path).unwrap();
    let clone = first.clone();
    let err = Store::open(&path).err().expect("second open must fail");
    assert!(matches!(err, StoreError::InUse { .. }), "{err}");
    assert!(
        err.to_string().contains("in use by another sandboxd"),
        "{err}"
    );
    drop(first);
    assert!(Store::open(&path).is_err(), "a clone still owns it");
    drop(clone);
    Store::open(&path).unwrap();
}

#[tokio::test]
async fn files_are_private_durable_and_tombstones_keep_no_env_values() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db.sqlite");
    let store = Store::open(&path).unwrap();
    let mut gone = sample("gone", 1);
    store.put(&gone).await.unwrap();
    gone.status = Status::Deleted;
    store.put(&gone).await.unwrap();
    let got = store.get(&gone.id).await.unwrap().unwrap();
    assert_eq!(got.env, BTreeMap::from([("K".to_string(), String::new())]));
    for suffix in ["", "-wal", "-shm", ".lock"] {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        let mode = std::fs::metadata(&name).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{}", suffix);
    }
    let conn = store.conn.lock().unwrap();
    let env: String = conn
        .query_row("SELECT env FROM sandboxes WHERE id = 'gone'", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(env, r#"{"K":""}"#);
    let sync: i64 = conn
        .pragma_query_value(None, "synchronous", |r| r.get(0))
        .unwrap();
    assert_eq!(sync, 2, "synchronous=FULL");
}

#[tokio::test]
async fn agent_token_survives_puts_rotates_and_dies_with_the_tombstone() {
    let store = Store::open_in_memory().unwrap();
    let id = SandboxId::parse_new("tok").unwrap();
    let missing = AgentToken::from_random([1; sandboxd_core::AGENT_TOKEN_BYTES]);
    assert!(matches!(
        store.set_agent_token(&id, &missing).await,
        Err(StoreError::NotFound { .. })
    ));
    let mut sb = sample("tok", 1);
    store.put(&sb).await.unwrap();
    assert_eq!(store.agent_token(&id).await.unwrap(), None);
    let first = AgentToken::from_random([7; sandboxd_core::AGENT_TOKEN_BYTES]);
    store.set_agent_token(&id, &first).await.unwrap();
    sb.status = Status::Stopped;
    store.put(&sb).await.unwrap();
    assert_eq!(store.agent_token(&id).await.unwrap(), Some(first));
    let second = AgentToken::from_random([9; sandboxd_core::AGENT_TOKEN_BYTES]);
    store.set_agent_token(&id, &second).await.unwrap();
    assert_eq!(store.agent_token(&id).await.unwrap(), Some(second));
    // The record itself never carries it.
    let row = store.get(&id).await.unwrap().unwrap();
    assert!(!format!("{row:?}").contains(&"09".repeat(32)));
    sb.status = Status::Deleted;
    store.put(&sb).await.unwrap();
    assert_eq!(store.agent_token(&id).await.unwrap(), None);
}

#[tokio::test]
async fn keys_are_found_by_hash_and_revoked() {
    use crate::KeyRecord;
    use sandboxd_core::KeyRole;
    let store = Store::open_in_memory().unwrap();
    let rec = KeyRecord {
        id: "k1".into(),
        name: "ci".into(),
        hint: "abcd".into(),
        role: KeyRole::Tenant("team-a".into()),
        created_at_ms: 1,
        revoked_at_ms: None,
        last_used_at_ms: None,
    };
    store.insert_key(&rec, "h1".into()).await.unwrap();
    assert_eq!(
        store.key_by_hash("h1".into()).await.unwrap(),
        Some(rec.clone())
    );
    assert_eq!(store.key_by_hash("h2".into()).await.unwrap(), None);
    store.touch_key("k1".into(), 5).await.unwrap();
    assert!(store.revoke_key("k1".into(), 7).await.unwrap());
    assert!(!store.revoke_key("nope".into(), 7).await.unwrap());
    let listed = store.list_keys().await.unwrap();
    assert_eq!(listed[0].revoked_at_ms, Some(7));
    assert_eq!(listed[0].last_used_at_ms, Some(5));
}

#[tokio::test]
async fn audit_is_newest_first_filtered_and_paged() {
    use crate::{AuditEntry, AuditQuery};
    let store = Store::open_in_memory().unwrap();
    let entry = |i: i64, sb: &str| AuditEntry {
        at_ms: i,
        actor_key_id: None,
        actor: "loopback".into(),
        method: "POST".into(),
        route: "/v1/sandboxes/{id}/exec".into(),
        sandbox_id: Some(sb.into()),
        status: 200,
        request_id: format!("r{i}"),
    };
    let batch = (0..5).map(|i| entry(i, if i % 2 == 0 { "a" } else { "b" }));
    store.append_audit(batch.collect()).await.unwrap();
    let q = |sandbox: Option<&str>, before: Option<i64>| AuditQuery {
        sandbox_id: sandbox.map(str::to_string),
        since_ms: Some(1),
        before_seq: before,
        limit: 2,
    };
    let page = store.audit(q(Some("a"), None)).await.unwrap();
    let times: Vec<i64> = page.iter().map(|r| r.entry.at_ms).collect();
    assert_eq!(times, vec![4, 2]);
    let next = store.audit(q(Some("a"), Some(page[1].seq))).await.unwrap();
    assert!(next.is_empty(), "at_ms 0 is before `since`");
    assert_eq!(store.audit(q(None, None)).await.unwrap()[0].entry.at_ms, 4);
}

#[tokio::test]
async fn list_filters_by_owner() {
    let store = Store::open_in_memory().unwrap();
    let mut mine = sample("mine", 1);
    mine.owner = Some("a".into());
    store.put(&mine).await.unwrap();
    store.put(&sample("other", 2)).await.unwrap();
    let only = ListFilter {
        owner: Some("a".into()),
        ..Default::default()
    };
    let rows = store.list(only).await.unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].owner.as_deref(), Some("a"));
}

#[tokio::test]
async fn the_e2b_lifetime_round_trips() {
    let store = Store::open_in_memory().unwrap();
    let mut sb = sample("e2b-1", 1);
    sb.e2b = Some(sandboxd_core::E2bLifetime {
        template_id: "base".into(),
        end_at_ms: 42_000,
        on_end: sandboxd_core::OnEnd::Pause,
    });
    store.put(&sb).await.unwrap();
    let got = store.get(&sb.id).await.unwrap().unwrap();
    assert_eq!(got.e2b, sb.e2b);
    sb.e2b = None;
    store.put(&sb).await.unwrap();
    assert_eq!(store.get(&sb.id).await.unwrap().unwrap().e2b, None);
}
