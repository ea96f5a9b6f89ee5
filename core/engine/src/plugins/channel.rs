//! Plugin channels in the conversation pipeline: a provider's webhook goes
//! through the channel's plugin (handshake, signature check, parse) into
//! the engine; an outbound message goes out through the plugin's `send`.
//!
//! Plugin calls are synchronous and may wait on the provider, so they run
//! on the blocking pool. A plugin that is missing, disabled or failing
//! makes the webhook answer 503: providers redeliver later (WhatsApp for
//! up to seven days), so nothing the contact sent is lost while an admin
//! repairs the plugin.

use std::io::Read;
use std::sync::Arc;
use std::time::{Duration, Instant};

use omnigate_domain::conversation::{Content, DeliveryStatus, MediaKind};
use omnigate_plugin_host::convert;
use omnigate_plugin_host::services::{AttachmentFailure, StoredAttachment};
use omnigate_plugin_host::types::channel::{
    InboundEvent, InboundMessage as WitInbound, OutboundMessage, ProviderError, StatusUpdate,
    WebhookError, WebhookRequest, WebhookResponse,
};
use omnigate_plugin_host::{AttachmentSource, Binding, Cause, PluginError};
use omnigate_store::Store;
use omnigate_store::attachments::{AttachmentRecord, AttachmentScope};
use omnigate_store::channels::ChannelRecord;
use omnigate_store::{MessageRecord, StoreError};
use sha2::{Digest, Sha256};

use super::{Loaded, PluginsError};
use crate::{Engine, EngineError, InboundMessage};

/// Why a plugin channel's webhook was not taken.
#[derive(Debug, thiserror::Error)]
pub enum WebhookRefusal {
    /// The plugin found no valid signature or token (401).
    #[error("{0}")]
    Unauthenticated(String),
    /// The plugin could not read the payload (400).
    #[error("{0}")]
    Malformed(String),
    /// The plugin is not installed, not enabled or failing: the provider
    /// should redeliver later (503).
    #[error("{0}")]
    Unavailable(String),
    /// The engine failed or refused.
    #[error(transparent)]
    Engine(#[from] EngineError),
}

/// What a webhook delivered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WebhookTaken {
    /// New messages stored.
    pub messages: usize,
    /// Redeliveries of messages already stored.
    pub duplicates: usize,
    /// Delivery reports applied.
    pub statuses: usize,
    /// Contacts whose name or phone a profile report changed.
    pub profiles: usize,
}

/// The outcome of one outbound attempt through a plugin.
#[derive(Debug)]
pub(crate) enum SendOutcome {
    /// The provider took it, under this id.
    Sent(String),
    /// Worth trying again: after `after` when the provider said so.
    Retry {
        reason: String,
        after: Option<Duration>,
    },
    /// Trying again would not help (window closed, invalid recipient...).
    Failed(String),
    /// The channel's plugin is not installed or an admin disabled it: the
    /// message waits without spending its attempts.
    Paused(String),
}

impl Engine {
    pub(super) fn channel_plugin(
        &self,
        channel: &ChannelRecord,
    ) -> Result<(Arc<Loaded>, Arc<Binding>), WebhookRefusal> {
        let plugins = self.running_plugins()?;
        let loaded = plugins
            .channel_plugin(&channel.kind)
            .map_err(|e| unavailable(channel, &e))?;
        let binding = plugins
            .binding(channel.id)
            .map_err(|e| unavailable(channel, &e))?;
        Ok((loaded, binding))
    }

    fn running_plugins(&self) -> Result<&Arc<super::Plugins>, WebhookRefusal> {
        self.plugins().ok_or_else(|| {
            WebhookRefusal::Unavailable("plugins are not running on this server".into())
        })
    }

    /// Runs a webhook's computing plugin call on the parse threads.
    async fn compute<T: Send + 'static>(
        &self,
        call: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, WebhookRefusal> {
        self.running_plugins()?
            .compute(call)
            .await
            .map_err(|_| WebhookRefusal::Unavailable("the plugin call did not finish".into()))
    }

    /// Answers a provider's subscription handshake (a GET on the webhook).
    pub async fn plugin_handshake(
        &self,
        channel: &ChannelRecord,
        request: WebhookRequest,
    ) -> Result<WebhookResponse, WebhookRefusal> {
        let (loaded, binding) = self.channel_plugin(channel)?;
        self.compute(move || loaded.plugin.handshake(&binding, &request))
            .await?
            .map_err(|e| failing(channel, &e))
    }

