//! A faulty channel whose `parse-webhook` allocates without end: the host
//! must stop it at its memory budget and keep serving.

use omnigate_plugin_sdk::channel::{
    Channel, ChannelCapabilities, InboundEvent, OutboundMessage, ProviderError, Sent, WebhookError,
    WebhookRequest,
};

fn capabilities() -> ChannelCapabilities {
    ChannelCapabilities {
        service_window_secs: None,
        templates: false,
        media: Vec::new(),
        interactive: false,
        extensions: Vec::new(),
    }
}

struct MemoryBomb;

impl Channel for MemoryBomb {
    fn capabilities() -> ChannelCapabilities {
        capabilities()
    }

    fn parse_webhook(_request: WebhookRequest) -> Result<Vec<InboundEvent>, WebhookError> {
        let mut hoard: Vec<Vec<u8>> = Vec::new();
        loop {
            // Touch every page so nothing is optimised away.
            hoard.push(std::hint::black_box(vec![0xA5; 1024 * 1024]));
        }
    }

    fn send(_message: OutboundMessage) -> Result<Sent, ProviderError> {
        Err(ProviderError::Rejected("memory-bomb sends nothing".into()))
    }
}

omnigate_plugin_sdk::export_channel!(MemoryBomb);
