//! The desk: who holds which conversation, who waits in the queue, and the
//! rules that move conversations between them (PRODUCT.md rules 1 to 6).
//!
//! [`Desk::apply`] takes a [`Command`] and the current time and returns the
//! [`Event`]s that happened, or the [`RuleError`] that refused the command.
//! It is a pure state machine: no I/O, no clock of its own. The store keeps
//! the conversations; the API turns requests into commands and events into
//! live pushes and audit records.

mod desk;
#[cfg(test)]
mod tests;

pub use desk::{AgentView, Desk, DeskSettings};

use std::fmt;

use crate::time::Timestamp;
use crate::user::UserId;

/// A conversation's stable identifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ConversationId(pub u64);

impl fmt::Display for ConversationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// An agent's availability, set by the agent (or a supervisor).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Presence {
    /// Takes conversations from the queue and transfers.
    Online,
    /// Keeps what they hold, gets nothing new.
    Break,
    /// Keeps what they hold, gets nothing new.
    Offline,
}

impl Presence {
    /// The name used in the API.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Presence::Online => "online",
            Presence::Break => "break",
            Presence::Offline => "offline",
        }
    }
}

/// Where a conversation is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// A chatbot flow handles it.
    InFlow {
        /// The flow's name.
        flow: String,
    },
    /// Waiting for an agent since `since`.
    Queued {
        /// When it (last) entered the queue; the queue is ordered by this.
        since: Timestamp,
    },
    /// An agent holds it.
    Assigned {
        /// The agent.
        agent: UserId,
    },
    /// Its holder offered it to another agent, who has not answered yet.
    /// The holder keeps it until the target accepts.
    TransferPending {
        /// The holder.
        from: UserId,
        /// The agent asked to take it.
        to: UserId,
        /// The holder's note for the target.
        note: Option<String>,
        /// When the transfer was requested (for the timeout).
        requested_at: Timestamp,
    },
    /// Ended with a reason; read-only until reopened.
    Ended {
        /// The end reason, from the configured list.
        reason: String,
        /// When.
        at: Timestamp,
    },
}

impl Status {
    /// The agent who holds the conversation (counts towards their load).
    #[must_use]
    pub fn holder(&self) -> Option<UserId> {
        match self {
            Status::Assigned { agent } => Some(*agent),
            Status::TransferPending { from, .. } => Some(*from),
            _ => None,
        }
    }

    /// A short name for messages.
    #[must_use]
    pub fn name(&self) -> &'static str {
        match self {
            Status::InFlow { .. } => "in a flow",
            Status::Queued { .. } => "queued",
            Status::Assigned { .. } => "assigned",
            Status::TransferPending { .. } => "transfer pending",
            Status::Ended { .. } => "ended",
        }
    }
}

/// How a conversation came to an agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Assignment {
    /// The queue handed it out.
    Automatic,
    /// The agent pulled it from the queue.
    Pulled,
    /// The agent accepted a transfer.
    TransferAccepted,
    /// The agent reopened it from history.
    Reopened,
    /// A supervisor reassigned it.
    Reassigned,
}

/// Why a transfer came back to its source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransferReturn {
    /// The target declined.
    Declined,
    /// The target did not answer within the transfer timeout.
    TimedOut,
    /// The target went on break or offline.
    TargetUnavailable,
}

