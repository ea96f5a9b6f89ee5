//! The service window (PRODUCT.md rule 7): on channels that have one,
//! free-form messages go only within a fixed time after the contact's last
//! message; templates always go; the contact's next message opens it again.

use std::time::Duration;

use super::channel::ChannelCapabilities;
use super::message::Content;
use crate::time::Timestamp;

/// A conversation's window, from its channel's capability and the time of
/// the contact's last message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServiceWindow {
    length: Option<Duration>,
    last_inbound: Option<Timestamp>,
}

/// Free-form content outside the window was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "the service window of this conversation is closed{}; only an approved template message can be sent until the contact writes again",
    match .closed_at { Some(at) => format!(" (it closed at {})", at.to_rfc3339()), None => String::new() }
)]
pub struct WindowClosed {
    /// When it closed; `None` if the contact never wrote.
    pub closed_at: Option<Timestamp>,
}

impl ServiceWindow {
    /// The window of a conversation on a channel with `caps` whose contact
    /// last wrote at `last_inbound`.
    #[must_use]
    pub fn new(caps: &ChannelCapabilities, last_inbound: Option<Timestamp>) -> ServiceWindow {
        ServiceWindow {
            length: caps.service_window,
            last_inbound,
        }
    }

    /// When free-form messages stop being allowed; `None` when the channel
    /// has no window (always open). A conversation whose contact never wrote
    /// (started by us) has a window that closed at the epoch.
    #[must_use]
    pub fn closes_at(&self) -> Option<Timestamp> {
        let length = self.length?;
        Some(
            self.last_inbound
                .map_or(Timestamp(0), |last| last.plus(length)),
        )
    }

    /// Whether free-form content may be sent at `now`.
    #[must_use]
    pub fn is_open(&self, now: Timestamp) -> bool {
        self.closes_at().is_none_or(|at| now < at)
    }

    /// Allows templates always and anything else while the window is open.
    pub fn check(&self, content: &Content, now: Timestamp) -> Result<(), WindowClosed> {
        if !content.is_free_form() || self.is_open(now) {
            Ok(())
        } else {
            Err(WindowClosed {
                closed_at: self.last_inbound.and(self.closes_at()),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conversation::Template;

    const HOUR_MS: i64 = 3_600_000;

    fn text() -> Content {
        Content::Text { body: "hi".into() }
    }

    fn template() -> Content {
        Content::Template(Template {
            name: "order_update".into(),
            language: "en_US".into(),
            parameters: vec![],
        })
    }

    #[test]
    fn whatsapp_window_closes_24_hours_after_the_last_inbound_message() {
        let caps = ChannelCapabilities::whatsapp();
        let last = Timestamp(10 * HOUR_MS);
        let window = ServiceWindow::new(&caps, Some(last));
        assert_eq!(window.closes_at(), Some(Timestamp(34 * HOUR_MS)));
        assert!(window.check(&text(), Timestamp(34 * HOUR_MS - 1)).is_ok());
        let refused = window.check(&text(), Timestamp(34 * HOUR_MS)).unwrap_err();
        assert_eq!(refused.closed_at, Some(Timestamp(34 * HOUR_MS)));
        assert!(refused.to_string().contains("template"));
        assert!(window.check(&template(), Timestamp(100 * HOUR_MS)).is_ok());
    }

    #[test]
    fn a_new_inbound_message_reopens_the_window() {
        let caps = ChannelCapabilities::whatsapp();
        let now = Timestamp(50 * HOUR_MS);
        assert!(!ServiceWindow::new(&caps, Some(Timestamp(0))).is_open(now));
        assert!(ServiceWindow::new(&caps, Some(now)).is_open(now));
    }

    #[test]
    fn a_channel_without_a_window_is_always_open() {
        let caps = ChannelCapabilities::api(None, 1024);
        let window = ServiceWindow::new(&caps, None);
        assert_eq!(window.closes_at(), None);
        assert!(window.check(&text(), Timestamp(i64::MAX / 2)).is_ok());
    }

    #[test]
    fn a_conversation_the_contact_never_wrote_in_needs_a_template() {
        let caps = ChannelCapabilities::whatsapp();
        let window = ServiceWindow::new(&caps, None);
        assert!(window.check(&text(), Timestamp(1)).is_err());
        assert!(window.check(&template(), Timestamp(1)).is_ok());
    }
}
