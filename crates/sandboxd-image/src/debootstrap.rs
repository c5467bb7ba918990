//! Method "debootstrap": build the default image without any base image or registry. The rule
//! it owns: the rootfs is bootstrapped and provisioned in a scratch dir on disk, proc is
//! mounted only while provision.sh runs in the chroot, and every exit path unmounts it before
//! the dir is deleted (see `workdir`).

use std::path::Path;

use anyhow::{bail, Context as _, Result};
use bollard::Docker;
use tokio::process::Command;

use super::host::{ensure_tool, host_ca_bundle, is_root};
use super::load::{load_layer, ImageMeta, Layer};
use super::progress::{run_logged, Progress};
use super::recipe::{now_rfc3339, ImageSpec, ProvisionReport, HOST_CA_FILE, RECIPE_FILES};
use super::workdir::BuildDir;
use super::{DefaultImageOptions, IMAGE_INFO_PATH};

/// The Debian release the recipe is written for.
const SUITE: &str = "bookworm";

/// PATH inside the chroot while provisioning.
const CHROOT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Whether this host can use this method at all (it needs root for chroot and mount).
pub(crate) fn usable() -> bool {
    is_root()
}

/// Build and load the image; returns what provision.sh recorded. `finish` turns the report
/// into the final image config (labels) before the rootfs is loaded.
pub(crate) async fn build(
    docker: &Docker,
    opts: &DefaultImageOptions,
    recipe: &str,
    finish: impl Fn(&ProvisionReport) -> ImageSpec,
    progress: &Progress<'_>,
) -> Result<(String, ProvisionReport)> {
    if !is_root() {
        bail!("the debootstrap build needs root (chroot and mount); run it as root or with sudo");
    }
    ensure_tool("debootstrap", "debootstrap", |_| true, progress).await?;
    let parent = opts.work_dir.clone().unwrap_or_else(|| "/var/tmp".into());
    let dir = BuildDir::create(&parent)?;
    progress.step(format!("build dir {}", dir.path().display()));
    let result = build_in(docker, opts, recipe, finish, &dir, progress).await;
    // Unmount and delete on every path; the drop guard covers cancellation.
    progress.step("cleanup: unmounting and removing the build dir");
    let cleaned = dir.remove().await;
    let out = result?;
    cleaned.context("cleaning up the build dir")?;
    Ok(out)
}

