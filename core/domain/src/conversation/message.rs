//! Messages: who wrote them, what they carry, and how far they got.

use super::channel::{ChannelCapabilities, MediaKind};
use crate::user::{UserId, ValidationError};

/// Which way a message travelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// From the contact to us.
    Inbound,
    /// From us (agent, bot, system) to the contact.
    Outbound,
    /// A private note between agents; never leaves omnigate.
    Note,
}

impl Direction {
    /// The name used in the API.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Inbound => "inbound",
            Direction::Outbound => "outbound",
            Direction::Note => "note",
        }
    }
}

/// Who wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Author {
    /// The contact.
    Contact,
    /// An agent (or supervisor).
    Agent(UserId),
    /// A chatbot flow.
    Bot,
    /// omnigate itself: transfer notices, end notices.
    System,
}

/// A quick-reply button of an interactive message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Button {
    /// The id the reply carries back.
    pub id: String,
    /// What the contact sees (WhatsApp: at most 20 characters).
    pub title: String,
}

/// An approved template message: the only content that may leave outside
/// the service window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    /// The template's name as approved by the provider.
    pub name: String,
    /// Its language code, e.g. `en_US`, `tr`.
    pub language: String,
    /// Values for `{{1}}`, `{{2}}`... in order.
    pub parameters: Vec<String>,
}

/// What a message carries.
#[derive(Debug, Clone, PartialEq)]
pub enum Content {
    /// Plain text (emoji included).
    Text {
        /// The text.
        body: String,
    },
    /// A file: image, video, audio, document or sticker.
    Media {
        /// Its kind.
        kind: MediaKind,
        /// The stored attachment (content hash) or the provider's media id.
        attachment: String,
        /// MIME type, as detected from the content.
        mime: String,
        /// Size in bytes.
        size_bytes: u64,
        /// Caption shown under it.
        caption: Option<String>,
        /// Original file name, for documents.
        filename: Option<String>,
    },
    /// A template (see [`Template`]).
    Template(Template),
    /// Text with quick-reply buttons.
    Interactive {
        /// The text above the buttons.
        body: String,
        /// One to three buttons.
        buttons: Vec<Button>,
    },
    /// The contact's answer to an interactive message.
    InteractiveReply {
        /// The id of the chosen button.
        id: String,
        /// Its title.
        title: String,
    },
    /// A point on the map.
    Location {
        /// Degrees north, -90 to 90.
        latitude: f64,
        /// Degrees east, -180 to 180.
        longitude: f64,
        /// Name of the place.
        name: Option<String>,
        /// Its address.
        address: Option<String>,
    },
    /// A shared contact card.
    ContactCard {
        /// The person's name.
        name: String,
        /// Their phone numbers.
        phones: Vec<String>,
    },
}

/// Bounds on message content, from the strictest supported provider
/// (WhatsApp Cloud API) so that what an agent writes can go anywhere.
#[derive(Debug, Clone, Copy)]
pub struct MessageLimits;

impl MessageLimits {
    /// Longest text body.
    pub const TEXT_CHARS: usize = 4096;
    /// Longest media caption.
    pub const CAPTION_CHARS: usize = 1024;
    /// Most quick-reply buttons.
    pub const BUTTONS: usize = 3;
    /// Longest button title.
    pub const BUTTON_TITLE_CHARS: usize = 20;
    /// Most template parameters.
    pub const TEMPLATE_PARAMETERS: usize = 32;
}

fn bounded(field: &'static str, text: &str, max: usize) -> Result<(), ValidationError> {
    if text.trim().is_empty() {
        return Err(ValidationError::new(field, "must not be empty"));
    }
    if text.chars().count() > max {
        return Err(ValidationError::new(
            field,
            format!("must have at most {max} characters"),
        ));
    }
    Ok(())
}