    /// Takes a provider's webhook: the plugin verifies and parses it; its
    /// messages are stored (durably, before this returns), its delivery
    /// reports applied. A redelivery is recognised by the provider's
    /// message ids and stores nothing twice.
    pub async fn plugin_webhook(
        &self,
        channel: &ChannelRecord,
        request: WebhookRequest,
    ) -> Result<WebhookTaken, WebhookRefusal> {
        if channel.disabled {
            return Err(EngineError::ChannelDisabled(channel.id).into());
        }
        let (loaded, binding) = self.channel_plugin(channel)?;
        let parse = {
            let (loaded, binding) = (Arc::clone(&loaded), Arc::clone(&binding));
            move || loaded.plugin.parse_webhook(&binding, &request)
        };
        let events = match self
            .compute(parse)
            .await?
            .map_err(|e| failing(channel, &e))?
        {
            Ok(events) => events,
            Err(WebhookError::Unauthenticated(why)) => {
                return Err(WebhookRefusal::Unauthenticated(why));
            }
            Err(WebhookError::Malformed(why)) => return Err(WebhookRefusal::Malformed(why)),
        };
        let mut taken = WebhookTaken::default();
        let mut needs_flush = false;
        for event in events {
            match event {
                InboundEvent::Message(message) => {
                    let inbound = self
                        .inbound_from_plugin(channel, &loaded, &binding, message)
                        .await?;
                    let received = self.receive(channel, inbound).await?;
                    needs_flush |= received.needs_flush;
                    if received.duplicate {
                        taken.duplicates += 1;
                    } else {
                        taken.messages += 1;
                    }
                }
                InboundEvent::Status(update) => {
                    if self.apply_plugin_status(channel, &update)? {
                        taken.statuses += 1;
                        needs_flush = true;
                    }
                }
                InboundEvent::Profile(profile) => {
                    // A known contact's new name or phone, reported outside
                    // a message; a contact not seen yet is created by their
                    // first message, which carries the same profile.
                    let name = bounded_text(profile.display_name, 200);
                    let phone = bounded_text(profile.phone, 40);
                    if self
                        .store()
                        .update_contact_profile(
                            channel.id,
                            &profile.external_id,
                            name.as_deref(),
                            phone.as_deref(),
                        )
                        .map_err(EngineError::from)?
                        .is_some()
                    {
                        taken.profiles += 1;
                        needs_flush = true;
                    }
                }
            }
        }
        if needs_flush {
            self.durable().await?;
        }
        Ok(taken)
    }

    async fn inbound_from_plugin(
        &self,
        channel: &ChannelRecord,
        loaded: &Arc<Loaded>,
        binding: &Arc<Binding>,
        message: WitInbound,
    ) -> Result<InboundMessage, WebhookRefusal> {
        let contact = message.contact;
        let content = match convert::content_from_wit(message.content) {
            Ok(Content::Media {
                kind,
                attachment,
                caption,
                filename,
                ..
            }) => {
                self.fetch_inbound_media(
                    channel, loaded, binding, kind, attachment, caption, filename,
                )
                .await?
            }
            Ok(content) => content,
            Err(unrepresentable) => Content::Text {
                body: format!("[{}]", unrepresentable.0),
            },
        };
        Ok(InboundMessage {
            contact_id: contact.external_id,
            contact_name: bounded_text(contact.display_name, 200),
            contact_phone: bounded_text(contact.phone, 40),
            provider_id: message.provider_message_id,
            content,
        })
    }