/// What the desk is asked to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// A new conversation: into `flow` if the channel has a default flow,
    /// else into the queue (rule 1).
    Arrive {
        /// Its id, new to the desk.
        conversation: ConversationId,
        /// The channel's default flow, if any.
        flow: Option<String>,
    },
    /// A flow hands its conversation to the queue.
    HandOff {
        /// The conversation.
        conversation: ConversationId,
    },
    /// A flow ends its conversation, with a reason from the configured
    /// list like an agent's end (rule 5).
    FlowEnd {
        /// The conversation, in a flow.
        conversation: ConversationId,
        /// The end reason.
        reason: String,
    },
    /// An agent (or a supervisor for them) sets their presence.
    SetPresence {
        /// The agent.
        agent: UserId,
        /// The new presence.
        presence: Presence,
    },
    /// Sets an agent's capacity; `None` follows the default, `Some(0)` is
    /// manual pull only.
    SetCapacity {
        /// The agent.
        agent: UserId,
        /// The override.
        capacity: Option<u32>,
    },
    /// Sets the default capacity.
    SetDefaultCapacity {
        /// Conversations handed to an agent automatically.
        capacity: u32,
    },
    /// The agent takes the oldest queued conversation, beyond capacity (rule 3).
    Pull {
        /// The agent.
        agent: UserId,
    },
    /// The holder offers a conversation to another online agent (rule 4).
    RequestTransfer {
        /// The conversation.
        conversation: ConversationId,
        /// Its holder.
        from: UserId,
        /// The online agent asked to take it.
        to: UserId,
        /// A note for the target.
        note: Option<String>,
    },
    /// The target of a pending transfer accepts or declines it.
    AnswerTransfer {
        /// The conversation.
        conversation: ConversationId,
        /// The target.
        agent: UserId,
        /// Accept (true) or decline.
        accept: bool,
    },
    /// The holder puts a conversation back into the queue.
    TransferToQueue {
        /// The conversation.
        conversation: ConversationId,
        /// Its holder.
        by: UserId,
    },
    /// The holder hands a conversation to a chatbot flow.
    TransferToFlow {
        /// The conversation.
        conversation: ConversationId,
        /// Its holder.
        by: UserId,
        /// The flow.
        flow: String,
    },
    /// Ends a conversation with a reason from the configured list (rule 5).
    End {
        /// The conversation.
        conversation: ConversationId,
        /// Who ends it: its holder, or anyone with `as_supervisor`.
        by: UserId,
        /// Supervisors may end conversations they do not hold.
        as_supervisor: bool,
        /// The end reason.
        reason: String,
    },
    /// Puts an ended conversation into the agent's inbox (rule 6).
    Reopen {
        /// The conversation.
        conversation: ConversationId,
        /// The reopening agent.
        agent: UserId,
    },
    /// A supervisor gives a conversation to an online agent.
    Reassign {
        /// The conversation.
        conversation: ConversationId,
        /// The new holder.
        to: UserId,
    },
    /// Time passed: pending transfers past the timeout come back.
    Tick,
}

/// What happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The conversation entered the queue.
    Queued {
        /// The conversation.
        conversation: ConversationId,
    },
    /// The conversation entered a flow.
    EnteredFlow {
        /// The conversation.
        conversation: ConversationId,
        /// The flow.
        flow: String,
    },
    /// An agent now holds the conversation.
    Assigned {
        /// The conversation.
        conversation: ConversationId,
        /// The agent.
        agent: UserId,
        /// How.
        how: Assignment,
    },
    /// A transfer was offered.
    TransferRequested {
        /// The conversation.
        conversation: ConversationId,
        /// The holder.
        from: UserId,
        /// The target.
        to: UserId,
        /// The note.
        note: Option<String>,
    },
    /// A transfer came back to its source, who still holds the conversation.
    TransferReturned {
        /// The conversation.
        conversation: ConversationId,
        /// The source, holding it again.
        to: UserId,
        /// Why.
        why: TransferReturn,
    },
    /// The conversation ended.
    Ended {
        /// The conversation.
        conversation: ConversationId,
        /// The agent or supervisor who ended it; `None` when its flow did.
        by: Option<UserId>,
        /// The reason.
        reason: String,
    },
    /// An agent's presence changed.
    PresenceChanged {
        /// The agent.
        agent: UserId,
        /// The new presence.
        presence: Presence,
    },
}

/// Why a command was refused. Nothing changed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
    /// No conversation with that id.
    #[error("conversation {0} does not exist")]
    UnknownConversation(ConversationId),
    /// The id is taken.
    #[error("conversation {0} exists already")]
    DuplicateConversation(ConversationId),
    /// The conversation is not in a state that allows this.
    #[error("conversation {conversation} is {found}; this needs it to be {needed}")]
    WrongState {
        /// The conversation.
        conversation: ConversationId,
        /// Its state.
        found: &'static str,
        /// The state the command needs.
        needed: &'static str,
    },
    /// The caller does not hold the conversation.
    #[error("conversation {conversation} is not held by agent {agent}")]
    NotHolder {
        /// The conversation.
        conversation: ConversationId,
        /// The caller.
        agent: UserId,
    },
    /// The agent must be online (pull, transfer target, reassignment target).
    #[error("agent {0} is not online")]
    NotOnline(UserId),
    /// A transfer to oneself.
    #[error("a conversation cannot be transferred to its own holder")]
    TransferToSelf,
    /// The pending transfer is addressed to someone else.
    #[error(
        "the pending transfer of conversation {conversation} is not addressed to agent {agent}"
    )]
    NotTransferTarget {
        /// The conversation.
        conversation: ConversationId,
        /// The caller.
        agent: UserId,
    },
    /// Pull with nothing waiting.
    #[error("the queue is empty")]
    QueueEmpty,
    /// End without a reason.
    #[error("ending a conversation needs an end reason")]
    EndReasonRequired,
    /// End with a reason not in the configured list.
    #[error("`{0}` is not one of the configured end reasons")]
    UnknownEndReason(String),
}