impl Content {
    /// The name of the content's kind, as the API spells it.
    #[must_use]
    pub fn kind_name(&self) -> &'static str {
        match self {
            Content::Text { .. } => "text",
            Content::Media { .. } => "media",
            Content::Template(_) => "template",
            Content::Interactive { .. } => "interactive",
            Content::InteractiveReply { .. } => "interactive_reply",
            Content::Location { .. } => "location",
            Content::ContactCard { .. } => "contact_card",
        }
    }

    /// Free-form content may only be sent inside the service window;
    /// templates always go (rule 7).
    #[must_use]
    pub fn is_free_form(&self) -> bool {
        !matches!(self, Content::Template(_))
    }

    /// The text that full-text search indexes and previews show.
    #[must_use]
    pub fn searchable_text(&self) -> String {
        match self {
            Content::Text { body } | Content::Interactive { body, .. } => body.clone(),
            Content::Media {
                caption, filename, ..
            } => [caption.as_deref(), filename.as_deref()]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" "),
            Content::Template(t) => {
                let mut text = t.name.clone();
                for p in &t.parameters {
                    text.push(' ');
                    text.push_str(p);
                }
                text
            }
            Content::InteractiveReply { title, .. } => title.clone(),
            Content::Location { name, address, .. } => [name.as_deref(), address.as_deref()]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" "),
            Content::ContactCard { name, phones } => {
                let mut text = name.clone();
                for p in phones {
                    text.push(' ');
                    text.push_str(p);
                }
                text
            }
        }
    }

    /// Checks the content against [`MessageLimits`].
    pub fn validate(&self) -> Result<(), ValidationError> {
        match self {
            Content::Text { body } => bounded("text", body, MessageLimits::TEXT_CHARS),
            Content::Media {
                attachment,
                caption,
                mime,
                ..
            } => {
                bounded("media.attachment", attachment, 200)?;
                bounded("media.mime", mime, 100)?;
                if let Some(caption) = caption {
                    bounded("media.caption", caption, MessageLimits::CAPTION_CHARS)?;
                }
                Ok(())
            }
            Content::Template(t) => {
                bounded("template.name", &t.name, 512)?;
                bounded("template.language", &t.language, 20)?;
                if t.parameters.len() > MessageLimits::TEMPLATE_PARAMETERS {
                    return Err(ValidationError::new(
                        "template.parameters",
                        format!("at most {}", MessageLimits::TEMPLATE_PARAMETERS),
                    ));
                }
                for p in &t.parameters {
                    bounded("template.parameters", p, 1024)?;
                }
                Ok(())
            }
            Content::Interactive { body, buttons } => {
                bounded("interactive.body", body, 1024)?;
                if buttons.is_empty() || buttons.len() > MessageLimits::BUTTONS {
                    return Err(ValidationError::new(
                        "interactive.buttons",
                        format!("needs 1 to {} buttons", MessageLimits::BUTTONS),
                    ));
                }
                for b in buttons {
                    bounded("interactive.buttons.id", &b.id, 256)?;
                    bounded(
                        "interactive.buttons.title",
                        &b.title,
                        MessageLimits::BUTTON_TITLE_CHARS,
                    )?;
                }
                Ok(())
            }
            Content::InteractiveReply { id, title } => {
                bounded("interactive_reply.id", id, 256)?;
                bounded("interactive_reply.title", title, 256)
            }
            Content::Location {
                latitude,
                longitude,
                name,
                address,
            } => {
                if !(-90.0..=90.0).contains(latitude) || !(-180.0..=180.0).contains(longitude) {
                    return Err(ValidationError::new(
                        "location",
                        "latitude must be within -90..90 and longitude within -180..180",
                    ));
                }
                for text in [name, address].into_iter().flatten() {
                    bounded("location.name", text, 1000)?;
                }
                Ok(())
            }
            Content::ContactCard { name, phones } => {
                bounded("contact_card.name", name, 200)?;
                if phones.is_empty() || phones.len() > 10 {
                    return Err(ValidationError::new(
                        "contact_card.phones",
                        "needs 1 to 10 phone numbers",
                    ));
                }
                for p in phones {
                    bounded("contact_card.phones", p, 40)?;
                }
                Ok(())
            }
        }
    }

    /// Whether the channel can carry this content at all.
    pub fn check_channel(&self, caps: &ChannelCapabilities) -> Result<(), ValidationError> {
        match self {
            Content::Template(_) if !caps.templates => Err(ValidationError::new(
                "template",
                "this channel does not support template messages",
            )),
            Content::Media {
                kind, size_bytes, ..
            } => match caps.media_limit(*kind) {
                None => Err(ValidationError::new(
                    "media",
                    format!("this channel does not carry {} files", kind.as_str()),
                )),
                Some(limit) if *size_bytes > limit => Err(ValidationError::new(
                    "media",
                    format!(
                        "this channel carries {} files of at most {limit} bytes",
                        kind.as_str()
                    ),
                )),
                Some(_) => Ok(()),
            },
            _ => Ok(()),
        }
    }
}