    /// Downloads an inbound media file through the plugin and stores it as
    /// an attachment of the channel. A file the provider no longer has, or
    /// one over the channel's limit, becomes a note in the thread instead
    /// of blocking the message; a transient failure makes the webhook fail
    /// so the provider redelivers.
    #[allow(clippy::too_many_arguments)]
    async fn fetch_inbound_media(
        &self,
        channel: &ChannelRecord,
        loaded: &Arc<Loaded>,
        binding: &Arc<Binding>,
        kind: MediaKind,
        reference: String,
        caption: Option<String>,
        filename: Option<String>,
    ) -> Result<Content, WebhookRefusal> {
        let fetch = {
            let (loaded, binding, reference) =
                (Arc::clone(loaded), Arc::clone(binding), reference.clone());
            move || loaded.plugin.fetch_media(&binding, &reference)
        };
        let missing = |why: &str| Content::Text {
            body: match &caption {
                Some(caption) => format!("[{} not available: {why}] {caption}", kind.as_str()),
                None => format!("[{} not available: {why}]", kind.as_str()),
            },
        };
        let fetched = match blocking(fetch).await?.map_err(|e| failing(channel, &e))? {
            Ok(fetched) => fetched,
            Err(ProviderError::RateLimited(_) | ProviderError::TransientUpstream(_)) => {
                return Err(WebhookRefusal::Unavailable(format!(
                    "channel {}: the provider did not hand over a media file yet; redeliver later",
                    channel.id
                )));
            }
            Err(error) => return Ok(missing(&provider_error_text(&error))),
        };
        let limit = self
            .capabilities(channel)
            .media_limit(kind)
            .unwrap_or(self.config().max_media_bytes);
        if fetched.bytes.len() as u64 > limit {
            return Ok(missing(&format!("larger than {limit} bytes")));
        }
        let sha256: [u8; 32] = Sha256::digest(&fetched.bytes).into();
        // The type is read from the bytes, never taken from the provider;
        // what cannot be recognised is served as a download only.
        let (mime, kind) = match omnigate_domain::conversation::sniff(&fetched.bytes) {
            Some((mime, sniffed)) => (mime.to_owned(), sniffed),
            None => ("application/octet-stream".to_owned(), kind),
        };
        let record = AttachmentRecord {
            sha256,
            size_bytes: fetched.bytes.len() as u64,
            mime: mime.clone(),
            kind: kind.as_str().to_owned(),
            filename: filename.or(fetched.filename),
            created_at_ms: self.now().0,
        };
        let store = Arc::clone(self.store());
        let bytes = fetched.bytes;
        let channel_id = channel.id;
        tokio::task::spawn_blocking(move || {
            let staged = store.staging_path()?;
            std::fs::write(&staged, &bytes).map_err(|source| StoreError::Io {
                context: format!("writing {}", staged.display()),
                source,
            })?;
            let outcome =
                store.commit_attachment(&staged, &record, AttachmentScope::Channel(channel_id));
            let _ = std::fs::remove_file(&staged);
            outcome
        })
        .await
        .map_err(|e| EngineError::Internal(format!("storing a media file: {e}")))?
        .map_err(EngineError::from)?;
        Ok(Content::Media {
            kind,
            attachment: hex::encode(sha256),
            mime,
            size_bytes: 0,
            caption,
            filename: None,
        })
    }

    /// Applies a provider's delivery report to the outbound message it
    /// names; returns whether anything changed.
    fn apply_plugin_status(
        &self,
        channel: &ChannelRecord,
        update: &StatusUpdate,
    ) -> Result<bool, EngineError> {
        let Some(message) = self
            .store()
            .outbound_by_provider_id(channel.id, &update.provider_message_id)?
        else {
            // Reports of messages sent from elsewhere (the provider's own
            // app) name nothing here.
            tracing::debug!(channel = channel.id, provider_id = %update.provider_message_id, "delivery report for an unknown message");
            return Ok(false);
        };
        let next = convert::status_from_wit(update.status.clone());
        Ok(self.record_delivery(&message, &next)?.is_some())
    }

    /// Moves an outbound message's delivery status forward (never back:
    /// a late `delivered` after `read` changes nothing) and tells the
    /// agents. Returns the updated message when it changed.
    pub fn record_delivery(
        &self,
        message: &MessageRecord,
        next: &DeliveryStatus,
    ) -> Result<Option<MessageRecord>, EngineError> {
        use omnigate_store::conversations::delivery;
        let updated = self.store().update_message(message.id, |m| {
            let current = crate::wire::delivery_status(m.delivery, m.failure.clone());
            if !current.accepts(next) {
                return false;
            }
            (m.delivery, m.failure) = match next {
                DeliveryStatus::Sent => (delivery::SENT, None),
                DeliveryStatus::Delivered => (delivery::DELIVERED, None),
                DeliveryStatus::Read => (delivery::READ, None),
                DeliveryStatus::Failed { reason } => (delivery::FAILED, Some(reason.clone())),
                DeliveryStatus::Queued => (delivery::QUEUED, None),
            };
            true
        })?;
        if let Some(updated) = &updated {
            self.delivery_changed(updated)?;
        }
        Ok(updated)
    }

