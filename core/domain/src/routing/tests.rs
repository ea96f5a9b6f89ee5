//! The rules, one scenario each, and property tests over random command
//! sequences.

use std::time::Duration;

use proptest::prelude::*;

use super::*;
use crate::time::Timestamp;
use crate::user::UserId;

const ANN: UserId = UserId(1);
const BOB: UserId = UserId(2);
const CEM: UserId = UserId(3);

fn c(n: u64) -> ConversationId {
    ConversationId(n)
}

fn at(secs: i64) -> Timestamp {
    Timestamp(secs * 1000)
}

fn settings() -> DeskSettings {
    DeskSettings {
        default_capacity: 2,
        transfer_timeout: Duration::from_secs(60),
        end_reasons: vec!["solved".into(), "spam".into()],
    }
}

/// A desk and a clock that moves one second per command.
struct Check {
    desk: Desk,
    now: i64,
}

impl Check {
    fn new() -> Check {
        Check {
            desk: Desk::new(settings()),
            now: 0,
        }
    }

    fn run(&mut self, command: Command) -> Result<Vec<Event>, RuleError> {
        self.now += 1;
        self.desk.apply(command, at(self.now))
    }

    fn ok(&mut self, command: Command) -> Vec<Event> {
        let described = format!("{command:?}");
        self.run(command)
            .unwrap_or_else(|e| panic!("{described}: {e}"))
    }

    fn online(&mut self, agent: UserId) {
        self.ok(Command::SetPresence {
            agent,
            presence: Presence::Online,
        });
    }

    fn arrive(&mut self, n: u64) -> Vec<Event> {
        self.ok(Command::Arrive {
            conversation: c(n),
            flow: None,
        })
    }

    fn holder(&self, n: u64) -> Option<UserId> {
        self.desk.status(c(n)).and_then(Status::holder)
    }
}

fn assigned(events: &[Event]) -> Vec<(ConversationId, UserId, Assignment)> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Assigned {
                conversation,
                agent,
                how,
            } => Some((*conversation, *agent, *how)),
            _ => None,
        })
        .collect()
}

#[test]
fn rule_1_a_default_flow_takes_the_conversation_otherwise_the_queue() {
    let mut t = Check::new();
    t.ok(Command::Arrive {
        conversation: c(1),
        flow: Some("welcome".into()),
    });
    assert_eq!(
        t.desk.status(c(1)),
        Some(&Status::InFlow {
            flow: "welcome".into()
        })
    );
    t.arrive(2);
    assert!(matches!(t.desk.status(c(2)), Some(Status::Queued { .. })));
    // The flow hands over to the queue, and an online agent gets it.
    t.online(ANN);
    t.ok(Command::HandOff { conversation: c(1) });
    assert_eq!(t.holder(1), Some(ANN));
}

#[test]
fn a_flow_ends_its_conversation_only_with_a_configured_reason() {
    let mut t = Check::new();
    t.ok(Command::Arrive {
        conversation: c(1),
        flow: Some("welcome".into()),
    });
    assert_eq!(
        t.run(Command::FlowEnd {
            conversation: c(1),
            reason: "bored".into()
        }),
        Err(RuleError::UnknownEndReason("bored".into()))
    );
    let events = t.ok(Command::FlowEnd {
        conversation: c(1),
        reason: "solved".into(),
    });
    assert_eq!(
        events,
        vec![Event::Ended {
            conversation: c(1),
            by: None,
            reason: "solved".into()
        }]
    );
    assert!(matches!(t.desk.status(c(1)), Some(Status::Ended { .. })));
    // Only a conversation in a flow: an agent's is ended by the agent.
    t.online(ANN);
    t.arrive(2);
    assert!(
        t.run(Command::FlowEnd {
            conversation: c(2),
            reason: "solved".into()
        })
        .is_err()
    );
}