/// How far an outbound message got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryStatus {
    /// Accepted by omnigate, not yet handed to the provider.
    Queued,
    /// The provider accepted it.
    Sent,
    /// It reached the contact's device.
    Delivered,
    /// The contact opened it.
    Read,
    /// It will not arrive.
    Failed {
        /// The provider's or omnigate's explanation.
        reason: String,
    },
}

impl DeliveryStatus {
    /// The name used in the API.
    #[must_use]
    pub fn as_str(&self) -> &'static str {
        match self {
            DeliveryStatus::Queued => "queued",
            DeliveryStatus::Sent => "sent",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Read => "read",
            DeliveryStatus::Failed { .. } => "failed",
        }
    }

    fn rank(&self) -> u8 {
        match self {
            DeliveryStatus::Queued => 0,
            DeliveryStatus::Sent => 1,
            DeliveryStatus::Delivered => 2,
            DeliveryStatus::Read => 3,
            DeliveryStatus::Failed { .. } => 4,
        }
    }

    /// Whether a reported status should replace this one. Providers report
    /// out of order (a `read` can arrive before its `delivered`), so a status
    /// only moves forward; `failed` is final, and `read` is never undone by
    /// a late failure report.
    #[must_use]
    pub fn accepts(&self, next: &DeliveryStatus) -> bool {
        match (self, next) {
            (DeliveryStatus::Failed { .. }, _) => false,
            (DeliveryStatus::Read, DeliveryStatus::Failed { .. }) => false,
            _ => next.rank() > self.rank(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delivery_status_only_moves_forward() {
        use DeliveryStatus::*;
        assert!(Queued.accepts(&Sent));
        assert!(Sent.accepts(&Read));
        assert!(!Read.accepts(&Delivered));
        assert!(Delivered.accepts(&Failed { reason: "x".into() }));
        assert!(!Read.accepts(&Failed { reason: "x".into() }));
        assert!(!Failed { reason: "x".into() }.accepts(&Read));
    }

    #[test]
    fn content_limits_are_enforced() {
        assert!(Content::Text { body: " ".into() }.validate().is_err());
        assert!(
            Content::Text {
                body: "x".repeat(4097)
            }
            .validate()
            .is_err()
        );
        let too_many = Content::Interactive {
            body: "pick".into(),
            buttons: (0..4)
                .map(|i| Button {
                    id: i.to_string(),
                    title: "t".into(),
                })
                .collect(),
        };
        assert!(too_many.validate().is_err());
        let far = Content::Location {
            latitude: 91.0,
            longitude: 0.0,
            name: None,
            address: None,
        };
        assert!(far.validate().is_err());
    }

    #[test]
    fn media_is_checked_against_the_channel() {
        let caps = ChannelCapabilities::whatsapp();
        let image = |size_bytes| Content::Media {
            kind: MediaKind::Image,
            attachment: "abc".into(),
            mime: "image/png".into(),
            size_bytes,
            caption: None,
            filename: None,
        };
        assert!(image(1024).check_channel(&caps).is_ok());
        assert!(image(6 * 1024 * 1024).check_channel(&caps).is_err());
    }
}
