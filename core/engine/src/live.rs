//! Live events for the console: a bounded, numbered log in memory that
//! WebSocket clients follow.
//!
//! Every event gets the next id; a client that reconnects with the last id
//! it saw receives everything after it, as long as the log still holds it
//! (the newest [`LiveBus::CAPACITY`] events). Each process start has its own
//! `stream` id: a client that comes back with an id of an older stream, or
//! one that fell too far behind, is told to `resync` (reload its lists from
//! the API) instead of silently missing events.
//!
//! Events are published only after what they describe is durable, so a
//! console never shows something a crash could take back.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};

use omnigate_domain::{Role, UserId};
use serde_json::Value;

/// Who may see an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Audience {
    /// Everyone at the desk (queue length, queued conversations).
    Everyone,
    /// These users, and every supervisor and admin.
    Users(Vec<UserId>),
    /// Supervisors and admins only.
    Staff,
}

impl Audience {
    /// Whether a user with `role` sees it.
    #[must_use]
    pub fn includes(&self, user: UserId, role: Role) -> bool {
        match self {
            Audience::Everyone => true,
            _ if matches!(role, Role::Supervisor | Role::Admin) => true,
            Audience::Users(users) => users.contains(&user),
            Audience::Staff => false,
        }
    }
}

/// One published event.
#[derive(Debug)]
pub struct LiveEvent {
    /// Position in the stream, from 1.
    pub id: u64,
    /// Who sees it.
    pub audience: Audience,
    /// The JSON frame sent to clients, `id` and `stream` included.
    pub frame: String,
}

/// An event's data as it waits to be published.
#[derive(Debug)]
pub(crate) enum EventData {
    /// A JSON value: most events, which are rare and vary in shape.
    Value(Value),
    /// JSON text written straight from typed records: the `message` event,
    /// one per inbound message, where building a value tree (a map and a
    /// string per field) and walking it again cost more than the rest of
    /// the publication.
    Text(String),
}

impl From<Value> for EventData {
    fn from(value: Value) -> EventData {
        EventData::Value(value)
    }
}

/// What is waiting to be published, in order.
#[derive(Debug, Default)]
pub(crate) struct Pending {
    events: Vec<(Audience, &'static str, EventData)>,
    /// Some event describes a change that is not on disk yet.
    needs_flush: bool,
    /// Where the waiting snapshot event ([`Pending::SNAPSHOT`]) is, if any.
    snapshot: Option<usize>,
}

impl Pending {
    /// The event that carries a whole state (the queue's length and
    /// oldest entry) rather than a change, and goes to every console: of
    /// several waiting, only the newest is published. Each new conversation
    /// moves the queue, and with a thousand consoles every `queue` event is
    /// a thousand frames; a console needs only the latest.
    pub(crate) const SNAPSHOT: &'static str = "queue";

    /// Queues an event; `needs_flush` when its change still has to reach
    /// the disk before anyone may see it. A snapshot replaces the one still
    /// waiting (and moves to the end, after the changes it reflects).
    pub(crate) fn push(
        &mut self,
        audience: Audience,
        kind: &'static str,
        data: EventData,
        needs_flush: bool,
    ) {
        if kind == Self::SNAPSHOT && audience == Audience::Everyone {
            if let Some(older) = self.snapshot.take() {
                self.events.remove(older);
            }
            self.snapshot = Some(self.events.len());
        }
        self.events.push((audience, kind, data));
        self.needs_flush |= needs_flush;
    }

