//! Wire types: what the API sends and receives. Domain and store types never
//! derive Serialize; they are converted here, at the edge.
//!
//! Every type here also derives [`ToSchema`], so the OpenAPI document
//! (`crate::openapi`) describes exactly what is serialized. Fields that are
//! always sent, `null` or not, are marked `required`.

use omnigate_domain::{Timestamp, User};
use omnigate_store::{AuditEntry, TokenRecord};
use serde::Serialize;
use utoipa::ToSchema;

use crate::openapi::schemas;

/// A user as the API shows it; borrows from the domain user.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct UserView<'a> {
    pub id: u64,
    #[schema(format = Email)]
    pub email: &'a str,
    pub display_name: &'a str,
    #[schema(schema_with = schemas::role)]
    pub role: &'static str,
    pub disabled: bool,
    #[schema(format = DateTime)]
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
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct TokenView {
    pub id: u64,
    pub name: String,
    pub user_id: u64,
    pub created_by: u64,
    #[schema(format = DateTime)]
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
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct AuditView {
    pub seq: u64,
    #[schema(format = DateTime)]
    pub at: String,
    /// An e-mail, `anonymous`, `cli` or `system`.
    pub actor: String,
    #[schema(required = true)]
    pub actor_user_id: Option<u64>,
    /// The action code, such as `user.created`.
    pub action: String,
    #[schema(required = true)]
    pub target: Option<String>,
    /// The client address.
    #[schema(required = true)]
    pub source: Option<String>,
    /// Details of the action: a JSON object, or a string for old records.
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
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ConversationView {
    pub id: u64,
    pub channel_id: u64,
    /// The channel's name, so agents (who may not list channels) see where
    /// the contact writes from.
    pub channel_name: String,
    /// The channel's kind (`api`, and the plugin channels' kinds), for its
    /// icon.
    pub channel_kind: String,
    pub contact: ContactView,
    /// `in_flow`, `queued`, `assigned`, `transfer_pending` or `ended`.
    #[schema(schema_with = schemas::conversation_status)]
    pub status: &'static str,
    /// The agent who holds it (or held it last).
    #[schema(required = true)]
    pub agent_id: Option<u64>,
    /// The chatbot flow handling it, while `in_flow`.
    #[schema(required = true)]
    pub flow: Option<String>,
    /// Since when it waits, while `queued`.
    #[schema(format = DateTime, required = true)]
    pub queued_since: Option<String>,
    /// The pending transfer, while `transfer_pending`.
    #[schema(required = true)]
    pub transfer: Option<TransferView>,
    /// How it ended, once `ended`.
    #[schema(required = true)]
    pub end: Option<EndView>,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub last_message_at: String,
    #[schema(format = DateTime, required = true)]
    pub last_inbound_at: Option<String>,
    /// When free-form messages stop being allowed; `null` = no window.
    #[schema(format = DateTime, required = true)]
    pub window_closes_at: Option<String>,
    pub window_open: bool,
    pub preview: String,
    pub message_count: u32,
    pub unread: u32,
    pub tags: Vec<String>,
    /// With `q`: the newest message that matched.
    #[serde(rename = "match", skip_serializing_if = "Option::is_none")]
    pub search_match: Option<SearchMatch>,
}

/// The contact of a conversation.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ContactView {
    pub id: u64,
    /// The channel's id for them.
    pub external_id: String,
    pub name: String,
    #[schema(required = true)]
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
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct TransferView {
    pub from: u64,
    pub to: u64,
    #[schema(required = true)]
    pub note: Option<String>,
    #[schema(format = DateTime)]
    pub requested_at: String,
    /// When it comes back if unanswered.
    #[schema(format = DateTime)]
    pub expires_at: String,
}

/// How a conversation ended.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct EndView {
    pub reason: String,
    #[schema(format = DateTime)]
    pub at: String,
    /// The user who ended it; `null` when the system did.
    #[schema(required = true)]
    pub by: Option<u64>,
}

/// One message of a thread.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct MessageView {
    pub id: u64,
    pub conversation_id: u64,
    /// `inbound`, `outbound` or `note`.
    #[schema(schema_with = schemas::direction)]
    pub direction: &'static str,
    /// `contact`, `agent`, `bot` or `system`.
    #[schema(schema_with = schemas::author)]
    pub author: &'static str,
    #[schema(required = true)]
    pub author_user_id: Option<u64>,
    /// The content; `null` only for a stored record this version cannot read.
    #[schema(value_type = Option<schemas::MessageContent>, required = true)]
    pub content: serde_json::Value,
    /// The channel's id for the message.
    #[schema(required = true)]
    pub provider_message_id: Option<String>,
    /// `queued`, `sent`, `delivered`, `read` or `failed`; `null` for inbound
    /// messages and notes.
    #[schema(schema_with = schemas::delivery, required = true)]
    pub delivery: Option<&'static str>,
    #[schema(required = true)]
    pub failure_reason: Option<String>,
    #[schema(format = DateTime)]
    pub at: String,
}

