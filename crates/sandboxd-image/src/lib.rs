//! Sandbox images. The rule this crate owns: an image we build is its tag plus a
//! `sandboxd.recipe` label holding the hash of everything that went into it; "ensuring" an image
//! reuses a tagged image whose label matches and otherwise builds it — by a Dockerfile build
//! when a Debian base image is at hand, else by debootstrap. A rebuilt default image replaces
//! the old one only if no container uses it; test images are never deleted.
//!
//! `sandboxd serve` and `sandboxd image build` use [`ensure_default_image`]; the testkit and the
//! bench use [`ensure_test_image`] (see `testimage` for why that builder lives here too).

mod debootstrap;
mod dockerfile;
mod host;
mod load;
mod method;
mod progress;
mod recipe;
mod testimage;
mod toolchain;
mod workdir;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context as _, Result};
use bollard::image::RemoveImageOptions;
use bollard::models::ImageInspect;
use bollard::Docker;

use progress::Progress;
use recipe::{ImageSpec, ProvisionReport};

pub use method::{BuildMethod, Flavor};
pub use testimage::ensure_test_image;

/// Tag of the batteries-included default sandbox image.
pub const DEFAULT_IMAGE_TAG: &str = "sandboxd/default:latest";
/// Label holding the recipe hash of an image we built.
pub const LABEL_RECIPE: &str = "sandboxd.recipe";
/// Label listing optional tools (comma-separated) that could not be installed.
pub const LABEL_SKIPPED: &str = "sandboxd.skipped";
/// Label naming the build method ("dockerfile" or "debootstrap").
pub const LABEL_METHOD: &str = "sandboxd.method";
/// Directory in an image whose contents seed a new sandbox's home.
pub const SKEL_DIR: &str = "/etc/sandboxd/skel";
/// File in the default image describing what it contains (key=value lines).
pub const IMAGE_INFO_PATH: &str = "/etc/sandboxd/image-info";

/// Options of [`ensure_default_image`].
#[derive(Debug, Clone)]
pub struct DefaultImageOptions {
    /// Tag to build (default [`DEFAULT_IMAGE_TAG`]).
    pub tag: String,
    pub method: BuildMethod,
    /// Rebuild even if the tag already has the current recipe.
    pub force: bool,
    /// Base image of the Dockerfile method.
    pub base_image: String,
    /// Debian mirror of the debootstrap method.
    pub mirror: String,
    /// Security-updates mirror of the debootstrap method (None: no security updates line).
    pub security_mirror: Option<String>,
    /// Parent of the debootstrap scratch dir (default /var/tmp; must be a disk, not tmpfs).
    pub work_dir: Option<PathBuf>,
    /// Which tools go in (default [`Flavor::Agents`]).
    pub flavor: Flavor,
    /// Time allowed for each tool's download or install (node, bun, claude, ...).
    pub tool_timeout: Duration,
}

impl Default for DefaultImageOptions {
    fn default() -> Self {
        DefaultImageOptions {
            tag: DEFAULT_IMAGE_TAG.into(),
            method: BuildMethod::Auto,
            force: false,
            base_image: "debian:bookworm-slim".into(),
            mirror: "http://deb.debian.org/debian".into(),
            security_mirror: Some("http://deb.debian.org/debian-security".into()),
            work_dir: None,
            flavor: Flavor::default(),
            tool_timeout: Duration::from_secs(300),
        }
    }
}

/// The image [`ensure_default_image`] settled on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRef {
    /// Tag, normalized to `name:tag`.
    pub tag: String,
    /// Image ID (`sha256:...`).
    pub id: String,
    /// Recipe hash (the `sandboxd.recipe` label).
    pub recipe: String,
    /// How it was built in this call; `None` when the existing image was reused.
    pub built: Option<BuildMethod>,
    /// Optional tools missing from the image (from the `sandboxd.skipped` label).
    pub skipped: Vec<String>,
}