    /// Sends one outbound message through a plugin channel.
    pub(crate) async fn send_through_plugin(
        &self,
        channel: &ChannelRecord,
        recipient: String,
        message: &MessageRecord,
    ) -> Result<SendOutcome, EngineError> {
        let (loaded, binding) = match self.channel_plugin(channel) {
            Ok(pair) => pair,
            Err(refusal) => return Ok(SendOutcome::Paused(refusal.to_string())),
        };
        let outbound = OutboundMessage {
            recipient,
            content: convert::content_to_wit(&message.content.to_domain()?),
            reply_to: None,
            idempotency_key: format!("omnigate-{}", message.id),
            extensions: Vec::new(),
        };
        let attachments = Arc::new(ConversationFiles {
            store: Arc::clone(self.store()),
            conversation: message.conversation_id,
        });
        let sent = blocking(move || {
            loaded
                .plugin
                .send_with_attachments(&binding, &outbound, attachments)
        })
        .await;
        Ok(match sent {
            Err(refusal) => SendOutcome::Retry {
                reason: refusal.to_string(),
                after: None,
            },
            // Sending the same message again would hit the same budget
            // (a file too big for it): fail it with the reason instead of
            // retrying into the circuit breaker.
            Ok(Err(plugin_error)) if matches!(plugin_error.cause, Cause::MemoryCap { .. }) => {
                SendOutcome::Failed(format!(
                    "the channel's plugin ran out of memory sending this message ({plugin_error}); a smaller file may go"
                ))
            }
            Ok(Err(plugin_error)) => SendOutcome::Retry {
                reason: plugin_error.to_string(),
                after: None,
            },
            Ok(Ok(Ok(sent))) => SendOutcome::Sent(sent.provider_message_id),
            Ok(Ok(Err(error))) => match &error {
                ProviderError::RateLimited(limit) => SendOutcome::Retry {
                    reason: provider_error_text(&error),
                    after: limit.retry_after_ms.map(Duration::from_millis),
                },
                ProviderError::TransientUpstream(_) => SendOutcome::Retry {
                    reason: provider_error_text(&error),
                    after: None,
                },
                _ => SendOutcome::Failed(provider_error_text(&error)),
            },
        })
    }
}

/// The stored files of one conversation, as a plugin's `send` reads them
/// to upload them to its provider. The host lets the plugin ask only for
/// the files of the message being sent; this also refuses any file the
/// conversation may not show, so a reference that names someone else's
/// upload reads nothing even if it reached a message.
struct ConversationFiles {
    store: Arc<Store>,
    conversation: u64,
}

/// Read in pieces this large, checking the deadline between them.
const READ_CHUNK_BYTES: usize = 1024 * 1024;

impl AttachmentSource for ConversationFiles {
    fn read(
        &self,
        reference: &str,
        max_bytes: u64,
        deadline: Instant,
    ) -> Result<StoredAttachment, AttachmentFailure> {
        let storage = |e: StoreError| AttachmentFailure::Storage(e.to_string());
        let missing = || {
            AttachmentFailure::NotFound(format!("no attachment `{reference}` in this conversation"))
        };
        let sha = crate::parse_sha256(reference).ok_or_else(missing)?;
        if !self
            .store
            .attachment_allowed(self.conversation, &sha)
            .map_err(storage)?
        {
            return Err(missing());
        }
        let record = self
            .store
            .attachment(&sha)
            .map_err(storage)?
            .ok_or_else(missing)?;
        if record.size_bytes > max_bytes {
            return Err(AttachmentFailure::TooLarge {
                size: record.size_bytes,
                limit: max_bytes,
            });
        }
        let path = self.store.attachment_path(&sha);
        let io = |e: std::io::Error| {
            AttachmentFailure::Storage(format!("reading {}: {e}", path.display()))
        };
        let mut file = std::fs::File::open(&path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => missing(),
            _ => io(e),
        })?;
        let size = usize::try_from(record.size_bytes)
            .map_err(|_| AttachmentFailure::Storage("file too large for this platform".into()))?;
        let mut bytes = vec![0u8; size];
        let mut filled = 0;
        while filled < size {
            if Instant::now() >= deadline {
                return Err(AttachmentFailure::Timeout);
            }
            let end = (filled + READ_CHUNK_BYTES).min(size);
            let chunk = bytes.get_mut(filled..end).unwrap_or_default();
            let n = match file.read(chunk) {
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(io(e)),
            };
            if n == 0 {
                return Err(AttachmentFailure::Storage(format!(
                    "{} is shorter than its record ({filled} of {size} bytes)",
                    path.display()
                )));
            }
            filled += n;
        }
        Ok(StoredAttachment {
            bytes,
            content_type: record.mime,
            filename: record.filename,
        })
    }
}

/// Trimmed, without control characters, at most `max` characters; `None`
/// when nothing is left (a provider's profile is outside data).
fn bounded_text(text: Option<String>, max: usize) -> Option<String> {
    let cleaned: String = text?
        .chars()
        .filter(|c| !c.is_control())
        .take(max)
        .collect();
    let cleaned = cleaned.trim();
    (!cleaned.is_empty()).then(|| cleaned.to_owned())
}