impl From<&omnigate_store::MessageRecord> for MessageView {
    fn from(m: &omnigate_store::MessageRecord) -> MessageView {
        use omnigate_engine::wire;
        MessageView {
            id: m.id,
            conversation_id: m.conversation_id,
            direction: wire::direction_name(m.direction),
            author: wire::author_name(m.author),
            author_user_id: m.author_user,
            content: m
                .content
                .to_domain()
                .map_or(serde_json::Value::Null, |c| wire::content_to_json(&c)),
            provider_message_id: m.provider_id.clone(),
            delivery: wire::delivery_name(m.delivery),
            failure_reason: m.failure.clone(),
            at: Timestamp(m.at_ms).to_rfc3339(),
        }
    }
}

/// A channel as admins see it (never its secrets).
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ChannelView {
    pub id: u64,
    pub name: String,
    /// `api`, or the name of the channel plugin that runs it.
    pub kind: String,
    /// Length of the service window; `null` = no window.
    #[schema(required = true)]
    pub service_window_secs: Option<u64>,
    /// The flow new conversations start in; `null` = the queue.
    #[schema(required = true)]
    pub default_flow: Option<String>,
    /// Where outbound messages are POSTed.
    #[schema(required = true)]
    pub webhook_url: Option<String>,
    /// Where integrators POST inbound messages, or a plugin channel's
    /// provider sends its webhooks.
    pub inbound_url: String,
    pub disabled: bool,
    #[schema(format = DateTime)]
    pub created_at: String,
    /// A plugin channel's config values, by the plugin manifest's keys.
    pub config: std::collections::BTreeMap<String, String>,
    /// Which of the plugin's secrets are set (their values are never
    /// shown).
    pub secrets_set: Vec<String>,
}

impl ChannelView {
    /// The view with a plugin channel's settings (secrets by name only).
    #[must_use]
    pub fn with_settings(
        mut self,
        settings: omnigate_store::channels::ChannelSettingsRecord,
    ) -> ChannelView {
        self.config = settings.config;
        self.secrets_set = settings.secrets.into_keys().collect();
        self
    }
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
            config: std::collections::BTreeMap::new(),
            secrets_set: Vec::new(),
        }
    }
}

// Response bodies: the envelopes the handlers answer with.

/// Answer to a successful login.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct LoginResponse<'a> {
    pub user: UserView<'a>,
    /// Send it as `X-CSRF-Token` on every state-changing request of this session.
    pub csrf_token: &'a str,
    #[schema(format = DateTime)]
    pub session_expires_at: String,
}

/// A list of users.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct UserList<'a> {
    pub users: Vec<UserView<'a>>,
}

/// One user.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct UserBody<'a> {
    pub user: UserView<'a>,
}

/// A created user, with the generated password when none was given.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct CreatedUser<'a> {
    pub user: UserView<'a>,
    /// Present only when the server generated the password; shown once.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = String, format = Password)]
    pub generated_password: Option<String>,
}

/// The outcome of a password reset.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct PasswordReset<'a> {
    pub user: UserView<'a>,
    /// How many of the user's sessions were ended.
    pub sessions_ended: usize,
    /// Present only when the server generated the password; shown once.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = String, format = Password)]
    pub generated_password: Option<String>,
}

/// How many sessions were ended.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct SessionsEnded {
    pub sessions_ended: usize,
}

/// Every API token.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct TokenList {
    pub tokens: Vec<TokenView>,
}

/// A created API token and its secret, shown this once.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct CreatedToken {
    pub token: TokenView,
    /// `Authorization: Bearer <secret>`; stored only as a hash.
    pub secret: String,
}

/// A page of the audit log, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct AuditPage {
    pub entries: Vec<AuditView>,
    /// Pass as `before` for the next (older) page; `null` on the last one.
    #[schema(required = true)]
    pub next_before: Option<u64>,
}

/// An agent's presence, load and capacity.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct AgentStatus {
    pub user_id: u64,
    #[schema(schema_with = schemas::presence)]
    pub presence: &'static str,
    /// Conversations held.
    pub load: u32,
    /// Effective automatic capacity (0 = manual pull only).
    pub capacity: u32,
}

/// An agent in the agents list.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct AgentSummary<'a> {
    pub user_id: u64,
    #[schema(schema_with = schemas::presence)]
    pub presence: &'static str,
    /// Conversations held.
    pub load: u32,
    /// Effective automatic capacity (0 = manual pull only).
    pub capacity: u32,
    pub display_name: &'a str,
    #[schema(schema_with = schemas::role)]
    pub role: &'static str,
}

/// Every enabled user with their desk figures.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct AgentList<'a> {
    pub agents: Vec<AgentSummary<'a>>,
}

/// An agent as the supervisor's view shows them.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct SupervisorAgent<'a> {
    pub user_id: u64,
    #[schema(schema_with = schemas::presence)]
    pub presence: &'static str,
    /// Conversations held.
    pub load: u32,
    /// Effective automatic capacity (0 = manual pull only).
    pub capacity: u32,
    pub display_name: &'a str,
    /// Ids of the conversations they hold or are offered.
    pub conversations: Vec<u64>,
}

