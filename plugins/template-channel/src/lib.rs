//! A template channel plugin: copy this directory, rename it in its
//! `Cargo.toml` and `omnigate-plugin.toml`, and replace the provider
//! specifics (marked "provider:" below).
//!
//! It shows the parts every channel needs: a signature check over the raw
//! webhook body, parsing into normalized events, sending through the host's
//! HTTP import, and mapping provider errors to the variants that decide
//! whether omnigate retries.
//!
//! Build: `cargo build --release --target wasm32-wasip2` in `plugins/`.

use omnigate_plugin_sdk::channel::{
    Channel, ChannelCapabilities, InboundEvent, InboundMessage, MediaLimit, OutboundMessage,
    ProviderError, Sent, WebhookError, WebhookRequest,
};
use omnigate_plugin_sdk::types::{ContactProfile, Content, MediaKind, RateLimit};
use omnigate_plugin_sdk::{config, http, json, signature};
use serde::Deserialize;

/// provider: the webhook payload, `{"messages":[{"id","from","name","text","sent_at"}]}`.
#[derive(Deserialize)]
struct Payload {
    #[serde(default)]
    messages: Vec<ProviderMessage>,
}

#[derive(Deserialize)]
struct ProviderMessage {
    id: String,
    from: String,
    #[serde(default)]
    name: Option<String>,
    text: String,
    /// Unix seconds.
    sent_at: u64,
}

/// provider: what the send endpoint answers on success.
#[derive(Deserialize)]
struct SendAnswer {
    id: String,
}

/// The plugin. Channels keep no state between calls (each call gets a fresh
/// sandbox), so a unit struct is enough.
struct TemplateChannel;

impl Channel for TemplateChannel {
    fn capabilities() -> ChannelCapabilities {
        ChannelCapabilities {
            service_window_secs: None,
            templates: false,
            media: vec![MediaLimit {
                kind: MediaKind::Image,
                max_bytes: 5 * 1024 * 1024,
            }],
            interactive: false,
            extensions: Vec::new(),
        }
    }

    fn parse_webhook(request: WebhookRequest) -> Result<Vec<InboundEvent>, WebhookError> {
        // Verify first, over the exact bytes received.
        let secret = config::require_secret("webhook_secret")
            .map_err(|e| WebhookError::Unauthenticated(e.to_string()))?;
        let signed = request
            .header("x-signature")
            .is_some_and(|sig| signature::verify_hex_sha256(secret.as_bytes(), &request.body, sig));
        if !signed {
            return Err(WebhookError::Unauthenticated(
                "missing or wrong x-signature".into(),
            ));
        }
        let payload: Payload =
            json::parse(&request.body).map_err(|e| WebhookError::Malformed(e.to_string()))?;
        Ok(payload
            .messages
            .into_iter()
            .map(|m| {
                let mut contact = ContactProfile::new(m.from);
                contact.display_name = m.name;
                InboundEvent::Message(InboundMessage {
                    provider_message_id: m.id,
                    contact,
                    sent_at_ms: m.sent_at.saturating_mul(1000),
                    content: Content::text(m.text),
                    reply_to: None,
                    extensions: Vec::new(),
                })
            })
            .collect())
    }

    fn send(message: OutboundMessage) -> Result<Sent, ProviderError> {
        let Some(text) = message.content.as_text() else {
            return Err(ProviderError::UnsupportedContent(
                "this channel sends text only".into(),
            ));
        };
        let base = config::require("api_base").map_err(|e| ProviderError::Auth(e.to_string()))?;
        let token =
            config::require_secret("api_token").map_err(|e| ProviderError::Auth(e.to_string()))?;
        let body = serde_json::json!({ "to": message.recipient, "text": text });
        let response = http::Request::post(format!("{base}/messages"))
            .bearer(&token)
            .header("idempotency-key", message.idempotency_key.as_str())
            .json(&body)
            .map_err(|e| ProviderError::Rejected(e.to_string()))?
            .send()
            .map_err(|e| match e {
                http::Error::ForbiddenHost(m) => ProviderError::Rejected(m),
                other => ProviderError::TransientUpstream(other.to_string()),
            })?;
        // provider: map statuses to the variants that drive retries.
        match response.status() {
            200..=299 => {
                let answer: SendAnswer = response
                    .json()
                    .map_err(|e| ProviderError::TransientUpstream(e.to_string()))?;
                Ok(Sent {
                    provider_message_id: answer.id,
                    extensions: Vec::new(),
                })
            }
            401 | 403 => Err(ProviderError::Auth(format!(
                "provider refused the token ({})",
                response.status()
            ))),
            404 | 422 => Err(ProviderError::InvalidRecipient(message.recipient)),
            429 => Err(ProviderError::RateLimited(RateLimit {
                retry_after_ms: response.retry_after_ms(),
                message: "provider rate limit".into(),
            })),
            status => Err(ProviderError::TransientUpstream(format!(
                "provider answered {status}"
            ))),
        }
    }
}

omnigate_plugin_sdk::export_channel!(TemplateChannel);
