//! Container names reveal nothing about the sandbox: the engine's DNS answers every container's
//! name (and reverse lookups of the bridge range give names) to every other sandbox, and a
//! sandbox id is enough to reach its previews. So a container is named by a keyed hash of its
//! sandbox id, the key a random secret of the data dir (`state/name-key`, 0600): names are stable
//! for an installation, and unguessable without its data dir. The id itself stays in a label,
//! which only the engine's API shows.

use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::{Path, PathBuf};

/// The installation's secret for container names.
#[derive(Clone, PartialEq, Eq)]
pub struct NameKey([u8; 32]);

impl std::fmt::Debug for NameKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NameKey(..)")
    }
}

impl NameKey {
    /// Where a data dir keeps its key.
    pub fn path_in(data_dir: &Path) -> PathBuf {
        data_dir.join("state").join("name-key")
    }

    /// Read the data dir's key (the read-only side: tools and tests).
    pub fn load(data_dir: &Path) -> std::io::Result<Self> {
        let raw = std::fs::read(Self::path_in(data_dir))?;
        let bytes: [u8; 32] = raw.as_slice().try_into().map_err(|_| {
            std::io::Error::new(std::io::ErrorKind::InvalidData, "name-key is not 32 bytes")
        })?;
        Ok(Self(bytes))
    }

    /// Read the key, making it (from the kernel's random source) at first start.
    pub fn load_or_create(data_dir: &Path) -> std::io::Result<Self> {
        match Self::load(data_dir) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            other => return other,
        }
        let mut bytes = [0u8; 32];
        std::fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
        let path = Self::path_in(data_dir);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let tmp = path.with_extension("tmp");
        {
            use std::io::Write;
            use std::os::unix::fs::OpenOptionsExt;
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o600)
                .open(&tmp)?;
            f.write_all(&bytes)?;
            f.sync_all()?;
        }
        std::fs::rename(&tmp, &path)?;
        Ok(Self(bytes))
    }

    #[cfg(test)]
    pub(crate) fn fixed(b: u8) -> Self {
        Self([b; 32])
    }
}

/// `s-<hash>` for the default installation, `s-<hash>_<instance>` otherwise (`_` never occurs
/// in hashes or instance names, so the two parts cannot be confused). 20 hex digits: 80 bits.
pub fn name(key: &NameKey, instance: &str, id: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"sandboxd container name\0");
    h.update(key.0);
    h.update(id.as_bytes());
    let digest = h.finalize();
    let hash: String = digest[..10].iter().map(|b| format!("{b:02x}")).collect();
    if instance == "default" {
        format!("s-{hash}")
    } else {
        format!("s-{hash}_{instance}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_hide_the_id_and_keep_installations_apart() {
        let id = "abc";
        let k = NameKey::fixed(1);
        let a = name(&k, "default", id);
        assert!(a.starts_with("s-") && a.len() == 22, "{a}");
        assert!(!a.contains("abc"));
        assert_eq!(a, name(&k, "default", id));
        assert!(name(&k, "t1", id).ends_with("_t1"));
        assert_ne!(a, name(&NameKey::fixed(2), "default", id));
    }

    #[test]
    fn the_key_is_made_once_and_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let k1 = NameKey::load_or_create(dir.path()).unwrap();
        let k2 = NameKey::load_or_create(dir.path()).unwrap();
        assert_eq!(k1, k2);
        let mode = std::fs::metadata(NameKey::path_in(dir.path()))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}