#[test]
fn rule_2_oldest_first_to_the_least_loaded_online_agent_below_capacity() {
    let mut t = Check::new();
    for n in 1..=5 {
        t.arrive(n);
    }
    t.online(ANN);
    // Ann takes the two oldest (capacity 2).
    assert_eq!(t.holder(1), Some(ANN));
    assert_eq!(t.holder(2), Some(ANN));
    assert_eq!(t.holder(3), None);
    t.online(BOB);
    assert_eq!(t.holder(3), Some(BOB));
    assert_eq!(t.holder(4), Some(BOB));
    // Ann ends one: the oldest waiting goes to her, the least loaded.
    t.ok(Command::End {
        conversation: c(1),
        by: ANN,
        as_supervisor: false,
        reason: "solved".into(),
    });
    assert_eq!(t.holder(5), Some(ANN));
}

#[test]
fn rule_2_ties_go_to_the_agent_idle_longest_and_break_gets_nothing() {
    let mut t = Check::new();
    t.online(ANN);
    t.online(BOB);
    t.arrive(1);
    assert_eq!(t.holder(1), Some(ANN), "both idle, Ann came online first");
    t.ok(Command::End {
        conversation: c(1),
        by: ANN,
        as_supervisor: false,
        reason: "solved".into(),
    });
    t.arrive(2);
    assert_eq!(
        t.holder(2),
        Some(BOB),
        "both at zero load, Bob has waited longer"
    );
    t.ok(Command::SetPresence {
        agent: ANN,
        presence: Presence::Break,
    });
    t.ok(Command::SetPresence {
        agent: BOB,
        presence: Presence::Offline,
    });
    t.arrive(3);
    assert_eq!(t.holder(3), None, "nobody online");
    assert_eq!(
        t.holder(2),
        Some(BOB),
        "an offline agent keeps what they hold"
    );
}

#[test]
fn rule_2_capacity_zero_means_manual_only_and_raising_it_drains_the_queue() {
    let mut t = Check::new();
    t.ok(Command::SetCapacity {
        agent: ANN,
        capacity: Some(0),
    });
    t.online(ANN);
    t.arrive(1);
    assert_eq!(t.holder(1), None);
    t.ok(Command::SetCapacity {
        agent: ANN,
        capacity: Some(1),
    });
    assert_eq!(t.holder(1), Some(ANN));
}

#[test]
fn rule_3_pull_takes_the_oldest_beyond_capacity() {
    let mut t = Check::new();
    t.online(ANN);
    for n in 1..=4 {
        t.arrive(n);
    }
    assert_eq!(t.desk.agent(ANN).load, 2);
    let events = t.ok(Command::Pull { agent: ANN });
    assert_eq!(assigned(&events), vec![(c(3), ANN, Assignment::Pulled)]);
    assert_eq!(t.desk.agent(ANN).load, 3);
    t.ok(Command::SetPresence {
        agent: BOB,
        presence: Presence::Break,
    });
    assert_eq!(
        t.run(Command::Pull { agent: BOB }),
        Err(RuleError::NotOnline(BOB))
    );
}

#[test]
fn rule_4_a_transfer_completes_only_when_accepted_and_declines_come_back() {
    let mut t = Check::new();
    t.online(ANN);
    t.arrive(1);
    t.online(BOB);
    t.ok(Command::RequestTransfer {
        conversation: c(1),
        from: ANN,
        to: BOB,
        note: Some("VIP".into()),
    });
    assert_eq!(t.holder(1), Some(ANN), "the source keeps it until accepted");
    assert_eq!(
        t.run(Command::AnswerTransfer {
            conversation: c(1),
            agent: CEM,
            accept: true
        }),
        Err(RuleError::NotTransferTarget {
            conversation: c(1),
            agent: CEM
        })
    );
    let events = t.ok(Command::AnswerTransfer {
        conversation: c(1),
        agent: BOB,
        accept: false,
    });
    assert!(events.contains(&Event::TransferReturned {
        conversation: c(1),
        to: ANN,
        why: TransferReturn::Declined
    }));
    assert_eq!(t.holder(1), Some(ANN));
    t.ok(Command::RequestTransfer {
        conversation: c(1),
        from: ANN,
        to: BOB,
        note: None,
    });
    let events = t.ok(Command::AnswerTransfer {
        conversation: c(1),
        agent: BOB,
        accept: true,
    });
    assert_eq!(
        assigned(&events),
        vec![(c(1), BOB, Assignment::TransferAccepted)]
    );
}

