//! Conversation exports: the whole thread as JSON (for systems) or as a
//! readable transcript (for people, e.g. a complaint file or a legal hold).
//!
//! Every export is recorded in the audit log, durably, before its bytes are
//! handed out: regulated customers must be able to tell who took which
//! conversation out of the system.

use omnigate_domain::conversation::Content;
use omnigate_domain::{AuditAction, AuditEvent, Timestamp, UserId};
use omnigate_store::conversations::{author, direction};
use omnigate_store::{ContactRecord, ConversationRecord, MessageRecord, StatusRecord, StoreError};
use serde_json::json;

use crate::{Caller, Engine, EngineError, status, wire};

/// The shape of an export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    /// One JSON document: conversation, contact and every message, in the
    /// API's own wire format.
    Json,
    /// A plain-text transcript, one line per message.
    Text,
}

impl ExportFormat {
    /// From the `format` query parameter.
    #[must_use]
    pub fn parse(name: &str) -> Option<ExportFormat> {
        match name {
            "json" => Some(ExportFormat::Json),
            "text" | "txt" => Some(ExportFormat::Text),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            ExportFormat::Json => "json",
            ExportFormat::Text => "text",
        }
    }
}

/// A finished export, ready to download.
#[derive(Debug)]
pub struct Export {
    /// Suggested file name.
    pub filename: String,
    /// Its media type.
    pub content_type: &'static str,
    /// The file.
    pub body: Vec<u8>,
}

/// Messages read per store call while collecting a thread.
const PAGE: usize = 500;

impl Engine {
    /// Exports conversation `id` for someone who may read it, after
    /// recording the export in the audit log.
    pub async fn export_conversation(
        &self,
        caller: &Caller,
        id: u64,
        format: ExportFormat,
    ) -> Result<Export, EngineError> {
        let conversation = self.conversation_for(caller, id)?;
        let store = self.store();
        let contact = store
            .contact(conversation.contact_id)?
            .ok_or_else(|| StoreError::NotFound(format!("contact {}", conversation.contact_id)))?;
        let channel = self.channel(conversation.channel_id)?;
        let mut messages = Vec::new();
        let mut after = None;
        loop {
            let page = store.messages(id, after, PAGE)?;
            let full = page.len() == PAGE;
            after = page.last().map(|m| m.id);
            messages.extend(page);
            if !full {
                break;
            }
        }
        let now = self.now();
        let body = match format {
            ExportFormat::Json => json!({
                "exported_at": now.to_rfc3339(),
                "exported_by": caller.user.email.as_str(),
                "channel": { "id": channel.id, "name": channel.name, "kind": channel.kind },
                "contact": {
                    "id": contact.id,
                    "external_id": contact.external_id,
                    "name": contact.name,
                    "phone": contact.phone,
                },
                "conversation": {
                    "id": conversation.id,
                    "status": status::status_name(&conversation.status),
                    "agent_id": conversation.agent_id,
                    "created_at": Timestamp(conversation.created_at_ms).to_rfc3339(),
                    "end_reason": end_reason(&conversation.status),
                    "tags": conversation.tags,
                },
                "messages": messages.iter().map(wire::message_to_json).collect::<Vec<_>>(),
            })
            .to_string()
            .into_bytes(),
            ExportFormat::Text => {
                let name_of = |user: u64| {
                    store
                        .user(UserId(user))
                        .ok()
                        .flatten()
                        .map_or_else(|| format!("user {user}"), |u| u.display_name.to_string())
                };
                transcript(
                    &conversation,
                    &contact,
                    &channel.name,
                    &messages,
                    name_of,
                    now,
                )?
                .into_bytes()
            }
        };
        store.append_audit(
            &AuditEvent::new(caller.actor(), AuditAction::ConversationExported)
                .target(format!("conversation:{id}"))
                .source(caller.source.clone())
                .detail(json!({ "format": format.name(), "messages": messages.len() }).to_string()),
            now,
        )?;
        // No export leaves without its audit record on disk.
        self.durable().await?;
        Ok(Export {
            filename: match format {
                ExportFormat::Json => format!("conversation-{id}.json"),
                ExportFormat::Text => format!("conversation-{id}.txt"),
            },
            content_type: match format {
                ExportFormat::Json => "application/json",
                ExportFormat::Text => "text/plain; charset=utf-8",
            },
            body,
        })
    }
}

fn end_reason(status: &StatusRecord) -> Option<&str> {
    match status {
        StatusRecord::Ended { reason, .. } => Some(reason),
        _ => None,
    }
}

