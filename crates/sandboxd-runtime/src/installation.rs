//! Which installation (data dir) owns an instance name on a shared engine. Two sandboxd with
//! the same instance name but different data dirs would each take the other's containers for
//! orphans; the installation id recorded in the data dir and carried by the instance's network
//! and containers tells them apart. Rule: the network names its owner; a runtime refuses an
//! instance whose network names another installation, and never lists or removes a container
//! labelled with another installation's id.

use std::collections::HashMap;
use std::path::PathBuf;

/// Label holding the installation id (on the network and every container).
pub const INSTALLATION_LABEL: &str = "io.sandboxd.installation";
/// Label holding the owning data dir's path (on the network), for the refusal message.
pub const DATA_DIR_LABEL: &str = "io.sandboxd.data-dir";

/// This installation, as its data dir records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Installation {
    /// Random id minted at the data dir's first start.
    pub id: String,
    /// The data dir (absolute).
    pub data_dir: PathBuf,
    /// The data dir has served this instance before (it may adopt a network made before
    /// installation ids existed); false for a fresh data dir.
    pub established: bool,
}

/// Whose an object is, from its labels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ownership {
    Ours,
    /// Made before installation ids existed (no installation label).
    Unlabelled,
    Foreign {
        id: String,
        data_dir: Option<String>,
    },
}

impl Installation {
    /// The labels that claim an object for this installation.
    pub fn labels(&self) -> HashMap<String, String> {
        HashMap::from([
            (INSTALLATION_LABEL.to_string(), self.id.clone()),
            (
                DATA_DIR_LABEL.to_string(),
                self.data_dir.display().to_string(),
            ),
        ])
    }

    pub fn ownership(&self, labels: Option<&HashMap<String, String>>) -> Ownership {
        let labels = labels.cloned().unwrap_or_default();
        match labels.get(INSTALLATION_LABEL) {
            None => Ownership::Unlabelled,
            Some(id) if *id == self.id => Ownership::Ours,
            Some(id) => Ownership::Foreign {
                id: id.clone(),
                data_dir: labels.get(DATA_DIR_LABEL).cloned(),
            },
        }
    }

    /// The message refusing to serve an instance another installation owns.
    pub fn refusal(&self, instance: &str, owner: &Ownership) -> String {
        let ours = format!(
            "this sandboxd's data dir {} (installation {})",
            self.data_dir.display(),
            self.id
        );
        match owner {
            Ownership::Foreign { id, data_dir } => format!(
                "instance {instance:?} belongs to another installation: its network is labelled \
                 with installation {id} of data dir {}, not {ours}; serve that data dir, or give \
                 this one another --instance",
                data_dir.as_deref().unwrap_or("(unknown)")
            ),
            _ => format!(
                "instance {instance:?} has a network made by a sandboxd from before installation \
                 ids, and {ours} has never served it; start the sandboxd whose data dir made it \
                 once (it adopts the network), run `sandboxd uninstall` for it, or give this one \
                 another --instance"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn me() -> Installation {
        Installation {
            id: "aaa".into(),
            data_dir: "/var/lib/a".into(),
            established: true,
        }
    }

    #[test]
    fn labels_name_the_owner() {
        let me = me();
        assert_eq!(me.ownership(Some(&me.labels())), Ownership::Ours);
        assert_eq!(me.ownership(None), Ownership::Unlabelled);
        let other = Installation {
            id: "bbb".into(),
            data_dir: "/var/lib/b".into(),
            established: true,
        };
        let owner = me.ownership(Some(&other.labels()));
        assert_eq!(
            owner,
            Ownership::Foreign {
                id: "bbb".into(),
                data_dir: Some("/var/lib/b".into())
            }
        );
        let msg = me.refusal("default", &owner);
        assert!(
            msg.contains("/var/lib/a") && msg.contains("/var/lib/b"),
            "{msg}"
        );
    }
}
