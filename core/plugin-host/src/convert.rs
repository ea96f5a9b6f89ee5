//! Between the WIT types and omnigate-domain's conversation types. The WIT
//! mirrors the domain, so most of this is one to one; where the interface
//! carries more than the domain models today (list menus, contact e-mails,
//! extensions), the conversion says so instead of guessing.

use std::time::Duration;

use omnigate_domain::conversation as domain;

use crate::types::channel::ChannelCapabilities;
use crate::types::{self as wit};

/// Content the domain cannot represent yet.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("content the conversation model cannot hold: {0}")]
pub struct Unrepresentable(pub &'static str);

/// A domain media kind as the interface names it.
#[must_use]
pub fn media_kind_to_wit(kind: domain::MediaKind) -> wit::MediaKind {
    match kind {
        domain::MediaKind::Image => wit::MediaKind::Image,
        domain::MediaKind::Video => wit::MediaKind::Video,
        domain::MediaKind::Audio => wit::MediaKind::Audio,
        domain::MediaKind::Document => wit::MediaKind::Document,
        domain::MediaKind::Sticker => wit::MediaKind::Sticker,
    }
}

/// An interface media kind as the domain names it.
#[must_use]
pub fn media_kind_from_wit(kind: wit::MediaKind) -> domain::MediaKind {
    match kind {
        wit::MediaKind::Image => domain::MediaKind::Image,
        wit::MediaKind::Video => domain::MediaKind::Video,
        wit::MediaKind::Audio => domain::MediaKind::Audio,
        wit::MediaKind::Document => domain::MediaKind::Document,
        wit::MediaKind::Sticker => domain::MediaKind::Sticker,
    }
}

/// What an agent or flow sends, for the channel plugin.
#[must_use]
pub fn content_to_wit(content: &domain::Content) -> wit::Content {
    match content {
        domain::Content::Text { body } => wit::Content::Text(body.clone()),
        domain::Content::Media {
            kind,
            attachment,
            mime,
            size_bytes,
            caption,
            filename,
        } => wit::Content::Media(wit::Media {
            kind: media_kind_to_wit(*kind),
            reference: attachment.clone(),
            mime: mime.clone(),
            size_bytes: Some(*size_bytes),
            caption: caption.clone(),
            filename: filename.clone(),
        }),
        domain::Content::Template(t) => wit::Content::Template(wit::Template {
            name: t.name.clone(),
            language: t.language.clone(),
            parameters: t.parameters.clone(),
        }),
        domain::Content::Interactive { body, buttons } => {
            wit::Content::Interactive(wit::Interactive {
                header: None,
                body: body.clone(),
                footer: None,
                choices: wit::Choices::Buttons(
                    buttons
                        .iter()
                        .map(|b| wit::Button {
                            id: b.id.clone(),
                            title: b.title.clone(),
                        })
                        .collect(),
                ),
            })
        }
        domain::Content::InteractiveReply { id, title } => {
            wit::Content::InteractiveReply(wit::InteractiveReply {
                id: id.clone(),
                title: title.clone(),
            })
        }
        domain::Content::Location {
            latitude,
            longitude,
            name,
            address,
        } => wit::Content::Location(wit::Location {
            latitude: *latitude,
            longitude: *longitude,
            name: name.clone(),
            address: address.clone(),
        }),
        domain::Content::ContactCard { name, phones } => {
            wit::Content::ContactCard(wit::ContactCard {
                name: name.clone(),
                phones: phones.clone(),
                emails: Vec::new(),
            })
        }
    }
}

/// What a channel parsed, for the conversation engine. Media of unknown
/// size counts as 0 bytes until it is fetched; contact-card e-mails are
/// not kept (the domain's card has phones only); list menus are refused
/// (contacts send replies, not menus).
pub fn content_from_wit(content: wit::Content) -> Result<domain::Content, Unrepresentable> {
    Ok(match content {
        wit::Content::Text(body) => domain::Content::Text { body },
        wit::Content::Media(m) => domain::Content::Media {
            kind: media_kind_from_wit(m.kind),
            attachment: m.reference,
            mime: m.mime,
            size_bytes: m.size_bytes.unwrap_or(0),
            caption: m.caption,
            filename: m.filename,
        },
        wit::Content::Template(t) => domain::Content::Template(domain::Template {
            name: t.name,
            language: t.language,
            parameters: t.parameters,
        }),
        wit::Content::Interactive(i) => match i.choices {
            wit::Choices::Buttons(buttons) => domain::Content::Interactive {
                body: i.body,
                buttons: buttons
                    .into_iter()
                    .map(|b| domain::Button {
                        id: b.id,
                        title: b.title,
                    })
                    .collect(),
            },
            wit::Choices::Menu(_) => return Err(Unrepresentable("a list menu")),
        },
        wit::Content::InteractiveReply(r) => domain::Content::InteractiveReply {
            id: r.id,
            title: r.title,
        },
        wit::Content::Location(l) => domain::Content::Location {
            latitude: l.latitude,
            longitude: l.longitude,
            name: l.name,
            address: l.address,
        },
        wit::Content::ContactCard(c) => domain::Content::ContactCard {
            name: c.name,
            phones: c.phones,
        },
    })
}

/// A delivery report, for the conversation.
#[must_use]
pub fn status_from_wit(status: wit::DeliveryStatus) -> domain::DeliveryStatus {
    match status {
        wit::DeliveryStatus::Queued => domain::DeliveryStatus::Queued,
        wit::DeliveryStatus::Sent => domain::DeliveryStatus::Sent,
        wit::DeliveryStatus::Delivered => domain::DeliveryStatus::Delivered,
        wit::DeliveryStatus::Read => domain::DeliveryStatus::Read,
        wit::DeliveryStatus::Failed(reason) => domain::DeliveryStatus::Failed { reason },
    }
}

/// What the channel says it carries, as the send rules use it.
#[must_use]
pub fn capabilities_from_wit(caps: &ChannelCapabilities) -> domain::ChannelCapabilities {
    domain::ChannelCapabilities {
        service_window: caps.service_window_secs.map(Duration::from_secs),
        templates: caps.templates,
        media: caps
            .media
            .iter()
            .map(|m| (media_kind_from_wit(m.kind), m.max_bytes))
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn samples() -> Vec<domain::Content> {
        vec![
            domain::Content::Text {
                body: "Merhaba".into(),
            },
            domain::Content::Media {
                kind: domain::MediaKind::Document,
                attachment: "sha256:ab".into(),
                mime: "application/pdf".into(),
                size_bytes: 1234,
                caption: Some("fatura".into()),
                filename: Some("fatura.pdf".into()),
            },
            domain::Content::Template(domain::Template {
                name: "order_shipped".into(),
                language: "tr".into(),
                parameters: vec!["Ayşe".into(), "#1042".into()],
            }),
            domain::Content::Interactive {
                body: "Ne yapmak istersiniz?".into(),
                buttons: vec![domain::Button {
                    id: "btn_track".into(),
                    title: "Kargo takip".into(),
                }],
            },
            domain::Content::InteractiveReply {
                id: "btn_track".into(),
                title: "Kargo takip".into(),
            },
            domain::Content::Location {
                latitude: 41.0,
                longitude: 29.0,
                name: Some("Kadıköy".into()),
                address: None,
            },
            domain::Content::ContactCard {
                name: "Ayşe".into(),
                phones: vec!["+905321112233".into()],
            },
        ]
    }

    #[test]
    fn every_domain_content_round_trips() {
        for content in samples() {
            assert_eq!(content_from_wit(content_to_wit(&content)), Ok(content));
        }
    }

    #[test]
    fn menus_are_refused_not_guessed() {
        let menu = wit::Content::Interactive(wit::Interactive {
            header: None,
            body: "Bir ürün seçin".into(),
            footer: None,
            choices: wit::Choices::Menu(wit::Menu {
                button: "Seçenekler".into(),
                sections: Vec::new(),
            }),
        });
        assert!(content_from_wit(menu).is_err());
    }

    #[test]
    fn capabilities_and_statuses_map() {
        let caps = ChannelCapabilities {
            service_window_secs: Some(86_400),
            templates: true,
            media: vec![crate::types::channel::MediaLimit {
                kind: wit::MediaKind::Image,
                max_bytes: 5 * 1024 * 1024,
            }],
            interactive: true,
            extensions: Vec::new(),
        };
        let domain_caps = capabilities_from_wit(&caps);
        assert_eq!(
            domain_caps.service_window,
            Some(Duration::from_secs(86_400))
        );
        assert_eq!(
            domain_caps.media_limit(domain::MediaKind::Image),
            Some(5 * 1024 * 1024)
        );
        assert_eq!(
            status_from_wit(wit::DeliveryStatus::Failed("131047".into())),
            domain::DeliveryStatus::Failed {
                reason: "131047".into()
            }
        );
    }
}
