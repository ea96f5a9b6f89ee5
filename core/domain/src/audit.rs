//! What the audit log records: who did what, to what, from where.
//!
//! The chaining (each record carries the hash of the previous one) is the
//! store's job; this module only names the events so that every caller spells
//! them the same way and readers can filter on them.

use std::fmt;

use crate::user::{Email, UserId};

/// The kinds of event the audit log records.
///
/// The string codes are part of the API (filters use them) and are stored, so
/// they never change meaning; new events get new codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuditAction {
    /// A login succeeded.
    LoginSucceeded,
    /// A login failed: wrong password, unknown user, disabled user or lockout.
    LoginFailed,
    /// A session was ended by its user.
    Logout,
    /// A user changed their own password.
    PasswordChanged,
    /// A password change was refused because the current password was wrong.
    PasswordChangeFailed,
    /// An admin set a new password for a user.
    PasswordReset,
    /// A user account was created.
    UserCreated,
    /// A user's role changed.
    UserRoleChanged,
    /// A user's display name changed.
    UserRenamed,
    /// A user was disabled.
    UserDisabled,
    /// A disabled user was enabled again.
    UserEnabled,
    /// All sessions of a user were revoked.
    SessionsRevoked,
    /// An API token was created.
    TokenCreated,
    /// An API token was revoked.
    TokenRevoked,
    /// The effective configuration differs from the one of the previous start.
    ConfigChanged,
    /// A conversation was offered to another agent.
    TransferRequested,
    /// The target of a transfer accepted or declined it.
    TransferAnswered,
    /// A conversation was put back into the queue by its holder.
    TransferredToQueue,
    /// A conversation was handed to a chatbot flow.
    TransferredToFlow,
    /// A conversation was ended with a reason.
    ConversationEnded,
    /// An ended conversation was reopened.
    ConversationReopened,
    /// A supervisor gave a conversation to another agent.
    ConversationReassigned,
    /// A supervisor set an agent's presence.
    PresenceSetBySupervisor,
    /// An agent's capacity override changed.
    CapacityChanged,
    /// The default capacity, transfer timeout or end reasons changed.
    DeskSettingsChanged,
    /// A channel was configured.
    ChannelCreated,
    /// A channel's settings or token changed.
    ChannelUpdated,
    /// A shared canned response was created, changed or deleted.
    CannedChanged,
    /// An admin sent a dead-lettered outbound message again.
    DeliveryRetried,
    /// An admin dropped a dead-lettered outbound message for good.
    DeliveryDiscarded,
    /// Someone exported a conversation (its whole thread left the system).
    ConversationExported,
    /// A plugin was installed, or a newer version of it replaced the old.
    PluginInstalled,
    /// An admin enabled a plugin (or re-enabled one the breaker stopped).
    PluginEnabled,
    /// An admin disabled a plugin.
    PluginDisabled,
    /// The circuit breaker disabled a plugin that kept failing.
    PluginTripped,
    /// An admin removed a plugin and its stored data.
    PluginRemoved,
    /// A shop integration was created, changed or deleted.
    ShopConfigured,
    /// A chatbot flow was created, changed or deleted.
    FlowConfigured,
    /// A chatbot flow handed its conversation to the queue (or gave up).
    FlowHandedOff,
    /// A chatbot flow ended its conversation.
    FlowEnded,
}

impl AuditAction {
    /// Every action, for documentation and filters.
    pub const ALL: [AuditAction; 40] = [
        AuditAction::LoginSucceeded,
        AuditAction::LoginFailed,
        AuditAction::Logout,
        AuditAction::PasswordChanged,
        AuditAction::PasswordChangeFailed,
        AuditAction::PasswordReset,
        AuditAction::UserCreated,
        AuditAction::UserRoleChanged,
        AuditAction::UserRenamed,
        AuditAction::UserDisabled,
        AuditAction::UserEnabled,
        AuditAction::SessionsRevoked,
        AuditAction::TokenCreated,
        AuditAction::TokenRevoked,
        AuditAction::ConfigChanged,
        AuditAction::TransferRequested,
        AuditAction::TransferAnswered,
        AuditAction::TransferredToQueue,
        AuditAction::TransferredToFlow,
        AuditAction::ConversationEnded,
        AuditAction::ConversationReopened,
        AuditAction::ConversationReassigned,
        AuditAction::PresenceSetBySupervisor,
        AuditAction::CapacityChanged,
        AuditAction::DeskSettingsChanged,
        AuditAction::ChannelCreated,
        AuditAction::ChannelUpdated,
        AuditAction::CannedChanged,
        AuditAction::DeliveryRetried,
        AuditAction::DeliveryDiscarded,
        AuditAction::ConversationExported,
        AuditAction::PluginInstalled,
        AuditAction::PluginEnabled,
        AuditAction::PluginDisabled,
        AuditAction::PluginTripped,
        AuditAction::PluginRemoved,
        AuditAction::ShopConfigured,
        AuditAction::FlowConfigured,
        AuditAction::FlowHandedOff,
        AuditAction::FlowEnded,
    ];

