//! Plugin data: the registry of installed plugins (`plugins` tree, keyed by
//! the manifest name) and each plugin's key-value storage (`plugin_kv`,
//! keyed by `name \0 key`, with the bytes used per plugin kept in
//! `plugin_kv_usage` so the quota check is one read).
//!
//! Storage is keyed by the plugin's name, not its version, so an upgrade
//! keeps its data. A write and its usage update happen in one sled
//! transaction, so concurrent calls of the same plugin can never together
//! exceed its quota.

use serde::{Deserialize, Serialize};
use sled::Transactional;
use sled::transaction::{ConflictableTransactionError, TransactionalTree};

use crate::record::{self, Record};
use crate::{Store, StoreError};

/// An installed plugin (encoding version 1).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct PluginRecord {
    /// The manifest name, unique on the appliance.
    pub id: String,
    /// The manifest version.
    pub version: String,
    /// `channel`, `flow` or `commerce`.
    pub kind: String,
    /// The interface version it was built against.
    pub interface: String,
    /// SHA-256 of the `.wasm`, in hex: the file name under `plugins/`.
    pub sha256: String,
    /// Whether it is loaded and callable.
    pub enabled: bool,
    /// When this version was installed.
    pub installed_at_ms: i64,
    /// Id of the trusted key that signed it, if it was signed.
    pub signed_by: Option<String>,
}

impl Record for PluginRecord {
    const KIND: &'static str = "plugin";
    const VERSION: u8 = 1;

    fn validate(&self) -> Result<(), String> {
        if self.id.is_empty() || self.version.is_empty() {
            return Err("missing id or version".into());
        }
        if self.sha256.len() != 64 || !self.sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err("sha256 is not 64 hex digits".into());
        }
        Ok(())
    }
}

/// The outcome of a key-value write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KvWrite {
    /// Stored; the plugin now holds this many bytes.
    Stored {
        /// Keys plus values held after the write.
        used: u64,
    },
    /// Refused: storing it would take the plugin past its quota.
    OverQuota {
        /// Bytes the plugin would hold.
        needed: u64,
        /// Its quota.
        quota: u64,
    },
}

fn kv_key(plugin: &str, key: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(plugin.len() + 1 + key.len());
    k.extend_from_slice(plugin.as_bytes());
    k.push(0);
    k.extend_from_slice(key.as_bytes());
    k
}

fn kv_prefix(plugin: &str) -> Vec<u8> {
    kv_key(plugin, "")
}

fn decode_usage(bytes: Option<sled::IVec>) -> Result<u64, StoreError> {
    match bytes {
        None => Ok(0),
        Some(b) => <[u8; 8]>::try_from(b.as_ref())
            .map(u64::from_be_bytes)
            .map_err(|_| StoreError::InvalidRecord {
                kind: "plugin storage usage",
                reason: format!("expected 8 bytes, found {}", b.len()),
            }),
    }
}

fn tx_usage(
    usage: &TransactionalTree,
    plugin: &str,
) -> Result<u64, ConflictableTransactionError<StoreError>> {
    decode_usage(usage.get(plugin.as_bytes())?).map_err(ConflictableTransactionError::Abort)
}

fn check_plugin_name(plugin: &str) -> Result<(), StoreError> {
    // The name is the key prefix: a NUL in it would let one plugin's keys
    // alias another's.
    if plugin.is_empty() || plugin.as_bytes().contains(&0) {
        return Err(StoreError::InvalidRecord {
            kind: "plugin storage key",
            reason: "the plugin name must be non-empty and contain no NUL".into(),
        });
    }
    Ok(())
}

impl Store {
    /// Records (or replaces) an installed plugin.
    pub fn put_plugin(&self, plugin: &PluginRecord) -> Result<(), StoreError> {
        self.trees
            .plugins
            .insert(plugin.id.as_bytes(), record::encode(plugin)?)?;
        Ok(())
    }

