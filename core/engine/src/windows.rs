//! Watches service windows so consoles are told, without polling, when a
//! conversation's window is about to close and when it has closed.
//!
//! Only conversations on channels with a window are watched; each has one
//! deadline (its contact's last message plus the window), replaced by every
//! new inbound message and dropped when the conversation ends.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use omnigate_domain::Timestamp;

/// How long before the close the `window.closing` event goes out.
pub const WARN_BEFORE: Duration = Duration::from_secs(10 * 60);

#[derive(Default)]
struct Deadlines {
    by_time: BTreeSet<(Timestamp, u64)>,
    by_conversation: HashMap<u64, (Timestamp, bool)>,
}

/// The deadlines of watched conversations.
#[derive(Default)]
pub(crate) struct WindowWatch {
    deadlines: Mutex<Deadlines>,
}

/// What came due.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Due {
    /// Conversations whose window closes within [`WARN_BEFORE`], with when.
    pub(crate) closing: Vec<(u64, Timestamp)>,
    /// Conversations whose window has closed.
    pub(crate) closed: Vec<(u64, Timestamp)>,
}

impl WindowWatch {
    /// Watches `conversation` until `closes_at` (replacing an older
    /// deadline), or stops watching it with `None`.
    pub(crate) fn set(&self, conversation: u64, closes_at: Option<Timestamp>) {
        let mut d = self
            .deadlines
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some((old, _)) = d.by_conversation.remove(&conversation) {
            d.by_time.remove(&(old, conversation));
        }
        if let Some(at) = closes_at {
            d.by_time.insert((at, conversation));
            d.by_conversation.insert(conversation, (at, false));
        }
    }

    /// Takes what is due at `now`: warnings once per deadline, and closed
    /// windows (which stop being watched).
    pub(crate) fn due(&self, now: Timestamp) -> Due {
        let mut d = self
            .deadlines
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let mut due = Due::default();
        let horizon = now.plus(WARN_BEFORE);
        let candidates: Vec<(Timestamp, u64)> = d
            .by_time
            .iter()
            .take_while(|(at, _)| *at <= horizon)
            .copied()
            .collect();
        for (at, conversation) in candidates {
            if at <= now {
                d.by_time.remove(&(at, conversation));
                d.by_conversation.remove(&conversation);
                due.closed.push((conversation, at));
            } else if let Some((_, warned)) = d.by_conversation.get_mut(&conversation)
                && !*warned
            {
                *warned = true;
                due.closing.push((conversation, at));
            }
        }
        due
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: i64 = 60_000;

    #[test]
    fn warns_once_before_and_reports_the_close() {
        let watch = WindowWatch::default();
        watch.set(1, Some(Timestamp(60 * MIN)));
        watch.set(2, Some(Timestamp(120 * MIN)));
        assert_eq!(watch.due(Timestamp(0)), Due::default());
        let due = watch.due(Timestamp(51 * MIN));
        assert_eq!(due.closing, vec![(1, Timestamp(60 * MIN))]);
        assert!(
            watch.due(Timestamp(52 * MIN)).closing.is_empty(),
            "warned once"
        );
        let due = watch.due(Timestamp(60 * MIN));
        assert_eq!(due.closed, vec![(1, Timestamp(60 * MIN))]);
        assert!(watch.due(Timestamp(61 * MIN)).closed.is_empty());
    }

    #[test]
    fn a_new_message_moves_the_deadline_and_an_end_stops_the_watch() {
        let watch = WindowWatch::default();
        watch.set(1, Some(Timestamp(60 * MIN)));
        watch.due(Timestamp(55 * MIN));
        watch.set(1, Some(Timestamp(200 * MIN)));
        assert_eq!(watch.due(Timestamp(100 * MIN)), Due::default());
        assert_eq!(
            watch.due(Timestamp(191 * MIN)).closing.len(),
            1,
            "warned again for the new deadline"
        );
        watch.set(1, None);
        assert_eq!(watch.due(Timestamp(300 * MIN)), Due::default());
    }
}
