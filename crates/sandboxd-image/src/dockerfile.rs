//! Method "dockerfile": build the default image FROM a local Debian bookworm image with the
//! engine's (legacy) builder. The rule it owns: the build only provisions (ARG, FROM, COPY,
//! RUN) into a stage tag; the whole image config, labels included, is then applied in one
//! commit under the real tag — so a tag with a recipe label always means a finished build, and
//! the config costs one commit instead of one builder step per instruction.

use std::collections::HashMap;

use anyhow::{anyhow, bail, Context as _, Result};
use bollard::container::{Config, DownloadFromContainerOptions, RemoveContainerOptions};
use bollard::image::{BuildImageOptions, CommitContainerOptions, RemoveImageOptions};
use bollard::Docker;
use bytes::Bytes;
use futures_util::StreamExt;

use super::host::host_ca_bundle;
use super::load::normalize_tag;
use super::progress::{Progress, Summarizer, Tail};
use super::recipe::{ImageSpec, ProvisionReport, DOCKERFILE, HOST_CA_FILE, RECIPE_FILES};
use super::{DefaultImageOptions, IMAGE_INFO_PATH};

/// Build and tag the image; returns its ID and what provision.sh recorded. `finish` turns
/// that report into the final image config.
pub(crate) async fn build(
    docker: &Docker,
    opts: &DefaultImageOptions,
    recipe: &str,
    finish: impl Fn(&ProvisionReport) -> ImageSpec,
    progress: &Progress<'_>,
) -> Result<(String, ProvisionReport)> {
    let mut files: Vec<(&str, &[u8], u32)> = vec![("Dockerfile", DOCKERFILE.as_bytes(), 0o644)];
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
        ("SANDBOXD_FLAVOR".to_string(), opts.flavor.to_string()),
        (
            "SANDBOXD_TOOL_TIMEOUT".to_string(),
            opts.tool_timeout.as_secs().to_string(),
        ),
    ]);
    progress.step(format!(
        "docker build: FROM {} (stage {stage})",
        opts.base_image
    ));
    run_build(
        docker,
        &stage,
        args,
        opts.force,
        context_tar(&files)?,
        progress,
    )
    .await?;

    progress.step(format!("docker commit: applying the image config as {tag}"));
    let config = Config {
        image: Some(stage.clone()),
        ..Default::default()
    };
    let container = docker
        .create_container::<String, String>(None, config)
        .await?
        .id;
    let result = finish_stage(docker, &container, &tag, &finish).await;
    let rm = RemoveContainerOptions {
        force: true,
        ..Default::default()
    };
    let _ = docker.remove_container(&container, Some(rm)).await;
    let untag = RemoveImageOptions {
        force: false,
        noprune: true,
    };
    if let Err(e) = docker.remove_image(&stage, Some(untag), None).await {
        progress.step(format!("warning: could not remove stage tag {stage}: {e}"));
    }
    result
}

/// Read the report from the stage `container`'s image-info (right also when the build step
/// came from the builder cache), then commit the container as `tag` with the final config.
async fn finish_stage(
    docker: &Docker,
    container: &str,
    tag: &str,
    finish: &impl Fn(&ProvisionReport) -> ImageSpec,
) -> Result<(String, ProvisionReport)> {
    let report = ProvisionReport::parse(&read_file(docker, container, IMAGE_INFO_PATH).await?);
    let (repo, tag_part) = tag.rsplit_once(':').unwrap_or((tag, "latest"));
    let changes = finish(&report).changes().join("\n");
    let options = CommitContainerOptions {
        container,
        repo,
        tag: tag_part,
        comment: "sandboxd image build (dockerfile)",
        author: "",
        pause: false,
        changes: Some(changes.as_str()),
    };
    let committed = docker
        .commit_container(options, Config::<String>::default())
        .await;
    committed.with_context(|| format!("committing {tag}"))?;
    // The commit answer's "Id" doesn't deserialize into bollard 0.18's model; ask the tag.
    let image = docker
        .inspect_image(tag)
        .await
        .with_context(|| format!("inspecting {tag}"))?;
    let id = image
        .id
        .ok_or_else(|| anyhow!("engine returned no image ID for {tag}"))?;
    Ok((id, report))
}

/// The contents of file `path` in `container` (via the archive endpoint).
async fn read_file(docker: &Docker, container: &str, path: &str) -> Result<String> {
    let mut archive = Vec::new();
    let options = DownloadFromContainerOptions { path };
    let mut stream = docker.download_from_container(container, Some(options));
    while let Some(chunk) = stream.next().await {
        archive.extend_from_slice(&chunk.with_context(|| format!("reading {path} of the build"))?);
    }
    let mut tar = tar::Archive::new(&archive[..]);
    let mut entry = tar
        .entries()?
        .next()
        .ok_or_else(|| anyhow!("{path} missing in the build"))??;
    let mut text = String::new();
    std::io::Read::read_to_string(&mut entry, &mut text)?;
    Ok(text)
}

/// Run one legacy-builder build tagged `tag` (bypassing the builder cache when `nocache`).
async fn run_build(
    docker: &Docker,
    tag: &str,
    buildargs: HashMap<String, String>,
    nocache: bool,
    context: Bytes,
    progress: &Progress<'_>,
) -> Result<()> {
    let options = BuildImageOptions {
        dockerfile: "Dockerfile".to_string(),
        t: tag.to_string(),
        rm: true,
        forcerm: true,
        nocache,
        buildargs,
        ..Default::default()
    };
    let mut stream = docker.build_image(options, None, Some(context));
    let mut summary = Summarizer::new(std::time::Duration::from_secs(5));
    let mut tail = Tail::default();
    while let Some(item) = stream.next().await {
        let info = match item {
            Ok(info) => info,
            Err(e) => bail!(
                "docker build of {tag} failed: {e}; last output:\n{}",
                tail.text()
            ),
        };
        if let Some(err) = info.error {
            bail!(
                "docker build of {tag} failed: {err}; last output:\n{}",
                tail.text()
            );
        }
        for line in info.stream.as_deref().unwrap_or("").lines() {
            if let Some(shown) = summary.feed(line, std::time::Instant::now()) {
                progress.step(format!("docker build: {shown}"));
            }
            tail.push(line.to_string());
        }
    }
    Ok(())
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