/// Make sure `opts.tag` is the default sandbox image of the current recipe, building it if it
/// is missing, of another recipe, or `opts.force` is set. Every step is reported through
/// `progress` as a `[ 12s] ...` line.
pub async fn ensure_default_image(
    docker: &Docker,
    opts: &DefaultImageOptions,
    progress: &(dyn Fn(&str) + Send + Sync),
) -> Result<ImageRef> {
    let progress = Progress::new(progress);
    let tag = load::normalize_tag(&opts.tag);
    let recipe = recipe::recipe_hash(&ImageSpec::default_image(), opts.flavor);
    let short = &recipe[..12];
    let existing = inspect(docker, &tag).await?;
    let previous = existing.as_ref().and_then(|i| i.id.clone());
    let labels = existing
        .and_then(|i| i.config)
        .and_then(|c| c.labels)
        .unwrap_or_default();
    match (labels.get(LABEL_RECIPE), opts.force) {
        (Some(have), false) if *have == recipe => {
            let skipped = split_list(labels.get(LABEL_SKIPPED).map_or("", String::as_str));
            progress.step(format!(
                "{tag} is up to date (recipe {short}); nothing to do"
            ));
            return Ok(ImageRef {
                tag,
                id: previous.unwrap_or_default(),
                recipe,
                built: None,
                skipped,
            });
        }
        (_, true) => progress.step(format!("{tag}: rebuilding (forced), recipe {short}")),
        (Some(have), _) => progress.step(format!(
            "{tag}: recipe changed ({} -> {short}); rebuilding",
            &have[..12.min(have.len())]
        )),
        (None, _) => progress.step(format!("{tag}: not built yet; building recipe {short}")),
    }

    progress.step(format!(
        "flavor {}: {}",
        opts.flavor,
        toolchain::pins(opts.flavor).join(", ")
    ));
    let method = method::choose(docker, opts, &progress).await?;
    let finish = |report: &ProvisionReport| {
        let mut spec = ImageSpec::default_image();
        spec.labels.insert(LABEL_RECIPE.into(), recipe.clone());
        spec.labels
            .insert(LABEL_SKIPPED.into(), report.skipped.join(","));
        spec.labels.insert(LABEL_METHOD.into(), method.to_string());
        spec
    };
    let (id, report) = match method {
        BuildMethod::Dockerfile => {
            dockerfile::build(docker, opts, &recipe, finish, &progress).await?
        }
        _ => debootstrap::build(docker, opts, &recipe, finish, &progress).await?,
    };
    for (tool, from) in &report.installed {
        progress.step(format!("tool {tool}: {from}"));
    }
    if report.skipped.is_empty() {
        progress.step(format!("flavor {}: every tool installed", opts.flavor));
    } else {
        progress.step(format!(
            "flavor {}: missing {} — {}",
            opts.flavor,
            report.skipped.join(", "),
            report.skip_reason
        ));
    }
    let size = inspect(docker, &id)
        .await?
        .and_then(|i| i.size)
        .unwrap_or(0);
    progress.step(format!(
        "built {tag} ({}) with {method}, flavor {}: {} MB",
        &id[..19.min(id.len())],
        opts.flavor,
        size / 1_000_000
    ));
    if let Some(old) = previous.filter(|p| *p != id) {
        // The engine refuses (without force) while any container still uses the old image.
        let keep = RemoveImageOptions {
            force: false,
            noprune: false,
        };
        match docker.remove_image(&old, Some(keep), None).await {
            Ok(_) => progress.step(format!(
                "removed the previous image {}",
                &old[..19.min(old.len())]
            )),
            Err(e) => progress.step(format!(
                "kept the previous image {}: {e}",
                &old[..19.min(old.len())]
            )),
        }
    }
    Ok(ImageRef {
        tag,
        id,
        recipe,
        built: Some(method),
        skipped: report.skipped,
    })
}

/// The recipe hash the default image of `flavor` would have now (for display and checks).
pub fn default_recipe_hash(flavor: Flavor) -> String {
    recipe::recipe_hash(&ImageSpec::default_image(), flavor)
}

/// Image `tag`, or `None` if there is none.
async fn inspect(docker: &Docker, tag: &str) -> Result<Option<ImageInspect>> {
    match docker.inspect_image(tag).await {
        Ok(image) => Ok(Some(image)),
        Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 404, ..
        }) => Ok(None),
        Err(e) => Err(e).with_context(|| format!("inspecting image {tag}")),
    }
}

/// Label `key` of image `tag`; `None` if the image or the label is missing.
pub(crate) async fn image_label(docker: &Docker, tag: &str, key: &str) -> Result<Option<String>> {
    let image = inspect(docker, tag).await?;
    Ok(image
        .and_then(|i| i.config)
        .and_then(|c| c.labels)
        .and_then(|mut l| l.remove(key)))
}

fn split_list(s: &str) -> Vec<String> {
    s.split(',')
        .filter(|x| !x.is_empty())
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_split_and_hash_is_stable() {
        assert_eq!(split_list("a,,b"), ["a", "b"]);
        assert_eq!(
            default_recipe_hash(Flavor::Base),
            default_recipe_hash(Flavor::Base)
        );
    }
}
