//! A faulty channel that panics in `parse-webhook`: the host must report
//! the plugin, the function and the panic, and keep serving.

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

struct Trap;

impl Channel for Trap {
    fn capabilities() -> ChannelCapabilities {
        capabilities()
    }

    fn parse_webhook(_request: WebhookRequest) -> Result<Vec<InboundEvent>, WebhookError> {
        panic!("deliberate panic in parse-webhook");
    }

    fn send(_message: OutboundMessage) -> Result<Sent, ProviderError> {
        panic!("deliberate panic in send");
    }
}

omnigate_plugin_sdk::export_channel!(Trap);
