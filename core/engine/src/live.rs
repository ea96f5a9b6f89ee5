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

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};

use omnigate_domain::{Role, UserId};
use serde_json::{Value, json};
use tokio::sync::watch;

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

/// What is waiting to be published, in order.
#[derive(Debug, Default)]
pub(crate) struct Pending {
    events: Vec<(Audience, &'static str, Value)>,
}

impl Pending {
    pub(crate) fn push(&mut self, audience: Audience, kind: &'static str, data: Value) {
        self.events.push((audience, kind, data));
    }

    pub(crate) fn take(&mut self) -> Vec<(Audience, &'static str, Value)> {
        std::mem::take(&mut self.events)
    }
}

struct Ring {
    events: VecDeque<Arc<LiveEvent>>,
    next_id: u64,
}

/// The event log. One per process.
pub struct LiveBus {
    stream: String,
    ring: Mutex<Ring>,
    latest: watch::Sender<u64>,
}

/// What a client gets when it asks for events after an id.
#[derive(Debug)]
pub enum Replay {
    /// The events after the id (possibly none).
    Events(Vec<Arc<LiveEvent>>),
    /// The id is unknown to this stream or too old: reload, then follow
    /// from `from` (the newest id now).
    Resync {
        /// Follow from here.
        from: u64,
    },
}

impl LiveBus {
    /// Events kept for reconnecting clients. At the benchmark's peak this is
    /// a few seconds; a console that was away longer reloads its lists.
    pub const CAPACITY: usize = 65_536;

    /// A new stream.
    #[must_use]
    pub fn new() -> LiveBus {
        let (latest, _) = watch::channel(0);
        LiveBus {
            stream: format!("{:016x}", rand_stream_id()),
            ring: Mutex::new(Ring {
                events: VecDeque::with_capacity(1024),
                next_id: 1,
            }),
            latest,
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
        *self.latest.borrow()
    }

    /// A receiver that changes whenever events are published.
    #[must_use]
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.latest.subscribe()
    }

    /// Appends events in order and wakes the followers.
    pub(crate) fn publish(&self, batch: Vec<(Audience, &'static str, Value)>) {
        if batch.is_empty() {
            return;
        }
        let newest = {
            let mut ring = self.ring.lock().unwrap_or_else(PoisonError::into_inner);
            for (audience, kind, data) in batch {
                let id = ring.next_id;
                ring.next_id += 1;
                let frame = json!({ "id": id, "stream": self.stream, "type": kind, "data": data })
                    .to_string();
                if ring.events.len() == Self::CAPACITY {
                    ring.events.pop_front();
                }
                ring.events.push_back(Arc::new(LiveEvent {
                    id,
                    audience,
                    frame,
                }));
            }
            ring.next_id - 1
        };
        self.latest.send_replace(newest);
    }

    /// Everything after `after` in `stream`, or a resync.
    #[must_use]
    pub fn since(&self, stream: Option<&str>, after: u64) -> Replay {
        let ring = self.ring.lock().unwrap_or_else(PoisonError::into_inner);
        let newest = ring.next_id - 1;
        let oldest = ring.events.front().map_or(ring.next_id, |e| e.id);
        let same_stream = stream.is_none_or(|s| s == self.stream);
        if !same_stream || after > newest || after + 1 < oldest {
            return Replay::Resync { from: newest };
        }
        let skip = usize::try_from(after + 1 - oldest).unwrap_or(usize::MAX);
        Replay::Events(ring.events.iter().skip(skip).cloned().collect())
    }
}

impl Default for LiveBus {
    fn default() -> LiveBus {
        LiveBus::new()
    }
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

    fn batch(n: usize) -> Vec<(Audience, &'static str, Value)> {
        (0..n)
            .map(|i| (Audience::Everyone, "test", json!(i)))
            .collect()
    }

    #[test]
    fn a_reconnecting_client_gets_exactly_what_it_missed() {
        let bus = LiveBus::new();
        bus.publish(batch(5));
        let Replay::Events(events) = bus.since(Some(bus.stream()), 2) else {
            panic!("expected events");
        };
        assert_eq!(
            events.iter().map(|e| e.id).collect::<Vec<_>>(),
            vec![3, 4, 5]
        );
        let Replay::Events(none) = bus.since(None, 5) else {
            panic!("expected events");
        };
        assert!(none.is_empty());
    }

    #[test]
    fn another_stream_or_a_gap_means_resync() {
        let bus = LiveBus::new();
        bus.publish(batch(LiveBus::CAPACITY + 10));
        assert!(matches!(bus.since(Some("older"), 3), Replay::Resync { .. }));
        assert!(matches!(bus.since(None, 3), Replay::Resync { .. }));
        assert!(matches!(bus.since(None, 10), Replay::Events(_)));
        assert!(matches!(bus.since(None, 1_000_000), Replay::Resync { .. }));
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
