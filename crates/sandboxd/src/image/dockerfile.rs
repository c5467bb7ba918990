//! Method "dockerfile": build the default image FROM a local Debian bookworm image with the
//! engine's (legacy) builder. The rule it owns: the provisioned image is first tagged as a
//! stage, and only a second, metadata-only build that adds the labels (recipe hash, skipped
//! tools) gets the real tag — so a tag with a recipe label always means a finished build.

use std::collections::HashMap;

use anyhow::{anyhow, bail, Context as _, Result};
use bollard::image::{BuildImageOptions, RemoveImageOptions};
use bollard::Docker;
use bytes::Bytes;
use futures_util::StreamExt;

use super::host::host_ca_bundle;
use super::load::normalize_tag;
use super::progress::{Progress, Summarizer, INFO_MARKER};
use super::recipe::{ImageSpec, ProvisionReport, DOCKERFILE, HOST_CA_FILE, RECIPE_FILES};
use super::DefaultImageOptions;

/// Build and tag the image; returns its ID and what provision.sh reported. `finish` turns the
/// report into the final image config (labels).
pub(crate) async fn build(
    docker: &Docker,
    opts: &DefaultImageOptions,
    recipe: &str,
    finish: impl Fn(&ProvisionReport) -> ImageSpec,
    progress: &Progress<'_>,
) -> Result<(String, ProvisionReport)> {
    let base_spec = finish(&ProvisionReport::default());
    let unlabelled = ImageSpec {
        labels: Default::default(),
        ..base_spec
    };
    let dockerfile = format!("{DOCKERFILE}\n{}\n", unlabelled.changes().join("\n"));
    let mut files: Vec<(&str, &[u8], u32)> = vec![("Dockerfile", dockerfile.as_bytes(), 0o644)];
    files.extend(RECIPE_FILES.iter().map(|(n, b)| (*n, b.as_bytes(), 0o755)));
    let ca = host_ca_bundle();
    if let Some(ca) = &ca {
        files.push((HOST_CA_FILE, ca, 0o644));
    }
    let tag = normalize_tag(&opts.tag);
    let stage = match tag.rsplit_once(':') {
        Some((repo, _)) => format!("{repo}:build-{}", &recipe[..12.min(recipe.len())]),
        None => format!("{tag}-build"),
    };
    let args = HashMap::from([
        ("BASE".to_string(), opts.base_image.clone()),
        ("SANDBOXD_RECIPE".to_string(), recipe.to_string()),
        (
            "SANDBOXD_NPM_TIMEOUT".to_string(),
            opts.npm_timeout.as_secs().to_string(),
        ),
    ]);
    progress.step(format!(
        "docker build: FROM {} (stage {stage})",
        opts.base_image
    ));
    let infos = run_build(docker, &stage, args, context_tar(&files)?, progress).await?;
    let report = ProvisionReport::parse(&infos);

    let labels: Vec<String> = finish(&report)
        .changes()
        .into_iter()
        .filter(|c| c.starts_with("LABEL "))
        .collect();
    let dockerfile = format!("FROM {stage}\n{}\n", labels.join("\n"));
    progress.step(format!("docker build: labelling {tag}"));
    run_build(
        docker,
        &tag,
        HashMap::new(),
        context_tar(&[("Dockerfile", dockerfile.as_bytes(), 0o644)])?,
        progress,
    )
    .await?;
    let untag = RemoveImageOptions {
        force: false,
        noprune: true,
    };
    if let Err(e) = docker.remove_image(&stage, Some(untag), None).await {
        progress.step(format!("warning: could not remove stage tag {stage}: {e}"));
    }
    let image = docker
        .inspect_image(&tag)
        .await
        .with_context(|| format!("inspecting {tag}"))?;
    let id = image
        .id
        .ok_or_else(|| anyhow!("engine returned no ID for {tag}"))?;
    Ok((id, report))
}

/// Run one legacy-builder build tagged `tag`; returns the `SANDBOXD-INFO` payloads it printed.
async fn run_build(
    docker: &Docker,
    tag: &str,
    buildargs: HashMap<String, String>,
    context: Bytes,
    progress: &Progress<'_>,
) -> Result<Vec<String>> {
    let options = BuildImageOptions {
        dockerfile: "Dockerfile".to_string(),
        t: tag.to_string(),
        rm: true,
        forcerm: true,
        buildargs,
        ..Default::default()
    };
    let mut stream = docker.build_image(options, None, Some(context));
    let mut summary = Summarizer::new(std::time::Duration::from_secs(5));
    let mut infos = Vec::new();
    let mut tail: Vec<String> = Vec::new();
    while let Some(item) = stream.next().await {
        let info = match item {
            Ok(info) => info,
            Err(e) => bail!(
                "docker build of {tag} failed: {e}; last output:\n{}",
                tail.join("\n")
            ),
        };
        if let Some(err) = info.error {
            bail!(
                "docker build of {tag} failed: {err}; last output:\n{}",
                tail.join("\n")
            );
        }
        for line in info.stream.as_deref().unwrap_or("").lines() {
            if let Some(payload) = line.strip_prefix(INFO_MARKER) {
                infos.push(payload.to_string());
                continue;
            }
            tail.push(line.to_string());
            if tail.len() > 40 {
                tail.remove(0);
            }
            if let Some(shown) = summary.feed(line, std::time::Instant::now()) {
                progress.step(format!("docker build: {shown}"));
            }
        }
    }
    Ok(infos)
}

/// An in-memory tar of `(name, body, mode)` files: the build context.
fn context_tar(files: &[(&str, &[u8], u32)]) -> Result<Bytes> {
    let mut builder = tar::Builder::new(Vec::new());
    for (name, body, mode) in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(body.len() as u64);
        header.set_mode(*mode);
        header.set_entry_type(tar::EntryType::Regular);
        builder.append_data(&mut header, name, *body)?;
    }
    Ok(Bytes::from(builder.into_inner()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn context_tar_holds_the_files() {
        let tar = context_tar(&[
            ("Dockerfile", b"FROM x\n", 0o644),
            ("provision.sh", b"echo", 0o755),
        ])
        .unwrap();
        let mut archive = tar::Archive::new(&tar[..]);
        let names: Vec<String> = archive
            .entries()
            .unwrap()
            .map(|e| e.unwrap().path().unwrap().display().to_string())
            .collect();
        assert_eq!(names, ["Dockerfile", "provision.sh"]);
    }
}
