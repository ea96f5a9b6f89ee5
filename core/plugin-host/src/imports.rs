//! The host side of the plugin imports: `http` (allowlist first, then the
//! embedder's client with what is left of the time budget), `kv` (quota
//! first), `config`, `log` (tracing, tagged with the plugin), `clock`,
//! `crypto` (native hashing of what the guest hands over), and
//! `attachments` (only the files of the message being sent, sized to the
//! plugin's memory budget).

use std::time::Instant;

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use crate::bindings::channel::omnigate::plugin::attachments;
use crate::bindings::imports::omnigate::plugin::{clock, config, crypto, http, kv, log};
use crate::services::KvPut;
use crate::services::{AttachmentFailure, HttpFailure, OutboundRequest};
use crate::state::CallState;

/// Longest key a plugin may store under.
const MAX_KEY_BYTES: usize = 256;

impl http::Host for CallState {
    fn send(&mut self, request: http::Request) -> Result<http::Response, http::Error> {
        if let Err(message) = self.plugin.allowlist.check(&request.url) {
            self.plugin.metrics.refused_host();
            tracing::warn!(plugin = %self.plugin.id, url = %request.url, "outbound request refused");
            return Err(http::Error::ForbiddenHost(message));
        }
        let cap = self.plugin.max_request_bytes;
        if request.body.len() > cap {
            return Err(http::Error::TooLarge(cap as u64));
        }
        let left = self.deadline.saturating_duration_since(Instant::now());
        let timeout = match request.timeout_ms {
            Some(ms) => left.min(std::time::Duration::from_millis(u64::from(ms))),
            None => left,
        };
        if timeout.is_zero() {
            return Err(http::Error::Timeout);
        }
        let method = match request.method {
            http::Method::Get => "GET",
            http::Method::Head => "HEAD",
            http::Method::Post => "POST",
            http::Method::Put => "PUT",
            http::Method::Patch => "PATCH",
            http::Method::Delete => "DELETE",
        };
        let outbound = OutboundRequest {
            method,
            url: request.url,
            headers: request.headers,
            body: request.body,
        };
        match self.services.http.send(&self.plugin.id, outbound, timeout) {
            Ok(r) => Ok(http::Response {
                status: r.status,
                headers: r.headers,
                body: r.body,
            }),
            Err(HttpFailure::Timeout) => Err(http::Error::Timeout),
            Err(HttpFailure::Transport(m)) => Err(http::Error::Transport(m)),
            Err(HttpFailure::TooLarge(n)) => Err(http::Error::TooLarge(n)),
        }
    }
}

impl kv::Host for CallState {
    fn get(&mut self, key: String) -> Result<Option<Vec<u8>>, kv::Error> {
        check_key(&key)?;
        self.services
            .kv
            .get(&self.plugin.name, &key)
            .map_err(kv::Error::Storage)
    }

    fn set(&mut self, key: String, value: Vec<u8>) -> Result<(), kv::Error> {
        check_key(&key)?;
        let quota = self.plugin.kv_quota_bytes;
        // The embedder checks the quota and writes in one step, so
        // concurrent calls of one plugin cannot together exceed it.
        match self
            .services
            .kv
            .put_within(&self.plugin.name, &key, &value, quota)
            .map_err(kv::Error::Storage)?
        {
            KvPut::Stored => Ok(()),
            KvPut::OverQuota { used } => Err(kv::Error::QuotaExceeded(kv::Quota {
                limit_bytes: quota,
                used_bytes: used,
            })),
        }
    }

    fn delete(&mut self, key: String) -> Result<(), kv::Error> {
        check_key(&key)?;
        self.services
            .kv
            .delete(&self.plugin.name, &key)
            .map_err(kv::Error::Storage)
    }
}

fn check_key(key: &str) -> Result<(), kv::Error> {
    if key.is_empty() || key.len() > MAX_KEY_BYTES {
        return Err(kv::Error::InvalidKey(format!(
            "keys are 1 to {MAX_KEY_BYTES} bytes"
        )));
    }
    Ok(())
}

impl config::Host for CallState {
    fn get(&mut self, key: String) -> Option<String> {
        self.settings
            .config
            .get(&key)
            .or_else(|| self.plugin.config_defaults.get(&key))
            .cloned()
    }

