//! Webhook payloads (reference 1.3 and 1.4) to normalized events. Pure
//! functions over the verified body, so they test without a host.
//!
//! Every change of every entry is read in order, messages before statuses
//! within one change (a change carries one or the other), so a batched POST
//! yields all its events in the order Meta listed them.

use omnigate_plugin_sdk::channel::{InboundEvent, InboundMessage, StatusUpdate};
use omnigate_plugin_sdk::json::set_extension;
use omnigate_plugin_sdk::types::{
    ContactCard, ContactProfile, Content, DeliveryStatus, Extensions, InteractiveReply, Location,
    Media, MediaKind,
};
use serde::Deserialize;
use serde_json::Value;

use crate::errors::GraphError;

#[derive(Deserialize)]
struct Envelope {
    #[serde(default)]
    object: Option<String>,
    #[serde(default)]
    entry: Vec<Entry>,
}

#[derive(Deserialize)]
struct Entry {
    #[serde(default)]
    changes: Vec<Change>,
}

#[derive(Deserialize)]
struct Change {
    #[serde(default)]
    field: Option<String>,
    #[serde(default)]
    value: ChangeValue,
}

#[derive(Default, Deserialize)]
struct ChangeValue {
    #[serde(default)]
    contacts: Vec<WaContact>,
    #[serde(default)]
    messages: Vec<WaMessage>,
    #[serde(default)]
    statuses: Vec<WaStatus>,
}

/// `contacts[]`: who sent the messages of this change.
#[derive(Deserialize)]
struct WaContact {
    #[serde(default)]
    wa_id: Option<String>,
    /// The business-scoped user id newer payloads add.
    #[serde(default)]
    user_id: Option<String>,
    #[serde(default)]
    profile: Option<WaProfile>,
}

#[derive(Deserialize)]
struct WaProfile {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    username: Option<String>,
}

#[derive(Deserialize)]
struct WaMessage {
    from: String,
    id: String,
    timestamp: String,
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    context: Option<Context>,
    #[serde(default)]
    text: Option<TextBody>,
    #[serde(default)]
    image: Option<MediaBody>,
    #[serde(default)]
    video: Option<MediaBody>,
    #[serde(default)]
    audio: Option<MediaBody>,
    #[serde(default)]
    document: Option<MediaBody>,
    #[serde(default)]
    sticker: Option<MediaBody>,
    #[serde(default)]
    location: Option<LocationBody>,
    #[serde(default)]
    contacts: Option<Vec<CardBody>>,
    #[serde(default)]
    interactive: Option<InteractiveBody>,
    #[serde(default)]
    button: Option<ButtonBody>,
    #[serde(default)]
    reaction: Option<ReactionBody>,
    #[serde(default)]
    order: Option<Value>,
    #[serde(default)]
    system: Option<SystemBody>,
    #[serde(default)]
    referral: Option<Value>,
    #[serde(default)]
    errors: Option<Vec<Value>>,
}

#[derive(Deserialize)]
struct Context {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    forwarded: Option<bool>,
    #[serde(default)]
    frequently_forwarded: Option<bool>,
    #[serde(default)]
    referred_product: Option<Value>,
}

#[derive(Deserialize)]
struct TextBody {
    body: String,
}

#[derive(Deserialize)]
struct MediaBody {
    id: String,
    #[serde(default)]
    mime_type: Option<String>,
    #[serde(default)]
    sha256: Option<String>,
    #[serde(default)]
    caption: Option<String>,
    #[serde(default)]
    filename: Option<String>,
    #[serde(default)]
    voice: Option<bool>,
    #[serde(default)]
    animated: Option<bool>,
}

#[derive(Deserialize)]
struct LocationBody {
    latitude: f64,
    longitude: f64,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    address: Option<String>,
    #[serde(default)]
    url: Option<String>,
}

#[derive(Deserialize, serde::Serialize)]
struct CardBody {
    #[serde(default)]
    name: Option<CardName>,
    #[serde(default)]
    phones: Vec<CardPhone>,
    #[serde(default)]
    emails: Vec<CardEmail>,
}

#[derive(Deserialize, serde::Serialize)]
struct CardName {
    #[serde(default)]
    formatted_name: Option<String>,
    #[serde(default)]
    first_name: Option<String>,
    #[serde(default)]
    last_name: Option<String>,
}

#[derive(Deserialize, serde::Serialize)]
struct CardPhone {
    #[serde(default)]
    phone: Option<String>,
    #[serde(default)]
    wa_id: Option<String>,
}

#[derive(Deserialize, serde::Serialize)]
struct CardEmail {
    #[serde(default)]
    email: Option<String>,
}

