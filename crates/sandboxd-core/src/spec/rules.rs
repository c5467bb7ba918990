//! The individual input rules: ports, environment, commands, images, resources, metadata. Each
//! returns a [`ValidationError`] naming the offending field.

use super::{Limits, ResourceRequest, MAX_PORTS};
use crate::model::Resources;
use crate::ValidationError;
use std::collections::BTreeMap;

const MAX_ENV_ENTRIES: usize = 256;
const MAX_ENV_KEY: usize = 256;
const MAX_ENV_VALUE: usize = 32 * 1024;
const MAX_START: usize = 16 * 1024;
const MAX_ARGS: usize = 4096;
const MAX_ARG_BYTES: usize = 256 * 1024;
const MAX_METADATA: usize = 32;

pub(super) fn validate_ports(raw: Vec<i64>) -> Result<Vec<u16>, ValidationError> {
    if raw.len() > MAX_PORTS {
        return Err(ValidationError::new("ports", "at most 32 ports"));
    }
    let mut ports = Vec::with_capacity(raw.len());
    for (i, p) in raw.into_iter().enumerate() {
        if !(1..=65535).contains(&p) {
            return Err(ValidationError::new(
                format!("ports[{i}]"),
                format!("{p} is not a TCP port (1 to 65535)"),
            ));
        }
        let p = p as u16;
        if !ports.contains(&p) {
            ports.push(p);
        }
    }
    Ok(ports)
}

/// Environment variables: names non-empty without `=` or NUL, values without NUL, bounded sizes.
pub fn validate_env(env: &BTreeMap<String, String>, field: &str) -> Result<(), ValidationError> {
    if env.len() > MAX_ENV_ENTRIES {
        return Err(ValidationError::new(field, "at most 256 variables"));
    }
    for (k, v) in env {
        let f = || format!("{field}.{}", k.escape_debug());
        if k.is_empty() {
            return Err(ValidationError::new(
                field,
                "variable names must not be empty",
            ));
        }
        if k.contains('=') || k.contains('\0') {
            return Err(ValidationError::new(
                f(),
                "variable names must not contain '=' or NUL",
            ));
        }
        if k.len() > MAX_ENV_KEY {
            return Err(ValidationError::new(
                f(),
                "variable name longer than 256 bytes",
            ));
        }
        if v.contains('\0') {
            return Err(ValidationError::new(f(), "value must not contain NUL"));
        }
        if v.len() > MAX_ENV_VALUE {
            return Err(ValidationError::new(f(), "value longer than 32 KiB"));
        }
    }
    Ok(())
}

/// An argv for exec: non-empty, no NUL bytes, bounded.
pub fn validate_command(cmd: &[String], field: &str) -> Result<(), ValidationError> {
    if cmd.is_empty() || cmd[0].is_empty() {
        return Err(ValidationError::new(
            field,
            "must be a non-empty array of strings",
        ));
    }
    if cmd.len() > MAX_ARGS || cmd.iter().map(String::len).sum::<usize>() > MAX_ARG_BYTES {
        return Err(ValidationError::new(field, "too long"));
    }
    if cmd.iter().any(|a| a.contains('\0')) {
        return Err(ValidationError::new(
            field,
            "arguments must not contain NUL",
        ));
    }
    Ok(())
}

pub(super) fn validate_start(start: &str) -> Result<(), ValidationError> {
    if start.len() > MAX_START {
        return Err(ValidationError::new("start", "longer than 16 KiB"));
    }
    if start.contains('\0') {
        return Err(ValidationError::new("start", "must not contain NUL"));
    }
    Ok(())
}

/// Image references: the characters Docker accepts in `name[:tag][@digest]`.
pub(super) fn validate_image(image: &str) -> Result<String, ValidationError> {
    let ok = !image.is_empty()
        && image.len() <= 255
        && !image.starts_with(['-', '.', ':', '/'])
        && image
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-/:@".contains(&b));
    if !ok {
        return Err(ValidationError::new("image", "not a valid image reference"));
    }
    Ok(image.to_string())
}

pub(super) fn resolve_resources(
    req: ResourceRequest,
    limits: &Limits,
) -> Result<Resources, ValidationError> {
    let mut r = limits.default;
    if let Some(m) = req.memory_mb {
        if !(64..=limits.max_memory_mb).contains(&m) {
            return Err(ValidationError::new(
                "resources.memory_mb",
                format!("must be between 64 and {}", limits.max_memory_mb),
            ));
        }
        r.memory_mb = m;
    }
    if let Some(c) = req.cpus {
        if !(c.is_finite() && c >= 0.01 && c <= limits.max_cpus) {
            return Err(ValidationError::new(
                "resources.cpus",
                format!("must be between 0.01 and {}", limits.max_cpus),
            ));
        }
        r.cpus = c;
    }
    if let Some(p) = req.pids {
        if !(16..=limits.max_pids).contains(&p) {
            return Err(ValidationError::new(
                "resources.pids",
                format!("must be between 16 and {}", limits.max_pids),
            ));
        }
        r.pids = p;
    }
    Ok(r)
}

/// Smallest workspace a sandbox may ask for (MiB): an ext4 filesystem with room for a home.
pub const MIN_DISK_MB: u64 = 64;

/// The workspace size: the request's when given (refused when quotas are off), else the
/// configured default.
pub(super) fn resolve_disk(
    req: Option<u64>,
    limits: &Limits,
) -> Result<Option<u64>, ValidationError> {
    let Some(mb) = req else {
        return Ok(limits.default_disk_mb);
    };
    if limits.max_disk_mb == 0 {
        return Err(ValidationError::new(
            "disk_mb",
            "disk quotas are off on this host (sandboxd serve --disk-quota off)",
        ));
    }
    if !(MIN_DISK_MB..=limits.max_disk_mb).contains(&mb) {
        return Err(ValidationError::new(
            "disk_mb",
            format!("must be between {MIN_DISK_MB} and {}", limits.max_disk_mb),
        ));
    }
    Ok(Some(mb))
}

pub(super) fn validate_metadata(m: &BTreeMap<String, String>) -> Result<(), ValidationError> {
    if m.len() > MAX_METADATA {
        return Err(ValidationError::new("metadata", "at most 32 entries"));
    }
    for (k, v) in m {
        if k.is_empty() || k.len() > 128 || v.len() > 1024 || k.contains('\0') || v.contains('\0') {
            return Err(ValidationError::new(
                "metadata",
                "keys 1-128 bytes, values up to 1024 bytes, no NUL",
            ));
        }
    }
    Ok(())
}
