//! What the embedder provides: outbound HTTP, key-value storage, the clock,
//! and a sink for admin-facing events. The host checks permissions and
//! quotas before calling these, so an implementation only moves bytes.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use omnigate_domain::Clock;

/// An outbound request a plugin made, already checked against its
/// manifest's `allowed_hosts`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboundRequest {
    /// `GET`, `POST`...
    pub method: &'static str,
    /// Absolute URL.
    pub url: String,
    /// Headers in order.
    pub headers: Vec<(String, String)>,
    /// Body bytes.
    pub body: Vec<u8>,
}

/// The upstream's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboundResponse {
    /// HTTP status.
    pub status: u16,
    /// Headers in order.
    pub headers: Vec<(String, String)>,
    /// The whole body.
    pub body: Vec<u8>,
}

/// Why no response came back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HttpFailure {
    /// No answer within the timeout given.
    Timeout,
    /// Connection, TLS or protocol failure.
    Transport(String),
    /// The body exceeded the client's limit, in bytes.
    TooLarge(u64),
}

/// Sends plugins' HTTP requests. Implementations must honour `timeout`:
/// it is what is left of the call's time budget, so the plugin's own
/// budget bounds the wait.
pub trait HttpClient: Send + Sync + 'static {
    /// Sends `request` for `plugin` (its `name@version`, for logs).
    fn send(
        &self,
        plugin: &str,
        request: OutboundRequest,
        timeout: Duration,
    ) -> Result<OutboundResponse, HttpFailure>;
}

/// An HTTP client for appliances that allow plugins no network at all:
/// every request fails as a transport error the plugin can report.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoNetwork;

impl HttpClient for NoNetwork {
    fn send(
        &self,
        _plugin: &str,
        request: OutboundRequest,
        _timeout: Duration,
    ) -> Result<OutboundResponse, HttpFailure> {
        Err(HttpFailure::Transport(format!(
            "outbound HTTP is disabled on this appliance ({})",
            request.url
        )))
    }
}

/// A stored file handed to a plugin by its `attachments` import.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAttachment {
    /// The whole content.
    pub bytes: Vec<u8>,
    /// The MIME type read from the content.
    pub content_type: String,
    /// The name it was uploaded under.
    pub filename: Option<String>,
}

/// Why an attachment could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttachmentFailure {
    /// No such file (or not one the message's conversation may show).
    NotFound(String),
    /// The file is larger than `limit` bytes, the most the call may take in.
    TooLarge {
        /// The file's size.
        size: u64,
        /// The limit given to [`AttachmentSource::read`].
        limit: u64,
    },
    /// The deadline passed before the file was read.
    Timeout,
    /// The storage failed.
    Storage(String),
}

/// Reads the appliance's stored files for one `send` call. The embedder
/// makes one per outbound message (it knows the message's conversation);
/// the host has already checked that the plugin asked for a file the
/// message carries, so an implementation only moves bytes, within
/// `max_bytes` (checked before reading) and `deadline` (checked while
/// reading, so a slow disk cannot hold the call past its budget).
pub trait AttachmentSource: Send + Sync + 'static {
    /// The file `reference` names.
    fn read(
        &self,
        reference: &str,
        max_bytes: u64,
        deadline: Instant,
    ) -> Result<StoredAttachment, AttachmentFailure>;
}

/// The outcome of [`KvStore::put_within`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KvPut {
    /// Stored.
    Stored,
    /// Refused: the plugin would exceed its quota.
    OverQuota {
        /// Bytes of keys plus values it holds now.
        used: u64,
    },
}

/// Per-plugin key-value storage. Keys are scoped by `plugin` (the
/// manifest name, so an upgrade keeps its data).
pub trait KvStore: Send + Sync + 'static {
    /// The value under `key`.
    fn get(&self, plugin: &str, key: &str) -> Result<Option<Vec<u8>>, String>;
    /// Stores `value` under `key` unless the plugin's keys plus values
    /// would then exceed `quota` bytes, checking and writing as one step
    /// (a write that shrinks usage is allowed even over the quota, so a
    /// lowered quota does not stop a plugin from cleaning up).
    fn put_within(
        &self,
        plugin: &str,
        key: &str,
        value: &[u8],
        quota: u64,
    ) -> Result<KvPut, String>;
    /// Removes `key`.
    fn delete(&self, plugin: &str, key: &str) -> Result<(), String>;
    /// Bytes of keys plus values the plugin holds.
    fn used_bytes(&self, plugin: &str) -> Result<u64, String>;
}