/// A provider error as the agent reads it under a failed message.
pub(super) fn provider_error_text(error: &ProviderError) -> String {
    match error {
        ProviderError::WindowClosed(m) => {
            format!("the service window is closed; send a template ({m})")
        }
        ProviderError::RateLimited(limit) => match limit.retry_after_ms {
            Some(ms) => format!("the provider asked to slow down (retry after {ms} ms)"),
            None => "the provider asked to slow down".to_owned(),
        },
        ProviderError::InvalidRecipient(m) => format!("the recipient cannot receive messages: {m}"),
        ProviderError::UnsupportedContent(m) => format!("the channel cannot carry this: {m}"),
        ProviderError::Auth(m) => {
            format!("the channel's credentials were refused; an admin must fix them: {m}")
        }
        ProviderError::TransientUpstream(m) => format!("the provider failed: {m}"),
        ProviderError::NotFound(m) => format!("not found at the provider: {m}"),
        ProviderError::Rejected(m) => format!("the provider refused it: {m}"),
    }
}

pub(super) fn unavailable(channel: &ChannelRecord, error: &PluginsError) -> WebhookRefusal {
    WebhookRefusal::Unavailable(format!(
        "channel {} ({}): {error}",
        channel.id, channel.kind
    ))
}

pub(super) fn failing(channel: &ChannelRecord, error: &PluginError) -> WebhookRefusal {
    tracing::warn!(channel = channel.id, %error, "a channel plugin call failed");
    WebhookRefusal::Unavailable(format!("channel {}: {error}", channel.id))
}

/// Runs a plugin call on the blocking pool.
pub(super) async fn blocking<T: Send + 'static>(
    call: impl FnOnce() -> T + Send + 'static,
) -> Result<T, WebhookRefusal> {
    tokio::task::spawn_blocking(call)
        .await
        .map_err(|e| WebhookRefusal::Unavailable(format!("the plugin call did not finish: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A store holding `bytes` as an attachment of conversation 7.
    fn store_with(bytes: &[u8]) -> (tempfile::TempDir, Arc<Store>, String) {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::open(dir.path()).expect("store opens");
        let sha256: [u8; 32] = Sha256::digest(bytes).into();
        let staged = store.staging_path().expect("staging path");
        std::fs::write(&staged, bytes).expect("staged");
        let record = AttachmentRecord {
            sha256,
            size_bytes: bytes.len() as u64,
            mime: "application/pdf".into(),
            kind: "document".into(),
            filename: Some("fatura.pdf".into()),
            created_at_ms: 0,
        };
        store
            .commit_attachment(&staged, &record, AttachmentScope::Conversation(7))
            .expect("committed");
        (dir, store, hex::encode(sha256))
    }

    fn later() -> Instant {
        Instant::now() + Duration::from_secs(10)
    }

    #[test]
    fn a_conversations_file_is_read_whole_with_its_type_and_name() {
        let bytes: Vec<u8> = (0..=255u8)
            .cycle()
            .take(3 * READ_CHUNK_BYTES + 17)
            .collect();
        let (_dir, store, reference) = store_with(&bytes);
        let files = ConversationFiles {
            store,
            conversation: 7,
        };
        let file = files.read(&reference, u64::MAX, later()).expect("read");
        assert_eq!(file.bytes, bytes);
        assert_eq!(file.content_type, "application/pdf");
        assert_eq!(file.filename.as_deref(), Some("fatura.pdf"));
    }

    #[test]
    fn another_conversations_file_too_large_or_late_reads_are_refused() {
        let (_dir, store, reference) = store_with(b"%PDF-1.7 invoice");
        let elsewhere = ConversationFiles {
            store: Arc::clone(&store),
            conversation: 8,
        };
        assert!(matches!(
            elsewhere.read(&reference, u64::MAX, later()),
            Err(AttachmentFailure::NotFound(_))
        ));
        let ours = ConversationFiles {
            store,
            conversation: 7,
        };
        assert!(matches!(
            ours.read("not-a-hash", u64::MAX, later()),
            Err(AttachmentFailure::NotFound(_))
        ));
        assert_eq!(
            ours.read(&reference, 4, later()),
            Err(AttachmentFailure::TooLarge { size: 16, limit: 4 })
        );
        assert_eq!(
            ours.read(&reference, u64::MAX, Instant::now()),
            Err(AttachmentFailure::Timeout)
        );
    }
}
