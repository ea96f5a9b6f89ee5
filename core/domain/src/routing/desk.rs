//! The desk's state and the rules of [`Desk::apply`].

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use super::{
    Assignment, Command, ConversationId, Event, Presence, RuleError, Status, TransferReturn,
};
use crate::time::Timestamp;
use crate::user::UserId;

/// Settings the rules depend on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeskSettings {
    /// Conversations the queue hands an agent automatically, unless the agent
    /// has an override.
    pub default_capacity: u32,
    /// A transfer unanswered this long comes back to its source.
    pub transfer_timeout: Duration,
    /// The end reasons agents choose from.
    pub end_reasons: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Agent {
    presence: Presence,
    capacity: Option<u32>,
    /// Conversations held: assigned, or offered away but not yet accepted.
    held: BTreeSet<ConversationId>,
    /// When the agent last got a conversation (or came online): the tie
    /// breaker that favours whoever has been idle longest.
    last_assigned: Timestamp,
}

/// An agent as the desk sees them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AgentView {
    /// Presence.
    pub presence: Presence,
    /// Conversations held.
    pub load: u32,
    /// Effective automatic capacity.
    pub capacity: u32,
}

/// Conversations, agents and the queue, kept consistent by [`Desk::apply`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Desk {
    settings: DeskSettings,
    agents: BTreeMap<UserId, Agent>,
    conversations: BTreeMap<ConversationId, Status>,
    /// Queued conversations, oldest first.
    queue: BTreeSet<(Timestamp, ConversationId)>,
}

impl Desk {
    /// An empty desk.
    #[must_use]
    pub fn new(settings: DeskSettings) -> Desk {
        Desk {
            settings,
            agents: BTreeMap::new(),
            conversations: BTreeMap::new(),
            queue: BTreeSet::new(),
        }
    }

    /// Where a conversation is.
    #[must_use]
    pub fn status(&self, conversation: ConversationId) -> Option<&Status> {
        self.conversations.get(&conversation)
    }

    /// An agent's presence, load and capacity; unknown agents are offline.
    #[must_use]
    pub fn agent(&self, agent: UserId) -> AgentView {
        match self.agents.get(&agent) {
            Some(a) => AgentView {
                presence: a.presence,
                load: load_of(a),
                capacity: self.capacity_of(a),
            },
            None => AgentView {
                presence: Presence::Offline,
                load: 0,
                capacity: self.settings.default_capacity,
            },
        }
    }

