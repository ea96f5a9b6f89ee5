//! Updates (reference 2) to normalized events. Pure functions over the
//! checked body, so they test without a host.
//!
//! Telegram's `message_id` is unique only within a chat, so the provider
//! message id is `<chat id>:<message id>`; an edit keeps the message id, so
//! an edited message is `<chat id>:<message id>:edited:<edit_date>` (a new
//! message for the conversation, not a redelivery of the first). Updates
//! without anything to show (service messages, polls, member changes) give
//! no event, so Telegram stops retrying them.

use omnigate_plugin_sdk::channel::{InboundEvent, InboundMessage};
use omnigate_plugin_sdk::json::set_extension;
use omnigate_plugin_sdk::types::{
    ContactCard, ContactProfile, Content, Extensions, InteractiveReply, Location, Media, MediaKind,
};
use serde::Deserialize;
use serde_json::Value;

#[derive(Deserialize)]
struct Update {
    update_id: i64,
    #[serde(default)]
    message: Option<Message>,
    #[serde(default)]
    edited_message: Option<Message>,
    #[serde(default)]
    callback_query: Option<CallbackQuery>,
}

#[derive(Deserialize)]
pub struct User {
    pub id: i64,
    #[serde(default)]
    pub first_name: Option<String>,
    #[serde(default)]
    pub last_name: Option<String>,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub language_code: Option<String>,
}

#[derive(Deserialize)]
pub struct Chat {
    pub id: i64,
    #[serde(default)]
    first_name: Option<String>,
    #[serde(default)]
    last_name: Option<String>,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(rename = "type", default)]
    kind: Option<String>,
}

#[derive(Deserialize)]
pub struct Message {
    pub message_id: i64,
    #[serde(default)]
    from: Option<User>,
    pub chat: Chat,
    date: u64,
    #[serde(default)]
    edit_date: Option<u64>,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    caption: Option<String>,
    #[serde(default)]
    photo: Option<Vec<PhotoSize>>,
    #[serde(default)]
    document: Option<File>,
    #[serde(default)]
    audio: Option<File>,
    #[serde(default)]
    voice: Option<File>,
    #[serde(default)]
    video: Option<File>,
    #[serde(default)]
    video_note: Option<File>,
    #[serde(default)]
    animation: Option<File>,
    #[serde(default)]
    sticker: Option<Sticker>,
    #[serde(default)]
    location: Option<TgLocation>,
    #[serde(default)]
    venue: Option<Venue>,
    #[serde(default)]
    contact: Option<TgContact>,
    #[serde(default)]
    reply_to_message: Option<Box<Message>>,
    #[serde(default)]
    reply_markup: Option<Value>,
}

#[derive(Deserialize)]
struct PhotoSize {
    file_id: String,
    #[serde(default)]
    file_size: Option<u64>,
    #[serde(default)]
    width: u64,
    #[serde(default)]
    height: u64,
}

#[derive(Deserialize)]
struct File {
    file_id: String,
    #[serde(default)]
    file_name: Option<String>,
    #[serde(default)]
    mime_type: Option<String>,
    #[serde(default)]
    file_size: Option<u64>,
}

#[derive(Deserialize)]
struct Sticker {
    file_id: String,
    #[serde(default)]
    file_size: Option<u64>,
    #[serde(default)]
    is_animated: bool,
    #[serde(default)]
    is_video: bool,
    #[serde(default)]
    emoji: Option<String>,
}

#[derive(Deserialize)]
struct TgLocation {
    latitude: f64,
    longitude: f64,
}

#[derive(Deserialize)]
struct Venue {
    location: TgLocation,
    title: String,
    address: String,
}

#[derive(Deserialize)]
struct TgContact {
    phone_number: String,
    first_name: String,
    #[serde(default)]
    last_name: Option<String>,
    #[serde(default)]
    user_id: Option<i64>,
}

#[derive(Deserialize)]
struct CallbackQuery {
    id: String,
    from: User,
    #[serde(default)]
    message: Option<Message>,
    #[serde(default)]
    data: Option<String>,
}

/// What the webhook carried: its events, and the callback query to answer
/// (so the contact's client stops showing a spinner on the button).
pub struct Parsed {
    pub events: Vec<InboundEvent>,
    pub callback_query_id: Option<String>,
}