#[derive(Deserialize)]
struct InteractiveBody {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    button_reply: Option<Reply>,
    #[serde(default)]
    list_reply: Option<Reply>,
}

#[derive(Deserialize)]
struct Reply {
    id: String,
    title: String,
    #[serde(default)]
    description: Option<String>,
}

#[derive(Deserialize)]
struct ButtonBody {
    #[serde(default)]
    payload: Option<String>,
    text: String,
}

#[derive(Deserialize)]
struct ReactionBody {
    message_id: String,
    #[serde(default)]
    emoji: Option<String>,
}

#[derive(Deserialize)]
struct SystemBody {
    #[serde(default)]
    body: Option<String>,
    #[serde(rename = "type", default)]
    kind: Option<String>,
    #[serde(default)]
    wa_id: Option<String>,
    #[serde(default)]
    new_wa_id: Option<String>,
}

#[derive(Deserialize)]
struct WaStatus {
    id: String,
    status: String,
    timestamp: String,
    /// Newer payloads may leave it out when the recipient is known by a
    /// business-scoped user id only; the report still names the message.
    #[serde(default)]
    recipient_id: String,
    #[serde(default)]
    errors: Vec<Value>,
    #[serde(default)]
    conversation: Option<Value>,
    #[serde(default)]
    pricing: Option<Value>,
}

/// Every event of a verified webhook body, in payload order. The error
/// says what is malformed.
pub fn parse(body: &[u8]) -> Result<Vec<InboundEvent>, String> {
    let envelope: Envelope =
        serde_json::from_slice(body).map_err(|e| format!("invalid WhatsApp webhook JSON: {e}"))?;
    if let Some(object) = envelope.object.as_deref()
        && object != "whatsapp_business_account"
    {
        return Err(format!(
            "webhook for `{object}`, not `whatsapp_business_account`"
        ));
    }
    let mut events = Vec::new();
    for change in envelope.entry.into_iter().flat_map(|e| e.changes) {
        // Other subscribed fields (template status, account updates) carry
        // nothing for conversations.
        if change.field.as_deref().is_some_and(|f| f != "messages") {
            continue;
        }
        let value = change.value;
        for message in value.messages {
            if let Some(event) = message_event(message, &value.contacts)? {
                events.push(event);
            }
        }
        for status in value.statuses {
            if let Some(event) = status_event(status)? {
                events.push(event);
            }
        }
    }
    Ok(events)
}

/// Unix seconds as a string (Meta's form) to milliseconds.
fn millis(timestamp: &str) -> Result<u64, String> {
    timestamp
        .trim()
        .parse::<u64>()
        .map(|s| s.saturating_mul(1000))
        .map_err(|_| format!("timestamp `{timestamp}` is not Unix seconds"))
}

/// Adds an extension; the values are plain data that always encode, so a
/// failure can only come from a serializer bug and drops the extra alone.
fn extend<T: serde::Serialize>(extensions: &mut Extensions, key: &str, value: &T) {
    let _ = set_extension(extensions, key, value);
}

/// The contact who sent `from`, with the profile `contacts[]` gives.
fn profile(from: &str, contacts: &[WaContact]) -> ContactProfile {
    let mut profile = ContactProfile::new(from);
    profile.phone = Some(format!("+{from}"));
    let known = contacts
        .iter()
        .find(|c| c.wa_id.as_deref() == Some(from))
        .or_else(|| (contacts.len() == 1).then(|| &contacts[0]));
    if let Some(contact) = known {
        if let Some(p) = &contact.profile {
            profile.display_name = p.name.clone().filter(|n| !n.is_empty());
            profile.username = p.username.clone();
        }
        if let Some(user_id) = &contact.user_id {
            extend(&mut profile.extensions, "whatsapp.user_id", user_id);
        }
    }
    profile
}