    fn secret(&mut self, key: String) -> Option<String> {
        self.settings.secrets.get(&key).cloned()
    }
}

impl log::Host for CallState {
    fn log(&mut self, level: log::Level, message: String, fields: Vec<(String, String)>) {
        let fields = fields
            .iter()
            .map(|(k, v)| format!("{k}={v:?}"))
            .collect::<Vec<_>>()
            .join(" ");
        let plugin = &self.plugin.id;
        match level {
            log::Level::Trace => tracing::trace!(plugin = %plugin, fields = %fields, "{message}"),
            log::Level::Debug => tracing::debug!(plugin = %plugin, fields = %fields, "{message}"),
            log::Level::Info => tracing::info!(plugin = %plugin, fields = %fields, "{message}"),
            log::Level::Warn => tracing::warn!(plugin = %plugin, fields = %fields, "{message}"),
            log::Level::Error => tracing::error!(plugin = %plugin, fields = %fields, "{message}"),
        }
    }
}

impl clock::Host for CallState {
    fn now_ms(&mut self) -> u64 {
        u64::try_from(self.services.clock.now().0).unwrap_or(0)
    }
}

impl crypto::Host for CallState {
    fn hmac_sha256(&mut self, key: Vec<u8>, data: Vec<u8>) -> Vec<u8> {
        // HMAC takes keys of any length (long ones are hashed first), so
        // this constructor cannot refuse; the empty digest is never seen.
        match Hmac::<Sha256>::new_from_slice(&key) {
            Ok(mut mac) => {
                mac.update(&data);
                mac.finalize().into_bytes().to_vec()
            }
            Err(_) => Vec::new(),
        }
    }

    fn sha256(&mut self, data: Vec<u8>) -> Vec<u8> {
        Sha256::digest(&data).to_vec()
    }
}

/// Part of the memory budget left free when sizing a read: the plugin
/// still needs room for its own work (JSON, the provider's answer).
const READ_HEADROOM_BYTES: usize = 1024 * 1024;

impl CallState {
    /// The largest file this call may take in: a plugin holds the file
    /// once as it receives it and once more in the request body it
    /// uploads, so half of what its memory budget has left, less some
    /// headroom. Refusing here gives the plugin an error it can report,
    /// where letting the copy grow its memory past the budget would trap
    /// the call (and, retried, trip the breaker).
    fn readable_bytes(&self) -> u64 {
        let left = self
            .limiter
            .memory_left()
            .saturating_sub(READ_HEADROOM_BYTES);
        (left / 2) as u64
    }
}

impl attachments::Host for CallState {
    fn read(&mut self, reference: String) -> Result<attachments::Attachment, attachments::Error> {
        let Some(grant) = &self.attachments else {
            return Err(attachments::Error::OutOfScope(
                "attachments can be read only during `send`, and only those of the message being sent".into(),
            ));
        };
        if !grant.references.contains(&reference) {
            tracing::warn!(plugin = %self.plugin.id, reference = %reference, "attachment read outside the message refused");
            return Err(attachments::Error::OutOfScope(format!(
                "`{reference}` is not an attachment of the message being sent"
            )));
        }
        if Instant::now() >= self.deadline {
            return Err(attachments::Error::Timeout);
        }
        let limit = self.readable_bytes();
        match grant.source.read(&reference, limit, self.deadline) {
            Ok(file) => Ok(attachments::Attachment {
                size_bytes: file.bytes.len() as u64,
                bytes: file.bytes,
                content_type: file.content_type,
                filename: file.filename,
            }),
            Err(AttachmentFailure::NotFound(m)) => Err(attachments::Error::NotFound(m)),
            Err(AttachmentFailure::TooLarge { size, limit }) => {
                Err(attachments::Error::TooLarge(attachments::TooLarge {
                    size_bytes: size,
                    limit_bytes: limit,
                }))
            }
            Err(AttachmentFailure::Timeout) => Err(attachments::Error::Timeout),
            Err(AttachmentFailure::Storage(m)) => Err(attachments::Error::Storage(m)),
        }
    }
}