/// The events of one Update; `now_ms` dates button taps, which carry no
/// time of their own.
pub fn parse(body: &[u8], now_ms: u64) -> Result<Parsed, String> {
    let update: Update =
        serde_json::from_slice(body).map_err(|e| format!("invalid Telegram update JSON: {e}"))?;
    let mut parsed = Parsed {
        events: Vec::new(),
        callback_query_id: None,
    };
    if let Some(message) = update.message {
        parsed.events.extend(message_event(message, false));
    } else if let Some(message) = update.edited_message {
        parsed.events.extend(message_event(message, true));
    } else if let Some(query) = update.callback_query {
        parsed.callback_query_id = Some(query.id.clone());
        parsed
            .events
            .extend(callback_event(query, update.update_id, now_ms));
    }
    Ok(parsed)
}

/// `<chat id>:<message id>`, the form `send` returns and `reply-to` takes.
pub fn message_ref(chat_id: i64, message_id: i64) -> String {
    format!("{chat_id}:{message_id}")
}

fn extend<T: serde::Serialize>(extensions: &mut Extensions, key: &str, value: &T) {
    // Plain data always encodes; a failure would only drop this extra.
    let _ = set_extension(extensions, key, value);
}

/// The contact is the chat (a private chat's id is the user's id); the
/// name, username and language come from the sender when there is one.
fn contact(chat: &Chat, from: Option<&User>) -> ContactProfile {
    let mut profile = ContactProfile::new(chat.id.to_string());
    let name = |first: &Option<String>, last: &Option<String>| {
        let name = [first.as_deref(), last.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ");
        (!name.is_empty()).then_some(name)
    };
    match from {
        Some(user) => {
            profile.display_name = name(&user.first_name, &user.last_name);
            profile.username = user.username.clone();
            profile.language = user.language_code.clone();
            extend(&mut profile.extensions, "telegram.user_id", &user.id);
        }
        None => {
            profile.display_name = name(&chat.first_name, &chat.last_name).or(chat.title.clone());
            profile.username = chat.username.clone();
        }
    }
    if let Some(kind) = chat.kind.as_deref().filter(|k| *k != "private") {
        extend(&mut profile.extensions, "telegram.chat_type", &kind);
        if let Some(title) = &chat.title {
            extend(&mut profile.extensions, "telegram.chat_title", title);
        }
    }
    profile
}

fn message_event(message: Message, edited: bool) -> Option<InboundEvent> {
    let mut contact = contact(&message.chat, message.from.as_ref());
    let mut extensions = Extensions::new();
    let id = message_ref(message.chat.id, message.message_id);
    let provider_message_id = match (edited, message.edit_date) {
        (true, Some(at)) => {
            extend(&mut extensions, "telegram.edited", &id);
            format!("{id}:edited:{at}")
        }
        (true, None) => {
            extend(&mut extensions, "telegram.edited", &id);
            format!("{id}:edited")
        }
        (false, _) => id,
    };
    let reply_to = message
        .reply_to_message
        .as_ref()
        .map(|r| message_ref(r.chat.id, r.message_id));
    // Someone sharing their own contact card tells us their number.
    if let (Some(card), Some(from)) = (&message.contact, &message.from)
        && card.user_id == Some(from.id)
    {
        contact.phone = Some(card.phone_number.clone());
    }
    let sent_at_ms = message.date.saturating_mul(1000);
    let content = content(message, &mut extensions)?;
    Some(InboundEvent::Message(InboundMessage {
        provider_message_id,
        contact,
        sent_at_ms,
        content,
        reply_to,
        extensions,
    }))
}

fn file_media(kind: MediaKind, file: File, caption: Option<String>, default_mime: &str) -> Content {
    Content::Media(Media {
        kind,
        reference: file.file_id,
        mime: file.mime_type.unwrap_or_else(|| default_mime.to_owned()),
        size_bytes: file.file_size,
        caption,
        filename: file.file_name,
    })
}

/// The message's content; animations come first because Telegram also
/// fills `document` for them, venues before plain locations for the same
/// reason.
fn content(message: Message, extensions: &mut Extensions) -> Option<Content> {
    let caption = message.caption;
    if let Some(text) = message.text {
        return Some(Content::Text(text));
    }
    if let Some(photo) = message.photo {
        // Sorted smallest to largest, but pick by area to not rely on it.
        let largest = photo
            .into_iter()
            .max_by_key(|p| (p.width.saturating_mul(p.height), p.file_size))?;
        return Some(Content::Media(Media {
            kind: MediaKind::Image,
            reference: largest.file_id,
            // Telegram re-encodes photos as JPEG.
            mime: "image/jpeg".to_owned(),
            size_bytes: largest.file_size,
            caption,
            filename: None,
        }));
    }
    if let Some(file) = message.animation {
        extend(extensions, "telegram.animation", &true);
        return Some(file_media(MediaKind::Video, file, caption, "video/mp4"));
    }
    if let Some(file) = message.video.or(message.video_note) {
        return Some(file_media(MediaKind::Video, file, caption, "video/mp4"));
    }
    if let Some(file) = message.voice {
        extend(extensions, "telegram.voice", &true);
        return Some(file_media(MediaKind::Audio, file, caption, "audio/ogg"));
    }
    if let Some(file) = message.audio {
        return Some(file_media(MediaKind::Audio, file, caption, "audio/mpeg"));
    }
    if let Some(file) = message.document {
        return Some(file_media(
            MediaKind::Document,
            file,
            caption,
            "application/octet-stream",
        ));
    }
    if let Some(sticker) = message.sticker {
        if let Some(emoji) = &sticker.emoji {
            extend(extensions, "telegram.sticker_emoji", emoji);
        }
        let mime = if sticker.is_animated {
            "application/x-tgsticker"
        } else if sticker.is_video {
            "video/webm"
        } else {
            "image/webp"
        };
        return Some(Content::Media(Media {
            kind: MediaKind::Sticker,
            reference: sticker.file_id,
            mime: mime.to_owned(),
            size_bytes: sticker.file_size,
            caption: None,
            filename: None,
        }));
    }
    if let Some(venue) = message.venue {
        return Some(Content::Location(Location {
            latitude: venue.location.latitude,
            longitude: venue.location.longitude,
            name: Some(venue.title),
            address: Some(venue.address),
        }));
    }
    if let Some(location) = message.location {
        return Some(Content::Location(Location {
            latitude: location.latitude,
            longitude: location.longitude,
            name: None,
            address: None,
        }));
    }
    if let Some(card) = message.contact {
        let name = match card.last_name {
            Some(last) if !last.is_empty() => format!("{} {last}", card.first_name),
            _ => card.first_name,
        };
        return Some(Content::ContactCard(ContactCard {
            name,
            phones: vec![card.phone_number],
            emails: Vec::new(),
        }));
    }
    None
}

/// A tapped inline-keyboard button: its `callback_data` is the id, its
/// label (looked up in the message's keyboard) the title. A query id is
/// unique, so it makes the provider message id.
fn callback_event(query: CallbackQuery, update_id: i64, now_ms: u64) -> Option<InboundEvent> {
    let data = query.data?;
    let (chat, reply_to, title) = match &query.message {
        Some(message) => (
            Some(&message.chat),
            Some(message_ref(message.chat.id, message.message_id)),
            button_label(message.reply_markup.as_ref(), &data),
        ),
        None => (None, None, None),
    };
    let contact = match chat {
        Some(chat) => contact(chat, Some(&query.from)),
        None => {
            let mut profile = ContactProfile::new(query.from.id.to_string());
            profile.username = query.from.username.clone();
            profile.language = query.from.language_code.clone();
            profile
        }
    };
    let sent_at_ms = now_ms;
    let mut extensions = Extensions::new();
    extend(&mut extensions, "telegram.update_id", &update_id);
    Some(InboundEvent::Message(InboundMessage {
        provider_message_id: format!("callback:{}", query.id),
        contact,
        sent_at_ms,
        content: Content::InteractiveReply(InteractiveReply {
            title: title.unwrap_or_else(|| data.clone()),
            id: data,
        }),
        reply_to,
        extensions,
    }))
}

fn button_label(markup: Option<&Value>, data: &str) -> Option<String> {
    markup?
        .get("inline_keyboard")?
        .as_array()?
        .iter()
        .filter_map(Value::as_array)
        .flatten()
        .find(|b| b.get("callback_data").and_then(Value::as_str) == Some(data))?
        .get("text")?
        .as_str()
        .map(str::to_owned)
}
