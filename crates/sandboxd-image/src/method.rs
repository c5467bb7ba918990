//! Choosing how and what to build. The rule it owns: `auto` prefers a Dockerfile build when the
//! base image is already local, else debootstrap when we are root, and pulls the base image only
//! as the last resort (this engine may have no registry at all); the flavor picks which tools of
//! the pinned toolchain go in (`agents`, the default, adds the coding-agent CLIs to `base`).

use anyhow::{bail, Context as _, Result};
use bollard::image::CreateImageOptions;
use bollard::Docker;
use futures_util::StreamExt;

use super::progress::Progress;
use super::{debootstrap, DefaultImageOptions};

/// How to build the default image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BuildMethod {
    /// Dockerfile if the base image is local; else debootstrap when root; else pull the base.
    #[default]
    Auto,
    /// `FROM debian:bookworm-slim` with the engine's legacy builder.
    Dockerfile,
    /// debootstrap + chroot on the host, then load the rootfs (needs root, no registry).
    Debootstrap,
}

impl std::fmt::Display for BuildMethod {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            BuildMethod::Auto => "auto",
            BuildMethod::Dockerfile => "dockerfile",
            BuildMethod::Debootstrap => "debootstrap",
        })
    }
}

impl std::str::FromStr for BuildMethod {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "auto" => Ok(BuildMethod::Auto),
            "dockerfile" => Ok(BuildMethod::Dockerfile),
            "debootstrap" => Ok(BuildMethod::Debootstrap),
            other => {
                bail!("unknown build method {other:?} (expected auto, dockerfile or debootstrap)")
            }
        }
    }
}

/// Which tools of the pinned toolchain (recipe/toolchain.lock) the default image gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Flavor {
    /// Node LTS with npm, npx and corepack, pnpm, bun, uv (plus the Debian packages).
    Base,
    /// `base` plus the coding-agent CLIs: Claude Code, OpenCode, Codex, Aider (~0.5 GB more).
    #[default]
    Agents,
}

impl std::fmt::Display for Flavor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Flavor::Base => "base",
            Flavor::Agents => "agents",
        })
    }
}

impl std::str::FromStr for Flavor {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "base" => Ok(Flavor::Base),
            "agents" => Ok(Flavor::Agents),
            other => bail!("unknown image flavor {other:?} (expected base or agents)"),
        }
    }
}

/// The method to use for `opts` on this host.
pub(crate) async fn choose(
    docker: &Docker,
    opts: &DefaultImageOptions,
    progress: &Progress<'_>,
) -> Result<BuildMethod> {
    if opts.method != BuildMethod::Auto {
        return Ok(opts.method);
    }
    let base = &opts.base_image;
    if docker.inspect_image(base).await.is_ok() {
        progress.step(format!("method: dockerfile ({base} is present locally)"));
        return Ok(BuildMethod::Dockerfile);
    }
    if debootstrap::usable() {
        progress.step(format!(
            "method: debootstrap ({base} is not present locally; not pulling it)"
        ));
        return Ok(BuildMethod::Debootstrap);
    }
    progress.step(format!(
        "{base} is not present and debootstrap needs root: pulling {base}"
    ));
    let pull = CreateImageOptions {
        from_image: base.as_str(),
        ..Default::default()
    };
    let mut stream = docker.create_image(Some(pull), None, None);
    while let Some(item) = stream.next().await {
        item.with_context(|| {
            format!("pulling {base} failed; run as root to build with debootstrap instead")
        })?;
    }
    progress.step(format!("method: dockerfile (pulled {base})"));
    Ok(BuildMethod::Dockerfile)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn methods_parse_and_print() {
        for m in [
            BuildMethod::Auto,
            BuildMethod::Dockerfile,
            BuildMethod::Debootstrap,
        ] {
            assert_eq!(m.to_string().parse::<BuildMethod>().unwrap(), m);
        }
        assert!("docker".parse::<BuildMethod>().is_err());
        for f in [Flavor::Base, Flavor::Agents] {
            assert_eq!(f.to_string().parse::<Flavor>().unwrap(), f);
        }
        assert_eq!(Flavor::default(), Flavor::Agents);
        assert!("full".parse::<Flavor>().is_err());
    }
}
