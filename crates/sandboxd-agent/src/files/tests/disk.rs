//! A full disk during an upload: 507, the old file intact, no temp left.

use super::{assert_no_temp_files, noise, status_json, Files};

/// Unmounts the test's tmpfs however the test ends.
struct Mount(std::path::PathBuf);

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).status();
    }
}

#[tokio::test]
async fn full_disk_is_507_and_keeps_the_old_file() {
    let (f, dir) = Files::new().await;
    let small = dir.path().join("small");
    std::fs::create_dir(&small).unwrap();
    let mounted = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=1m", "tmpfs"])
        .arg(&small)
        .status()
        .is_ok_and(|s| s.success());
    if !mounted {
        // Needs root with CAP_SYS_ADMIN (as on the project's machines and CI).
        eprintln!("SKIPPED: cannot mount a tmpfs here");
        return;
    }
    let _guard = Mount(small.clone());
    std::fs::write(small.join("keep"), b"old").unwrap();
    let req = f.post(Some("small/keep")).body(noise(3 << 20));
    let (s, v) = status_json(req.send().await.unwrap()).await;
    assert_eq!((s, v["code"].as_u64()), (507, Some(507)), "{v}");
    assert_eq!(std::fs::read(small.join("keep")).unwrap(), b"old");
    assert_no_temp_files(&small);
}