/// Key-value storage in memory: for tests, and for embedders that do not
/// persist plugin data.
#[derive(Debug, Default)]
pub struct MemoryKv {
    entries: Mutex<HashMap<(String, String), Vec<u8>>>,
}

impl MemoryKv {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(String, String), Vec<u8>>> {
        // A poisoned map is still a valid map: every operation is one insert
        // or remove.
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl KvStore for MemoryKv {
    fn get(&self, plugin: &str, key: &str) -> Result<Option<Vec<u8>>, String> {
        Ok(self
            .lock()
            .get(&(plugin.to_owned(), key.to_owned()))
            .cloned())
    }

    fn put_within(
        &self,
        plugin: &str,
        key: &str,
        value: &[u8],
        quota: u64,
    ) -> Result<KvPut, String> {
        let mut entries = self.lock();
        let used: u64 = entries
            .iter()
            .filter(|((p, _), _)| p == plugin)
            .map(|((_, k), v)| (k.len() + v.len()) as u64)
            .sum();
        let old = entries
            .get(&(plugin.to_owned(), key.to_owned()))
            .map_or(0, |v| (key.len() + v.len()) as u64);
        let after = used.saturating_sub(old) + (key.len() + value.len()) as u64;
        if after > quota && after > used {
            return Ok(KvPut::OverQuota { used });
        }
        entries.insert((plugin.to_owned(), key.to_owned()), value.to_vec());
        Ok(KvPut::Stored)
    }

    fn delete(&self, plugin: &str, key: &str) -> Result<(), String> {
        self.lock().remove(&(plugin.to_owned(), key.to_owned()));
        Ok(())
    }

    fn used_bytes(&self, plugin: &str) -> Result<u64, String> {
        Ok(self
            .lock()
            .iter()
            .filter(|((p, _), _)| p == plugin)
            .map(|((_, k), v)| (k.len() + v.len()) as u64)
            .sum())
    }
}

/// A plugin the circuit breaker just disabled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginDisabled {
    /// `name@version`.
    pub plugin: String,
    /// Consecutive failures that tripped the breaker.
    pub failures: u32,
    /// The last failure, as the admin should read it.
    pub last_error: String,
}

/// Where admin-facing events go (the server turns them into an audit
/// record and a console notice).
pub trait HostEvents: Send + Sync + 'static {
    /// A plugin was disabled after repeated failures.
    fn plugin_disabled(&self, event: PluginDisabled);
}

/// Logs events only, for tests and tools.
#[derive(Debug, Clone, Copy, Default)]
pub struct LogEvents;

impl HostEvents for LogEvents {
    fn plugin_disabled(&self, event: PluginDisabled) {
        tracing::error!(
            plugin = %event.plugin,
            failures = event.failures,
            last_error = %event.last_error,
            "plugin disabled by the circuit breaker"
        );
    }
}

/// Everything the embedder provides, shared by all calls.
#[derive(Clone)]
pub struct Services {
    /// Outbound HTTP.
    pub http: Arc<dyn HttpClient>,
    /// Plugin storage.
    pub kv: Arc<dyn KvStore>,
    /// The clock plugins read.
    pub clock: Arc<dyn Clock>,
    /// Admin-facing events.
    pub events: Arc<dyn HostEvents>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_kv_counts_per_plugin() {
        let kv = MemoryKv::default();
        assert_eq!(kv.put_within("a", "key", b"value", 100), Ok(KvPut::Stored));
        assert_eq!(kv.put_within("b", "k", b"v", 100), Ok(KvPut::Stored));
        assert_eq!(
            kv.put_within("a", "other", b"too long", 10),
            Ok(KvPut::OverQuota { used: 8 })
        );
        assert_eq!(kv.used_bytes("a"), Ok(8));
        assert_eq!(kv.get("a", "key"), Ok(Some(b"value".to_vec())));
        assert_eq!(kv.get("b", "key"), Ok(None));
        assert!(kv.delete("a", "key").is_ok());
        assert_eq!(kv.used_bytes("a"), Ok(0));
    }
}