    /// The queued events, in order, and whether a flush must precede them.
    pub(crate) fn take(&mut self) -> (Vec<(Audience, &'static str, EventData)>, bool) {
        let needs_flush = std::mem::take(&mut self.needs_flush);
        self.snapshot = None;
        (std::mem::take(&mut self.events), needs_flush)
    }
}

struct Ring {
    events: VecDeque<Arc<LiveEvent>>,
    next_id: u64,
}

/// Events waiting for one console, filtered for it at publish time so that
/// a console costs only the events it receives, not every event.
#[derive(Default)]
struct Mailbox {
    events: VecDeque<Arc<LiveEvent>>,
    /// It fell more than [`LiveBus::MAILBOX`] events behind: what it missed
    /// is dropped and it is told to resync.
    overflowed: bool,
}

struct Subscriber {
    user: UserId,
    mailbox: Mutex<Mailbox>,
    wake: tokio::sync::Notify,
}

#[derive(Default)]
struct Subscribers {
    next_key: u64,
    all: HashMap<u64, Arc<Subscriber>>,
    by_user: HashMap<UserId, Vec<u64>>,
    staff: Vec<u64>,
}

/// The event log. One per process.
pub struct LiveBus {
    stream: String,
    ring: Mutex<Ring>,
    subscribers: Mutex<Subscribers>,
}

/// What a client gets when it asks for events after an id.
#[derive(Debug)]
pub enum Replay {
    /// The events after the id that the subscriber may see (possibly none).
    Events(Vec<Arc<LiveEvent>>),
    /// The id is unknown to this stream or too old: reload, then follow
    /// from `from` (the newest id now).
    Resync {
        /// Follow from here.
        from: u64,
    },
}

/// What a subscription delivers next.
#[derive(Debug)]
pub enum Delivery {
    /// Events, in order.
    Events(Vec<Arc<LiveEvent>>),
    /// The console fell too far behind: reload, then carry on.
    Resync,
}

/// One console's subscription; dropping it unsubscribes.
pub struct Subscription {
    bus: Arc<LiveBus>,
    key: u64,
    subscriber: Arc<Subscriber>,
}

impl Subscription {
    /// Waits until there is something to deliver, and takes it.
    pub async fn next(&self) -> Delivery {
        loop {
            {
                let mut mailbox = self
                    .subscriber
                    .mailbox
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner);
                if mailbox.overflowed {
                    mailbox.overflowed = false;
                    mailbox.events.clear();
                    return Delivery::Resync;
                }
                if !mailbox.events.is_empty() {
                    return Delivery::Events(mailbox.events.drain(..).collect());
                }
            }
            self.subscriber.wake.notified().await;
        }
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        let mut subscribers = self
            .bus
            .subscribers
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        subscribers.all.remove(&self.key);
        if let Some(keys) = subscribers.by_user.get_mut(&self.subscriber.user) {
            keys.retain(|k| *k != self.key);
            if keys.is_empty() {
                subscribers.by_user.remove(&self.subscriber.user);
            }
        }
        subscribers.staff.retain(|k| *k != self.key);
    }
}

impl LiveBus {
    /// Events kept for reconnecting clients. At the benchmark's peak this is
    /// a few seconds; a console that was away longer reloads its lists.
    pub const CAPACITY: usize = 65_536;

    /// Events one console may have waiting before it is told to resync
    /// instead (a console that stopped reading must not hold memory).
    pub const MAILBOX: usize = 10_000;

    /// A new stream.
    #[must_use]
    pub fn new() -> LiveBus {
        LiveBus {
            stream: format!("{:016x}", rand_stream_id()),
            ring: Mutex::new(Ring {
                events: VecDeque::with_capacity(1024),
                next_id: 1,
            }),
            subscribers: Mutex::new(Subscribers::default()),
        }
    }

    /// This process's stream id.
    #[must_use]
    pub fn stream(&self) -> &str {
        &self.stream
    }

    /// The newest id published.
    #[must_use]
    pub fn latest(&self) -> u64 {
        self.ring
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .next_id
            - 1
    }

    /// Consoles following the stream now.
    #[must_use]
    pub fn subscribers(&self) -> usize {
        self.subscribers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .all
            .len()
    }

    /// Subscribes a console of `user` with `role`. With `resume` (stream
    /// and last id seen), also returns what it missed; registration and
    /// replay happen under one lock, so nothing is lost or sent twice
    /// between them. Returns the subscription, the replay, and the newest id.
    pub fn subscribe(
        self: &Arc<Self>,
        user: UserId,
        role: Role,
        resume: Option<(Option<&str>, u64)>,
    ) -> (Subscription, Replay, u64) {
        let ring = self.ring.lock().unwrap_or_else(PoisonError::into_inner);
        let newest = ring.next_id - 1;
        let replay = match resume {
            None => Replay::Events(Vec::new()),
            Some((stream, after)) => {
                let oldest = ring.events.front().map_or(ring.next_id, |e| e.id);
                let same_stream = stream.is_none_or(|s| s == self.stream);
                if !same_stream || after > newest || after + 1 < oldest {
                    Replay::Resync { from: newest }
                } else {
                    let skip = usize::try_from(after + 1 - oldest).unwrap_or(usize::MAX);
                    Replay::Events(
                        ring.events
                            .iter()
                            .skip(skip)
                            .filter(|e| e.audience.includes(user, role))
                            .cloned()
                            .collect(),
                    )
                }
            }
        };
        let staff = matches!(role, Role::Supervisor | Role::Admin);
        let subscriber = Arc::new(Subscriber {
            user,
            mailbox: Mutex::new(Mailbox::default()),
            wake: tokio::sync::Notify::new(),
        });
        let mut subscribers = self
            .subscribers
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        subscribers.next_key += 1;
        let key = subscribers.next_key;
        subscribers.all.insert(key, Arc::clone(&subscriber));
        if staff {
            subscribers.staff.push(key);
        } else {
            subscribers.by_user.entry(user).or_default().push(key);
        }
        drop(subscribers);
        drop(ring);
        (
            Subscription {
                bus: Arc::clone(self),
                key,
                subscriber,
            },
            replay,
            newest,
        )
    }

