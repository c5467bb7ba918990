//! The E2B REST API against a real engine, called as the E2B SDK calls it (`X-API-KEY`, E2B's
//! camelCase bodies): create (v1, v2) with metadata and env, info, list with a metadata filter and
//! pagination, set_timeout then expiry kills, autoPause pauses and connect resumes with the
//! workspace intact, kill then info 404, a wrong key 401 in E2B's error shape, tenant keys
//! confined to their own sandboxes.

#[path = "e2b_rest/client.rs"]
mod client;

use client::{create, e2b, e2b_with_key, server, state, wait_for};
use serde_json::json;
use std::time::{Duration, Instant};

#[tokio::test]
async fn create_info_list_and_kill() {
    let s = server().await;
    let a = create(
        &s,
        "/sandboxes",
        json!({"templateID":"base","timeout":300,"metadata":{"suite":"t1","n":"1"},
               "envVars":{"GREETING":"hi there"}}),
    )
    .await;
    let id = a["sandboxID"].as_str().unwrap().to_string();
    assert_eq!(a["templateID"], "base");
    assert_eq!(a["envdVersion"], sandboxd_api::ENVD_VERSION);
    assert_eq!(a["envdAccessToken"].as_str().unwrap().len(), 64);
    let domain = format!(
        "preview.localhost:{}",
        s.running.as_ref().unwrap().preview_addr.port()
    );
    assert_eq!(a["domain"], domain.as_str());
    // The agent already serves, and the env reaches every process.
    let (code, out, _) = s.sh(&id, "echo \"$GREETING\"").await.unwrap();
    assert_eq!((code, out.trim()), (0, "hi there"));

    let b = create(
        &s,
        "/v2/sandboxes",
        json!({"templateID":"base","metadata":{"suite":"t1","n":"2"}}),
    )
    .await;
    let id_b = b["sandboxID"].as_str().unwrap().to_string();
    // SDK 2.45 sends these snake_case fields; no internet access is egress `none`.
    let c = create(
        &s,
        "/sandboxes",
        json!({"templateID":"base","metadata":{"suite":"other"},"secure":true,
               "allow_internet_access":false}),
    )
    .await;
    let ours = format!("/v1/sandboxes/{}", c["sandboxID"].as_str().unwrap());
    let (_, v) = s.call("GET", &ours, None).await.unwrap();
    assert_eq!(v["egress"], "none", "{v}");

    let (st, _, info) = e2b(&s, "GET", &format!("/sandboxes/{id}"), None).await;
    assert_eq!(st, 200, "{info}");
    assert_eq!(
        (info["state"].as_str(), info["metadata"]["n"].as_str()),
        (Some("running"), Some("1"))
    );
    let started =
        sandboxd_core::time::parse_rfc3339_ms(info["startedAt"].as_str().unwrap()).unwrap();
    let end = sandboxd_core::time::parse_rfc3339_ms(info["endAt"].as_str().unwrap()).unwrap();
    assert!((299_000..=301_000).contains(&(end - started)), "{info}");
    assert_eq!(info["memoryMB"], 256);

    // The metadata filter as the SDK encodes it (suite=t1), one item per page.
    let filter = "metadata=suite%3Dt1&state=running%2Cpaused&limit=1";
    let (st, h, page1) = e2b(&s, "GET", &format!("/v2/sandboxes?{filter}"), None).await;
    assert_eq!(st, 200, "{page1}");
    assert_eq!(page1.as_array().unwrap().len(), 1);
    assert_eq!(page1[0]["sandboxID"], id_b.as_str(), "newest first");
    let next = h["x-next-token"].to_str().unwrap().to_string();
    let (_, h, page2) = e2b(
        &s,
        "GET",
        &format!("/v2/sandboxes?{filter}&nextToken={next}"),
        None,
    )
    .await;
    assert_eq!(page2[0]["sandboxID"], id.as_str());
    assert!(h.get("x-next-token").is_none(), "last page");
    // SDK 1.x lists on GET /sandboxes with X-API-KEY; ours (Bearer) keeps its own shape.
    let (_, _, v1) = e2b(&s, "GET", "/sandboxes?metadata=suite%3Dt1&order=asc", None).await;
    assert_eq!(v1[0]["sandboxID"], id.as_str());
    let (_, ours) = s.call("GET", "/sandboxes", None).await.unwrap();
    assert_eq!(ours.as_array().unwrap().len(), 3);
    assert!(ours[0]["id"].is_string());

    // Kill: 204, then info and connect are 404 in E2B's shape, a second kill too.
    let (st, _, _) = e2b(&s, "DELETE", &format!("/sandboxes/{id}"), None).await;
    assert_eq!(st, 204);
    let (st, _, v) = e2b(&s, "GET", &format!("/sandboxes/{id}"), None).await;
    assert_eq!((st, v["code"].as_u64()), (404, Some(404)), "{v}");
    assert!(v["message"].is_string());
    let (st, _, _) = e2b(
        &s,
        "POST",
        &format!("/v2/sandboxes/{id}/connect"),
        Some(json!({})),
    )
    .await;
    assert_eq!(st, 404);
    let (st, _, _) = e2b(&s, "DELETE", &format!("/sandboxes/{id}"), None).await;
    assert_eq!(st, 404);
    // The workspace is kept by default (documented; --e2b-purge-on-kill removes it).
    assert!(s.workspaces().join(&id).exists());

    // Unknown template: 400, and the SDK is told not to retry the create.
    let (st, h, v) = e2b(
        &s,
        "POST",
        "/v2/sandboxes",
        Some(json!({"templateID":"nope"})),
    )
    .await;
    assert_eq!((st, v["code"].as_u64()), (400, Some(400)), "{v}");
    assert_eq!(h["should-retry"], "false");
}

