//! A faulty channel whose `parse-webhook` never returns: the host must
//! interrupt it when its time budget runs out and keep serving.

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

struct InfiniteLoop;

impl Channel for InfiniteLoop {
    fn capabilities() -> ChannelCapabilities {
        capabilities()
    }

    fn parse_webhook(request: WebhookRequest) -> Result<Vec<InboundEvent>, WebhookError> {
        let mut spins: u64 = request.body.len() as u64;
        loop {
            spins = std::hint::black_box(spins.wrapping_add(1));
        }
    }

    fn send(_message: OutboundMessage) -> Result<Sent, ProviderError> {
        loop {
            std::hint::black_box(());
        }
    }
}

omnigate_plugin_sdk::export_channel!(InfiniteLoop);
