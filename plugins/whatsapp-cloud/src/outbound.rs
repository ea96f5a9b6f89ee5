//! Outbound messages to the JSON body of `POST /{version}/{phone-number-id}/messages`
//! (reference 1.5), and the answer back to a `sent`.
//!
//! Limits the reference states (button count and title lengths, list sizes)
//! are checked here, so an agent learns at once that the content does not
//! fit instead of getting an opaque `(#131009)` back.

use omnigate_plugin_sdk::attachments;
use omnigate_plugin_sdk::channel::{OutboundMessage, ProviderError, Sent};
use omnigate_plugin_sdk::json::{extension, set_extension};
use omnigate_plugin_sdk::types::{
    Choices, ContactCard, Content, Extensions, Interactive, Location, Media, MediaKind, Template,
};
use serde::Deserialize;
use serde_json::{Map, Value, json};

/// Extension on an outbound template message: the `components` array sent
/// as is, for templates with header media or button parameters that the
/// interface's flat `parameters` list cannot express.
pub const TEMPLATE_COMPONENTS: &str = "whatsapp.template_components";

const MAX_TEXT: usize = 4096;
const MAX_CAPTION: usize = 1024;
const MAX_BUTTONS: usize = 3;
const MAX_BUTTON_TITLE: usize = 20;
const MAX_BUTTON_ID: usize = 256;
const MAX_INTERACTIVE_BODY: usize = 1024;
const MAX_LIST_BUTTON: usize = 20;
const MAX_LIST_ROWS: usize = 10;
const MAX_LIST_SECTIONS: usize = 10;
const MAX_ROW_TITLE: usize = 24;
const MAX_ROW_DESCRIPTION: usize = 72;

fn too_long(what: &str, text: &str, max: usize) -> Result<(), ProviderError> {
    let len = text.chars().count();
    if len > max {
        Err(ProviderError::UnsupportedContent(format!(
            "WhatsApp allows {what} of at most {max} characters (this one has {len})"
        )))
    } else {
        Ok(())
    }
}

/// The request body for `message`.
pub fn body(message: &OutboundMessage) -> Result<Value, ProviderError> {
    let mut body = Map::new();
    body.insert("messaging_product".into(), json!("whatsapp"));
    body.insert("recipient_type".into(), json!("individual"));
    body.insert("to".into(), json!(message.recipient));
    if let Some(quoted) = &message.reply_to {
        body.insert("context".into(), json!({ "message_id": quoted }));
    }
    let (kind, payload) = match &message.content {
        Content::Text(text) => {
            too_long("text messages", text, MAX_TEXT)?;
            ("text", json!({ "preview_url": false, "body": text }))
        }
        Content::Media(media) => media_payload(media)?,
        Content::Template(template) => {
            ("template", template_payload(template, &message.extensions)?)
        }
        Content::Interactive(interactive) => ("interactive", interactive_payload(interactive)?),
        Content::Location(location) => ("location", location_payload(location)),
        Content::ContactCard(card) => ("contacts", contacts_payload(card)),
        Content::InteractiveReply(_) => {
            return Err(ProviderError::UnsupportedContent(
                "an interactive reply is what a contact sends; a business cannot send one".into(),
            ));
        }
    };
    body.insert("type".into(), json!(kind));
    body.insert(kind.into(), payload);
    Ok(Value::Object(body))
}

fn kind_name(kind: MediaKind) -> &'static str {
    match kind {
        MediaKind::Image => "image",
        MediaKind::Video => "video",
        MediaKind::Audio => "audio",
        MediaKind::Document => "document",
        MediaKind::Sticker => "sticker",
    }
}

/// What can be checked before any upload: the caption's length.
pub fn check_media(media: &Media) -> Result<(), ProviderError> {
    if let Some(caption) = &media.caption
        && !matches!(media.kind, MediaKind::Audio | MediaKind::Sticker)
    {
        too_long("captions", caption, MAX_CAPTION)?;
    }
    Ok(())
}

