//! The default image's recipe and image config. The rule it owns: the recipe hash covers every
//! input that shapes the image — recipe version, each recipe file (the pinned toolchain
//! included), the Dockerfile, the flavor and the image config — so changing any of them makes
//! `ensure_default_image` rebuild.

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

use super::method::Flavor;

/// Bump to force a rebuild when the build logic changes in a way the files don't show.
pub(crate) const RECIPE_VERSION: &str = "2";

/// Files copied next to each other into the build root (chroot or Docker build context).
pub(crate) const RECIPE_FILES: &[(&str, &str)] = &[
    ("provision.sh", include_str!("recipe/provision.sh")),
    ("packages.txt", include_str!("recipe/packages.txt")),
    ("tools.sh", include_str!("recipe/tools.sh")),
    ("toolchain.lock", include_str!("recipe/toolchain.lock")),
    ("skel.profile", include_str!("recipe/skel.profile")),
    ("skel.bashrc", include_str!("recipe/skel.bashrc")),
];

/// Name of the build host's CA bundle next to the recipe files (build-time only, not hashed).
pub(crate) const HOST_CA_FILE: &str = "host-ca.crt";

/// Dockerfile head of method "dockerfile"; the image config is appended as instructions.
pub(crate) const DOCKERFILE: &str = include_str!("recipe/Dockerfile");

/// Image config of an image we build: what `docker import --change` or Dockerfile
/// instructions would set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ImageSpec {
    pub env: Vec<(String, String)>,
    pub labels: BTreeMap<String, String>,
    pub user: String,
    pub workdir: String,
    pub cmd: Vec<String>,
}

impl ImageSpec {
    /// Config of `sandboxd/default`: runs as uid 1000 in its workspace, with user-writable
    /// npm and pip/uv bin dirs on PATH so `npm i -g` works on a read-only rootfs.
    pub(crate) fn default_image() -> Self {
        let path = "/home/sandbox/.npm-global/bin:/home/sandbox/.local/bin:\
                    /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
        let env = [
            ("PATH", path),
            ("LANG", "C.UTF-8"),
            ("NPM_CONFIG_PREFIX", "/home/sandbox/.npm-global"),
        ];
        ImageSpec {
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            labels: BTreeMap::new(),
            user: "1000:1000".into(),
            workdir: "/home/sandbox/workspace".into(),
            cmd: vec!["/bin/bash".into(), "-l".into()],
        }
    }

    /// The config as Dockerfile instructions (also valid as `docker import --change` values).
    pub(crate) fn changes(&self) -> Vec<String> {
        let q = |s: &str| serde_json::Value::from(s).to_string();
        let mut out: Vec<String> = self
            .env
            .iter()
            .map(|(k, v)| format!("ENV {k}={}", q(v)))
            .collect();
        out.extend(
            self.labels
                .iter()
                .map(|(k, v)| format!("LABEL {}={}", q(k), q(v))),
        );
        if !self.user.is_empty() {
            out.push(format!("USER {}", self.user));
        }
        if !self.workdir.is_empty() {
            out.push(format!("WORKDIR {}", self.workdir));
        }
        if !self.cmd.is_empty() {
            out.push(format!("CMD {}", serde_json::Value::from(self.cmd.clone())));
        }
        out
    }

    /// The `config` object of a Docker image config JSON.
    pub(crate) fn container_config(&self) -> serde_json::Value {
        let env: Vec<String> = self.env.iter().map(|(k, v)| format!("{k}={v}")).collect();
        serde_json::json!({
            "Env": env,
            "Labels": self.labels,
            "User": self.user,
            "WorkingDir": self.workdir,
            "Cmd": self.cmd,
        })
    }
}

/// sha256 hex of the default image's recipe of `flavor` with config `spec` (labels excluded:
/// they carry the hash and build results).
pub(crate) fn recipe_hash(spec: &ImageSpec, flavor: Flavor) -> String {
    let mut h = Sha256::new();
    let mut part = |name: &str, body: &str| {
        h.update(format!("{name}\0{}\0", body.len()));
        h.update(body);
    };
    part("version", RECIPE_VERSION);
    part("flavor", &flavor.to_string());
    for (name, body) in RECIPE_FILES {
        part(name, body);
    }
    part("Dockerfile", DOCKERFILE);
    let unlabelled = ImageSpec {
        labels: BTreeMap::new(),
        ..spec.clone()
    };
    part("config", &unlabelled.changes().join("\n"));
    format!("{:x}", h.finalize())
}