/// A queued conversation with how long it has waited.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct QueuedConversation {
    #[serde(flatten)]
    pub conversation: ConversationView,
    pub waiting_secs: u64,
}

/// The supervisor's view of the desk.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct SupervisorDesk<'a> {
    /// Oldest first.
    pub queue: Vec<QueuedConversation>,
    pub agents: Vec<SupervisorAgent<'a>>,
}

/// The desk settings.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct DeskSettingsView {
    /// Conversations the queue hands an agent without an override.
    pub default_capacity: u32,
    /// A transfer unanswered this long comes back to its source.
    pub transfer_timeout_secs: u64,
    /// The reasons agents choose from when ending a conversation.
    pub end_reasons: Vec<String>,
}

/// The caller's inbox.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Inbox {
    #[schema(schema_with = schemas::presence)]
    pub presence: &'static str,
    /// Conversations held.
    pub load: u32,
    /// Effective automatic capacity (0 = manual pull only).
    pub capacity: u32,
    pub queue: QueueSummary,
    /// What the caller holds or is offered, most recent activity first.
    pub conversations: Vec<ConversationView>,
}

/// The queue's length and age.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct QueueSummary {
    pub length: usize,
    /// `null` when the queue is empty.
    #[schema(required = true)]
    pub oldest_waiting_secs: Option<u64>,
}

/// A page of conversations, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ConversationPage {
    pub conversations: Vec<ConversationView>,
    /// Pass as `cursor` for the next page (opaque); `null` on the last one.
    #[schema(required = true)]
    pub next_cursor: Option<String>,
}

/// Where a search found a conversation: its newest matching message.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct SearchMatch {
    pub message_id: u64,
    #[schema(format = DateTime)]
    pub at: String,
}

/// One conversation.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ConversationBody {
    pub conversation: ConversationView,
}

/// A page of a thread, oldest first.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct MessagePage {
    pub messages: Vec<MessageView>,
    /// Pass as `after` for the next page; `null` on the last one.
    #[schema(required = true)]
    pub next_after: Option<u64>,
}

/// One message.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct MessageBody {
    pub message: MessageView,
}

/// The conversation after a desk action.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ActionResult {
    pub conversation: SettledConversation,
}

/// The whole conversation if the caller may still read it, else only its
/// id and status.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub(crate) enum SettledConversation {
    /// The caller may still read it.
    Visible(Box<ConversationView>),
    /// It moved out of the caller's sight (transferred, ended).
    Hidden(ConversationStub),
}

/// A conversation the caller may no longer read.
// `deny_unknown_fields` only closes the schema (`additionalProperties:
// false`), so that a whole conversation does not also match this one.
#[derive(Debug, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ConversationStub {
    pub id: u64,
    #[schema(schema_with = schemas::conversation_status)]
    pub status: &'static str,
}

/// A canned response.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct CannedView {
    pub id: u64,
    /// Typed after `/` in the composer.
    pub shortcut: String,
    /// The text, with `{{variables}}`.
    pub text: String,
    /// Shared with everyone (managed by admins) rather than personal.
    pub shared: bool,
    /// The owner of a personal one; `null` when shared.
    #[schema(required = true)]
    pub owner_id: Option<u64>,
}

/// Canned responses.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct CannedList {
    pub canned: Vec<CannedView>,
}

/// One canned response.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct CannedBody {
    pub canned: CannedView,
}

/// A rendered text.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct RenderedText {
    pub text: String,
}

/// Every channel.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ChannelList {
    pub channels: Vec<ChannelView>,
}

/// One channel.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ChannelBody {
    pub channel: ChannelView,
}

/// A channel with its secrets, shown this once.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ChannelSecrets {
    pub channel: ChannelView,
    /// What integrators send as `Authorization: Bearer` to `/webhooks/{channel}`.
    pub inbound_token: String,
    /// Signs what omnigate POSTs to the channel's `webhook_url`.
    pub webhook_secret: String,
}

/// Answer to an inbound webhook call.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub(crate) enum InboundAck {
    /// To a `message`.
    Received(MessageReceived),
    /// To a `status`.
    Recorded(DeliveryRecorded),
}

/// An inbound message is on disk.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct MessageReceived {
    /// omnigate's id for the message.
    pub message_id: u64,
    pub conversation_id: u64,
    /// The `message_id` was seen before; nothing new was stored.
    pub duplicate: bool,
}

/// A delivery report was applied (or was older than what is known).
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct DeliveryRecorded {
    /// omnigate's id for the message.
    pub message_id: u64,
    /// The message's delivery status now.
    #[schema(schema_with = schemas::delivery_status)]
    pub delivery: &'static str,
}

/// Answer of the health probes.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ProbeStatus {
    /// `ok` from `/healthz`, `ready` from `/readyz`.
    #[schema(schema_with = schemas::probe_status)]
    pub status: &'static str,
}
