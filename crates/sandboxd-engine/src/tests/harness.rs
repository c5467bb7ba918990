//! An engine on the fake runtime, a tempdir data dir, a clock that follows tokio's (paused) time,
//! and host memory that shrinks with every running (or paused) container.

use crate::clock::Clock;
use crate::memory::{HostMemory, MemoryReading};
use crate::{Engine, EngineConfig};
use sandboxd_core::{IdlePolicy, Limits, Resources, Sandbox, SandboxId, SandboxSpec, Status};
use sandboxd_runtime::fake::FakeRuntime;
use sandboxd_runtime::StopSemantics;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub const IMAGE: &str = "sandboxd/test:1";
pub const IDLE: Duration = Duration::from_secs(60);
const MIB: u64 = 1024 * 1024;

/// Wall clock = a fixed epoch + tokio's elapsed time (so `tokio::time::advance` moves both).
pub struct TokioClock(tokio::time::Instant);

impl Clock for TokioClock {
    fn now_ms(&self) -> i64 {
        1_700_000_000_000 + self.0.elapsed().as_millis() as i64
    }
}

/// `total - base - running × per` MiB available; no reading until [`FakeMemory::set`].
pub struct FakeMemory {
    rt: Arc<FakeRuntime>,
    /// (base used, used per running container), MiB.
    use_mb: Mutex<Option<(u64, u64)>>,
    pub reads: AtomicUsize,
}

pub const TOTAL_MB: u64 = 10_000;

impl FakeMemory {
    pub fn set(&self, base_mb: u64, per_running_mb: u64) {
        *self.use_mb.lock().unwrap() = Some((base_mb, per_running_mb));
    }

    pub fn reads(&self) -> usize {
        self.reads.load(Ordering::SeqCst)
    }
}

impl HostMemory for FakeMemory {
    fn read(&self) -> Option<MemoryReading> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        let (base, per) = (*self.use_mb.lock().unwrap())?;
        // A paused container keeps its memory.
        let used = base + per * self.rt.holding_memory_count() as u64;
        Some(MemoryReading {
            available: TOTAL_MB.saturating_sub(used) * MIB,
            total: TOTAL_MB * MIB,
        })
    }
}

pub struct Harness {
    pub engine: Engine,
    pub rt: Arc<FakeRuntime>,
    pub memory: Arc<FakeMemory>,
    _dir: tempfile::TempDir,
}

pub fn id(s: &str) -> SandboxId {
    SandboxId::parse_new(s).unwrap()
}

pub fn resources() -> Resources {
    Resources {
        memory_mb: 512,
        cpus: 1.0,
        pids: 256,
        nofile: 1024,
        tmp_mb: 64,
    }
}

pub fn spec(name: &str) -> SandboxSpec {
    SandboxSpec {
        id_chosen: true,
        id: id(name),
        image: IMAGE.to_string(),
        ports: vec![8080],
        env: BTreeMap::new(),
        start: None,
        resources: resources(),
        disk_mb: None,
        idle_policy: IdlePolicy::Sleep,
        idle_timeout_s: None,
        freeze_after_s: None,
        egress: sandboxd_core::Egress::Open,
        preview: sandboxd_core::Preview::Public,
        metadata: BTreeMap::new(),
        owner: None,
        e2b: None,
    }
}

impl Harness {
    pub async fn new() -> Self {
        Self::with(StopSemantics::KeepsContainer).await
    }

    pub async fn with(semantics: StopSemantics) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let rt = Arc::new(FakeRuntime::new(semantics));
        rt.add_image(IMAGE);
        let memory = Arc::new(FakeMemory {
            rt: rt.clone(),
            use_mb: Mutex::new(None),
            reads: AtomicUsize::new(0),
        });
        let cfg = EngineConfig {
            data_dir: dir.path().to_path_buf(),
            instance: "t".into(),
            limits: Limits {
                default: resources(),
                max_memory_mb: 4096,
                max_cpus: 2.0,
                max_pids: 1024,
                default_image: IMAGE.into(),
                default_disk_mb: None,
                max_disk_mb: 0,
                default_preview: sandboxd_core::Preview::Public,
            },
            stop_grace: Duration::from_secs(3),
            exec_output_cap: 1024 * 1024,
            reconcile_interval: Duration::from_secs(30),
            idle_timeout: IDLE,
            // Off unless a test asks (per sandbox): the older tests are about the stop rung.
            freeze_after: Duration::ZERO,
            max_lease: Duration::from_secs(3600),
            wake_timeout: Duration::from_secs(5),
            reap_interval: Duration::from_secs(5),
            min_free_ratio: 0.1,
            admission_reserve_mb: 256,
            e2b_purge_on_kill: false,
        };
        let clock = Arc::new(TokioClock(tokio::time::Instant::now()));
        let engine = Engine::start(cfg, rt.clone(), clock, memory.clone())
            .await
            .unwrap();
        Harness {
            engine,
            rt,
            memory,
            _dir: dir,
        }
    }

    pub fn name(&self, s: &str) -> String {
        self.engine.container_name(&id(s))
    }

    pub async fn create(&self, s: &str) -> Sandbox {
        self.engine.create_sandbox(spec(s)).await.unwrap()
    }

    pub async fn row(&self, s: &str) -> Option<Sandbox> {
        self.engine.inner.store.get(&id(s)).await.unwrap()
    }

    pub async fn status(&self, s: &str) -> Option<Status> {
        self.row(s).await.map(|r| r.status)
    }

    /// Write a row in `status` directly (as a previous run of sandboxd would have left it).
    pub async fn put_row(&self, s: &str, status: Status) {
        let sp = spec(s);
        let sb = Sandbox {
            id: sp.id,
            status,
            image: sp.image,
            ports: sp.ports,
            env: sp.env,
            resources: sp.resources,
            disk_mb: sp.disk_mb,
            start: None,
            idle_policy: IdlePolicy::Sleep,
            idle_timeout_s: None,
            freeze_after_s: None,
            egress: sandboxd_core::Egress::Open,
            preview: sandboxd_core::Preview::Public,
            metadata: BTreeMap::new(),
            created_at_ms: 1,
            updated_at_ms: 1,
            last_active_at_ms: 1,
            last_error: None,
            owner: None,
            e2b: None,
        };
        self.engine.inner.store.put(&sb).await.unwrap();
    }
}

/// Poll (in tokio time) until `cond` holds, at most `secs` seconds.
pub async fn eventually(secs: u64, mut cond: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    while !cond() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "condition not reached"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}
