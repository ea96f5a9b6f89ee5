//! omnigate's WhatsApp Business Cloud API channel (Meta Graph API).
//!
//! One configured channel is one WhatsApp Business phone number. Meta posts
//! webhooks signed with the app secret; messages go out through
//! `POST /{version}/{phone-number-id}/messages` with the system user's
//! token. Wire formats follow `../shared/reference/wire-formats.md`
//! section 1. Modules: [`signature`] (handshake and webhook signature),
//! [`inbound`] (payloads to events), [`outbound`] (content to request
//! bodies), [`errors`] (Graph errors to provider errors), [`media`]
//! (download, and upload of files stored on the appliance), [`templates`] (the template list), [`graph`] (settings and
//! the HTTP call).

mod errors;
mod graph;
mod inbound;
mod media;
mod outbound;
mod signature;
mod templates;

use omnigate_plugin_sdk::attachments;
use omnigate_plugin_sdk::channel::{
    Channel, ChannelCapabilities, FetchedMedia, InboundEvent, MediaLimit, OutboundMessage,
    ProviderError, Sent, TemplateInfo, WebhookError, WebhookRequest, WebhookResponse,
};
use omnigate_plugin_sdk::http::Request;
use omnigate_plugin_sdk::log;
use omnigate_plugin_sdk::types::{Content, MediaKind};

/// The 24-hour customer service window (reference 1.7).
const SERVICE_WINDOW_SECS: u64 = 24 * 60 * 60;

/// The plugin; every call starts from a fresh instance, so it holds nothing.
struct WhatsAppCloud;

impl Channel for WhatsAppCloud {
    /// Media sizes are Meta's documented upload limits (the reference gives
    /// none): images 5 MB, video and audio 16 MB, documents 100 MB, stickers
    /// 500 KB (animated; static ones 100 KB).
    fn capabilities() -> ChannelCapabilities {
        const MB: u64 = 1024 * 1024;
        ChannelCapabilities {
            service_window_secs: Some(SERVICE_WINDOW_SECS),
            templates: true,
            media: vec![
                MediaLimit {
                    kind: MediaKind::Image,
                    max_bytes: 5 * MB,
                },
                MediaLimit {
                    kind: MediaKind::Video,
                    max_bytes: 16 * MB,
                },
                MediaLimit {
                    kind: MediaKind::Audio,
                    max_bytes: 16 * MB,
                },
                MediaLimit {
                    kind: MediaKind::Document,
                    max_bytes: 100 * MB,
                },
                MediaLimit {
                    kind: MediaKind::Sticker,
                    max_bytes: 500 * 1024,
                },
            ],
            interactive: true,
            extensions: Vec::new(),
        }
    }

    fn handshake(request: WebhookRequest) -> WebhookResponse {
        signature::handshake(&request)
    }

    fn parse_webhook(request: WebhookRequest) -> Result<Vec<InboundEvent>, WebhookError> {
        signature::verify(&request)?;
        inbound::parse(&request.body).map_err(WebhookError::Malformed)
    }

    /// A file stored on the appliance is uploaded first (reference 1.6)
    /// and then sent by the media id the upload answered.
    fn send(mut message: OutboundMessage) -> Result<Sent, ProviderError> {
        if let Content::Media(media) = &mut message.content
            && attachments::is_reference(&media.reference)
        {
            outbound::check_media(media)?;
            media.reference = media::upload(media)?;
        }
        let body = outbound::body(&message)?;
        let url = format!(
            "{}/{}/messages",
            graph::base_url(),
            graph::phone_number_id()?
        );
        // The Cloud API has no idempotency key: a retry after a lost answer
        // can send twice, which the host's retry policy accepts.
        let request = Request::post(url)
            .json(&body)
            .map_err(|e| ProviderError::Rejected(e.to_string()))?;
        let response = graph::send_ok(request).inspect_err(|e| {
            log::warn(
                "WhatsApp refused a send",
                &[
                    ("idempotency_key", message.idempotency_key.as_str()),
                    ("error", &format!("{e:?}")),
                ],
            );
        })?;
        outbound::sent(response.body())
    }

    fn fetch_media(reference: String) -> Result<FetchedMedia, ProviderError> {
        media::fetch(&reference)
    }

    fn list_templates() -> Result<Vec<TemplateInfo>, ProviderError> {
        templates::list()
    }
}

omnigate_plugin_sdk::export_channel!(WhatsAppCloud);
