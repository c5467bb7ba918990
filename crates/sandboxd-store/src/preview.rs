//! The preview key column. Rule: a sandbox's preview key is written only by
//! [`Store::set_preview_key`] (at create, and on every rotation) and read only by
//! [`Store::preview_key`]; it is never part of the [`sandboxd_core::Sandbox`] record, and a
//! tombstone drops it (see `row.rs`).

use crate::{Store, StoreError};
use rusqlite::{params, OptionalExtension};
use sandboxd_core::{PreviewKey, SandboxId};

impl Store {
    /// Replace the sandbox's preview key (every token signed with the old one stops working).
    pub async fn set_preview_key(
        &self,
        id: &SandboxId,
        key: &PreviewKey,
    ) -> Result<(), StoreError> {
        let id = id.as_str().to_string();
        let hex = key.to_hex();
        self.call(move |c| {
            let changed = c.execute(
                "UPDATE sandboxes SET preview_key = ?2 WHERE id = ?1 AND status != 'deleted'",
                params![id, hex],
            )?;
            if changed == 0 {
                return Err(StoreError::NotFound { id });
            }
            Ok(())
        })
        .await
    }

    /// The sandbox's preview key, if it has one (none: no such sandbox, a tombstone, or a
    /// sandbox from before private previews existed).
    pub async fn preview_key(&self, id: &SandboxId) -> Result<Option<PreviewKey>, StoreError> {
        let id = id.as_str().to_string();
        self.call(move |c| {
            let stored: Option<Option<String>> = c
                .query_row(
                    "SELECT preview_key FROM sandboxes WHERE id = ?1",
                    params![id],
                    |r| r.get(0),
                )
                .optional()?;
            let parse = |text: String| {
                PreviewKey::parse_hex(&text).ok_or_else(|| StoreError::Corrupt {
                    id: id.clone(),
                    reason: "preview_key is not a key".into(),
                })
            };
            stored.flatten().map(parse).transpose()
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use crate::tests::sample;
    use crate::{Store, StoreError};
    use sandboxd_core::{Preview, PreviewKey, SandboxId, Status, PREVIEW_KEY_BYTES};

    #[tokio::test]
    async fn preview_key_survives_puts_rotates_and_dies_with_the_tombstone() {
        let store = Store::open_in_memory().unwrap();
        let id = SandboxId::parse_new("pk").unwrap();
        let first = PreviewKey::from_random([3; PREVIEW_KEY_BYTES]);
        assert!(matches!(
            store.set_preview_key(&id, &first).await,
            Err(StoreError::NotFound { .. })
        ));
        let mut sb = sample("pk", 1);
        store.put(&sb).await.unwrap();
        assert_eq!(
            store.get(&id).await.unwrap().unwrap().preview,
            Preview::Private
        );
        assert_eq!(store.preview_key(&id).await.unwrap(), None);
        store.set_preview_key(&id, &first).await.unwrap();
        sb.status = Status::Stopped;
        store.put(&sb).await.unwrap();
        assert_eq!(store.preview_key(&id).await.unwrap(), Some(first));
        let second = PreviewKey::from_random([4; PREVIEW_KEY_BYTES]);
        store.set_preview_key(&id, &second).await.unwrap();
        assert_eq!(store.preview_key(&id).await.unwrap(), Some(second.clone()));
        sb.status = Status::Deleted;
        store.put(&sb).await.unwrap();
        assert_eq!(store.preview_key(&id).await.unwrap(), None);
        assert!(store.set_preview_key(&id, &second).await.is_err());
    }
}