    /// The installed plugin named `id`.
    pub fn plugin(&self, id: &str) -> Result<Option<PluginRecord>, StoreError> {
        self.trees
            .plugins
            .get(id.as_bytes())?
            .map(|v| record::decode(&v))
            .transpose()
    }

    /// Every installed plugin, by name.
    pub fn all_plugins(&self) -> Result<Vec<PluginRecord>, StoreError> {
        self.trees
            .plugins
            .iter()
            .values()
            .map(|v| record::decode(&v?))
            .collect()
    }

    /// Forgets plugin `id`; its stored data stays until
    /// [`Store::plugin_kv_clear`], so a reinstall can pick it up.
    pub fn delete_plugin(&self, id: &str) -> Result<PluginRecord, StoreError> {
        let bytes = self
            .trees
            .plugins
            .remove(id.as_bytes())?
            .ok_or_else(|| StoreError::NotFound(format!("plugin {id}")))?;
        record::decode(&bytes)
    }

    /// The value `plugin` stored under `key`.
    pub fn plugin_kv_get(&self, plugin: &str, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        check_plugin_name(plugin)?;
        Ok(self
            .trees
            .plugin_kv
            .get(kv_key(plugin, key))?
            .map(|v| v.to_vec()))
    }

    /// Stores `value` under `key` unless the plugin's keys plus values would
    /// then exceed `quota` bytes; the check and the write are one
    /// transaction.
    pub fn plugin_kv_put(
        &self,
        plugin: &str,
        key: &str,
        value: &[u8],
        quota: u64,
    ) -> Result<KvWrite, StoreError> {
        check_plugin_name(plugin)?;
        let k = kv_key(plugin, key);
        let entry = (key.len() + value.len()) as u64;
        let outcome =
            (&self.trees.plugin_kv, &self.trees.plugin_kv_usage).transaction(|(kv, usage)| {
                let used = tx_usage(usage, plugin)?;
                let old = kv.get(&k)?.map_or(0, |v| (key.len() + v.len()) as u64);
                let needed = used.saturating_sub(old).saturating_add(entry);
                // A write that shrinks usage is allowed even over the quota
                // (a lowered quota must not stop a plugin from cleaning up).
                if needed > quota && needed > used {
                    return Ok::<_, ConflictableTransactionError<StoreError>>(KvWrite::OverQuota {
                        needed,
                        quota,
                    });
                }
                kv.insert(k.as_slice(), value)?;
                usage.insert(plugin.as_bytes(), needed.to_be_bytes().to_vec())?;
                Ok(KvWrite::Stored { used: needed })
            })?;
        Ok(outcome)
    }

    /// Removes `key`; removing a missing key is not an error.
    pub fn plugin_kv_delete(&self, plugin: &str, key: &str) -> Result<(), StoreError> {
        check_plugin_name(plugin)?;
        let k = kv_key(plugin, key);
        (&self.trees.plugin_kv, &self.trees.plugin_kv_usage).transaction(|(kv, usage)| {
            if let Some(old) = kv.remove(k.as_slice())? {
                let used = tx_usage(usage, plugin)?;
                let left = used.saturating_sub((key.len() + old.len()) as u64);
                usage.insert(plugin.as_bytes(), left.to_be_bytes().to_vec())?;
            }
            Ok::<_, ConflictableTransactionError<StoreError>>(())
        })?;
        Ok(())
    }

    /// Bytes of keys plus values `plugin` holds.
    pub fn plugin_kv_used(&self, plugin: &str) -> Result<u64, StoreError> {
        check_plugin_name(plugin)?;
        decode_usage(self.trees.plugin_kv_usage.get(plugin.as_bytes())?)
    }

