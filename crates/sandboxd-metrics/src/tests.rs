use super::*;

fn line<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    text.lines().find(|l| l.starts_with(prefix))
}

#[test]
fn every_family_is_listed_before_any_event() {
    let m = Metrics::new();
    let text = m.render();
    for family in [
        "sandboxd_lifecycle_total{op=\"create\",outcome=\"ok\"} 0",
        "sandboxd_lifecycle_total{op=\"reap\",outcome=\"error\"} 0",
        "sandboxd_create_duration_seconds_count 0",
        "sandboxd_wake_duration_seconds_count 0",
        "sandboxd_sandboxes{status=\"running\"} 0",
        "sandboxd_reconcile_actions_total{action=\"recreate\"} 0",
        "sandboxd_admission_refusals_total 0",
        "sandboxd_admission_evictions_total 0",
        "sandboxd_engine_errors_total{kind=\"unavailable\"} 0",
        "sandboxd_api_requests_total{class=\"2xx\"} 0",
        "sandboxd_proxy_requests_total{class=\"5xx\"} 0",
        "sandboxd_proxy_response_bytes_total{class=\"2xx\"} 0",
        "sandboxd_proxy_open_connections 0",
        "sandboxd_proxy_refused_connections_total{reason=\"global_cap\"} 0",
        "sandboxd_proxy_refused_connections_total{reason=\"client_cap\"} 0",
        "sandboxd_wake_port_waiters_total 0",
        "sandboxd_wake_throttled_total 0",
        "sandboxd_workspace_used_bytes 0",
        "sandboxd_workspace_limit_bytes 0",
        "sandboxd_workspaces_full 0",
    ] {
        assert!(text.contains(family), "missing {family} in\n{text}");
    }
    assert!(text.ends_with("# EOF\n"));
}

#[test]
fn recordings_move_their_series_only() {
    let m = Metrics::new();
    m.lifecycle(Op::Wake, Outcome::Ok);
    m.lifecycle(Op::Wake, Outcome::Ok);
    m.lifecycle(Op::Create, Outcome::from(&Err::<(), ()>(())));
    m.create_duration(Duration::from_millis(300));
    m.set_sandboxes("stopped", 3);
    m.reconciled(ReconcileAction::RecordExit);
    m.proxy.request(204);
    m.proxy.request(502);
    m.proxy.bytes_counter(200).inc_by(1234);
    let open = m.proxy.connection();
    let text = m.render();
    let has = |l: &str| assert!(text.lines().any(|x| x == l), "missing {l} in\n{text}");
    has("sandboxd_lifecycle_total{op=\"wake\",outcome=\"ok\"} 2");
    has("sandboxd_lifecycle_total{op=\"create\",outcome=\"error\"} 1");
    has("sandboxd_lifecycle_total{op=\"create\",outcome=\"ok\"} 0");
    has("sandboxd_create_duration_seconds_count 1");
    has("sandboxd_sandboxes{status=\"stopped\"} 3");
    has("sandboxd_reconcile_actions_total{action=\"record_exit\"} 1");
    has("sandboxd_proxy_requests_total{class=\"2xx\"} 1");
    has("sandboxd_proxy_requests_total{class=\"5xx\"} 1");
    has("sandboxd_proxy_response_bytes_total{class=\"2xx\"} 1234");
    has("sandboxd_proxy_open_connections 1");
    drop(open);
    let text = m.render();
    assert_eq!(
        line(&text, "sandboxd_proxy_open_connections "),
        Some("sandboxd_proxy_open_connections 0")
    );
}

#[test]
fn status_classes() {
    assert_eq!(StatusClass::of(101), StatusClass::Informational);
    assert_eq!(StatusClass::of(304), StatusClass::Redirect);
    assert_eq!(StatusClass::of(499), StatusClass::ClientError);
    assert_eq!(StatusClass::of(503), StatusClass::ServerError);
}

#[test]
fn workspace_totals_count_full_ones() {
    let m = Metrics::new();
    let mut t = WorkspaceTotals::default();
    t.add(10, 100);
    t.add(64, 64);
    m.workspaces.set(t);
    let text = m.render();
    assert!(
        text.contains("sandboxd_workspace_used_bytes 77594624"),
        "{text}"
    );
    assert!(
        text.contains("sandboxd_workspace_limit_bytes 171966464"),
        "{text}"
    );
    assert!(text.contains("sandboxd_workspaces_full 1"), "{text}");
}
