//! The JSON form of message content, shared by the API and the API
//! channel's webhooks so that integrators see one format everywhere.
//!
//! `{"type":"text","text":"..."}`, `{"type":"media","kind":"image",...}`,
//! `{"type":"template","name","language","parameters"}`,
//! `{"type":"interactive","body","buttons":[{"id","title"}]}`,
//! `{"type":"interactive_reply","id","title"}`,
//! `{"type":"location","latitude","longitude","name","address"}`,
//! `{"type":"contact_card","name","phones"}`.

use omnigate_domain::conversation::{Button, Content, DeliveryStatus, MediaKind, Template};
use omnigate_domain::{Timestamp, ValidationError};
use omnigate_store::MessageRecord;
use omnigate_store::conversations::{author, delivery, direction};
use serde::Serialize;
use serde_json::{Map, Value, json};

/// The API's name of a message direction code.
#[must_use]
pub fn direction_name(code: u8) -> &'static str {
    match code {
        direction::INBOUND => "inbound",
        direction::OUTBOUND => "outbound",
        _ => "note",
    }
}

/// The API's name of an author code.
#[must_use]
pub fn author_name(code: u8) -> &'static str {
    match code {
        author::CONTACT => "contact",
        author::AGENT => "agent",
        author::BOT => "bot",
        _ => "system",
    }
}

/// The API's name of a delivery code; `None` for messages nothing delivers
/// (inbound ones and notes).
#[must_use]
pub fn delivery_name(code: u8) -> Option<&'static str> {
    match code {
        delivery::QUEUED => Some("queued"),
        delivery::SENT => Some("sent"),
        delivery::DELIVERED => Some("delivered"),
        delivery::READ => Some("read"),
        delivery::FAILED => Some("failed"),
        _ => None,
    }
}

/// A stored message as the API and live events show it.
#[must_use]
pub fn message_to_json(m: &MessageRecord) -> Value {
    // Serialising these fields cannot fail (no maps, string keys only).
    serde_json::to_value(MessageJson::new(m)).unwrap_or(Value::Null)
}

/// A stored message's JSON form as a serialisable struct: the `message`
/// live event (one per inbound message) is written straight to text from
/// it, without the value tree of [`message_to_json`], which is the same
/// fields as a value.
#[derive(Serialize)]
pub struct MessageJson<'a> {
    id: u64,
    conversation_id: u64,
    direction: &'static str,
    author: &'static str,
    author_user_id: Option<u64>,
    content: Value,
    provider_message_id: Option<&'a str>,
    delivery: Option<&'static str>,
    failure_reason: Option<&'a str>,
    at: String,
}

impl<'a> MessageJson<'a> {
    /// The JSON form of `m`.
    #[must_use]
    pub fn new(m: &'a MessageRecord) -> MessageJson<'a> {
        MessageJson {
            id: m.id,
            conversation_id: m.conversation_id,
            direction: direction_name(m.direction),
            author: author_name(m.author),
            author_user_id: m.author_user,
            content: m
                .content
                .to_domain()
                .map_or(Value::Null, |c| content_to_json(&c)),
            provider_message_id: m.provider_id.as_deref(),
            delivery: delivery_name(m.delivery),
            failure_reason: m.failure.as_deref(),
            at: Timestamp(m.at_ms).to_rfc3339(),
        }
    }
}

/// Content as JSON.
#[must_use]
pub fn content_to_json(content: &Content) -> Value {
    match content {
        Content::Text { body } => json!({ "type": "text", "text": body }),
        Content::Media {
            kind,
            attachment,
            mime,
            size_bytes,
            caption,
            filename,
        } => json!({
            "type": "media", "kind": kind.as_str(), "attachment": attachment, "mime": mime,
            "size_bytes": size_bytes, "caption": caption, "filename": filename,
        }),
        Content::Template(t) => json!({
            "type": "template", "name": t.name, "language": t.language, "parameters": t.parameters,
        }),
        Content::Interactive { body, buttons } => json!({
            "type": "interactive", "body": body,
            "buttons": buttons.iter().map(|b| json!({ "id": b.id, "title": b.title })).collect::<Vec<_>>(),
        }),
        Content::InteractiveReply { id, title } => {
            json!({ "type": "interactive_reply", "id": id, "title": title })
        }
        Content::Location {
            latitude,
            longitude,
            name,
            address,
        } => json!({
            "type": "location", "latitude": latitude, "longitude": longitude,
            "name": name, "address": address,
        }),
        Content::ContactCard { name, phones } => {
            json!({ "type": "contact_card", "name": name, "phones": phones })
        }
    }
}

fn invalid(field: &'static str, message: &str) -> ValidationError {
    ValidationError::new(field, message.to_owned())
}

struct Fields<'a> {
    map: &'a Map<String, Value>,
}

