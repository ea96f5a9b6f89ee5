//! Wire types: what the API sends and receives. Domain and store types never
//! derive Serialize; they are converted here, at the edge.

use omnigate_domain::{Timestamp, User};
use omnigate_store::{AuditEntry, TokenRecord};
use serde::Serialize;

/// A user as the API shows it; borrows from the domain user.
#[derive(Debug, Serialize)]
pub(crate) struct UserView<'a> {
    pub id: u64,
    pub email: &'a str,
    pub display_name: &'a str,
    pub role: &'static str,
    pub disabled: bool,
    pub created_at: String,
}

impl<'a> From<&'a User> for UserView<'a> {
    fn from(user: &'a User) -> UserView<'a> {
        UserView {
            id: user.id.0,
            email: user.email.as_str(),
            display_name: user.display_name.as_str(),
            role: user.role.as_str(),
            disabled: user.disabled,
            created_at: user.created_at.to_rfc3339(),
        }
    }
}

/// An API token without its secret.
#[derive(Debug, Serialize)]
pub(crate) struct TokenView {
    pub id: u64,
    pub name: String,
    pub user_id: u64,
    pub created_by: u64,
    pub created_at: String,
}

impl From<&TokenRecord> for TokenView {
    fn from(token: &TokenRecord) -> TokenView {
        TokenView {
            id: token.id,
            name: token.name.clone(),
            user_id: token.user_id,
            created_by: token.created_by,
            created_at: Timestamp(token.created_at_ms).to_rfc3339(),
        }
    }
}

/// One audit record.
#[derive(Debug, Serialize)]
pub(crate) struct AuditView {
    pub seq: u64,
    pub at: String,
    pub actor: String,
    pub actor_user_id: Option<u64>,
    pub action: String,
    pub target: Option<String>,
    pub source: Option<String>,
    pub detail: serde_json::Value,
    pub hash: String,
    pub prev_hash: String,
}

impl From<&AuditEntry> for AuditView {
    fn from(entry: &AuditEntry) -> AuditView {
        AuditView {
            seq: entry.seq,
            at: Timestamp(entry.at_ms).to_rfc3339(),
            actor: entry.actor.clone(),
            actor_user_id: entry.actor_user,
            action: entry.action.clone(),
            target: entry.target.clone(),
            source: entry.source.clone(),
            detail: serde_json::from_str(&entry.detail)
                .unwrap_or_else(|_| serde_json::Value::String(entry.detail.clone())),
            hash: hex::encode(entry.hash),
            prev_hash: hex::encode(entry.prev_hash),
        }
    }
}

/// A conversation as the console shows it.
#[derive(Debug, Serialize)]
pub(crate) struct ConversationView {
    pub id: u64,
    pub channel_id: u64,
    pub contact: ContactView,
    /// `in_flow`, `queued`, `assigned`, `transfer_pending` or `ended`.
    pub status: &'static str,
    /// The agent who holds it (or held it last).
    pub agent_id: Option<u64>,
    pub flow: Option<String>,
    pub queued_since: Option<String>,
    pub transfer: Option<TransferView>,
    pub end: Option<EndView>,
    pub created_at: String,
    pub last_message_at: String,
    pub last_inbound_at: Option<String>,
    /// When free-form messages stop being allowed; `null` = no window.
    pub window_closes_at: Option<String>,
    pub window_open: bool,
    pub preview: String,
    pub message_count: u32,
    pub unread: u32,
    pub tags: Vec<String>,
}

/// The contact of a conversation.
#[derive(Debug, Serialize)]
pub(crate) struct ContactView {
    pub id: u64,
    /// The channel's id for them.
    pub external_id: String,
    pub name: String,
    pub phone: Option<String>,
}

impl From<&omnigate_store::ContactRecord> for ContactView {
    fn from(c: &omnigate_store::ContactRecord) -> ContactView {
        ContactView {
            id: c.id,
            external_id: c.external_id.clone(),
            name: c.name.clone(),
            phone: c.phone.clone(),
        }
    }
}

/// A pending transfer.
#[derive(Debug, Serialize)]
pub(crate) struct TransferView {
    pub from: u64,
    pub to: u64,
    pub note: Option<String>,
    pub requested_at: String,
    /// When it comes back if unanswered.
    pub expires_at: String,
}

/// How a conversation ended.
#[derive(Debug, Serialize)]
pub(crate) struct EndView {
    pub reason: String,
    pub at: String,
    pub by: Option<u64>,
}

/// One message of a thread.
#[derive(Debug, Serialize)]
pub(crate) struct MessageView {
    pub id: u64,
    pub conversation_id: u64,
    /// `inbound`, `outbound` or `note`.
    pub direction: &'static str,
    /// `contact`, `agent`, `bot` or `system`.
    pub author: &'static str,
    pub author_user_id: Option<u64>,
    pub content: serde_json::Value,
    pub provider_message_id: Option<String>,
    /// `queued`, `sent`, `delivered`, `read` or `failed`; `null` for inbound
    /// messages and notes.
    pub delivery: Option<&'static str>,
    pub failure_reason: Option<String>,
    pub at: String,
}

impl From<&omnigate_store::MessageRecord> for MessageView {
    fn from(m: &omnigate_store::MessageRecord) -> MessageView {
        use omnigate_store::conversations::{author, delivery, direction};
        MessageView {
            id: m.id,
            conversation_id: m.conversation_id,
            direction: match m.direction {
                direction::INBOUND => "inbound",
                direction::OUTBOUND => "outbound",
                _ => "note",
            },
            author: match m.author {
                author::CONTACT => "contact",
                author::AGENT => "agent",
                author::BOT => "bot",
                _ => "system",
            },
            author_user_id: m.author_user,
            content: m.content.to_domain().map_or(serde_json::Value::Null, |c| {
                omnigate_engine::wire::content_to_json(&c)
            }),
            provider_message_id: m.provider_id.clone(),
            delivery: match m.delivery {
                delivery::QUEUED => Some("queued"),
                delivery::SENT => Some("sent"),
                delivery::DELIVERED => Some("delivered"),
                delivery::READ => Some("read"),
                delivery::FAILED => Some("failed"),
                _ => None,
            },
            failure_reason: m.failure.clone(),
            at: Timestamp(m.at_ms).to_rfc3339(),
        }
    }
}

/// A channel as admins see it (never its secrets).
#[derive(Debug, Serialize)]
pub(crate) struct ChannelView {
    pub id: u64,
    pub name: String,
    pub kind: String,
    pub service_window_secs: Option<u64>,
    pub default_flow: Option<String>,
    pub webhook_url: Option<String>,
    /// Where integrators POST inbound messages.
    pub inbound_url: String,
    pub disabled: bool,
    pub created_at: String,
}

impl From<&omnigate_store::channels::ChannelRecord> for ChannelView {
    fn from(c: &omnigate_store::channels::ChannelRecord) -> ChannelView {
        ChannelView {
            id: c.id,
            name: c.name.clone(),
            kind: c.kind.clone(),
            service_window_secs: c.service_window_secs,
            default_flow: c.default_flow.clone(),
            webhook_url: c.webhook_url.clone(),
            inbound_url: format!("/webhooks/{}", c.id),
            disabled: c.disabled,
            created_at: Timestamp(c.created_at_ms).to_rfc3339(),
        }
    }
}