async fn build_in(
    docker: &Docker,
    opts: &DefaultImageOptions,
    recipe: &str,
    finish: impl Fn(&ProvisionReport) -> ImageSpec,
    dir: &BuildDir,
    progress: &Progress<'_>,
) -> Result<(String, ProvisionReport)> {
    let root = dir.path().join("rootfs");
    progress.step(format!(
        "debootstrap: bootstrapping Debian {SUITE} minbase from {}",
        opts.mirror
    ));
    // One retry from scratch: a download that fails midway (a mirror hiccup) should not end
    // the build; a second failure is reported.
    for attempt in 1..=2 {
        let mut cmd = Command::new("debootstrap");
        cmd.args(["--variant=minbase", "--include=ca-certificates", SUITE])
            .arg(&root)
            .arg(&opts.mirror);
        match run_logged(&mut cmd, "debootstrap", progress).await {
            Ok(()) => break,
            Err(e) if attempt == 1 => {
                progress.step(format!("debootstrap failed ({e:#}); retrying from scratch"));
                dir.clear(&root)
                    .await
                    .context("clearing the failed bootstrap")?;
            }
            Err(e) => return Err(e),
        }
    }

    progress.step("chroot: preparing (apt sources, resolv.conf, /proc)");
    write(&root.join("etc/apt/sources.list"), &apt_sources(opts))?;
    let resolv =
        std::fs::read("/etc/resolv.conf").context("reading the host's /etc/resolv.conf")?;
    let resolv_path = root.join("etc/resolv.conf");
    let _ = std::fs::remove_file(&resolv_path);
    std::fs::write(&resolv_path, resolv)?;
    let policy = root.join("usr/sbin/policy-rc.d");
    write(
        &policy,
        "#!/bin/sh\n# no daemons during image builds\nexit 101\n",
    )?;
    set_mode(&policy, 0o755)?;
    let stage = root.join("tmp/sandboxd");
    std::fs::create_dir_all(&stage)?;
    for (name, body) in RECIPE_FILES {
        write(&stage.join(name), body)?;
    }
    if let Some(ca) = host_ca_bundle() {
        std::fs::write(stage.join(HOST_CA_FILE), ca)?;
    }
    dir.mount_proc(&root.join("proc")).await?;

    let mut cmd = Command::new("chroot");
    cmd.arg(&root)
        .args([
            "/usr/bin/env",
            "-i",
            &format!("PATH={CHROOT_PATH}"),
            "HOME=/root",
            "LANG=C.UTF-8",
        ])
        .arg("SANDBOXD_METHOD=debootstrap")
        .arg(format!("SANDBOXD_RECIPE={recipe}"))
        .arg(format!("SANDBOXD_FLAVOR={}", opts.flavor))
        .arg(format!(
            "SANDBOXD_TOOL_TIMEOUT={}",
            opts.tool_timeout.as_secs()
        ))
        .args(["/bin/bash", "/tmp/sandboxd/provision.sh"]);
    let provisioned = run_logged(&mut cmd, "provision", progress).await;
    dir.unmount_all().await?;
    provisioned?;
    let info_path = root.join(IMAGE_INFO_PATH.trim_start_matches('/'));
    let info = std::fs::read_to_string(&info_path)
        .with_context(|| format!("reading {}", info_path.display()))?;
    let report = ProvisionReport::parse(&info);

    std::fs::remove_dir_all(&stage)?;
    std::fs::remove_file(&policy)?;
    // Containers get the engine's resolv.conf; don't ship the build host's.
    std::fs::write(&resolv_path, b"")?;

    let layer = dir.path().join("layer.tar");
    progress.step("tar: packing the rootfs");
    let mut cmd = Command::new("tar");
    cmd.args(["--create", "--file"])
        .arg(&layer)
        .args(["--numeric-owner", "--sort=name"]);
    cmd.args([
        "--exclude=./proc/*",
        "--exclude=./sys/*",
        "--exclude=./dev/*",
        "--exclude=./tmp/*",
        "--exclude=./run/*",
    ]);
    cmd.arg("--directory").arg(&root).arg(".");
    run_logged(&mut cmd, "tar", progress).await?;
    let size = std::fs::metadata(&layer).map_or(0, |m| m.len());
    progress.step(format!(
        "docker load: importing {} MB as {}",
        size / 1_000_000,
        opts.tag
    ));
    let meta = ImageMeta {
        tag: opts.tag.clone(),
        spec: finish(&report),
        created: now_rfc3339(),
        created_by: format!("sandboxd image build (debootstrap {SUITE}, recipe {recipe})"),
    };
    let id = load_layer(docker, Layer::File(layer), meta, progress).await?;
    Ok((id, report))
}

/// sources.list for the chroot: the suite and its updates, plus security updates when known.
fn apt_sources(opts: &DefaultImageOptions) -> String {
    let (m, s) = (&opts.mirror, SUITE);
    let mut out = format!("deb {m} {s} main\ndeb {m} {s}-updates main\n");
    if let Some(sec) = &opts.security_mirror {
        out.push_str(&format!("deb {sec} {s}-security main\n"));
    }
    out
}

fn write(path: &Path, body: &str) -> Result<()> {
    std::fs::write(path, body).with_context(|| format!("writing {}", path.display()))
}

fn set_mode(path: &Path, mode: u32) -> Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    Ok(std::fs::set_permissions(
        path,
        std::fs::Permissions::from_mode(mode),
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_include_updates_and_security() {
        let opts = DefaultImageOptions::default();
        let s = apt_sources(&opts);
        assert!(s.contains("deb http://deb.debian.org/debian bookworm main\n"));
        assert!(s.contains("bookworm-updates main"));
        assert!(s.contains("deb http://deb.debian.org/debian-security bookworm-security main"));
        let s = apt_sources(&DefaultImageOptions {
            security_mirror: None,
            ..opts
        });
        assert!(!s.contains("security"));
    }
}
