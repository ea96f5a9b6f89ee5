//! Outbound messages to Bot API calls (reference 2: `sendMessage`,
//! `sendPhoto`, `sendDocument` and their siblings), and the answer back to
//! a `sent`.

use omnigate_plugin_sdk::attachments;
use omnigate_plugin_sdk::channel::{OutboundMessage, ProviderError, Sent};
use omnigate_plugin_sdk::types::{Choices, Content, Interactive, MediaKind};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::inbound::message_ref;

const MAX_TEXT: usize = 4096;
const MAX_CAPTION: usize = 1024;
/// `callback_data` is 1 to 64 bytes (Bot API documentation).
const MAX_CALLBACK_DATA: usize = 64;

fn too_long(what: &str, text: &str, max: usize) -> Result<(), ProviderError> {
    let len = text.chars().count();
    if len > max {
        Err(ProviderError::UnsupportedContent(format!(
            "Telegram allows {what} of at most {max} characters (this one has {len})"
        )))
    } else {
        Ok(())
    }
}

/// A numeric chat id stays a number (ids exceed 32 bits, JSON numbers hold
/// them exactly up to 2^53); `@channelusername` stays a string.
fn chat_id(recipient: &str) -> Value {
    match recipient.trim().parse::<i64>() {
        Ok(id) => json!(id),
        Err(_) => json!(recipient),
    }
}

/// The message id part of a `<chat id>:<message id>` reference (or a bare
/// message id).
fn quoted_message_id(reference: &str) -> Option<i64> {
    reference.rsplit(':').next()?.parse().ok()
}

/// A Bot API call for one message.
#[derive(Debug, PartialEq)]
pub struct Call {
    /// `sendMessage`, `sendPhoto`...
    pub method: &'static str,
    /// The parameters (all of them but the file, for an upload).
    pub params: Value,
    /// For a file stored on the appliance: the parameter it is uploaded
    /// as, in a multipart body (reference 2: "multipart upload field").
    pub upload: Option<&'static str>,
}

/// The Bot API call for `message`.
pub fn request(message: &OutboundMessage) -> Result<Call, ProviderError> {
    let mut body = Map::new();
    body.insert("chat_id".into(), chat_id(&message.recipient));
    if let Some(id) = message.reply_to.as_deref().and_then(quoted_message_id) {
        // A quoted message that is gone must not fail the send.
        body.insert(
            "reply_parameters".into(),
            json!({ "message_id": id, "allow_sending_without_reply": true }),
        );
    }
    let mut upload = None;
    let method = match &message.content {
        Content::Text(text) => {
            too_long("text messages", text, MAX_TEXT)?;
            body.insert("text".into(), json!(text));
            "sendMessage"
        }
        Content::Media(media) => {
            let (method, field) = match media.kind {
                MediaKind::Image => ("sendPhoto", "photo"),
                MediaKind::Video => ("sendVideo", "video"),
                // Voice notes must be OGG/Opus to play as voice.
                MediaKind::Audio if media.mime.starts_with("audio/ogg") => ("sendVoice", "voice"),
                MediaKind::Audio => ("sendAudio", "audio"),
                MediaKind::Document => ("sendDocument", "document"),
                MediaKind::Sticker => ("sendSticker", "sticker"),
            };
            // A file_id of an earlier upload or an HTTP URL Telegram
            // fetches go in the parameter; omnigate's own attachment
            // reference (the file's SHA-256 in hex) names bytes on the
            // appliance, uploaded in the same parameter of a multipart
            // body.
            if attachments::is_reference(&media.reference) {
                upload = Some(field);
            } else {
                body.insert(field.into(), json!(media.reference));
            }
            if let Some(caption) = &media.caption
                && media.kind != MediaKind::Sticker
            {
                too_long("captions", caption, MAX_CAPTION)?;
                body.insert("caption".into(), json!(caption));
            }
            method
        }
        Content::Interactive(interactive) => {
            let text = interactive_text(interactive);
            too_long("text messages", &text, MAX_TEXT)?;
            body.insert("text".into(), json!(text));
            body.insert("reply_markup".into(), keyboard(&interactive.choices)?);
            "sendMessage"
        }
        Content::Location(location) => {
            body.insert("latitude".into(), json!(location.latitude));
            body.insert("longitude".into(), json!(location.longitude));
            match (&location.name, &location.address) {
                (Some(title), Some(address)) => {
                    body.insert("title".into(), json!(title));
                    body.insert("address".into(), json!(address));
                    "sendVenue"
                }
                _ => "sendLocation",
            }
        }
        Content::ContactCard(card) => {
            let Some(phone) = card.phones.first() else {
                return Err(ProviderError::UnsupportedContent(
                    "Telegram contact cards need a phone number".into(),
                ));
            };
            body.insert("phone_number".into(), json!(phone));
            body.insert("first_name".into(), json!(card.name));
            "sendContact"
        }
        Content::Template(_) => {
            return Err(ProviderError::UnsupportedContent(
                "Telegram has no template messages; send text".into(),
            ));
        }
        Content::InteractiveReply(_) => {
            return Err(ProviderError::UnsupportedContent(
                "an interactive reply is what a contact sends; a bot cannot send one".into(),
            ));
        }
    };
    Ok(Call {
        method,
        params: Value::Object(body),
        upload,
    })
}

/// Header, body and footer as paragraphs: Telegram messages have no
/// separate header or footer.
fn interactive_text(interactive: &Interactive) -> String {
    [
        interactive.header.as_deref(),
        Some(interactive.body.as_str()),
        interactive.footer.as_deref(),
    ]
    .into_iter()
    .flatten()
    .filter(|p| !p.is_empty())
    .collect::<Vec<_>>()
    .join("\n\n")
}

/// An inline keyboard, one button per row; a menu's rows are listed in
/// section order (a row's description joins its title, as Telegram
/// buttons have one label).
fn keyboard(choices: &Choices) -> Result<Value, ProviderError> {
    let buttons: Vec<(String, &str)> = match choices {
        Choices::Buttons(buttons) => buttons
            .iter()
            .map(|b| (b.title.clone(), b.id.as_str()))
            .collect(),
        Choices::Menu(menu) => menu
            .sections
            .iter()
            .flat_map(|s| &s.rows)
            .map(|r| {
                let label = match &r.description {
                    Some(d) if !d.is_empty() => format!("{} — {d}", r.title),
                    _ => r.title.clone(),
                };
                (label, r.id.as_str())
            })
            .collect(),
    };
    if buttons.is_empty() {
        return Err(ProviderError::UnsupportedContent(
            "an interactive message needs at least one choice".into(),
        ));
    }
    let mut rows = Vec::with_capacity(buttons.len());
    for (text, data) in buttons {
        if data.is_empty() || data.len() > MAX_CALLBACK_DATA {
            return Err(ProviderError::UnsupportedContent(format!(
                "Telegram button ids are 1 to {MAX_CALLBACK_DATA} bytes (`{data}` has {})",
                data.len()
            )));
        }
        rows.push(json!([{ "text": text, "callback_data": data }]));
    }
    Ok(json!({ "inline_keyboard": rows }))
}

/// The part of the answered Message the plugin needs.
#[derive(Deserialize)]
pub struct SentMessage {
    message_id: i64,
    chat: SentChat,
}

#[derive(Deserialize)]
pub struct SentChat {
    id: i64,
}

/// `<chat id>:<message id>` of the sent message.
pub fn sent(message: SentMessage) -> Sent {
    Sent {
        provider_message_id: message_ref(message.chat.id, message.message_id),
        extensions: Vec::new(),
    }
}