#[test]
fn rule_4_transfers_go_only_to_online_agents_and_time_out() {
    let mut t = Check::new();
    t.online(ANN);
    t.arrive(1);
    t.ok(Command::SetPresence {
        agent: BOB,
        presence: Presence::Break,
    });
    assert_eq!(
        t.run(Command::RequestTransfer {
            conversation: c(1),
            from: ANN,
            to: BOB,
            note: None
        }),
        Err(RuleError::NotOnline(BOB))
    );
    assert_eq!(
        t.run(Command::RequestTransfer {
            conversation: c(1),
            from: ANN,
            to: ANN,
            note: None
        }),
        Err(RuleError::TransferToSelf)
    );
    t.online(CEM);
    t.ok(Command::RequestTransfer {
        conversation: c(1),
        from: ANN,
        to: CEM,
        note: None,
    });
    assert!(
        t.desk
            .apply(Command::Tick, at(t.now + 59))
            .unwrap()
            .is_empty()
    );
    let events = t.desk.apply(Command::Tick, at(t.now + 60)).unwrap();
    assert!(events.contains(&Event::TransferReturned {
        conversation: c(1),
        to: ANN,
        why: TransferReturn::TimedOut
    }));
}

#[test]
fn rule_4_a_target_that_leaves_gives_the_transfer_back() {
    let mut t = Check::new();
    t.online(ANN);
    t.online(BOB);
    t.arrive(1);
    let holder = t.holder(1).unwrap();
    let other = if holder == ANN { BOB } else { ANN };
    t.ok(Command::RequestTransfer {
        conversation: c(1),
        from: holder,
        to: other,
        note: None,
    });
    let events = t.ok(Command::SetPresence {
        agent: other,
        presence: Presence::Offline,
    });
    assert!(events.contains(&Event::TransferReturned {
        conversation: c(1),
        to: holder,
        why: TransferReturn::TargetUnavailable
    }));
}

#[test]
fn rule_5_ending_needs_a_configured_reason_and_frees_capacity() {
    let mut t = Check::new();
    t.online(ANN);
    t.arrive(1);
    let end = |reason: &str| Command::End {
        conversation: c(1),
        by: ANN,
        as_supervisor: false,
        reason: reason.into(),
    };
    assert_eq!(t.run(end("")), Err(RuleError::EndReasonRequired));
    assert_eq!(
        t.run(end("bored")),
        Err(RuleError::UnknownEndReason("bored".into()))
    );
    assert_eq!(
        t.run(Command::End {
            conversation: c(1),
            by: BOB,
            as_supervisor: false,
            reason: "solved".into()
        }),
        Err(RuleError::NotHolder {
            conversation: c(1),
            agent: BOB
        })
    );
    t.ok(end("solved"));
    assert!(
        matches!(t.desk.status(c(1)), Some(Status::Ended { reason, .. }) if reason == "solved")
    );
    assert_eq!(t.desk.agent(ANN).load, 0);
    assert!(matches!(
        t.run(end("solved")),
        Err(RuleError::WrongState { .. })
    ));
    // A supervisor may end a conversation nobody holds (spam in the queue).
    t.ok(Command::SetPresence {
        agent: ANN,
        presence: Presence::Break,
    });
    t.arrive(2);
    t.ok(Command::End {
        conversation: c(2),
        by: CEM,
        as_supervisor: true,
        reason: "spam".into(),
    });
    assert_eq!(t.desk.queue().count(), 0);
}

#[test]
fn rule_6_reopen_puts_it_in_the_reopening_agents_inbox() {
    let mut t = Check::new();
    t.online(ANN);
    t.arrive(1);
    t.ok(Command::End {
        conversation: c(1),
        by: ANN,
        as_supervisor: false,
        reason: "solved".into(),
    });
    let events = t.ok(Command::Reopen {
        conversation: c(1),
        agent: BOB,
    });
    assert_eq!(assigned(&events), vec![(c(1), BOB, Assignment::Reopened)]);
    assert_eq!(t.desk.agent(BOB).load, 1);
}