/// The readable transcript: a header, then one block per message.
fn transcript(
    conversation: &ConversationRecord,
    contact: &ContactRecord,
    channel: &str,
    messages: &[MessageRecord],
    name_of: impl Fn(u64) -> String,
    now: Timestamp,
) -> Result<String, EngineError> {
    use std::fmt::Write as _;
    let mut out = String::new();
    let contact_line = match &contact.phone {
        Some(phone) => format!("{} ({phone})", contact.name),
        None => contact.name.clone(),
    };
    let _ = writeln!(out, "Conversation {}", conversation.id);
    let _ = writeln!(out, "Channel:  {channel}");
    let _ = writeln!(out, "Contact:  {contact_line}");
    let _ = writeln!(
        out,
        "Started:  {}",
        Timestamp(conversation.created_at_ms).to_rfc3339()
    );
    let _ = writeln!(
        out,
        "Status:   {}",
        status::status_name(&conversation.status)
    );
    if let Some(agent) = conversation.agent_id {
        let _ = writeln!(out, "Agent:    {}", name_of(agent));
    }
    if let StatusRecord::Ended { reason, at_ms } = &conversation.status {
        let _ = writeln!(
            out,
            "Ended:    {} ({reason})",
            Timestamp(*at_ms).to_rfc3339()
        );
    }
    if !conversation.tags.is_empty() {
        let _ = writeln!(out, "Tags:     {}", conversation.tags.join(", "));
    }
    let _ = writeln!(out, "Exported: {}", now.to_rfc3339());
    for message in messages {
        let who = match (message.author, message.author_user) {
            (author::CONTACT, _) => contact.name.clone(),
            (author::AGENT, Some(user)) => name_of(user),
            (author::BOT, _) => "chatbot".to_owned(),
            _ => "omnigate".to_owned(),
        };
        let note = if message.direction == direction::NOTE {
            " (private note)"
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "\n[{}] {who}{note}:",
            Timestamp(message.at_ms).to_rfc3339()
        );
        for line in describe(&message.content.to_domain()?).lines() {
            let _ = writeln!(out, "  {line}");
        }
        if let Some(failure) = &message.failure {
            let _ = writeln!(out, "  (not delivered: {failure})");
        }
    }
    Ok(out)
}

/// Content as a person reads it.
fn describe(content: &Content) -> String {
    match content {
        Content::Text { body } => body.clone(),
        Content::Media {
            kind,
            mime,
            size_bytes,
            caption,
            filename,
            ..
        } => {
            let mut text = format!(
                "[{}: {} ({mime}, {size_bytes} bytes)]",
                kind.as_str(),
                filename.as_deref().unwrap_or("unnamed")
            );
            if let Some(caption) = caption {
                text.push('\n');
                text.push_str(caption);
            }
            text
        }
        Content::Template(template) => format!(
            "[template {} ({}): {}]",
            template.name,
            template.language,
            template.parameters.join(" | ")
        ),
        Content::Interactive { body, buttons } => {
            let titles: Vec<&str> = buttons.iter().map(|b| b.title.as_str()).collect();
            format!("{body}\n[buttons: {}]", titles.join(" | "))
        }
        Content::InteractiveReply { title, .. } => format!("[chose: {title}]"),
        Content::Location {
            latitude,
            longitude,
            name,
            address,
        } => {
            let place = [name.as_deref(), address.as_deref()]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(", ");
            format!("[location {latitude}, {longitude}] {place}")
                .trim_end()
                .to_owned()
        }
        Content::ContactCard { name, phones } => {
            format!("[contact card: {name}, {}]", phones.join(", "))
        }
    }
}

#[cfg(test)]
mod tests {
    use omnigate_domain::conversation::{Button, MediaKind, Template};

    use super::*;

    #[test]
    fn every_kind_of_content_reads_as_text() {
        assert_eq!(
            describe(&Content::Media {
                kind: MediaKind::Document,
                attachment: "ab".into(),
                mime: "application/pdf".into(),
                size_bytes: 1200,
                caption: Some("invoice".into()),
                filename: Some("fatura.pdf".into()),
            }),
            "[document: fatura.pdf (application/pdf, 1200 bytes)]\ninvoice"
        );
        assert_eq!(
            describe(&Content::Template(Template {
                name: "order_update".into(),
                language: "tr".into(),
                parameters: vec!["Ali".into(), "1234".into()],
            })),
            "[template order_update (tr): Ali | 1234]"
        );
        assert_eq!(
            describe(&Content::Interactive {
                body: "Which?".into(),
                buttons: vec![
                    Button {
                        id: "a".into(),
                        title: "Yes".into()
                    },
                    Button {
                        id: "b".into(),
                        title: "No".into()
                    },
                ],
            }),
            "Which?\n[buttons: Yes | No]"
        );
        assert_eq!(
            describe(&Content::Location {
                latitude: 41.0,
                longitude: 29.0,
                name: Some("Kadıköy".into()),
                address: None,
            }),
            "[location 41, 29] Kadıköy"
        );
        assert_eq!(
            describe(&Content::ContactCard {
                name: "Ayşe".into(),
                phones: vec!["+90 555".into()],
            }),
            "[contact card: Ayşe, +90 555]"
        );
    }

    #[test]
    fn formats_are_named_json_or_text() {
        assert_eq!(ExportFormat::parse("json"), Some(ExportFormat::Json));
        assert_eq!(ExportFormat::parse("txt"), Some(ExportFormat::Text));
        assert_eq!(ExportFormat::parse("csv"), None);
    }
}