    /// The stored, stable code: `area.event`.
    #[must_use]
    pub fn code(self) -> &'static str {
        match self {
            AuditAction::LoginSucceeded => "auth.login_succeeded",
            AuditAction::LoginFailed => "auth.login_failed",
            AuditAction::Logout => "auth.logout",
            AuditAction::PasswordChanged => "auth.password_changed",
            AuditAction::PasswordChangeFailed => "auth.password_change_failed",
            AuditAction::PasswordReset => "user.password_reset",
            AuditAction::UserCreated => "user.created",
            AuditAction::UserRoleChanged => "user.role_changed",
            AuditAction::UserRenamed => "user.renamed",
            AuditAction::UserDisabled => "user.disabled",
            AuditAction::UserEnabled => "user.enabled",
            AuditAction::SessionsRevoked => "user.sessions_revoked",
            AuditAction::TokenCreated => "token.created",
            AuditAction::TokenRevoked => "token.revoked",
            AuditAction::ConfigChanged => "config.changed",
            AuditAction::TransferRequested => "conversation.transfer_requested",
            AuditAction::TransferAnswered => "conversation.transfer_answered",
            AuditAction::TransferredToQueue => "conversation.transferred_to_queue",
            AuditAction::TransferredToFlow => "conversation.transferred_to_flow",
            AuditAction::ConversationEnded => "conversation.ended",
            AuditAction::ConversationReopened => "conversation.reopened",
            AuditAction::ConversationReassigned => "conversation.reassigned",
            AuditAction::PresenceSetBySupervisor => "agent.presence_set",
            AuditAction::CapacityChanged => "agent.capacity_changed",
            AuditAction::DeskSettingsChanged => "desk.settings_changed",
            AuditAction::ChannelCreated => "channel.created",
            AuditAction::ChannelUpdated => "channel.updated",
            AuditAction::CannedChanged => "canned.changed",
            AuditAction::DeliveryRetried => "delivery.retried",
            AuditAction::DeliveryDiscarded => "delivery.discarded",
            AuditAction::ConversationExported => "conversation.exported",
            AuditAction::PluginInstalled => "plugin.installed",
            AuditAction::PluginEnabled => "plugin.enabled",
            AuditAction::PluginDisabled => "plugin.disabled",
            AuditAction::PluginTripped => "plugin.tripped",
            AuditAction::PluginRemoved => "plugin.removed",
            AuditAction::ShopConfigured => "shop.configured",
            AuditAction::FlowConfigured => "flow.configured",
            AuditAction::FlowHandedOff => "conversation.flow_handed_off",
            AuditAction::FlowEnded => "conversation.ended_by_flow",
        }
    }
}

impl fmt::Display for AuditAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// Who caused an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// A logged-in user or an API token acting for one.
    User {
        /// The user.
        id: UserId,
        /// Their login name at the time, so the record reads on its own.
        email: Email,
    },
    /// Someone who is not (yet) authenticated, e.g. a failed login.
    Anonymous,
    /// The `omnigate` command line, run by whoever has the data dir.
    Cli,
    /// The server itself (start-up checks, timers).
    System,
}

impl Actor {
    /// How the actor is shown in the log and in filters.
    #[must_use]
    pub fn label(&self) -> String {
        match self {
            Actor::User { email, .. } => email.to_string(),
            Actor::Anonymous => "anonymous".to_owned(),
            Actor::Cli => "cli".to_owned(),
            Actor::System => "system".to_owned(),
        }
    }

    /// The user behind the actor, if any.
    #[must_use]
    pub fn user_id(&self) -> Option<UserId> {
        match self {
            Actor::User { id, .. } => Some(*id),
            _ => None,
        }
    }
}

/// One event to append to the audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent {
    /// Who.
    pub actor: Actor,
    /// What.
    pub action: AuditAction,
    /// To what, e.g. `user:42` or the e-mail a failed login tried.
    pub target: Option<String>,
    /// From where: the client address, or `cli`.
    pub source: Option<String>,
    /// Details as a JSON object in text form (e.g. the old and new role).
    pub detail: String,
}

impl AuditEvent {
    /// An event with no target, source or detail yet.
    #[must_use]
    pub fn new(actor: Actor, action: AuditAction) -> AuditEvent {
        AuditEvent {
            actor,
            action,
            target: None,
            source: None,
            detail: "{}".to_owned(),
        }
    }

    /// Names what the event was about.
    #[must_use]
    pub fn target(mut self, target: impl Into<String>) -> AuditEvent {
        self.target = Some(target.into());
        self
    }

    /// Names where the request came from.
    #[must_use]
    pub fn source(mut self, source: Option<String>) -> AuditEvent {
        self.source = source;
        self
    }

    /// Attaches details, already rendered as a JSON object.
    #[must_use]
    pub fn detail(mut self, detail_json: String) -> AuditEvent {
        self.detail = detail_json;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn action_codes_are_unique() {
        let codes: HashSet<_> = AuditAction::ALL.iter().map(|a| a.code()).collect();
        assert_eq!(codes.len(), AuditAction::ALL.len());
    }
}
