//! Message content, delivery status and contacts, shared by every plugin
//! kind. These mirror omnigate's own conversation types one to one, so what
//! a plugin returns is what agents see.

pub use crate::bindings::omnigate::plugin::types::{
    Button, Choices, ContactCard, ContactProfile, Content, DeliveryStatus, Extensions, Interactive,
    InteractiveReply, Location, Media, MediaKind, Menu, MenuRow, MenuSection, RateLimit, Template,
};

impl Content {
    /// Plain text, the most common content, without spelling the variant.
    pub fn text(body: impl Into<String>) -> Content {
        Content::Text(body.into())
    }

    /// The text of a text message, for flows that branch on what was said.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Content::Text(body) => Some(body),
            _ => None,
        }
    }
}

impl ContactProfile {
    /// A profile that only knows the channel's id for the contact; the rest
    /// is filled in as the provider reveals it.
    pub fn new(external_id: impl Into<String>) -> ContactProfile {
        ContactProfile {
            external_id: external_id.into(),
            display_name: None,
            phone: None,
            email: None,
            username: None,
            language: None,
            extensions: Vec::new(),
        }
    }
}

impl MediaKind {
    /// The kind a MIME type belongs to, for providers that only send the
    /// MIME type; anything unrecognised is a document, which every channel
    /// can carry.
    pub fn from_mime(mime: &str) -> MediaKind {
        let top = mime.split('/').next().unwrap_or_default();
        match top {
            "image" if mime.starts_with("image/webp") => MediaKind::Sticker,
            "image" => MediaKind::Image,
            "video" => MediaKind::Video,
            "audio" => MediaKind::Audio,
            _ => MediaKind::Document,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_kind_follows_the_mime_type() {
        assert_eq!(MediaKind::from_mime("image/jpeg"), MediaKind::Image);
        assert_eq!(MediaKind::from_mime("image/webp"), MediaKind::Sticker);
        assert_eq!(
            MediaKind::from_mime("audio/ogg; codecs=opus"),
            MediaKind::Audio
        );
        assert_eq!(MediaKind::from_mime("application/pdf"), MediaKind::Document);
        assert_eq!(MediaKind::from_mime(""), MediaKind::Document);
    }

    #[test]
    fn text_round_trips() {
        assert_eq!(Content::text("hi").as_text(), Some("hi"));
    }
}