#[test]
fn transfer_to_the_queue_or_a_flow_and_supervisor_reassignment() {
    let mut t = Check::new();
    t.online(ANN);
    t.arrive(1);
    t.arrive(2);
    t.ok(Command::TransferToFlow {
        conversation: c(1),
        by: ANN,
        flow: "survey".into(),
    });
    assert_eq!(
        t.desk.status(c(1)),
        Some(&Status::InFlow {
            flow: "survey".into()
        })
    );
    t.ok(Command::SetCapacity {
        agent: ANN,
        capacity: Some(0),
    });
    t.ok(Command::TransferToQueue {
        conversation: c(2),
        by: ANN,
    });
    assert!(matches!(t.desk.status(c(2)), Some(Status::Queued { .. })));
    assert_eq!(
        t.run(Command::Reassign {
            conversation: c(2),
            to: BOB
        }),
        Err(RuleError::NotOnline(BOB))
    );
    t.online(BOB);
    // Bob came online and the queue handed it to him already.
    assert_eq!(t.holder(2), Some(BOB));
    let events = t.ok(Command::Reassign {
        conversation: c(2),
        to: ANN,
    });
    assert_eq!(assigned(&events), vec![(c(2), ANN, Assignment::Reassigned)]);
    // A supervisor takes the conversation out of the flow.
    let events = t.ok(Command::Reassign {
        conversation: c(1),
        to: BOB,
    });
    assert_eq!(assigned(&events), vec![(c(1), BOB, Assignment::Reassigned)]);
}

#[test]
fn refused_commands_change_nothing() {
    let mut t = Check::new();
    t.online(ANN);
    t.arrive(1);
    let before = t.desk.clone();
    assert!(
        t.run(Command::Arrive {
            conversation: c(1),
            flow: None
        })
        .is_err()
    );
    assert!(t.run(Command::HandOff { conversation: c(1) }).is_err());
    assert!(
        t.run(Command::AnswerTransfer {
            conversation: c(1),
            agent: ANN,
            accept: true
        })
        .is_err()
    );
    assert!(
        t.run(Command::Reopen {
            conversation: c(9),
            agent: ANN
        })
        .is_err()
    );
    assert_eq!(t.desk, before);
}

// ---- properties over random command sequences ----

fn agent() -> impl Strategy<Value = UserId> {
    (1u64..=4).prop_map(UserId)
}

fn conversation() -> impl Strategy<Value = ConversationId> {
    (1u64..=12).prop_map(ConversationId)
}

fn presence() -> impl Strategy<Value = Presence> {
    prop_oneof![
        Just(Presence::Online),
        Just(Presence::Break),
        Just(Presence::Offline)
    ]
}

fn command() -> impl Strategy<Value = Command> {
    prop_oneof![
        3 => (conversation(), proptest::option::weighted(0.2, Just("bot".to_owned())))
            .prop_map(|(conversation, flow)| Command::Arrive { conversation, flow }),
        1 => conversation().prop_map(|conversation| Command::HandOff { conversation }),
        1 => conversation().prop_map(|conversation| Command::FlowEnd { conversation, reason: "solved".into() }),
        3 => (agent(), presence()).prop_map(|(agent, presence)| Command::SetPresence { agent, presence }),
        1 => (agent(), proptest::option::of(0u32..4)).prop_map(|(agent, capacity)| Command::SetCapacity { agent, capacity }),
        1 => (0u32..4).prop_map(|capacity| Command::SetDefaultCapacity { capacity }),
        2 => agent().prop_map(|agent| Command::Pull { agent }),
        2 => (conversation(), agent(), agent()).prop_map(|(conversation, from, to)| Command::RequestTransfer { conversation, from, to, note: None }),
        2 => (conversation(), agent(), any::<bool>()).prop_map(|(conversation, agent, accept)| Command::AnswerTransfer { conversation, agent, accept }),
        1 => (conversation(), agent()).prop_map(|(conversation, by)| Command::TransferToQueue { conversation, by }),
        1 => (conversation(), agent()).prop_map(|(conversation, by)| Command::TransferToFlow { conversation, by, flow: "bot".into() }),
        2 => (conversation(), agent(), any::<bool>()).prop_map(|(conversation, by, as_supervisor)| Command::End { conversation, by, as_supervisor, reason: "solved".into() }),
        1 => (conversation(), agent()).prop_map(|(conversation, agent)| Command::Reopen { conversation, agent }),
        1 => (conversation(), agent()).prop_map(|(conversation, to)| Command::Reassign { conversation, to }),
        1 => Just(Command::Tick),
    ]
}

