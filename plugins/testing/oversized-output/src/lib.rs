//! A channel whose `parse-webhook` returns 64 MiB of events: the host must
//! refuse the output rather than pass it on.

use omnigate_plugin_sdk::channel::InboundMessage;
use omnigate_plugin_sdk::channel::{
    Channel, ChannelCapabilities, InboundEvent, OutboundMessage, ProviderError, Sent, WebhookError,
    WebhookRequest,
};
use omnigate_plugin_sdk::types::{ContactProfile, Content};

fn capabilities() -> ChannelCapabilities {
    ChannelCapabilities {
        service_window_secs: None,
        templates: false,
        media: Vec::new(),
        interactive: false,
        extensions: Vec::new(),
    }
}

struct OversizedOutput;

impl Channel for OversizedOutput {
    fn capabilities() -> ChannelCapabilities {
        capabilities()
    }

    fn parse_webhook(_request: WebhookRequest) -> Result<Vec<InboundEvent>, WebhookError> {
        let text = "x".repeat(1024 * 1024);
        Ok((0..64)
            .map(|i| {
                InboundEvent::Message(InboundMessage {
                    provider_message_id: format!("m{i}"),
                    contact: ContactProfile::new("905321112233"),
                    sent_at_ms: 0,
                    content: Content::Text(text.clone()),
                    reply_to: None,
                    extensions: Vec::new(),
                })
            })
            .collect())
    }

    fn send(_message: OutboundMessage) -> Result<Sent, ProviderError> {
        Err(ProviderError::Rejected(
            "oversized-output sends nothing".into(),
        ))
    }
}

omnigate_plugin_sdk::export_channel!(OversizedOutput);