    /// The queue, oldest first, with the time each entered it.
    pub fn queue(&self) -> impl Iterator<Item = (ConversationId, Timestamp)> + '_ {
        self.queue.iter().map(|(since, c)| (*c, *since))
    }

    /// How many conversations wait in the queue.
    #[must_use]
    pub fn queue_len(&self) -> usize {
        self.queue.len()
    }

    /// Every conversation and its status.
    pub fn conversations(&self) -> impl Iterator<Item = (ConversationId, &Status)> {
        self.conversations.iter().map(|(c, s)| (*c, s))
    }

    /// The settings in force.
    #[must_use]
    pub fn settings(&self) -> &DeskSettings {
        &self.settings
    }

    /// Puts back a conversation as the store last saw it: at start-up, and
    /// when an ended conversation that was [forgotten](Desk::forget_ended)
    /// is reopened. Refused if the desk knows it already.
    pub fn restore(
        &mut self,
        conversation: ConversationId,
        status: Status,
        now: Timestamp,
    ) -> Result<(), RuleError> {
        if self.conversations.contains_key(&conversation) {
            return Err(RuleError::DuplicateConversation(conversation));
        }
        if let Some(holder) = status.holder() {
            self.slot(holder, now);
        }
        self.set_status(conversation, status);
        Ok(())
    }

    /// Drops an ended conversation from memory (the store keeps it), so the
    /// desk holds only live work however long the history grows. Returns
    /// whether it was dropped.
    pub fn forget_ended(&mut self, conversation: ConversationId) -> bool {
        if matches!(
            self.conversations.get(&conversation),
            Some(Status::Ended { .. })
        ) {
            self.conversations.remove(&conversation);
            true
        } else {
            false
        }
    }

    /// The conversations an agent holds.
    pub fn held_by(&self, agent: UserId) -> impl Iterator<Item = ConversationId> + '_ {
        self.agents
            .get(&agent)
            .into_iter()
            .flat_map(|a| a.held.iter().copied())
    }

    /// Every agent the desk knows, with presence, load and capacity.
    pub fn agents(&self) -> impl Iterator<Item = (UserId, AgentView)> + '_ {
        self.agents.keys().map(|id| (*id, self.agent(*id)))
    }

    /// Replaces the settings (capacity, timeout, end reasons) and hands out
    /// queued conversations if a higher default capacity made room.
    pub fn reconfigure(&mut self, settings: DeskSettings, now: Timestamp) -> Vec<Event> {
        self.settings = settings;
        self.drain_queue(now)
    }

    /// Hands out queued conversations if anyone has room; for start-up,
    /// after [`Desk::restore`].
    pub fn drain_queue(&mut self, now: Timestamp) -> Vec<Event> {
        let mut events = Vec::new();
        self.drain(now, &mut events);
        events
    }

    /// Applies a command at `now`: either every change and the events that
    /// describe them, or an error and no change at all.
    pub fn apply(&mut self, command: Command, now: Timestamp) -> Result<Vec<Event>, RuleError> {
        let mut events = Vec::new();
        match command {
            Command::Arrive { conversation, flow } => {
                if self.conversations.contains_key(&conversation) {
                    return Err(RuleError::DuplicateConversation(conversation));
                }
                match flow {
                    Some(flow) => self.enter_flow(conversation, flow, &mut events),
                    None => self.enqueue(conversation, now, &mut events),
                }
            }
            Command::HandOff { conversation } => {
                self.expect(conversation, "in a flow", |s| {
                    matches!(s, Status::InFlow { .. })
                })?;
                self.enqueue(conversation, now, &mut events);
            }
            Command::SetPresence { agent, presence } => {
                let slot = self.slot(agent, now);
                if slot.presence != presence {
                    if presence == Presence::Online {
                        slot.last_assigned = now;
                    }
                    slot.presence = presence;
                    events.push(Event::PresenceChanged { agent, presence });
                    if presence != Presence::Online {
                        self.return_transfers_to_unavailable(agent, &mut events);
                    }
                }
            }
            Command::SetCapacity { agent, capacity } => {
                self.slot(agent, now).capacity = capacity;
            }
            Command::SetDefaultCapacity { capacity } => {
                self.settings.default_capacity = capacity;
            }
            Command::Pull { agent } => {
                self.expect_online(agent)?;
                let &(_, conversation) = self.queue.first().ok_or(RuleError::QueueEmpty)?;
                self.assign(conversation, agent, Assignment::Pulled, now, &mut events);
            }
            Command::RequestTransfer {
                conversation,
                from,
                to,
                note,
            } => {
                self.expect(conversation, "assigned", |s| {
                    matches!(s, Status::Assigned { .. })
                })?;
                self.expect_holder(conversation, from)?;
                if from == to {
                    return Err(RuleError::TransferToSelf);
                }
                self.expect_online(to)?;
                self.set_status(
                    conversation,
                    Status::TransferPending {
                        from,
                        to,
                        note: note.clone(),
                        requested_at: now,
                    },
                );
                events.push(Event::TransferRequested {
                    conversation,
                    from,
                    to,
                    note,
                });
            }
            Command::AnswerTransfer {
                conversation,
                agent,
                accept,
            } => {
                self.expect(conversation, "transfer pending", |s| {
                    matches!(s, Status::TransferPending { .. })
                })?;
                let Some(Status::TransferPending { from, to, .. }) =
                    self.conversations.get(&conversation).cloned()
                else {
                    unreachable!("checked just above");
                };
                if to != agent {
                    return Err(RuleError::NotTransferTarget {
                        conversation,
                        agent,
                    });
                }
                if accept {
                    self.assign(
                        conversation,
                        agent,
                        Assignment::TransferAccepted,
                        now,
                        &mut events,
                    );
                } else {
                    self.return_transfer(conversation, from, TransferReturn::Declined, &mut events);
                }
            }
            Command::TransferToQueue { conversation, by } => {
                self.expect(conversation, "assigned", |s| {
                    matches!(s, Status::Assigned { .. })
                })?;
                self.expect_holder(conversation, by)?;
                self.enqueue(conversation, now, &mut events);
            }
            Command::TransferToFlow {
                conversation,
                by,
                flow,
            } => {
                self.expect(conversation, "assigned", |s| {
                    matches!(s, Status::Assigned { .. })
                })?;
                self.expect_holder(conversation, by)?;
                self.enter_flow(conversation, flow, &mut events);
            }
            Command::FlowEnd {
                conversation,
                reason,
            } => {
                self.check_end_reason(&reason)?;
                self.expect(conversation, "in a flow", |s| {
                    matches!(s, Status::InFlow { .. })
                })?;
                self.set_status(
                    conversation,
                    Status::Ended {
                        reason: reason.clone(),
                        at: now,
                    },
                );
                events.push(Event::Ended {
                    conversation,
                    by: None,
                    reason,
                });
            }
            Command::End {
                conversation,
                by,
                as_supervisor,
                reason,
            } => {
                self.check_end_reason(&reason)?;
                if as_supervisor {
                    self.expect(conversation, "not ended", |s| {
                        !matches!(s, Status::Ended { .. })
                    })?;
                } else {
                    self.expect(conversation, "assigned", |s| {
                        matches!(s, Status::Assigned { .. })
                    })?;
                    self.expect_holder(conversation, by)?;
                }
                self.set_status(
                    conversation,
                    Status::Ended {
                        reason: reason.clone(),
                        at: now,
                    },
                );
                events.push(Event::Ended {
                    conversation,
                    by: Some(by),
                    reason,
                });
            }
            Command::Reopen {
                conversation,
                agent,
            } => {
                self.expect(conversation, "ended", |s| matches!(s, Status::Ended { .. }))?;
                self.slot(agent, now);
                self.assign(conversation, agent, Assignment::Reopened, now, &mut events);
            }
            Command::Reassign { conversation, to } => {
                // A supervisor may also take a conversation out of a flow
                // (a bot that cannot help must not hold a customer forever).
                self.expect(
                    conversation,
                    "in a flow, queued, assigned or transfer pending",
                    |s| !matches!(s, Status::Ended { .. }),
                )?;
                self.expect_online(to)?;
                self.assign(conversation, to, Assignment::Reassigned, now, &mut events);
            }
            Command::Tick => {
                let timeout = self.settings.transfer_timeout;
                let overdue: Vec<(ConversationId, UserId)> = self
                    .conversations
                    .iter()
                    .filter_map(|(c, s)| match s {
                        Status::TransferPending {
                            from, requested_at, ..
                        } if now >= requested_at.plus(timeout) => Some((*c, *from)),
                        _ => None,
                    })
                    .collect();
                for (conversation, from) in overdue {
                    self.return_transfer(conversation, from, TransferReturn::TimedOut, &mut events);
                }
            }
        }
        self.drain(now, &mut events);
        Ok(events)
    }

    /// Hands queued conversations, oldest first, to online agents below
    /// capacity, least loaded first, ties to whoever waited longest (rule 2).
    fn drain(&mut self, now: Timestamp, events: &mut Vec<Event>) {
        while let Some(&(_, conversation)) = self.queue.first() {
            let Some(agent) = self.next_agent() else {
                return;
            };
            self.assign(conversation, agent, Assignment::Automatic, now, events);
        }
    }

    /// The agent the queue serves next, if any may take more.
    ///
    /// Linear in the number of agents; fine for hundreds of agents per desk.
    fn next_agent(&self) -> Option<UserId> {
        self.agents
            .iter()
            .filter(|(_, a)| a.presence == Presence::Online && load_of(a) < self.capacity_of(a))
            .min_by_key(|(id, a)| (load_of(a), a.last_assigned, **id))
            .map(|(id, _)| *id)
    }

    fn capacity_of(&self, agent: &Agent) -> u32 {
        agent.capacity.unwrap_or(self.settings.default_capacity)
    }

    fn slot(&mut self, agent: UserId, now: Timestamp) -> &mut Agent {
        self.agents.entry(agent).or_insert_with(|| Agent {
            presence: Presence::Offline,
            capacity: None,
            held: BTreeSet::new(),
            last_assigned: now,
        })
    }

    fn assign(
        &mut self,
        conversation: ConversationId,
        agent: UserId,
        how: Assignment,
        now: Timestamp,
        events: &mut Vec<Event>,
    ) {
        self.slot(agent, now).last_assigned = now;
        self.set_status(conversation, Status::Assigned { agent });
        events.push(Event::Assigned {
            conversation,
            agent,
            how,
        });
    }

    fn enqueue(&mut self, conversation: ConversationId, now: Timestamp, events: &mut Vec<Event>) {
        self.set_status(conversation, Status::Queued { since: now });
        events.push(Event::Queued { conversation });
    }

    fn enter_flow(&mut self, conversation: ConversationId, flow: String, events: &mut Vec<Event>) {
        self.set_status(conversation, Status::InFlow { flow: flow.clone() });
        events.push(Event::EnteredFlow { conversation, flow });
    }

    fn return_transfer(
        &mut self,
        conversation: ConversationId,
        from: UserId,
        why: TransferReturn,
        events: &mut Vec<Event>,
    ) {
        self.set_status(conversation, Status::Assigned { agent: from });
        events.push(Event::TransferReturned {
            conversation,
            to: from,
            why,
        });
    }

    fn return_transfers_to_unavailable(&mut self, agent: UserId, events: &mut Vec<Event>) {
        let offered: Vec<(ConversationId, UserId)> = self
            .conversations
            .iter()
            .filter_map(|(c, s)| match s {
                Status::TransferPending { from, to, .. } if *to == agent => Some((*c, *from)),
                _ => None,
            })
            .collect();
        for (conversation, from) in offered {
            self.return_transfer(
                conversation,
                from,
                TransferReturn::TargetUnavailable,
                events,
            );
        }
    }

    /// The one place a status changes, so the queue and the agents' held
    /// sets always agree with the conversations.
    fn set_status(&mut self, conversation: ConversationId, status: Status) {
        if let Some(old) = self.conversations.get(&conversation) {
            if let Status::Queued { since } = old {
                self.queue.remove(&(*since, conversation));
            }
            if let Some(holder) = old.holder()
                && let Some(agent) = self.agents.get_mut(&holder)
            {
                agent.held.remove(&conversation);
            }
        }
        if let Status::Queued { since } = &status {
            self.queue.insert((*since, conversation));
        }
        if let Some(holder) = status.holder()
            && let Some(agent) = self.agents.get_mut(&holder)
        {
            agent.held.insert(conversation);
        }
        self.conversations.insert(conversation, status);
    }

    /// Rule 5: an end names a reason from the configured list.
    fn check_end_reason(&self, reason: &str) -> Result<(), RuleError> {
        if reason.trim().is_empty() {
            return Err(RuleError::EndReasonRequired);
        }
        if !self.settings.end_reasons.iter().any(|r| r == reason) {
            return Err(RuleError::UnknownEndReason(reason.to_owned()));
        }
        Ok(())
    }

    fn expect(
        &self,
        conversation: ConversationId,
        needed: &'static str,
        ok: impl Fn(&Status) -> bool,
    ) -> Result<(), RuleError> {
        let status = self
            .conversations
            .get(&conversation)
            .ok_or(RuleError::UnknownConversation(conversation))?;
        if ok(status) {
            Ok(())
        } else {
            Err(RuleError::WrongState {
                conversation,
                found: status.name(),
                needed,
            })
        }
    }

    fn expect_holder(&self, conversation: ConversationId, agent: UserId) -> Result<(), RuleError> {
        let holder = self
            .conversations
            .get(&conversation)
            .and_then(Status::holder);
        if holder == Some(agent) {
            Ok(())
        } else {
            Err(RuleError::NotHolder {
                conversation,
                agent,
            })
        }
    }

    fn expect_online(&self, agent: UserId) -> Result<(), RuleError> {
        match self.agents.get(&agent) {
            Some(a) if a.presence == Presence::Online => Ok(()),
            _ => Err(RuleError::NotOnline(agent)),
        }
    }
}

fn load_of(agent: &Agent) -> u32 {
    u32::try_from(agent.held.len()).unwrap_or(u32::MAX)
}
