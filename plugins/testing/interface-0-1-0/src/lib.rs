//! A channel built against `omnigate:plugin@0.1.0`, from a frozen copy of
//! that release's WIT in `wit/` (never edit it: it stands for components
//! already installed on appliances). Hosts of later 0.1.x releases must
//! load it and answer its 0.1.0 imports and exports: it uses `http`, `kv`,
//! `config` and `clock` so each of them is linked across the version gap.

#[allow(unsafe_code, missing_docs, clippy::all)]
mod bindings {
    wit_bindgen::generate!({ world: "channel", path: "wit" });
}

use bindings::exports::omnigate::plugin::channel_plugin::{
    ChannelCapabilities, FetchedMedia, Guest, InboundEvent, OutboundMessage, ProviderError, Sent,
    TemplateInfo, WebhookError, WebhookRequest, WebhookResponse,
};
use bindings::omnigate::plugin::types::Content;
use bindings::omnigate::plugin::{clock, config, http, kv};

struct Legacy;

impl bindings::exports::omnigate::plugin::meta::Guest for Legacy {
    fn manifest() -> String {
        include_str!("../omnigate-plugin.toml").to_owned()
    }
}

impl Guest for Legacy {
    fn capabilities() -> ChannelCapabilities {
        ChannelCapabilities {
            service_window_secs: None,
            templates: false,
            media: Vec::new(),
            interactive: false,
            extensions: Vec::new(),
        }
    }

    fn handshake(_request: WebhookRequest) -> WebhookResponse {
        WebhookResponse {
            status: 404,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    fn parse_webhook(_request: WebhookRequest) -> Result<Vec<InboundEvent>, WebhookError> {
        Ok(Vec::new())
    }

    /// Posts the text to the allowed host and counts sends in `kv`, so a
    /// test sees every import answered.
    fn send(message: OutboundMessage) -> Result<Sent, ProviderError> {
        let Content::Text(text) = message.content else {
            return Err(ProviderError::UnsupportedContent("text only".into()));
        };
        let count = kv::get("sends")
            .map_err(|e| ProviderError::TransientUpstream(format!("{e:?}")))?
            .and_then(|v| v.try_into().ok().map(u64::from_le_bytes))
            .unwrap_or(0)
            + 1;
        kv::set("sends", &count.to_le_bytes())
            .map_err(|e| ProviderError::TransientUpstream(format!("{e:?}")))?;
        let prefix = config::get("prefix").unwrap_or_default();
        let response = http::send(&http::Request {
            method: http::Method::Post,
            url: "https://api.example.test/send".into(),
            headers: Vec::new(),
            body: format!("{prefix}{text}").into_bytes(),
            timeout_ms: None,
        })
        .map_err(|e| ProviderError::TransientUpstream(format!("{e:?}")))?;
        Ok(Sent {
            provider_message_id: format!("legacy-{count}-{}-{}", response.status, clock::now_ms()),
            extensions: Vec::new(),
        })
    }

    fn fetch_media(reference: String) -> Result<FetchedMedia, ProviderError> {
        Err(ProviderError::NotFound(reference))
    }

    fn list_templates() -> Result<Vec<TemplateInfo>, ProviderError> {
        Ok(Vec::new())
    }
}

bindings::export!(Legacy with_types_in bindings);