/// What provision.sh recorded in /etc/sandboxd/image-info about the toolchain.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ProvisionReport {
    /// `(tool, "version via source artifact")`, in toolchain.lock order.
    pub installed: Vec<(String, String)>,
    /// Tools of the flavor that no source could provide.
    pub skipped: Vec<String>,
    /// Why, per missing tool: `tool (source: reason; ...)`, `;`-separated.
    pub skip_reason: String,
}

impl ProvisionReport {
    /// Parse the `key=value` lines of an image-info file.
    pub(crate) fn parse(image_info: &str) -> Self {
        let list = |v: &str| {
            v.split(',')
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect()
        };
        let mut r = ProvisionReport::default();
        for line in image_info.lines() {
            match line.split_once('=') {
                Some(("missing", v)) => r.skipped = list(v),
                Some(("missing_why", v)) => r.skip_reason = v.to_string(),
                Some((k, v)) if k.starts_with("tool.") => {
                    r.installed
                        .push((k["tool.".len()..].to_string(), v.to_string()));
                }
                _ => {}
            }
        }
        r
    }
}

/// RFC 3339 UTC time of `secs` since the Unix epoch.
pub(crate) fn rfc3339(secs: u64) -> String {
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Civil-from-days (H. Hinnant), valid for every date after 1970.
    let z = days as i64 + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Now, as RFC 3339 UTC.
pub(crate) fn now_rfc3339() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    rfc3339(secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_is_stable_and_ignores_labels() {
        let spec = ImageSpec::default_image();
        let a = recipe_hash(&spec, Flavor::Agents);
        assert_eq!(a.len(), 64);
        assert_eq!(a, recipe_hash(&ImageSpec::default_image(), Flavor::Agents));
        assert_ne!(
            a,
            recipe_hash(&spec, Flavor::Base),
            "the flavor is in the hash"
        );
        let mut labelled = spec.clone();
        labelled
            .labels
            .insert("sandboxd.skipped".into(), "bun".into());
        assert_eq!(a, recipe_hash(&labelled, Flavor::Agents));
        let mut other = spec;
        other.user = "0".into();
        assert_ne!(a, recipe_hash(&other, Flavor::Agents));
    }

    #[test]
    fn changes_render_import_instructions() {
        let mut spec = ImageSpec::default_image();
        spec.labels.insert("sandboxd.recipe".into(), "abc".into());
        let changes = spec.changes();
        assert!(changes[0].starts_with("ENV PATH=\"/home/sandbox/.npm-global/bin:"));
        assert!(changes[0].contains(":/usr/local/bin:"));
        assert!(changes.contains(&"ENV LANG=\"C.UTF-8\"".to_string()));
        assert!(
            changes.contains(&"ENV NPM_CONFIG_PREFIX=\"/home/sandbox/.npm-global\"".to_string())
        );
        assert!(changes.contains(&"LABEL \"sandboxd.recipe\"=\"abc\"".to_string()));
        assert_eq!(
            changes[changes.len() - 3..],
            [
                "USER 1000:1000",
                "WORKDIR /home/sandbox/workspace",
                "CMD [\"/bin/bash\",\"-l\"]"
            ]
        );
        let config = spec.container_config();
        assert_eq!(config["Env"][1], "LANG=C.UTF-8");
        assert_eq!(config["Labels"]["sandboxd.recipe"], "abc");
    }

    #[test]
    fn provision_report_parses_image_info() {
        let info = "recipe=abc\nnode=v24.19.0\ntool.node=24.19.0 via wheel x==1\n\
                    tool.uv=0.13.9 via pip uv==0.13.9\nmissing=pnpm,codex\n\
                    missing_why=pnpm (npm: h unreachable);codex (npm: x=y)\n";
        let r = ProvisionReport::parse(info);
        assert_eq!(
            r.installed,
            [
                ("node".to_string(), "24.19.0 via wheel x==1".to_string()),
                ("uv".to_string(), "0.13.9 via pip uv==0.13.9".to_string())
            ]
        );
        assert_eq!(r.skipped, ["pnpm", "codex"]);
        assert_eq!(r.skip_reason, "pnpm (npm: h unreachable);codex (npm: x=y)");
    }

    #[test]
    fn rfc3339_formats_utc() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_704_067_199), "2023-12-31T23:59:59Z");
    }
}
