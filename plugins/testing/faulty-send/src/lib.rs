//! A faulty channel for the pipeline's tests: inbound webhooks work (a
//! simple `{"id","from","text"}` JSON body becomes a text message), but
//! `send` always fails the way the channel's `fault` setting says: a panic,
//! an endless loop (interrupted at the time budget) or a memory bomb
//! (stopped at the memory budget). The server must keep serving, retry, and
//! put the message in the dead-letter list.

use omnigate_plugin_sdk::channel::{
    Channel, ChannelCapabilities, InboundEvent, InboundMessage, OutboundMessage, ProviderError,
    Sent, WebhookError, WebhookRequest,
};
use omnigate_plugin_sdk::config;
use omnigate_plugin_sdk::types::{ContactProfile, Content};
use serde::Deserialize;

#[derive(Deserialize)]
struct Simple {
    id: String,
    from: String,
    text: String,
}

struct FaultySend;

impl Channel for FaultySend {
    fn capabilities() -> ChannelCapabilities {
        ChannelCapabilities {
            service_window_secs: None,
            templates: false,
            media: Vec::new(),
            interactive: false,
            extensions: Vec::new(),
        }
    }

    fn parse_webhook(request: WebhookRequest) -> Result<Vec<InboundEvent>, WebhookError> {
        let simple: Simple = serde_json::from_slice(&request.body)
            .map_err(|e| WebhookError::Malformed(e.to_string()))?;
        Ok(vec![InboundEvent::Message(InboundMessage {
            provider_message_id: simple.id,
            contact: ContactProfile {
                external_id: simple.from,
                display_name: None,
                phone: None,
                email: None,
                username: None,
                language: None,
                extensions: Vec::new(),
            },
            sent_at_ms: 0,
            content: Content::Text(simple.text),
            reply_to: None,
            extensions: Vec::new(),
        })])
    }

    fn send(_message: OutboundMessage) -> Result<Sent, ProviderError> {
        match config::get("fault").as_deref() {
            Some("loop") => loop {
                std::hint::black_box(());
            },
            Some("memory") => {
                let mut hoard: Vec<Vec<u8>> = Vec::new();
                loop {
                    hoard.push(vec![1; 1024 * 1024]);
                    std::hint::black_box(&hoard);
                }
            }
            _ => panic!("deliberate panic in send"),
        }
    }
}

omnigate_plugin_sdk::export_channel!(FaultySend);