/// Replays the events of one command against the queue as it was before,
/// checking the order of assignments, and checks every agent the queue
/// served against the desk after the command.
fn check_assignments(before: &Desk, after: &Desk, events: &[Event]) -> Result<(), TestCaseError> {
    let mut queue: Vec<ConversationId> = before.queue().map(|(c, _)| c).collect();
    let mut served = std::collections::BTreeSet::new();
    for event in events {
        match event {
            Event::Queued { conversation } => queue.push(*conversation),
            Event::Ended { conversation, .. } => queue.retain(|c| c != conversation),
            Event::Assigned {
                conversation,
                agent,
                how,
            } => {
                let was_queued = queue.iter().position(|c| c == conversation);
                if matches!(how, Assignment::Automatic | Assignment::Pulled) {
                    // Oldest first: the head of the queue, never a newer one.
                    prop_assert_eq!(was_queued, Some(0), "{:?} skipped the queue head", event);
                }
                if *how == Assignment::Automatic {
                    served.insert(*agent);
                }
                if let Some(i) = was_queued {
                    queue.remove(i);
                }
            }
            _ => {}
        }
    }
    // The queue runs last in a command and only adds load, so an agent it
    // served was below capacity at every step exactly when their final load
    // is within capacity.
    for agent in served {
        let view = after.agent(agent);
        prop_assert_eq!(
            view.presence,
            Presence::Online,
            "agent {} got work while not online",
            agent
        );
        prop_assert!(
            view.load <= view.capacity,
            "agent {} was given work beyond capacity: {:?}",
            agent,
            view
        );
    }
    Ok(())
}

/// Invariants that hold after every command.
fn check_desk(
    desk: &Desk,
    arrived: &std::collections::BTreeSet<ConversationId>,
) -> Result<(), TestCaseError> {
    // No conversation is lost, none appears from nowhere.
    let known: std::collections::BTreeSet<ConversationId> =
        desk.conversations().map(|(c, _)| c).collect();
    prop_assert_eq!(&known, arrived);
    // The queue is exactly the queued conversations.
    let queued: std::collections::BTreeSet<ConversationId> = desk
        .conversations()
        .filter(|(_, s)| matches!(s, Status::Queued { .. }))
        .map(|(c, _)| c)
        .collect();
    let queue: std::collections::BTreeSet<ConversationId> = desk.queue().map(|(c, _)| c).collect();
    prop_assert_eq!(queued, queue);
    // Loads are exactly the conversations each agent holds, so nobody holds
    // a conversation twice and no conversation has two holders.
    for a in 1..=4 {
        let agent = UserId(a);
        let held = desk
            .conversations()
            .filter(|(_, s)| s.holder() == Some(agent))
            .count();
        prop_assert_eq!(desk.agent(agent).load as usize, held);
    }
    // The queue is never left waiting while an online agent has room.
    if desk.queue().next().is_some() {
        for a in 1..=4 {
            let view = desk.agent(UserId(a));
            prop_assert!(
                view.presence != Presence::Online || view.load >= view.capacity,
                "agent {} is online with room while the queue waits",
                a
            );
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn random_command_sequences_keep_every_rule(commands in proptest::collection::vec(command(), 1..80)) {
        let mut desk = Desk::new(settings());
        let mut arrived = std::collections::BTreeSet::new();
        for (i, command) in commands.into_iter().enumerate() {
            let before = desk.clone();
            let now = at(i64::try_from(i).unwrap_or(0) * 7);
            let arriving = match &command {
                Command::Arrive { conversation, .. } => Some(*conversation),
                _ => None,
            };
            match desk.apply(command, now) {
                Ok(events) => {
                    arrived.extend(arriving);
                    check_assignments(&before, &desk, &events)?;
                }
                Err(_) => prop_assert_eq!(&desk, &before, "a refused command changed the desk"),
            }
            check_desk(&desk, &arrived)?;
        }
    }
}
