use super::*;

fn row(id: &str) -> TaskRow {
    TaskRow {
        id: id.into(),
        sandbox_id: "sb".into(),
        agent: "command".into(),
        adapter: "lines".into(),
        prompt: "p".into(),
        command: vec!["sh".into()],
        cwd: "/home/sandbox".into(),
        env_keys: vec!["KEY".into()],
        secrets: vec!["s3cret".into()],
        timeout_s: Some(5),
        status: "running".into(),
        reason: None,
        exit_code: None,
        pid: 42,
        cancel_requested: false,
        progress: TaskProgress::default(),
        last_event: 0,
        created_at_ms: 1,
        ended_at_ms: None,
    }
}

fn ev(n: usize) -> Vec<(String, String)> {
    (0..n)
        .map(|i| ("message".into(), format!("{{\"i\":{i}}}")))
        .collect()
}

#[tokio::test]
async fn events_and_progress_move_together_and_are_bounded() {
    let s = Store::open_in_memory().unwrap();
    s.insert_task(&row("t1")).await.unwrap();
    assert_eq!(s.task("t1").await.unwrap().unwrap(), row("t1"));
    let p = TaskProgress {
        resume_seq: 7,
        skip_lines: 2,
    };
    assert_eq!(s.append_task_events("t1", ev(3), p).await.unwrap(), 3);
    let t = s.task("t1").await.unwrap().unwrap();
    assert_eq!((t.last_event, t.progress), (3, p));
    let after = s.task_events("t1", 1, 10).await.unwrap();
    assert_eq!(after.iter().map(|e| e.id).collect::<Vec<_>>(), [2, 3]);
    // Past the retention the oldest go; ids keep counting.
    let n = TASK_EVENT_RETENTION as usize;
    let last = s.append_task_events("t1", ev(n), p).await.unwrap();
    assert_eq!(last, 3 + n as u64);
    let first = s.task_events("t1", 0, 1).await.unwrap();
    assert_eq!(first[0].id, last - TASK_EVENT_RETENTION + 1);
}

#[tokio::test]
async fn a_task_ends_once_and_forgets_its_secrets() {
    let s = Store::open_in_memory().unwrap();
    s.insert_task(&row("t1")).await.unwrap();
    s.insert_task(&row("t2")).await.unwrap();
    assert_eq!(s.tasks(None).await.unwrap().len(), 2);
    s.request_task_cancel("t1").await.unwrap();
    assert!(s
        .finish_task("t1", "cancelled", Some("cancelled".into()), Some(143), 9)
        .await
        .unwrap());
    assert!(!s.finish_task("t1", "failed", None, None, 10).await.unwrap());
    let t = s.task("t1").await.unwrap().unwrap();
    assert_eq!(
        (t.status.as_str(), t.cancel_requested, t.ended_at_ms),
        ("cancelled", true, Some(9))
    );
    assert!(t.secrets.is_empty());
    let running = s.tasks(None).await.unwrap();
    assert_eq!(
        running.iter().map(|t| t.id.as_str()).collect::<Vec<_>>(),
        ["t2"]
    );
    assert_eq!(s.tasks(Some("sb")).await.unwrap().len(), 2);
}
