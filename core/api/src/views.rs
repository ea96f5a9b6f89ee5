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
