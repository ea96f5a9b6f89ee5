//! What a conversation is made of: channels and their capabilities, contacts,
//! messages and their delivery, the service window, and canned responses.
//!
//! Who holds a conversation is the desk's business ([`crate::routing`]); this
//! module says what may be sent on a channel and when, as pure functions of
//! the channel's capabilities, the conversation's last inbound message and
//! `now`.

mod canned;
mod channel;
mod message;
mod sniff;
mod window;

pub use canned::{CannedResponse, Shortcut, Variables, render};
pub use channel::{ChannelCapabilities, ChannelId, ChannelKind, MediaKind};
pub use message::{Author, Button, Content, DeliveryStatus, Direction, MessageLimits, Template};
pub use sniff::{SNIFF_BYTES, sniff};
pub use window::{ServiceWindow, WindowClosed};

use crate::user::ValidationError;

/// A contact's stable identifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ContactId(pub u64);

/// How a channel names a contact (WhatsApp `wa_id`, Telegram chat id, web
/// visitor id, an integrator's customer id). Unique per channel.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ExternalId(String);

impl ExternalId {
    /// Longest accepted id; provider ids are far shorter.
    pub const MAX_CHARS: usize = 200;

    /// A trimmed, non-empty id of at most [`ExternalId::MAX_CHARS`] printable
    /// characters.
    pub fn parse(raw: &str) -> Result<ExternalId, ValidationError> {
        let id = raw.trim();
        if id.is_empty() || id.chars().count() > Self::MAX_CHARS {
            return Err(ValidationError::new(
                "contact.id",
                format!("must have 1 to {} characters", Self::MAX_CHARS),
            ));
        }
        if id.chars().any(char::is_control) {
            return Err(ValidationError::new(
                "contact.id",
                "must not contain control characters",
            ));
        }
        Ok(ExternalId(id.to_owned()))
    }

    /// The id as text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A provider's id for one message (WhatsApp `wamid`, Telegram
/// `message_id`, the integrator's id): what makes a redelivered webhook
/// recognisable, so it never creates a second message (rule 8).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ProviderMessageId(String);

impl ProviderMessageId {
    /// Longest accepted id.
    pub const MAX_CHARS: usize = 200;

    /// A trimmed, non-empty id of at most [`ProviderMessageId::MAX_CHARS`]
    /// characters without control characters.
    pub fn parse(raw: &str) -> Result<ProviderMessageId, ValidationError> {
        let id = raw.trim();
        if id.is_empty() || id.chars().count() > Self::MAX_CHARS || id.chars().any(char::is_control)
        {
            return Err(ValidationError::new(
                "message.id",
                format!(
                    "must have 1 to {} characters and no control characters",
                    Self::MAX_CHARS
                ),
            ));
        }
        Ok(ProviderMessageId(id.to_owned()))
    }

    /// The id as text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A label an agent puts on a conversation for filtering ("vip", "refund").
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Tag(String);

impl Tag {
    /// Most tags on one conversation.
    pub const MAX_PER_CONVERSATION: usize = 20;

    /// Lower-cased, trimmed, 1 to 40 characters of letters, digits, `-`
    /// and `_`: tags are typed in filters, so they must be unambiguous.
    pub fn parse(raw: &str) -> Result<Tag, ValidationError> {
        let tag = raw.trim().to_lowercase();
        let ok = !tag.is_empty()
            && tag.chars().count() <= 40
            && tag
                .chars()
                .all(|c| c.is_alphanumeric() || c == '-' || c == '_');
        if ok {
            Ok(Tag(tag))
        } else {
            Err(ValidationError::new(
                "tags",
                "each tag has 1 to 40 letters, digits, `-` or `_`",
            ))
        }
    }

    /// The tag as text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An end reason as admins configure it ("resolved", "no answer").
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EndReason(String);

impl EndReason {
    /// A trimmed reason of 1 to 80 characters without control characters.
    pub fn parse(raw: &str) -> Result<EndReason, ValidationError> {
        let reason = raw.trim();
        if reason.is_empty() || reason.chars().count() > 80 || reason.chars().any(char::is_control)
        {
            return Err(ValidationError::new(
                "reason",
                "an end reason has 1 to 80 characters",
            ));
        }
        Ok(EndReason(reason.to_owned()))
    }

    /// The reason as text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The reasons a new installation starts with; admins change the list.
    #[must_use]
    pub fn defaults() -> Vec<String> {
        [
            "Resolved",
            "No answer from the customer",
            "Spam",
            "Duplicate",
        ]
        .into_iter()
        .map(str::to_owned)
        .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_trimmed_and_bounded() {
        assert_eq!(
            ExternalId::parse(" 905551112233 ").unwrap().as_str(),
            "905551112233"
        );
        assert!(ExternalId::parse("  ").is_err());
        assert!(ExternalId::parse(&"x".repeat(201)).is_err());
        assert!(ExternalId::parse("a\nb").is_err());
        assert!(ProviderMessageId::parse("wamid.HBgM").is_ok());
        assert!(ProviderMessageId::parse("").is_err());
    }

    #[test]
    fn tags_are_normalised() {
        assert_eq!(Tag::parse(" VIP ").unwrap().as_str(), "vip");
        assert!(Tag::parse("two words").is_err());
        assert!(Tag::parse("").is_err());
    }
}
