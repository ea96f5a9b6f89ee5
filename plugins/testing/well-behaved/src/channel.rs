// The channel itself, shared with `well-behaved-next` (the same plugin at a
// higher version, for upgrade tests); `lib.rs` includes it.

use omnigate_plugin_sdk::channel::{
    Channel, ChannelCapabilities, FetchedMedia, InboundEvent, InboundMessage, OutboundMessage,
    ProviderError, Sent, StatusUpdate, TemplateInfo, WebhookError, WebhookRequest,
    WebhookResponse,
};
use omnigate_plugin_sdk::types::{ContactProfile, Content, DeliveryStatus};
use omnigate_plugin_sdk::{attachments, clock, config, http, json, kv, log, signature};
use serde::Deserialize;

#[derive(Deserialize)]
struct Envelope {
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
    value: Value,
}

#[derive(Deserialize)]
struct Value {
    #[serde(default)]
    contacts: Vec<Contact>,
    #[serde(default)]
    messages: Vec<Message>,
    #[serde(default)]
    statuses: Vec<Status>,
}

#[derive(Deserialize)]
struct Contact {
    wa_id: String,
    #[serde(default)]
    profile: Option<Profile>,
}

#[derive(Deserialize)]
struct Profile {
    name: Option<String>,
}

#[derive(Deserialize)]
struct Message {
    from: String,
    id: String,
    timestamp: String,
    #[serde(default)]
    text: Option<Text>,
}

#[derive(Deserialize)]
struct Text {
    body: String,
}

#[derive(Deserialize)]
struct Status {
    id: String,
    status: String,
    timestamp: String,
    recipient_id: String,
}

#[derive(Deserialize)]
struct SendAnswer {
    id: String,
}

struct WellBehaved;

fn wasi_now_ms() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis())
}

fn millis(seconds: &str) -> u64 {
    seconds.parse::<u64>().unwrap_or(0).saturating_mul(1000)
}

impl Channel for WellBehaved {
    fn capabilities() -> ChannelCapabilities {
        ChannelCapabilities {
            service_window_secs: Some(24 * 3600),
            templates: true,
            media: Vec::new(),
            interactive: false,
            extensions: Vec::new(),
        }
    }

    fn handshake(request: WebhookRequest) -> WebhookResponse {
        let expected = config::get("verify_token");
        let ok = request.query("hub.mode") == Some("subscribe")
            && expected.is_some_and(|token| {
                request
                    .query("hub.verify_token")
                    .is_some_and(|t| signature::constant_time_eq(t.as_bytes(), token.as_bytes()))
            });
        match (ok, request.query("hub.challenge")) {
            (true, Some(challenge)) => WebhookResponse::text(200, challenge),
            _ => WebhookResponse::text(403, "verification failed"),
        }
    }

    fn parse_webhook(request: WebhookRequest) -> Result<Vec<InboundEvent>, WebhookError> {
        if let Some(secret) = config::secret("app_secret") {
            let signed = request.header("x-hub-signature-256").is_some_and(|sig| {
                signature::verify_hex_sha256(secret.as_bytes(), &request.body, sig)
            });
            if !signed {
                return Err(WebhookError::Unauthenticated(
                    "X-Hub-Signature-256 does not match".into(),
                ));
            }
        }
        let envelope: Envelope =
            json::parse(&request.body).map_err(|e| WebhookError::Malformed(e.to_string()))?;
        let mut events = Vec::new();
        for value in envelope
            .entry
            .into_iter()
            .flat_map(|e| e.changes)
            .map(|c| c.value)
        {
            for m in value.messages {
                let mut contact = ContactProfile::new(m.from.clone());
                contact.phone = Some(m.from.clone());
                contact.display_name = value
                    .contacts
                    .iter()
                    .find(|c| c.wa_id == m.from)
                    .and_then(|c| c.profile.as_ref()?.name.clone());
                let Some(text) = m.text else { continue };
                events.push(InboundEvent::Message(InboundMessage {
                    provider_message_id: m.id,
                    contact,
                    sent_at_ms: millis(&m.timestamp),
                    content: Content::Text(text.body),
                    reply_to: None,
                    extensions: Vec::new(),
                }));
            }
            for s in value.statuses {
                let status = match s.status.as_str() {
                    "sent" => DeliveryStatus::Sent,
                    "delivered" => DeliveryStatus::Delivered,
                    "read" => DeliveryStatus::Read,
                    "failed" => DeliveryStatus::Failed("provider reported failure".into()),
                    _ => continue,
                };
                events.push(InboundEvent::Status(StatusUpdate {
                    provider_message_id: s.id,
                    recipient: s.recipient_id,
                    status,
                    at_ms: millis(&s.timestamp),
                    extensions: Vec::new(),
                }));
            }
        }
        Ok(events)
    }