fn message_event(
    message: WaMessage,
    contacts: &[WaContact],
) -> Result<Option<InboundEvent>, String> {
    let contact = profile(&message.from, contacts);
    let sent_at_ms = millis(&message.timestamp)?;
    let mut extensions = Extensions::new();
    let mut reply_to = message.context.as_ref().and_then(|c| c.id.clone());
    if let Some(context) = &message.context {
        if context.forwarded == Some(true) {
            extend(&mut extensions, "whatsapp.forwarded", &true);
        }
        if context.frequently_forwarded == Some(true) {
            extend(&mut extensions, "whatsapp.frequently_forwarded", &true);
        }
        if let Some(product) = &context.referred_product {
            extend(&mut extensions, "whatsapp.referred_product", product);
        }
    }
    if let Some(referral) = &message.referral {
        extend(&mut extensions, "whatsapp.referral", referral);
    }
    let content = match message.kind.as_str() {
        "text" => message.text.map(|t| Content::Text(t.body)),
        "image" => media(MediaKind::Image, message.image, &mut extensions),
        "video" => media(MediaKind::Video, message.video, &mut extensions),
        "audio" => media(MediaKind::Audio, message.audio, &mut extensions),
        "document" => media(MediaKind::Document, message.document, &mut extensions),
        "sticker" => media(MediaKind::Sticker, message.sticker, &mut extensions),
        "location" => message.location.map(|l| {
            if let Some(url) = &l.url {
                extend(&mut extensions, "whatsapp.location_url", url);
            }
            Content::Location(Location {
                latitude: l.latitude,
                longitude: l.longitude,
                name: l.name,
                address: l.address,
            })
        }),
        "contacts" => message
            .contacts
            .and_then(|cards| contact_card(cards, &mut extensions)),
        "interactive" => message
            .interactive
            .and_then(|i| interactive(i, &mut extensions)),
        "button" => message.button.map(|b| {
            Content::InteractiveReply(InteractiveReply {
                id: b.payload.unwrap_or_else(|| b.text.clone()),
                title: b.text,
            })
        }),
        // The interface has no reaction content: a reaction shows as its
        // emoji quoting the reacted-to message, flagged so the console can
        // render it as a reaction. A removed reaction (no emoji) has nothing
        // to show and is skipped.
        "reaction" => match message.reaction {
            Some(r) => match r.emoji.filter(|e| !e.is_empty()) {
                Some(emoji) => {
                    extend(
                        &mut extensions,
                        "whatsapp.reaction",
                        &serde_json::json!({"message_id": r.message_id, "emoji": emoji}),
                    );
                    reply_to = Some(r.message_id);
                    Some(Content::Text(emoji))
                }
                None => return Ok(None),
            },
            None => None,
        },
        // A catalog order: no content type fits, so agents read a summary
        // and the order itself travels in `whatsapp.order`.
        "order" => message.order.map(|order| {
            let summary = order_summary(&order);
            extend(&mut extensions, "whatsapp.order", &order);
            Content::Text(summary)
        }),
        // A changed number is a profile change, not something said.
        "system" => {
            return Ok(message
                .system
                .map(|s| system_event(&message.from, contacts, s)));
        }
        _ => None,
    };
    // `unsupported` (code 131051), a type this plugin does not know, or a
    // known type without its body: agents see that something arrived that
    // cannot be shown, rather than nothing, and the raw errors travel in
    // `whatsapp.unsupported`.
    let content = match content {
        Some(content) => content,
        None => {
            let reason = message
                .errors
                .as_ref()
                .and_then(|errors| errors.first())
                .and_then(|e| serde_json::from_value::<GraphError>(e.clone()).ok())
                .map(|e| e.describe());
            extend(
                &mut extensions,
                "whatsapp.unsupported",
                &serde_json::json!({"type": message.kind, "errors": message.errors}),
            );
            Content::Text(match reason {
                Some(reason) => format!(
                    "[WhatsApp message of type `{}` cannot be shown: {reason}]",
                    message.kind
                ),
                None => format!(
                    "[WhatsApp message of type `{}` cannot be shown]",
                    message.kind
                ),
            })
        }
    };
    Ok(Some(InboundEvent::Message(InboundMessage {
        provider_message_id: message.id,
        contact,
        sent_at_ms,
        content,
        reply_to,
        extensions,
    })))
}

/// An inbound media message. The size is unknown until `fetch-media`
/// (webhooks do not carry it); `sha256` lets the download be checked.
fn media(kind: MediaKind, body: Option<MediaBody>, extensions: &mut Extensions) -> Option<Content> {
    let body = body?;
    if let Some(sha) = &body.sha256 {
        extend(extensions, "whatsapp.sha256", sha);
    }
    if body.voice == Some(true) {
        extend(extensions, "whatsapp.voice", &true);
    }
    if let Some(animated) = body.animated {
        extend(extensions, "whatsapp.animated", &animated);
    }
    let mime = body.mime_type.unwrap_or_else(|| {
        match kind {
            MediaKind::Image => "image/jpeg",
            MediaKind::Video => "video/mp4",
            MediaKind::Audio => "audio/ogg",
            MediaKind::Sticker => "image/webp",
            MediaKind::Document => "application/octet-stream",
        }
        .to_owned()
    });
    Some(Content::Media(Media {
        kind,
        reference: body.id,
        mime,
        size_bytes: None,
        caption: body.caption,
        filename: body.filename,
    }))
}