    /// Deletes everything `plugin` stored (when an admin removes it).
    pub fn plugin_kv_clear(&self, plugin: &str) -> Result<(), StoreError> {
        check_plugin_name(plugin)?;
        let keys: Vec<sled::IVec> = self
            .trees
            .plugin_kv
            .scan_prefix(kv_prefix(plugin))
            .keys()
            .collect::<Result<_, _>>()?;
        for key in keys {
            self.trees.plugin_kv.remove(key)?;
        }
        self.trees.plugin_kv_usage.remove(plugin.as_bytes())?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: &str) -> PluginRecord {
        PluginRecord {
            id: id.into(),
            version: "1.0.0".into(),
            kind: "channel".into(),
            interface: "0.1.0".into(),
            sha256: "ab".repeat(32),
            enabled: true,
            installed_at_ms: 1,
            signed_by: None,
        }
    }

    #[test]
    fn the_registry_keeps_one_record_per_name() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        store.put_plugin(&record("b")).unwrap();
        store.put_plugin(&record("a")).unwrap();
        let mut upgraded = record("a");
        upgraded.version = "1.1.0".into();
        store.put_plugin(&upgraded).unwrap();
        let all = store.all_plugins().unwrap();
        assert_eq!(
            all.iter().map(|p| p.id.as_str()).collect::<Vec<_>>(),
            ["a", "b"]
        );
        assert_eq!(store.plugin("a").unwrap().unwrap().version, "1.1.0");
        assert_eq!(store.delete_plugin("a").unwrap().id, "a");
        assert!(store.plugin("a").unwrap().is_none());
        assert!(matches!(
            store.delete_plugin("a"),
            Err(StoreError::NotFound(_))
        ));
        let mut bad = record("c");
        bad.sha256 = "nothex".into();
        assert!(store.put_plugin(&bad).is_err());
    }

    #[test]
    fn storage_is_per_plugin_and_the_quota_holds() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        assert_eq!(
            store.plugin_kv_put("a", "key", b"value", 10).unwrap(),
            KvWrite::Stored { used: 8 }
        );
        assert_eq!(
            store.plugin_kv_put("a", "k2", b"vv", 10).unwrap(),
            KvWrite::OverQuota {
                needed: 12,
                quota: 10
            }
        );
        // Replacing a value counts only the difference.
        assert_eq!(
            store.plugin_kv_put("a", "key", b"v", 10).unwrap(),
            KvWrite::Stored { used: 4 }
        );
        store.plugin_kv_put("b", "key", b"other", 100).unwrap();
        assert_eq!(
            store.plugin_kv_get("a", "key").unwrap(),
            Some(b"v".to_vec())
        );
        assert_eq!(store.plugin_kv_get("ab", "key").unwrap(), None);
        store.plugin_kv_delete("a", "key").unwrap();
        store.plugin_kv_delete("a", "missing").unwrap();
        assert_eq!(store.plugin_kv_used("a").unwrap(), 0);
        assert_eq!(store.plugin_kv_used("b").unwrap(), 8);
        store.plugin_kv_clear("b").unwrap();
        assert_eq!(store.plugin_kv_used("b").unwrap(), 0);
        assert_eq!(store.plugin_kv_get("b", "key").unwrap(), None);
        assert!(store.plugin_kv_get("a\0b", "key").is_err());
    }

    #[test]
    fn concurrent_writers_never_exceed_the_quota() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        std::thread::scope(|s| {
            for t in 0..4 {
                let store = &store;
                s.spawn(move || {
                    for i in 0..50 {
                        store
                            .plugin_kv_put("p", &format!("{t}-{i:02}"), &[0u8; 6], 100)
                            .unwrap();
                    }
                });
            }
        });
        // Each entry is 4 or 5 bytes of key plus 6 of value.
        let used = store.plugin_kv_used("p").unwrap();
        assert!(used <= 100, "{used}");
        let actual: u64 = store
            .trees
            .plugin_kv
            .scan_prefix(kv_prefix("p"))
            .map(|r| {
                let (k, v) = r.unwrap();
                (k.len() - 2 + v.len()) as u64
            })
            .sum();
        assert_eq!(actual, used);
    }
}