    /// Appends events in order and hands each to the consoles that may see
    /// it.
    pub(crate) fn publish(&self, batch: Vec<(Audience, &'static str, EventData)>) {
        if batch.is_empty() {
            return;
        }
        let mut ring = self.ring.lock().unwrap_or_else(PoisonError::into_inner);
        let subscribers = self
            .subscribers
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        // Each console woken once per batch. A set, not a scan of the list:
        // an event for everyone touches every console, and a scan made that
        // quadratic in the number of consoles.
        let mut touched: Vec<&Arc<Subscriber>> = Vec::new();
        let mut touched_keys: HashSet<u64> = HashSet::new();
        for (audience, kind, data) in batch {
            let id = ring.next_id;
            ring.next_id += 1;
            let frame = frame(id, &self.stream, kind, &data);
            let event = Arc::new(LiveEvent {
                id,
                audience,
                frame,
            });
            if ring.events.len() == Self::CAPACITY {
                ring.events.pop_front();
            }
            ring.events.push_back(Arc::clone(&event));
            let mut deliver = |key: &u64| {
                if let Some(subscriber) = subscribers.all.get(key) {
                    let mut mailbox = subscriber
                        .mailbox
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner);
                    if mailbox.events.len() >= Self::MAILBOX {
                        mailbox.overflowed = true;
                    } else {
                        mailbox.events.push_back(Arc::clone(&event));
                    }
                    drop(mailbox);
                    if touched_keys.insert(*key) {
                        touched.push(subscriber);
                    }
                }
            };
            match &event.audience {
                Audience::Everyone => subscribers.all.keys().for_each(&mut deliver),
                Audience::Staff => subscribers.staff.iter().for_each(&mut deliver),
                Audience::Users(users) => {
                    for (i, user) in users.iter().enumerate() {
                        if users[..i].contains(user) {
                            continue;
                        }
                        if let Some(keys) = subscribers.by_user.get(user) {
                            keys.iter().for_each(&mut deliver);
                        }
                    }
                    subscribers.staff.iter().for_each(&mut deliver);
                }
            }
        }
        for subscriber in touched {
            subscriber.wake.notify_one();
        }
    }
}

impl Default for LiveBus {
    fn default() -> LiveBus {
        LiveBus::new()
    }
}

/// The frame clients receive: `{"id":…,"stream":…,"type":…,"data":…}`,
/// written in one pass (the data may already be JSON text).
fn frame(id: u64, stream: &str, kind: &str, data: &EventData) -> String {
    let capacity = match data {
        EventData::Text(text) => text.len() + 80,
        EventData::Value(_) => 256,
    };
    let mut out = Vec::with_capacity(capacity);
    out.extend_from_slice(b"{\"id\":");
    out.extend_from_slice(id.to_string().as_bytes());
    out.extend_from_slice(b",\"stream\":");
    // Writing to a `Vec` cannot fail, and neither can serialising a string
    // or a `Value` (its map keys are strings): the results carry nothing.
    let _ = serde_json::to_writer(&mut out, stream);
    out.extend_from_slice(b",\"type\":");
    let _ = serde_json::to_writer(&mut out, kind);
    out.extend_from_slice(b",\"data\":");
    match data {
        EventData::Value(value) => {
            let _ = serde_json::to_writer(&mut out, value);
        }
        EventData::Text(text) => out.extend_from_slice(text.as_bytes()),
    }
    out.push(b'}');
    // Every piece above is UTF-8.
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// A stream id that differs between process starts: the start time mixed
/// with the process id (uniqueness, not secrecy, is what matters).
fn rand_stream_id() -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let mixed = (nanos as u64) ^ (u64::from(std::process::id()) << 32);
    mixed.wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn batch(n: usize, audience: &Audience) -> Vec<(Audience, &'static str, EventData)> {
        (0..n)
            .map(|i| (audience.clone(), "test", json!(i).into()))
            .collect()
    }

    #[test]
    fn frames_carry_values_and_written_text_alike() {
        let value = frame(3, "ab", "queue", &json!({"length": 2}).into());
        let text = frame(
            4,
            "ab",
            "message",
            &EventData::Text(r#"{"message":{"id":9}}"#.into()),
        );
        let value: Value = serde_json::from_str(&value).expect("valid JSON");
        let text: Value = serde_json::from_str(&text).expect("valid JSON");
        assert_eq!(
            value,
            json!({"id": 3, "stream": "ab", "type": "queue", "data": {"length": 2}})
        );
        assert_eq!(
            text,
            json!({"id": 4, "stream": "ab", "type": "message", "data": {"message": {"id": 9}}})
        );
    }

    fn ids(delivery: Delivery) -> Vec<u64> {
        match delivery {
            Delivery::Events(events) => events.iter().map(|e| e.id).collect(),
            Delivery::Resync => panic!("unexpected resync"),
        }
    }

    #[tokio::test]
    async fn each_console_receives_what_it_may_see_in_order() {
        let bus = Arc::new(LiveBus::new());
        let (agent, _, _) = bus.subscribe(UserId(1), Role::Agent, None);
        let (other, _, _) = bus.subscribe(UserId(2), Role::Agent, None);
        let (supervisor, _, _) = bus.subscribe(UserId(3), Role::Supervisor, None);
        bus.publish(batch(2, &Audience::Users(vec![UserId(1), UserId(1)])));
        bus.publish(batch(1, &Audience::Everyone));
        bus.publish(batch(1, &Audience::Staff));
        assert_eq!(ids(agent.next().await), vec![1, 2, 3]);
        assert_eq!(ids(other.next().await), vec![3]);
        assert_eq!(ids(supervisor.next().await), vec![1, 2, 3, 4]);
        drop(other);
        assert_eq!(bus.subscribers(), 2);
    }

    #[test]
    fn a_reconnecting_console_gets_exactly_what_it_missed() {
        let bus = Arc::new(LiveBus::new());
        bus.publish(batch(3, &Audience::Everyone));
        bus.publish(batch(2, &Audience::Users(vec![UserId(9)])));
        let stream = bus.stream().to_owned();
        let (_, replay, newest) = bus.subscribe(UserId(1), Role::Agent, Some((Some(&stream), 1)));
        assert_eq!(newest, 5);
        let Replay::Events(events) = replay else {
            panic!("expected events");
        };
        assert_eq!(events.iter().map(|e| e.id).collect::<Vec<_>>(), vec![2, 3]);
    }

    #[test]
    fn another_stream_or_a_gap_means_resync() {
        let bus = Arc::new(LiveBus::new());
        bus.publish(batch(LiveBus::CAPACITY + 10, &Audience::Everyone));
        let resync = |resume| {
            matches!(
                bus.subscribe(UserId(1), Role::Agent, Some(resume)).1,
                Replay::Resync { .. }
            )
        };
        assert!(resync((Some("older"), 3)));
        assert!(resync((None, 3)));
        assert!(!resync((None, 10)));
        assert!(resync((None, 1_000_000)));
    }

    #[tokio::test]
    async fn a_console_that_stops_reading_is_told_to_resync() {
        let bus = Arc::new(LiveBus::new());
        let (slow, _, _) = bus.subscribe(UserId(1), Role::Agent, None);
        bus.publish(batch(LiveBus::MAILBOX + 5, &Audience::Everyone));
        assert!(matches!(slow.next().await, Delivery::Resync));
        bus.publish(batch(1, &Audience::Everyone));
        assert_eq!(ids(slow.next().await).len(), 1);
    }

    #[test]
    fn only_the_newest_waiting_queue_snapshot_is_published() {
        let mut pending = Pending::default();
        pending.push(Audience::Everyone, "queue", json!(1).into(), false);
        pending.push(
            Audience::Users(vec![UserId(1)]),
            "message",
            json!("a").into(),
            false,
        );
        pending.push(Audience::Everyone, "queue", json!(2).into(), true);
        pending.push(
            Audience::Users(vec![UserId(1)]),
            "message",
            json!("b").into(),
            false,
        );
        pending.push(Audience::Everyone, "queue", json!(3).into(), false);
        let (events, needs_flush) = pending.take();
        let seen: Vec<(&str, Value)> = events
            .iter()
            .map(|(_, k, d)| match d {
                EventData::Value(value) => (*k, value.clone()),
                EventData::Text(text) => (*k, Value::String(text.clone())),
            })
            .collect();
        assert_eq!(
            seen,
            vec![
                ("message", json!("a")),
                ("message", json!("b")),
                ("queue", json!(3)),
            ]
        );
        // A dropped snapshot's change still needs its flush first.
        assert!(needs_flush);
        // After a take, the next snapshot starts afresh.
        pending.push(Audience::Everyone, "queue", json!(4).into(), false);
        pending.push(Audience::Staff, "other", json!(5).into(), false);
        let (events, _) = pending.take();
        assert_eq!(events.len(), 2);
    }

    #[test]
    fn audiences_filter_by_user_and_role() {
        let mine = Audience::Users(vec![UserId(1)]);
        assert!(mine.includes(UserId(1), Role::Agent));
        assert!(!mine.includes(UserId(2), Role::Agent));
        assert!(mine.includes(UserId(2), Role::Supervisor));
        assert!(!Audience::Staff.includes(UserId(1), Role::Agent));
        assert!(Audience::Everyone.includes(UserId(1), Role::Agent));
    }
}