/// The first shared card becomes the content; when several were shared,
/// all of them travel in `whatsapp.contacts` (one message, one content).
fn contact_card(cards: Vec<CardBody>, extensions: &mut Extensions) -> Option<Content> {
    if cards.len() > 1 {
        extend(extensions, "whatsapp.contacts", &cards);
    }
    let card = cards.into_iter().next()?;
    let name = card
        .name
        .map(|n| {
            n.formatted_name
                .filter(|f| !f.is_empty())
                .unwrap_or_else(|| {
                    [n.first_name, n.last_name]
                        .into_iter()
                        .flatten()
                        .collect::<Vec<_>>()
                        .join(" ")
                })
        })
        .unwrap_or_default();
    Some(Content::ContactCard(ContactCard {
        name,
        phones: card
            .phones
            .into_iter()
            .filter_map(|p| p.phone.or_else(|| p.wa_id.map(|w| format!("+{w}"))))
            .collect(),
        emails: card.emails.into_iter().filter_map(|e| e.email).collect(),
    }))
}

/// A tapped reply button or a picked list row.
fn interactive(body: InteractiveBody, extensions: &mut Extensions) -> Option<Content> {
    let reply = match body.kind.as_str() {
        "button_reply" => body.button_reply,
        "list_reply" => body.list_reply,
        _ => None,
    }?;
    if let Some(description) = &reply.description {
        extend(extensions, "whatsapp.list_reply_description", description);
    }
    Some(Content::InteractiveReply(InteractiveReply {
        id: reply.id,
        title: reply.title,
    }))
}

/// `Order: 2 × sku_1 (49.90 TRY), 1 × sku_2 (10 TRY)` plus the note.
fn order_summary(order: &Value) -> String {
    let items: Vec<String> = order
        .get("product_items")
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .map(|item| {
                    let text = |key: &str| match item.get(key) {
                        Some(Value::String(s)) => s.clone(),
                        Some(Value::Number(n)) => n.to_string(),
                        _ => String::new(),
                    };
                    format!(
                        "{} × {} ({} {})",
                        text("quantity"),
                        text("product_retailer_id"),
                        text("item_price"),
                        text("currency")
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let mut summary = format!("Order: {}", items.join(", "));
    if let Some(note) = order.get("text").and_then(Value::as_str) {
        summary.push('\n');
        summary.push_str(note);
    }
    summary
}

/// `user_changed_number` and similar: the contact's profile event, with
/// the new number when the payload names one.
fn system_event(from: &str, contacts: &[WaContact], system: SystemBody) -> InboundEvent {
    let mut contact = profile(from, contacts);
    if let Some(new) = system.new_wa_id.as_ref().or(system.wa_id.as_ref()) {
        extend(&mut contact.extensions, "whatsapp.new_wa_id", new);
        contact.phone = Some(format!("+{new}"));
    }
    if let Some(kind) = &system.kind {
        extend(&mut contact.extensions, "whatsapp.system_type", kind);
    }
    if let Some(body) = &system.body {
        extend(&mut contact.extensions, "whatsapp.system_body", body);
    }
    InboundEvent::Profile(contact)
}

/// A delivery report. `played` (a voice note was listened to) counts as
/// read; `deleted` and unknown statuses have no delivery state and are
/// skipped.
fn status_event(status: WaStatus) -> Result<Option<InboundEvent>, String> {
    let at_ms = millis(&status.timestamp)?;
    let delivery = match status.status.as_str() {
        "sent" => DeliveryStatus::Sent,
        "delivered" => DeliveryStatus::Delivered,
        "read" | "played" => DeliveryStatus::Read,
        "failed" => DeliveryStatus::Failed(failure_reason(&status.errors)),
        _ => return Ok(None),
    };
    let mut extensions = Extensions::new();
    if !status.errors.is_empty() {
        extend(&mut extensions, "whatsapp.errors", &status.errors);
    }
    if let Some(conversation) = &status.conversation {
        extend(&mut extensions, "whatsapp.conversation", conversation);
    }
    if let Some(pricing) = &status.pricing {
        extend(&mut extensions, "whatsapp.pricing", pricing);
    }
    Ok(Some(InboundEvent::Status(StatusUpdate {
        provider_message_id: status.id,
        recipient: status.recipient_id,
        status: delivery,
        at_ms,
        extensions,
    })))
}

/// `(#131047) Re-engagement message: Message failed to send because...`;
/// a failure with no `errors[]` still gets a reason for the agent.
fn failure_reason(errors: &[Value]) -> String {
    let reason = errors
        .iter()
        .filter_map(|e| serde_json::from_value::<GraphError>(e.clone()).ok())
        .map(|e| e.describe())
        .collect::<Vec<_>>()
        .join("; ");
    if reason.is_empty() {
        "WhatsApp reported the message as failed without a reason".to_owned()
    } else {
        reason
    }
}