/// `{"link": ...}` when the reference is an `https://` URL WhatsApp can
/// fetch, else `{"id": ...}`: a media id from an earlier upload (reference
/// 1.5: one or the other, never both). Audio and stickers take no caption;
/// only documents take a file name.
fn media_payload(media: &Media) -> Result<(&'static str, Value), ProviderError> {
    if attachments::is_reference(&media.reference) {
        // `send` uploads such a file first and sends it by media id.
        return Err(ProviderError::Rejected(
            "an appliance attachment must be uploaded before it is sent".into(),
        ));
    }
    check_media(media)?;
    let kind = kind_name(media.kind);
    let mut payload = Map::new();
    if media.reference.starts_with("https://") || media.reference.starts_with("http://") {
        payload.insert("link".into(), json!(media.reference));
    } else {
        payload.insert("id".into(), json!(media.reference));
    }
    if let Some(caption) = &media.caption
        && !matches!(media.kind, MediaKind::Audio | MediaKind::Sticker)
    {
        payload.insert("caption".into(), json!(caption));
    }
    if let Some(filename) = &media.filename
        && media.kind == MediaKind::Document
    {
        payload.insert("filename".into(), json!(filename));
    }
    Ok((kind, Value::Object(payload)))
}

/// Name, language and the body's `{{n}}` values as text parameters;
/// `whatsapp.template_components` replaces the generated components.
fn template_payload(template: &Template, extensions: &Extensions) -> Result<Value, ProviderError> {
    let mut payload = json!({
        "name": template.name,
        "language": { "code": template.language },
    });
    let components: Option<Value> = extension(extensions, TEMPLATE_COMPONENTS)
        .map_err(|e| ProviderError::Rejected(e.to_string()))?;
    let components = match components {
        Some(components) => Some(components),
        None if template.parameters.is_empty() => None,
        None => Some(json!([{
            "type": "body",
            "parameters": template
                .parameters
                .iter()
                .map(|p| json!({ "type": "text", "text": p }))
                .collect::<Vec<_>>(),
        }])),
    };
    if let (Some(components), Some(object)) = (components, payload.as_object_mut()) {
        object.insert("components".into(), components);
    }
    Ok(payload)
}

fn interactive_payload(interactive: &Interactive) -> Result<Value, ProviderError> {
    too_long(
        "interactive bodies",
        &interactive.body,
        MAX_INTERACTIVE_BODY,
    )?;
    let mut payload = Map::new();
    let action = match &interactive.choices {
        Choices::Buttons(buttons) => {
            if buttons.is_empty() || buttons.len() > MAX_BUTTONS {
                return Err(ProviderError::UnsupportedContent(format!(
                    "WhatsApp sends 1 to {MAX_BUTTONS} reply buttons (this message has {})",
                    buttons.len()
                )));
            }
            let mut list = Vec::with_capacity(buttons.len());
            for b in buttons {
                too_long("button titles", &b.title, MAX_BUTTON_TITLE)?;
                too_long("button ids", &b.id, MAX_BUTTON_ID)?;
                list.push(json!({ "type": "reply", "reply": { "id": b.id, "title": b.title } }));
            }
            payload.insert("type".into(), json!("button"));
            json!({ "buttons": list })
        }
        Choices::Menu(menu) => {
            too_long("list button labels", &menu.button, MAX_LIST_BUTTON)?;
            let rows: usize = menu.sections.iter().map(|s| s.rows.len()).sum();
            if menu.sections.is_empty()
                || menu.sections.len() > MAX_LIST_SECTIONS
                || rows == 0
                || rows > MAX_LIST_ROWS
            {
                return Err(ProviderError::UnsupportedContent(format!(
                    "WhatsApp lists have 1 to {MAX_LIST_SECTIONS} sections and 1 to {MAX_LIST_ROWS} rows in total (this one has {} and {rows})",
                    menu.sections.len()
                )));
            }
            let mut sections = Vec::with_capacity(menu.sections.len());
            for section in &menu.sections {
                let mut rows = Vec::with_capacity(section.rows.len());
                for row in &section.rows {
                    too_long("list row titles", &row.title, MAX_ROW_TITLE)?;
                    let mut r = json!({ "id": row.id, "title": row.title });
                    if let (Some(d), Some(o)) = (&row.description, r.as_object_mut()) {
                        too_long("list row descriptions", d, MAX_ROW_DESCRIPTION)?;
                        o.insert("description".into(), json!(d));
                    }
                    rows.push(r);
                }
                let mut s = json!({ "rows": rows });
                if let (Some(title), Some(o)) = (&section.title, s.as_object_mut()) {
                    o.insert("title".into(), json!(title));
                }
                sections.push(s);
            }
            payload.insert("type".into(), json!("list"));
            json!({ "button": menu.button, "sections": sections })
        }
    };
    if let Some(header) = &interactive.header {
        payload.insert("header".into(), json!({ "type": "text", "text": header }));
    }
    payload.insert("body".into(), json!({ "text": interactive.body }));
    if let Some(footer) = &interactive.footer {
        payload.insert("footer".into(), json!({ "text": footer }));
    }
    payload.insert("action".into(), action);
    Ok(Value::Object(payload))
}

