//! Teardown never leaves the engine with a network it refuses to remove. Creates, stops and
//! deletes of different sandboxes overlap (as users make them), then the whole installation is
//! removed, several times in a row; every time its network must really be gone.

use futures_util::future::join_all;
use sandboxd_testkit::{docker, remove_instance, TestServer};

async fn network_exists(instance: &str) -> bool {
    let d = docker().await.unwrap();
    d.inspect_network::<String>(&format!("sandboxd-{instance}"), None)
        .await
        .is_ok()
}

/// Create `n` sandboxes at once; returns their ids.
async fn create_many(s: &TestServer, n: usize) -> Vec<String> {
    let made = join_all((0..n).map(|_| s.create(""))).await;
    made.into_iter().map(|r| r.unwrap()).collect()
}

#[tokio::test]
async fn overlapping_bursts_and_instance_removals_leave_no_network() {
    for round in 0..3 {
        let mut s = TestServer::start().await.unwrap();
        let instance = s.instance.clone();
        let mut previous = create_many(&s, 3).await;
        for _burst in 0..2 {
            // Deletes (running and stopped sandboxes) overlap with the next creates.
            let stop = format!("/v1/sandboxes/{}/stop", previous[0]);
            let (st, v) = s.call("POST", &stop, None).await.unwrap();
            assert_eq!(st, 200, "{v}");
            let deletes = join_all(previous.iter().enumerate().map(|(i, id)| {
                let path = if i % 2 == 0 {
                    format!("/v1/sandboxes/{id}")
                } else {
                    format!("/v1/sandboxes/{id}?purge=true")
                };
                let s = &s;
                async move { s.call("DELETE", &path, None).await.unwrap().0 }
            }));
            let (deleted, created) = tokio::join!(deletes, create_many(&s, 3));
            assert!(
                deleted.iter().all(|st| *st == 204 || *st == 200),
                "{deleted:?}"
            );
            previous = created;
        }
        assert_eq!(s.containers().await.unwrap().len(), 3);
        // Take the installation down with sandboxes running and one stopped, as an operator
        // uninstalling it would (its sandboxd stopped first).
        let stop = format!("/v1/sandboxes/{}/stop", previous[1]);
        assert_eq!(s.call("POST", &stop, None).await.unwrap().0, 200);
        if let Some(r) = s.running.take() {
            r.shutdown().await;
        }
        remove_instance(&instance)
            .await
            .unwrap_or_else(|e| panic!("round {round}: removing {instance}: {e:#}"));
        assert!(
            !network_exists(&instance).await,
            "round {round}: network of {instance} still exists"
        );
        assert!(s.containers().await.unwrap().is_empty());
    }
}
