//! Channel plugins: the bridge between a messaging provider and the
//! conversation engine.
//!
//! The host calls [`Channel::parse_webhook`] for every webhook the provider
//! posts under `/webhooks/{channel}` and [`Channel::send`] for every message
//! an agent or flow sends. Each call starts from a clean instance: keep
//! anything that must outlive a call in [`crate::kv`].

pub use crate::bindings::omnigate::plugin::channel_types::{
    ChannelCapabilities, FetchedMedia, InboundEvent, InboundMessage, MediaLimit, OutboundMessage,
    ProviderError, Sent, StatusUpdate, TemplateInfo, WebhookError, WebhookRequest, WebhookResponse,
};

/// A messaging channel. Implement it on a unit struct and export it with
/// [`crate::export_channel!`].
pub trait Channel {
    /// What the channel can carry; the host reads it once per load and
    /// checks every outbound message against it before calling `send`.
    fn capabilities() -> ChannelCapabilities;

    /// Answers the provider's subscription handshake. The default refuses
    /// with 404, right for providers that have none.
    fn handshake(request: WebhookRequest) -> WebhookResponse {
        let _ = request;
        WebhookResponse::text(404, "this channel has no webhook handshake")
    }

    /// Verifies a webhook's signature and turns its payload into events.
    /// Return `Unauthenticated` for a bad signature: the host answers 401 and
    /// the provider's retries stay visible to the admin.
    fn parse_webhook(request: WebhookRequest) -> Result<Vec<InboundEvent>, WebhookError>;

    /// Sends one message. Map the provider's errors onto [`ProviderError`]
    /// carefully: the variant decides whether the host retries.
    fn send(message: OutboundMessage) -> Result<Sent, ProviderError>;

    /// Downloads an inbound media file. The default says the channel has no
    /// media to fetch.
    fn fetch_media(reference: String) -> Result<FetchedMedia, ProviderError> {
        Err(ProviderError::NotFound(format!(
            "this channel has no media to fetch (asked for {reference})"
        )))
    }

    /// The provider's templates. The default is none, right for channels
    /// without templates.
    fn list_templates() -> Result<Vec<TemplateInfo>, ProviderError> {
        Ok(Vec::new())
    }
}

impl WebhookRequest {
    /// The first header named `name`, compared case-insensitively (the host
    /// lower-cases names, but plugin tests may not).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The first query parameter named `name` (WhatsApp's `hub.challenge`).
    pub fn query(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

impl WebhookResponse {
    /// A plain-text answer, as handshakes expect.
    pub fn text(status: u16, body: impl Into<String>) -> WebhookResponse {
        WebhookResponse {
            status,
            headers: vec![(
                "content-type".to_owned(),
                "text/plain; charset=utf-8".to_owned(),
            )],
            body: body.into().into_bytes(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> WebhookRequest {
        WebhookRequest {
            method: "GET".into(),
            path: "/".into(),
            query: vec![("hub.challenge".into(), "42".into())],
            headers: vec![("X-Hub-Signature-256".into(), "sha256=00".into())],
            body: Vec::new(),
        }
    }

    #[test]
    fn headers_match_case_insensitively_and_queries_exactly() {
        let r = request();
        assert_eq!(r.header("x-hub-signature-256"), Some("sha256=00"));
        assert_eq!(r.query("hub.challenge"), Some("42"));
        assert_eq!(r.query("HUB.CHALLENGE"), None);
    }
}