#[tokio::test]
async fn set_timeout_then_the_end_kills() {
    let s = server().await;
    let a = create(&s, "/sandboxes", json!({"templateID":"base","timeout":300})).await;
    let id = a["sandboxID"].as_str().unwrap().to_string();
    let (st, _, _) = e2b(
        &s,
        "POST",
        &format!("/sandboxes/{id}/timeout"),
        Some(json!({"timeout":2})),
    )
    .await;
    assert_eq!(st, 204);
    let (_, act) = s
        .call("GET", &format!("/v1/sandboxes/{id}/activity"), None)
        .await
        .unwrap();
    assert_eq!(act["on_end"], "kill");
    assert!(act["e2b_end_at"].is_string());
    // A connect never shortens it (1 s is less than what is left).
    let (st, _, _) = e2b(
        &s,
        "POST",
        &format!("/sandboxes/{id}/connect"),
        Some(json!({"timeout":1})),
    )
    .await;
    assert_eq!(st, 200);
    wait_for(&s, &id, (404, ""), Duration::from_secs(20)).await;
    // The tombstone comes first, then the container goes.
    let t = Instant::now();
    while !s.containers().await.unwrap().is_empty() {
        assert!(t.elapsed() < Duration::from_secs(20), "container left");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn auto_pause_pauses_and_connect_resumes_with_the_workspace() {
    let s = server().await;
    let a = create(
        &s,
        "/v2/sandboxes",
        json!({"templateID":"base","timeout":2,"autoPause":true}),
    )
    .await;
    let id = a["sandboxID"].as_str().unwrap().to_string();
    let (code, _, _) = s.sh(&id, "echo kept > ~/note").await.unwrap();
    assert_eq!(code, 0);
    wait_for(&s, &id, (200, "paused"), Duration::from_secs(20)).await;
    let (_, act) = s
        .call("GET", &format!("/v1/sandboxes/{id}/activity"), None)
        .await
        .unwrap();
    assert_eq!(
        (act["status"].as_str(), act["on_end"].as_str()),
        (Some("stopped"), Some("pause"))
    );
    // Pausing a paused sandbox is a 409; connect resumes it (201).
    let (st, _, _) = e2b(&s, "POST", &format!("/sandboxes/{id}/pause"), None).await;
    assert_eq!(st, 409);
    let (st, _, c) = e2b(
        &s,
        "POST",
        &format!("/v2/sandboxes/{id}/connect"),
        Some(json!({"timeout":60})),
    )
    .await;
    assert_eq!(st, 201, "{c}");
    assert_eq!(c["envdAccessToken"].as_str().map(str::len), Some(64));
    assert_eq!(state(&s, &id).await, (200, "running".into()));
    let (_, out, _) = s.sh(&id, "cat ~/note").await.unwrap();
    assert_eq!(out.trim(), "kept");
    // Running: connect is a 200; pause stops it (204), resume (2.0.x) brings it back (201).
    let (st, _, _) = e2b(
        &s,
        "POST",
        &format!("/sandboxes/{id}/connect"),
        Some(json!({})),
    )
    .await;
    assert_eq!(st, 200);
    let (st, _, _) = e2b(
        &s,
        "POST",
        &format!("/sandboxes/{id}/pause"),
        Some(json!({})),
    )
    .await;
    assert_eq!(st, 204);
    let (st, _, _) = e2b(
        &s,
        "POST",
        &format!("/sandboxes/{id}/resume"),
        Some(json!({"timeout":60})),
    )
    .await;
    assert_eq!(st, 201);
}

#[tokio::test]
async fn a_wrong_key_is_401_in_e2b_shape() {
    let s = server().await;
    let wrong = "e2b_ffffffffffffffffffffffffffffffffffffffff";
    let (st, _, v) = e2b_with_key(&s, wrong, "GET", "/v2/sandboxes", None).await;
    assert_eq!((st, v["code"].as_u64()), (401, Some(401)), "{v}");
    assert!(v["message"].is_string());
    let (st, h, v) = e2b_with_key(
        &s,
        wrong,
        "POST",
        "/v2/sandboxes",
        Some(json!({"templateID":"base"})),
    )
    .await;
    assert_eq!((st, v["code"].as_u64()), (401, Some(401)), "{v}");
    assert_eq!(h["should-retry"], "false");
    // The health route needs no key.
    let (st, _, _) = e2b_with_key(&s, wrong, "GET", "/health", None).await;
    assert_eq!(st, 200);
}

#[tokio::test]
async fn tenant_keys_see_only_their_own_e2b_sandboxes() {
    let s = server().await;
    let mut keys = Vec::new();
    for owner in ["alice", "bob"] {
        let body = json!({"name": owner, "role": "tenant", "owner": owner}).to_string();
        let (st, v) = s.call("POST", "/v1/keys", Some(&body)).await.unwrap();
        assert_eq!(st, 201, "{v}");
        keys.push(v["key"].as_str().unwrap().to_string());
    }
    let (alice, bob) = (&keys[0], &keys[1]);
    let body = json!({"templateID": "base"});
    let (st, _, v) = e2b_with_key(&s, alice, "POST", "/v2/sandboxes", Some(body)).await;
    assert_eq!(st, 201, "{v}");
    let id = v["sandboxID"].as_str().unwrap().to_string();
    // Bob: not found on every route naming it, in E2B's shape; an empty list.
    for (method, path) in [
        ("GET", format!("/sandboxes/{id}")),
        ("POST", format!("/sandboxes/{id}/timeout")),
        ("POST", format!("/v2/sandboxes/{id}/connect")),
        ("POST", format!("/sandboxes/{id}/pause")),
        ("DELETE", format!("/sandboxes/{id}")),
    ] {
        let body = Some(json!({"timeout": 1}));
        let (st, _, v) = e2b_with_key(&s, bob, method, &path, body).await;
        assert_eq!(
            (st, v["code"].as_u64()),
            (404, Some(404)),
            "{method} {path}: {v}"
        );
    }
    let (_, _, v) = e2b_with_key(&s, bob, "GET", "/v2/sandboxes", None).await;
    assert_eq!(v.as_array().map(Vec::len), Some(0), "{v}");
    let (_, _, v) = e2b_with_key(&s, alice, "GET", "/v2/sandboxes", None).await;
    assert_eq!(v[0]["sandboxID"], id.as_str(), "{v}");
    assert_eq!(state(&s, &id).await, (200, "running".into()));
}
