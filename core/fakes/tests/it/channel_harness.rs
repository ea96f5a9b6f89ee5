//! A channel plugin loaded into the shared support's host (the production
//! HTTP client pointed at the fakes), and helpers to call it with little
//! ceremony.

use omnigate_fakes::{FakeServer, InboundWebhook};
use omnigate_plugin_host::types::Content;
use omnigate_plugin_host::types::channel::{
    FetchedMedia, InboundEvent, OutboundMessage, ProviderError, Sent, TemplateInfo, WebhookError,
    WebhookRequest, WebhookResponse,
};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use omnigate_plugin_host::services::{AttachmentFailure, StoredAttachment};
use omnigate_plugin_host::{AttachmentSource, Binding, Plugin, PluginHost, Settings};

use crate::support::{host_for, load};

/// When the support's host clock stands (ms since the epoch).
pub const NOW_MS: i64 = 1_750_000_000_000;

/// A loaded channel plugin, its binding, and the host that runs it.
pub struct Channel {
    _host: PluginHost,
    pub plugin: Plugin,
    pub binding: Binding,
}

/// Loads plugin `name` with `settings`, its HTTP going to `servers`.
pub fn channel(name: &str, servers: &[&FakeServer], settings: Settings) -> Channel {
    let host = host_for(servers);
    let plugin = load(&host, name);
    Channel {
        _host: host,
        plugin,
        binding: Binding::isolated(settings),
    }
}

/// Settings from `config` and `secrets` pairs.
pub fn settings(config: &[(&str, &str)], secrets: &[(&str, &str)]) -> Settings {
    let mut settings = Settings::default();
    for (k, v) in config {
        settings.config.insert((*k).to_owned(), (*v).to_owned());
    }
    for (k, v) in secrets {
        settings.secrets.insert((*k).to_owned(), (*v).to_owned());
    }
    settings
}

/// The host's form of a webhook the fakes' builders made.
pub fn request(webhook: &InboundWebhook) -> WebhookRequest {
    WebhookRequest {
        method: webhook.method.clone(),
        path: "/".to_owned(),
        query: webhook.query.clone(),
        headers: webhook.headers.clone(),
        body: webhook.body.clone(),
    }
}

/// A message to `recipient` with `content`.
pub fn outbound(recipient: &str, content: Content) -> OutboundMessage {
    OutboundMessage {
        recipient: recipient.to_owned(),
        content,
        reply_to: None,
        idempotency_key: "msg-1".to_owned(),
        extensions: Vec::new(),
    }
}

/// Files on the "appliance", by reference, as the engine hands them to a
/// plugin's `send`.
#[derive(Default)]
pub struct Files(HashMap<String, StoredAttachment>);

impl Files {
    /// Adds a file under `reference`.
    pub fn with(
        mut self,
        reference: &str,
        bytes: &[u8],
        mime: &str,
        filename: Option<&str>,
    ) -> Files {
        self.0.insert(
            reference.to_owned(),
            StoredAttachment {
                bytes: bytes.to_vec(),
                content_type: mime.to_owned(),
                filename: filename.map(str::to_owned),
            },
        );
        self
    }
}

impl AttachmentSource for Files {
    fn read(
        &self,
        reference: &str,
        max_bytes: u64,
        _deadline: Instant,
    ) -> Result<StoredAttachment, AttachmentFailure> {
        let file = self
            .0
            .get(reference)
            .ok_or_else(|| AttachmentFailure::NotFound(reference.to_owned()))?;
        if file.bytes.len() as u64 > max_bytes {
            return Err(AttachmentFailure::TooLarge {
                size: file.bytes.len() as u64,
                limit: max_bytes,
            });
        }
        Ok(file.clone())
    }
}

impl Channel {
    /// Sends `message` with `files` readable by the plugin (the host still
    /// lets it read only those the message carries).
    pub fn send_with(
        &self,
        message: &OutboundMessage,
        files: Files,
    ) -> Result<Sent, ProviderError> {
        self.plugin
            .send_with_attachments(&self.binding, message, Arc::new(files))
            .expect("send call")
    }

    pub fn handshake(&self, webhook: &InboundWebhook) -> WebhookResponse {
        self.plugin
            .handshake(&self.binding, &request(webhook))
            .expect("handshake call")
    }

    pub fn parse(&self, webhook: &InboundWebhook) -> Result<Vec<InboundEvent>, WebhookError> {
        self.plugin
            .parse_webhook(&self.binding, &request(webhook))
            .expect("parse-webhook call")
    }

    /// The events of a webhook that must parse.
    pub fn events(&self, webhook: &InboundWebhook) -> Vec<InboundEvent> {
        self.parse(webhook).expect("webhook parses")
    }

    pub fn send(&self, message: &OutboundMessage) -> Result<Sent, ProviderError> {
        self.plugin.send(&self.binding, message).expect("send call")
    }

    pub fn fetch_media(&self, reference: &str) -> Result<FetchedMedia, ProviderError> {
        self.plugin
            .fetch_media(&self.binding, reference)
            .expect("fetch-media call")
    }

    pub fn list_templates(&self) -> Result<Vec<TemplateInfo>, ProviderError> {
        self.plugin
            .list_templates(&self.binding)
            .expect("list-templates call")
    }
}