/// Not spelled out in the reference; Meta's documented location message
/// has exactly these four fields.
fn location_payload(location: &Location) -> Value {
    let mut payload = json!({ "latitude": location.latitude, "longitude": location.longitude });
    if let Some(o) = payload.as_object_mut() {
        if let Some(name) = &location.name {
            o.insert("name".into(), json!(name));
        }
        if let Some(address) = &location.address {
            o.insert("address".into(), json!(address));
        }
    }
    payload
}

/// A contact card in the inbound shape (reference 1.3 `contacts`), which is
/// also what Meta documents for sending; `name` needs `formatted_name` plus
/// one other name field, so the card's name fills `first_name` too.
fn contacts_payload(card: &ContactCard) -> Value {
    json!([{
        "name": { "formatted_name": card.name, "first_name": card.name },
        "phones": card.phones.iter().map(|p| json!({ "phone": p })).collect::<Vec<_>>(),
        "emails": card.emails.iter().map(|e| json!({ "email": e })).collect::<Vec<_>>(),
    }])
}

#[derive(Deserialize)]
struct Answer {
    #[serde(default)]
    contacts: Vec<AnswerContact>,
    #[serde(default)]
    messages: Vec<AnswerMessage>,
}

#[derive(Deserialize)]
struct AnswerContact {
    #[serde(default)]
    wa_id: Option<String>,
}

#[derive(Deserialize)]
struct AnswerMessage {
    id: String,
    #[serde(default)]
    message_status: Option<String>,
}

/// The wamid of a 200 answer; `message_status` (`accepted`,
/// `held_for_quality_assessment`, `paused`) and the resolved `wa_id` travel
/// as extensions. A 200 without a wamid is a broken answer, retried.
pub fn sent(body: &[u8]) -> Result<Sent, ProviderError> {
    let answer: Answer = serde_json::from_slice(body).map_err(|e| {
        ProviderError::TransientUpstream(format!("unreadable answer to a send: {e}"))
    })?;
    let Some(message) = answer.messages.into_iter().next() else {
        return Err(ProviderError::TransientUpstream(
            "the Graph API accepted the send without a message id".into(),
        ));
    };
    let mut extensions = Extensions::new();
    if let Some(status) = &message.message_status {
        let _ = set_extension(&mut extensions, "whatsapp.message_status", status);
    }
    if let Some(wa_id) = answer.contacts.into_iter().find_map(|c| c.wa_id) {
        let _ = set_extension(&mut extensions, "whatsapp.wa_id", &wa_id);
    }
    Ok(Sent {
        provider_message_id: message.id,
        extensions,
    })
}
