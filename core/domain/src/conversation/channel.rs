//! Channels and what each can carry.

use std::fmt;
use std::time::Duration;

/// A configured channel's stable identifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ChannelId(pub u64);

impl fmt::Display for ChannelId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Which implementation a channel uses.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ChannelKind {
    /// The built-in channel for integrators: inbound by HTTPS POST with the
    /// channel's token, outbound to a signed webhook.
    Api,
    /// A channel plugin (WhatsApp, Telegram, web chat), by plugin name.
    Plugin(String),
}

impl ChannelKind {
    /// The name used in the API and on disk.
    #[must_use]
    pub fn name(&self) -> &str {
        match self {
            ChannelKind::Api => "api",
            ChannelKind::Plugin(name) => name,
        }
    }
}

/// Kinds of media a message can carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MediaKind {
    /// Photos: JPEG, PNG, WebP, GIF.
    Image,
    /// Video clips.
    Video,
    /// Voice notes and audio files.
    Audio,
    /// PDFs and other files.
    Document,
    /// Stickers (WebP).
    Sticker,
}

impl MediaKind {
    /// Every kind.
    pub const ALL: [MediaKind; 5] = [
        MediaKind::Image,
        MediaKind::Video,
        MediaKind::Audio,
        MediaKind::Document,
        MediaKind::Sticker,
    ];

    /// The name used in the API.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            MediaKind::Image => "image",
            MediaKind::Video => "video",
            MediaKind::Audio => "audio",
            MediaKind::Document => "document",
            MediaKind::Sticker => "sticker",
        }
    }

    /// The kind named `name`, if any.
    #[must_use]
    pub fn from_name(name: &str) -> Option<MediaKind> {
        MediaKind::ALL.into_iter().find(|k| k.as_str() == name)
    }
}

/// What a channel can carry, which decides what agents may send on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelCapabilities {
    /// Free-form messages are allowed only this long after the contact's
    /// last message (WhatsApp: 24 h); `None` = always.
    pub service_window: Option<Duration>,
    /// Whether approved template messages can be sent.
    pub templates: bool,
    /// Media kinds accepted, each with its largest size in bytes.
    pub media: Vec<(MediaKind, u64)>,
}

impl ChannelCapabilities {
    /// WhatsApp Cloud API's documented limits: 24-hour window, templates,
    /// images 5 MB, video and audio 16 MB, documents 100 MB, stickers 500 KB.
    #[must_use]
    pub fn whatsapp() -> ChannelCapabilities {
        ChannelCapabilities {
            service_window: Some(Duration::from_secs(24 * 3600)),
            templates: true,
            media: vec![
                (MediaKind::Image, 5 * 1024 * 1024),
                (MediaKind::Video, 16 * 1024 * 1024),
                (MediaKind::Audio, 16 * 1024 * 1024),
                (MediaKind::Document, 100 * 1024 * 1024),
                (MediaKind::Sticker, 500 * 1024),
            ],
        }
    }

    /// The API channel: the window is the admin's choice (none by default),
    /// templates are passed through, every media kind up to `max_media_bytes`.
    #[must_use]
    pub fn api(service_window: Option<Duration>, max_media_bytes: u64) -> ChannelCapabilities {
        ChannelCapabilities {
            service_window,
            templates: true,
            media: MediaKind::ALL
                .into_iter()
                .map(|k| (k, max_media_bytes))
                .collect(),
        }
    }

    /// Largest accepted size for `kind`, or `None` if the channel does not
    /// carry it.
    #[must_use]
    pub fn media_limit(&self, kind: MediaKind) -> Option<u64> {
        self.media.iter().find(|(k, _)| *k == kind).map(|(_, n)| *n)
    }
}
