//! omnigate's Telegram Bot API channel: one configured channel is one bot.
//!
//! Telegram posts each Update to the webhook with the secret token given to
//! `setWebhook` in `X-Telegram-Bot-Api-Secret-Token` (no body signature);
//! messages go out through `https://api.telegram.org/bot<TOKEN>/<method>`.
//! Wire formats follow `../shared/reference/wire-formats.md` section 2.
//! Modules: [`inbound`] (updates to events), [`outbound`] (content to Bot
//! API calls), [`api`] (calls and error mapping), [`media`] (download;
//! files stored on the appliance are uploaded in a multipart `send*` call).
//! Telegram has no service window, no templates and no delivery reports.

mod api;
mod inbound;
mod media;
mod outbound;

use omnigate_plugin_sdk::channel::{
    Channel, ChannelCapabilities, FetchedMedia, InboundEvent, MediaLimit, OutboundMessage,
    ProviderError, Sent, WebhookError, WebhookRequest, WebhookResponse,
};
use omnigate_plugin_sdk::types::{Content, MediaKind};
use omnigate_plugin_sdk::{attachments, clock, config, log, signature};
use serde_json::json;

/// The plugin; every call starts from a fresh instance, so it holds nothing.
struct Telegram;

/// Checks `X-Telegram-Bot-Api-Secret-Token` against the configured secret
/// in constant time.
fn verify(request: &WebhookRequest) -> Result<(), WebhookError> {
    let secret = config::require_secret("webhook_secret")
        .map_err(|e| WebhookError::Unauthenticated(e.to_string()))?;
    match request.header("x-telegram-bot-api-secret-token") {
        Some(token) if signature::constant_time_eq(secret.as_bytes(), token.as_bytes()) => Ok(()),
        Some(_) => Err(WebhookError::Unauthenticated(
            "X-Telegram-Bot-Api-Secret-Token does not match".into(),
        )),
        None => Err(WebhookError::Unauthenticated(
            "missing X-Telegram-Bot-Api-Secret-Token".into(),
        )),
    }
}

impl Channel for Telegram {
    /// Bot API limits (the reference names only the 20 MB download limit):
    /// photos up to 10 MB, other files up to 50 MB, stickers 512 KB.
    fn capabilities() -> ChannelCapabilities {
        const MB: u64 = 1024 * 1024;
        let limit = |kind, max_bytes| MediaLimit { kind, max_bytes };
        ChannelCapabilities {
            service_window_secs: None,
            templates: false,
            media: vec![
                limit(MediaKind::Image, 10 * MB),
                limit(MediaKind::Video, 50 * MB),
                limit(MediaKind::Audio, 50 * MB),
                limit(MediaKind::Document, 50 * MB),
                limit(MediaKind::Sticker, 512 * 1024),
            ],
            interactive: true,
            extensions: Vec::new(),
        }
    }

    /// Telegram has no subscription handshake: the webhook is registered
    /// with `setWebhook`, and nothing ever GETs it. Any request here is not
    /// Telegram's, so it gets 404, as on a path that does not exist.
    fn handshake(_request: WebhookRequest) -> WebhookResponse {
        WebhookResponse::text(404, "Telegram webhooks have no handshake")
    }

    fn parse_webhook(request: WebhookRequest) -> Result<Vec<InboundEvent>, WebhookError> {
        verify(&request)?;
        let parsed =
            inbound::parse(&request.body, clock::now_ms()).map_err(WebhookError::Malformed)?;
        if let Some(id) = parsed.callback_query_id {
            // Until answered, the contact's app shows a spinner on the
            // tapped button. Best effort: the tap is recorded either way.
            let answered: Result<bool, ProviderError> =
                api::call("answerCallbackQuery", &json!({ "callback_query_id": id }));
            if let Err(e) = answered {
                log::warn(
                    "answerCallbackQuery failed",
                    &[("error", &format!("{e:?}"))],
                );
            }
        }
        Ok(parsed.events)
    }

    fn send(message: OutboundMessage) -> Result<Sent, ProviderError> {
        let call = outbound::request(&message)?;
        let answer: outbound::SentMessage = match (call.upload, &message.content) {
            (Some(field), Content::Media(media)) => {
                let file = attachments::read(&media.reference).map_err(media::attachment_error)?;
                let filename = media
                    .filename
                    .clone()
                    .filter(|n| !n.trim().is_empty())
                    .unwrap_or_else(|| file.filename_or_default());
                api::call_multipart(call.method, &call.params, field, &filename, &file)?
            }
            _ => api::call(call.method, &call.params)?,
        };
        Ok(outbound::sent(answer))
    }

    fn fetch_media(reference: String) -> Result<FetchedMedia, ProviderError> {
        media::fetch(&reference)
    }
}

omnigate_plugin_sdk::export_channel!(Telegram);