    /// Exercises the storage and clock imports for the host's tests: it
    /// stores `kv_probe_bytes` bytes (config, default 16) and reports the
    /// stored length and the host's time as a template.
    fn list_templates() -> Result<Vec<TemplateInfo>, ProviderError> {
        let size: usize = config::get("kv_probe_bytes")
            .and_then(|n| n.parse().ok())
            .unwrap_or(16);
        kv::set("probe", &vec![7; size]).map_err(|e| ProviderError::Rejected(format!("{e:?}")))?;
        let stored = kv::get("probe")
            .map_err(|e| ProviderError::Rejected(format!("{e:?}")))?
            .map_or(0, |v| v.len());
        Ok(vec![TemplateInfo {
            name: format!("probe-{stored}"),
            language: "en".into(),
            category: None,
            status: "APPROVED".into(),
            parameter_count: 0,
            body: Some(clock::now_ms().to_string()),
            // std's clock goes through WASI, which the host also controls.
            extensions: vec![("wasi_now_ms".into(), wasi_now_ms().to_string())],
        }])
    }

    /// `attachment:<reference>` tries to read an appliance attachment,
    /// which the host must refuse outside `send`.
    fn fetch_media(reference: String) -> Result<FetchedMedia, ProviderError> {
        // `generated:N`: a file of N bytes, for the host's size limits.
        if let Some(size) = reference
            .strip_prefix("generated:")
            .and_then(|n| n.parse::<usize>().ok())
        {
            return Ok(FetchedMedia {
                mime: "application/octet-stream".into(),
                bytes: vec![0x5a; size],
                filename: Some("generated.bin".into()),
            });
        }
        let Some(stored) = reference.strip_prefix("attachment:") else {
            return Err(ProviderError::NotFound(reference));
        };
        let file = attachments::read(stored).map_err(attachment_error)?;
        Ok(FetchedMedia {
            mime: file.content_type,
            bytes: file.bytes,
            filename: file.filename,
        })
    }

    /// Media: reads the attachment (and, to probe the host's scope, the
    /// reference a caption of `read:<reference>` names) and posts its
    /// bytes to `/upload`.
    fn send(message: OutboundMessage) -> Result<Sent, ProviderError> {
        if let Content::Media(media) = &message.content {
            if let Some(other) = media.caption.as_deref().and_then(|c| c.strip_prefix("read:")) {
                attachments::read(other).map_err(attachment_error)?;
            }
            let file = attachments::read(&media.reference).map_err(attachment_error)?;
            let response = http::Request::post("https://api.example.test/upload")
                .header("content-type", file.content_type.as_str())
                .body(file.bytes)
                .send()
                .map_err(|e| ProviderError::TransientUpstream(e.to_string()))?;
            return Ok(Sent {
                provider_message_id: format!(
                    "upload-{}-{}-{}",
                    file.size_bytes,
                    file.filename.unwrap_or_default(),
                    response.status()
                ),
                extensions: Vec::new(),
            });
        }
        let Some(text) = message.content.as_text() else {
            return Err(ProviderError::UnsupportedContent("text only".into()));
        };
        let body = serde_json::json!({ "to": message.recipient, "text": text });
        let response = http::Request::post("https://api.example.test/messages")
            .json(&body)
            .map_err(|e| ProviderError::Rejected(e.to_string()))?
            .send()
            .map_err(|e| ProviderError::TransientUpstream(e.to_string()))?;
        if !response.is_success() {
            return Err(ProviderError::TransientUpstream(format!(
                "upstream answered {}",
                response.status()
            )));
        }
        let answer: SendAnswer = response
            .json()
            .map_err(|e| ProviderError::TransientUpstream(e.to_string()))?;
        log::info("sent", &[("provider_message_id", &answer.id)]);
        Ok(Sent {
            provider_message_id: answer.id,
            extensions: Vec::new(),
        })
    }
}

/// Every read failure as the agent would read it; the variant says which.
fn attachment_error(error: attachments::Error) -> ProviderError {
    match &error {
        attachments::Error::TooLarge(_) => ProviderError::UnsupportedContent(error.describe()),
        attachments::Error::OutOfScope(_) => ProviderError::Rejected(error.describe()),
        attachments::Error::NotFound(_) => ProviderError::NotFound(error.describe()),
        attachments::Error::Timeout | attachments::Error::Storage(_) => {
            ProviderError::TransientUpstream(error.describe())
        }
    }
}

omnigate_plugin_sdk::export_channel!(WellBehaved);
