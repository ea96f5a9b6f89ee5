//! The host services backed by the store: plugin storage and the admin
//! events of the circuit breaker.

use std::sync::Arc;

use omnigate_domain::{Actor, AuditAction, AuditEvent, Clock};
use omnigate_plugin_host::services::{KvPut, PluginDisabled};
use omnigate_plugin_host::{HostEvents, KvStore};
use omnigate_store::{KvWrite, Store};

/// Plugin storage in the store's `plugin_kv` tree. Writes are not flushed
/// on their own: a plugin's stored state is a cache of what its provider
/// knows, and the next group commit takes it to disk.
pub(crate) struct StoreKv {
    store: Arc<Store>,
}

impl StoreKv {
    pub(crate) fn new(store: Arc<Store>) -> StoreKv {
        StoreKv { store }
    }
}

impl KvStore for StoreKv {
    fn get(&self, plugin: &str, key: &str) -> Result<Option<Vec<u8>>, String> {
        self.store
            .plugin_kv_get(plugin, key)
            .map_err(|e| e.to_string())
    }

    fn put_within(
        &self,
        plugin: &str,
        key: &str,
        value: &[u8],
        quota: u64,
    ) -> Result<KvPut, String> {
        match self.store.plugin_kv_put(plugin, key, value, quota) {
            Ok(KvWrite::Stored { .. }) => Ok(KvPut::Stored),
            Ok(KvWrite::OverQuota { .. }) => Ok(KvPut::OverQuota {
                used: self
                    .store
                    .plugin_kv_used(plugin)
                    .map_err(|e| e.to_string())?,
            }),
            Err(e) => Err(e.to_string()),
        }
    }

    fn delete(&self, plugin: &str, key: &str) -> Result<(), String> {
        self.store
            .plugin_kv_delete(plugin, key)
            .map_err(|e| e.to_string())
    }

    fn used_bytes(&self, plugin: &str) -> Result<u64, String> {
        self.store.plugin_kv_used(plugin).map_err(|e| e.to_string())
    }
}

/// A breaker trip becomes an audit record (admins see it in the audit log
/// and the plugin list shows the plugin stopped) and an error in the log.
pub(crate) struct AuditingEvents {
    store: Arc<Store>,
    clock: Arc<dyn Clock>,
    on_change: Arc<std::sync::OnceLock<super::ChangeHook>>,
}

impl AuditingEvents {
    pub(crate) fn new(
        store: Arc<Store>,
        clock: Arc<dyn Clock>,
        on_change: Arc<std::sync::OnceLock<super::ChangeHook>>,
    ) -> AuditingEvents {
        AuditingEvents {
            store,
            clock,
            on_change,
        }
    }
}

impl HostEvents for AuditingEvents {
    fn plugin_disabled(&self, event: PluginDisabled) {
        tracing::error!(
            plugin = %event.plugin,
            failures = event.failures,
            last_error = %event.last_error,
            "plugin stopped by the circuit breaker; an admin must enable it again"
        );
        let name = event
            .plugin
            .split_once('@')
            .map_or(event.plugin.as_str(), |(n, _)| n);
        let detail = serde_json::json!({
            "plugin": event.plugin,
            "failures": event.failures,
            "last_error": event.last_error,
        });
        let audit = AuditEvent::new(Actor::System, AuditAction::PluginTripped)
            .target(name.to_owned())
            .detail(detail.to_string());
        if let Err(error) = self.store.append_audit(&audit, self.clock.now()) {
            tracing::error!(%error, "cannot record the plugin's breaker trip in the audit log");
        }
        if let Some(hook) = self.on_change.get() {
            hook(name, AuditAction::PluginTripped);
        }
    }
}