impl Fields<'_> {
    fn string(&self, name: &'static str) -> Result<String, ValidationError> {
        self.map
            .get(name)
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| invalid(name, "is required and must be a string"))
    }

    fn optional_string(&self, name: &'static str) -> Result<Option<String>, ValidationError> {
        match self.map.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(invalid(name, "must be a string")),
        }
    }

    fn number(&self, name: &'static str) -> Result<f64, ValidationError> {
        self.map
            .get(name)
            .and_then(Value::as_f64)
            .ok_or_else(|| invalid(name, "is required and must be a number"))
    }

    fn strings(&self, name: &'static str) -> Result<Vec<String>, ValidationError> {
        match self.map.get(name) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| {
                    v.as_str()
                        .map(str::to_owned)
                        .ok_or_else(|| invalid(name, "must be a list of strings"))
                })
                .collect(),
            Some(_) => Err(invalid(name, "must be a list of strings")),
        }
    }
}

/// Reads and validates content from its JSON form. Media sent through the
/// API must name an uploaded attachment; its size and type are filled in by
/// the caller from the stored file, never trusted from the client.
pub fn content_from_json(value: &Value) -> Result<Content, ValidationError> {
    let map = value
        .as_object()
        .ok_or_else(|| invalid("content", "must be an object"))?;
    let f = Fields { map };
    let kind = f.string("type")?;
    let content = match kind.as_str() {
        "text" => Content::Text {
            body: f.string("text")?,
        },
        "media" => Content::Media {
            kind: MediaKind::from_name(&f.string("kind")?).ok_or_else(|| {
                invalid(
                    "kind",
                    "must be one of image, video, audio, document, sticker",
                )
            })?,
            attachment: f.string("attachment")?,
            mime: f
                .optional_string("mime")?
                .unwrap_or_else(|| "application/octet-stream".into()),
            size_bytes: map.get("size_bytes").and_then(Value::as_u64).unwrap_or(0),
            caption: f.optional_string("caption")?,
            filename: f.optional_string("filename")?,
        },
        "template" => Content::Template(Template {
            name: f.string("name")?,
            language: f.string("language")?,
            parameters: f.strings("parameters")?,
        }),
        "interactive" => {
            let buttons = match map.get("buttons") {
                Some(Value::Array(items)) => items
                    .iter()
                    .map(|b| {
                        let map = b
                            .as_object()
                            .ok_or_else(|| invalid("buttons", "each button is an object"))?;
                        let f = Fields { map };
                        Ok(Button {
                            id: f.string("id")?,
                            title: f.string("title")?,
                        })
                    })
                    .collect::<Result<Vec<_>, ValidationError>>()?,
                _ => return Err(invalid("buttons", "is required and must be a list")),
            };
            Content::Interactive {
                body: f.string("body")?,
                buttons,
            }
        }
        "interactive_reply" => Content::InteractiveReply {
            id: f.string("id")?,
            title: f.string("title")?,
        },
        "location" => Content::Location {
            latitude: f.number("latitude")?,
            longitude: f.number("longitude")?,
            name: f.optional_string("name")?,
            address: f.optional_string("address")?,
        },
        "contact_card" => Content::ContactCard {
            name: f.string("name")?,
            phones: f.strings("phones")?,
        },
        other => {
            return Err(ValidationError::new(
                "type",
                format!(
                    "unknown content type `{other}`; use text, media, template, interactive, interactive_reply, location or contact_card"
                ),
            ));
        }
    };
    content.validate()?;
    Ok(content)
}

/// The delivery status a stored code (and failure reason) stands for.
#[must_use]
pub fn delivery_status(code: u8, failure: Option<String>) -> DeliveryStatus {
    match code {
        delivery::SENT => DeliveryStatus::Sent,
        delivery::DELIVERED => DeliveryStatus::Delivered,
        delivery::READ => DeliveryStatus::Read,
        delivery::FAILED => DeliveryStatus::Failed {
            reason: failure.unwrap_or_default(),
        },
        _ => DeliveryStatus::Queued,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_content_kind_round_trips() {
        let samples = [
            json!({"type":"text","text":"Merhaba 👋"}),
            json!({"type":"template","name":"order_update","language":"tr","parameters":["123"]}),
            json!({"type":"interactive","body":"Pick","buttons":[{"id":"y","title":"Yes"}]}),
            json!({"type":"interactive_reply","id":"y","title":"Yes"}),
            json!({"type":"location","latitude":41.0,"longitude":29.0,"name":"Ofis","address":null}),
            json!({"type":"contact_card","name":"Ali","phones":["+905551112233"]}),
            json!({"type":"media","kind":"image","attachment":"ab12","mime":"image/png","size_bytes":10,"caption":null,"filename":null}),
        ];
        for sample in samples {
            let content = content_from_json(&sample).unwrap();
            assert_eq!(content_to_json(&content), sample);
        }
    }

    #[test]
    fn bad_content_names_the_field() {
        let err = content_from_json(&json!({"type":"text"})).unwrap_err();
        assert!(err.to_string().contains("text"), "{err}");
        let err = content_from_json(&json!({"type":"fax"})).unwrap_err();
        assert!(err.to_string().contains("fax"), "{err}");
        assert!(content_from_json(&json!("hi")).is_err());
    }
}
