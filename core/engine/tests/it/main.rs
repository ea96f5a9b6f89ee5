//! The engine against a real store: random sequences of what agents,
//! supervisors and contacts do, on a manual clock. After each sequence the
//! store must say exactly what the desk says, and an engine started again on
//! the same data directory must rebuild the same desk (a restart loses no
//! conversation and no assignment).

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use omnigate_domain::conversation::Content;
use omnigate_domain::routing::Presence;
use omnigate_domain::{Clock, DisplayName, Email, ManualClock, Role, Timestamp, User, UserId};
use omnigate_engine::{Caller, Engine, EngineConfig, InboundMessage};
use omnigate_store::channels::ChannelRecord;
use omnigate_store::{StatusRecord, Store};
use proptest::prelude::*;

const AGENTS: u64 = 3;
const SUPERVISOR: u64 = 10;

fn user(id: u64) -> Caller {
    Caller {
        user: Arc::new(User {
            id: UserId(id),
            email: Email::parse(&format!("u{id}@example.com")).unwrap(),
            display_name: DisplayName::parse(&format!("User {id}")).unwrap(),
            role: if id == SUPERVISOR {
                Role::Supervisor
            } else {
                Role::Agent
            },
            disabled: false,
            created_at: Timestamp(0),
        }),
        source: None,
    }
}

#[derive(Debug, Clone)]
enum Op {
    Write { contact: u8 },
    Presence { agent: u64, presence: Presence },
    Pull { agent: u64 },
    Transfer { agent: u64, pick: u8, to: u64 },
    Answer { agent: u64, pick: u8, accept: bool },
    ToQueue { agent: u64, pick: u8 },
    End { agent: u64, pick: u8 },
    Reopen { agent: u64, pick: u8 },
    Reassign { pick: u8, to: u64 },
    Capacity { agent: u64, capacity: Option<u32> },
    Wait { secs: u64 },
}

fn agent() -> impl Strategy<Value = u64> {
    1..=AGENTS
}

fn op() -> impl Strategy<Value = Op> {
    let presence = prop_oneof![
        3 => Just(Presence::Online),
        1 => Just(Presence::Break),
        1 => Just(Presence::Offline)
    ];
    prop_oneof![
        4 => (0u8..6).prop_map(|contact| Op::Write { contact }),
        3 => (agent(), presence).prop_map(|(agent, presence)| Op::Presence { agent, presence }),
        1 => agent().prop_map(|agent| Op::Pull { agent }),
        2 => (agent(), any::<u8>(), agent()).prop_map(|(agent, pick, to)| Op::Transfer { agent, pick, to }),
        2 => (agent(), any::<u8>(), any::<bool>()).prop_map(|(agent, pick, accept)| Op::Answer { agent, pick, accept }),
        1 => (agent(), any::<u8>()).prop_map(|(agent, pick)| Op::ToQueue { agent, pick }),
        2 => (agent(), any::<u8>()).prop_map(|(agent, pick)| Op::End { agent, pick }),
        1 => (agent(), any::<u8>()).prop_map(|(agent, pick)| Op::Reopen { agent, pick }),
        1 => (any::<u8>(), agent()).prop_map(|(pick, to)| Op::Reassign { pick, to }),
        1 => (agent(), proptest::option::of(0u32..3)).prop_map(|(agent, capacity)| Op::Capacity { agent, capacity }),
        2 => (0u64..150).prop_map(|secs| Op::Wait { secs }),
    ]
}

struct World {
    _dir: tempfile::TempDir,
    store: Arc<Store>,
    clock: ManualClock,
    channel: ChannelRecord,
}

fn config() -> EngineConfig {
    EngineConfig {
        default_capacity: 2,
        transfer_timeout: Duration::from_secs(60),
        ..EngineConfig::default()
    }
}

fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let channel = store
        .create_channel(ChannelRecord {
            id: 0,
            name: "API".into(),
            kind: "api".into(),
            service_window_secs: None,
            default_flow: None,
            webhook_url: None,
            webhook_secret: "0123456789abcdef0123".into(),
            inbound_token_hash: [1; 32],
            disabled: false,
            created_at_ms: 0,
        })
        .unwrap();
    World {
        _dir: dir,
        store,
        clock: ManualClock::starting_at(Timestamp(1_795_597_200_000)),
        channel,
    }
}

/// Everything the desk says, as comparable values.
#[derive(Debug, PartialEq, Eq)]
struct Picture {
    queue: Vec<u64>,
    inboxes: Vec<(u64, Vec<u64>)>,
    agents: Vec<(u64, &'static str, u32, u32)>,
}

fn picture(engine: &Engine) -> Picture {
    Picture {
        queue: engine.queue().into_iter().map(|(c, _)| c).collect(),
        inboxes: (1..=AGENTS)
            .map(|a| (a, engine.inbox_of(UserId(a))))
            .collect(),
        agents: (1..=AGENTS)
            .map(|a| {
                let v = engine.agent(UserId(a));
                (a, v.presence.as_str(), v.load, v.capacity)
            })
            .collect(),
    }
}

/// The store's records agree with the desk: every live conversation is
/// where the desk has it, nothing is held twice, ended ones are nowhere.
fn check_store_mirrors_desk(
    engine: &Engine,
    conversations: &BTreeSet<u64>,
) -> Result<(), TestCaseError> {
    let queue: Vec<u64> = engine.queue().into_iter().map(|(c, _)| c).collect();
    let mut held: Vec<u64> = Vec::new();
    for a in 1..=AGENTS {
        held.extend(engine.inbox_of(UserId(a)));
    }
    for id in conversations {
        let record = engine.store().conversation(*id).unwrap().unwrap();
        let in_queue = queue.contains(id);
        let in_inboxes = held.iter().filter(|c| *c == id).count();
        match &record.status {
            StatusRecord::Queued { .. } => {
                prop_assert!(
                    in_queue && in_inboxes == 0,
                    "{id} queued in the store: {record:?}"
                );
            }
            StatusRecord::Assigned { agent } => {
                prop_assert!(!in_queue && in_inboxes == 1, "{id} assigned in the store");
                prop_assert!(engine.inbox_of(UserId(*agent)).contains(id));
            }
            StatusRecord::TransferPending { from, to, .. } => {
                prop_assert!(!in_queue && in_inboxes == 2, "{id} offered in the store");
                prop_assert!(engine.inbox_of(UserId(*from)).contains(id));
                prop_assert!(engine.inbox_of(UserId(*to)).contains(id));
            }
            StatusRecord::Ended { .. } => {
                prop_assert!(!in_queue && in_inboxes == 0, "{id} ended in the store");
            }
            StatusRecord::InFlow { .. } => prop_assert!(!in_queue && in_inboxes == 0),
        }
    }
    Ok(())
}

fn pick(conversations: &BTreeSet<u64>, n: u8) -> u64 {
    if conversations.is_empty() {
        return 999_999;
    }
    *conversations
        .iter()
        .nth(usize::from(n) % conversations.len())
        .unwrap()
}

/// Who holds a conversation (the agent the action is most likely to come
/// from), and the target of its pending transfer.
fn holder_and_target(engine: &Engine, id: u64) -> (u64, u64) {
    match engine
        .store()
        .conversation(id)
        .ok()
        .flatten()
        .map(|c| c.status)
    {
        Some(StatusRecord::Assigned { agent }) => (agent, 0),
        Some(StatusRecord::TransferPending { from, to, .. }) => (from, to),
        _ => (0, 0),
    }
}

/// Most actions come from the agent who may do them (so sequences reach
/// deep states); `agent % 4 == 0` keeps some from someone else.
fn actor(chosen: u64, rightful: u64) -> u64 {
    if rightful != 0 && chosen != 1 {
        rightful
    } else {
        chosen
    }
}

fn run(world: &World, engine: &Engine, ops: &[Op], conversations: &mut BTreeSet<u64>) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let mut message = 0u64;
    // Everyone starts online, so sequences reach transfers and ends early;
    // the random presence changes take them off again.
    for a in 1..=AGENTS {
        engine
            .set_presence(&user(a), UserId(a), Presence::Online)
            .unwrap();
    }
    for op in ops {
        // Refusals are part of the game: each must leave everything as it was.
        let _ = match op.clone() {
            Op::Write { contact } => {
                message += 1;
                runtime
                    .block_on(engine.receive(
                        &world.channel,
                        InboundMessage {
                            contact_id: format!("c{contact}"),
                            contact_name: None,
                            contact_phone: None,
                            provider_id: format!("m{message}"),
                            content: Content::Text {
                                body: "merhaba".into(),
                            },
                        },
                    ))
                    .map(|r| {
                        conversations.insert(r.message.conversation_id);
                    })
            }
            Op::Presence { agent, presence } => {
                engine.set_presence(&user(agent), UserId(agent), presence)
            }
            Op::Pull { agent } => engine.pull(&user(agent)).map(|_| ()),
            Op::Transfer { agent, pick: n, to } => {
                // Mostly a conversation someone holds.
                let held: BTreeSet<u64> = conversations
                    .iter()
                    .copied()
                    .filter(|c| holder_and_target(engine, *c).0 != 0)
                    .collect();
                let id = if held.is_empty() {
                    pick(conversations, n)
                } else {
                    pick(&held, n)
                };
                let (holder, _) = holder_and_target(engine, id);
                // Mostly to someone else than the holder.
                let to = if to == holder { to % AGENTS + 1 } else { to };
                engine.request_transfer(
                    &user(actor(agent, holder)),
                    id,
                    UserId(to),
                    Some("note".into()),
                )
            }
            Op::Answer {
                agent,
                pick: n,
                accept,
            } => {
                // Mostly a conversation that has a transfer to answer.
                let pending: BTreeSet<u64> = conversations
                    .iter()
                    .copied()
                    .filter(|c| holder_and_target(engine, *c).1 != 0)
                    .collect();
                let id = if pending.is_empty() {
                    pick(conversations, n)
                } else {
                    pick(&pending, n)
                };
                let (_, target) = holder_and_target(engine, id);
                engine.answer_transfer(&user(actor(agent, target)), id, accept)
            }
            Op::ToQueue { agent, pick: n } => {
                let id = pick(conversations, n);
                let (holder, _) = holder_and_target(engine, id);
                engine.transfer_to_queue(&user(actor(agent, holder)), id)
            }
            Op::End { agent, pick: n } => {
                let id = pick(conversations, n);
                let (holder, _) = holder_and_target(engine, id);
                engine.end(&user(actor(agent, holder)), id, "Resolved".into())
            }
            Op::Reopen { agent, pick: n } => engine.reopen(&user(agent), pick(conversations, n)),
            Op::Reassign { pick: n, to } => {
                engine.reassign(&user(SUPERVISOR), pick(conversations, n), UserId(to))
            }
            Op::Capacity { agent, capacity } => {
                engine.set_capacity(&user(SUPERVISOR), UserId(agent), capacity)
            }
            Op::Wait { secs } => {
                world.clock.advance(Duration::from_secs(secs));
                engine.tick()
            }
        };
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn the_store_mirrors_the_desk_and_a_restart_rebuilds_it(ops in proptest::collection::vec(op(), 1..60)) {
        let world = world();
        let clock: Arc<dyn Clock> = Arc::new(world.clock.clone());
        let mut conversations = BTreeSet::new();
        let before = {
            let engine = Engine::start(Arc::clone(&world.store), Arc::clone(&clock), config()).unwrap();
            run(&world, &engine, &ops, &mut conversations);
            check_store_mirrors_desk(&engine, &conversations)?;
            picture(&engine)
        };
        let engine = Engine::start(Arc::clone(&world.store), clock, config()).unwrap();
        check_store_mirrors_desk(&engine, &conversations)?;
        prop_assert_eq!(picture(&engine), before);
    }
}

#[tokio::test]
async fn a_redelivered_message_changes_nothing_and_a_restart_keeps_it_once() {
    let world = world();
    let clock: Arc<dyn Clock> = Arc::new(world.clock.clone());
    let inbound = || InboundMessage {
        contact_id: "905551112233".into(),
        contact_name: Some("Ayşe".into()),
        contact_phone: None,
        provider_id: "wamid.1".into(),
        content: Content::Text {
            body: "Merhaba".into(),
        },
    };
    let first = {
        let engine = Engine::start(Arc::clone(&world.store), Arc::clone(&clock), config()).unwrap();
        let first = engine.receive(&world.channel, inbound()).await.unwrap();
        let again = engine.receive(&world.channel, inbound()).await.unwrap();
        assert!(again.duplicate);
        assert_eq!(again.message.id, first.message.id);
        first
    };
    let engine = Engine::start(Arc::clone(&world.store), clock, config()).unwrap();
    let after_restart = engine.receive(&world.channel, inbound()).await.unwrap();
    assert!(after_restart.duplicate);
    assert_eq!(after_restart.message.id, first.message.id);
    let thread = world
        .store
        .messages(first.message.conversation_id, None, 10)
        .unwrap();
    assert_eq!(thread.len(), 1);
    assert_eq!(engine.queue().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_messages_are_batched_and_each_caller_gets_its_own_outcome() {
    let world = world();
    let clock: Arc<dyn Clock> = Arc::new(world.clock.clone());
    let engine = Engine::start(Arc::clone(&world.store), clock, config()).unwrap();
    let mut tasks = Vec::new();
    for i in 0..400u64 {
        let engine = Arc::clone(&engine);
        let channel = world.channel.clone();
        tasks.push(tokio::spawn(async move {
            engine
                .receive(
                    &channel,
                    InboundMessage {
                        contact_id: format!("c{}", (i / 2) % 20),
                        contact_name: None,
                        contact_phone: None,
                        // Every message twice: the second is a duplicate,
                        // whether or not it lands in the same batch.
                        provider_id: format!("m{}", i / 2),
                        content: Content::Text {
                            body: format!("message {i}"),
                        },
                    },
                )
                .await
                .unwrap()
        }));
    }
    let mut stored = BTreeSet::new();
    let mut duplicates = 0;
    for task in tasks {
        let received = task.await.unwrap();
        if received.duplicate {
            duplicates += 1;
        } else {
            assert!(
                stored.insert(received.message.id),
                "one message id per stored message"
            );
        }
    }
    assert_eq!(stored.len(), 200);
    assert_eq!(duplicates, 200);
    // Twenty contacts, twenty conversations, 200 messages among them.
    let conversations: BTreeSet<u64> = stored
        .iter()
        .map(|id| world.store.message(*id).unwrap().unwrap().conversation_id)
        .collect();
    assert_eq!(conversations.len(), 20);
    let total: usize = conversations
        .iter()
        .map(|c| world.store.messages(*c, None, 1000).unwrap().len())
        .sum();
    assert_eq!(total, 200);
}
