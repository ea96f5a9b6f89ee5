//! Login throttling: too many failures in a window locks the key for a while.
//!
//! The same rule is applied to two keys, the account and the client address, so
//! that guessing one account's password and spraying one password over many
//! accounts are both slowed down. It is a pure state machine over timestamps.

use std::time::Duration;

use crate::time::Timestamp;

/// How many failures are tolerated and how long a lockout lasts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottlePolicy {
    /// Failures within `window` that trigger a lockout.
    pub max_failures: u32,
    /// How far back failures count.
    pub window: Duration,
    /// How long a key stays locked once the limit is reached.
    pub lockout: Duration,
}

/// The failure history of one key (one account or one address).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LoginThrottle {
    failures: u32,
    window_started: Timestamp,
    locked_until: Option<Timestamp>,
}

impl LoginThrottle {
    /// `Err(until)` while the key is locked out, else `Ok`.
    pub fn check(&self, now: Timestamp) -> Result<(), Timestamp> {
        match self.locked_until {
            Some(until) if now < until => Err(until),
            _ => Ok(()),
        }
    }

    /// Counts a failure; returns the end of the lockout if this one started it.
    pub fn record_failure(&mut self, policy: ThrottlePolicy, now: Timestamp) -> Option<Timestamp> {
        let lock_over = self.locked_until.is_some_and(|until| now >= until);
        let window_over =
            self.locked_until.is_none() && now.since(self.window_started) >= policy.window;
        if lock_over || window_over {
            *self = LoginThrottle {
                failures: 0,
                window_started: now,
                locked_until: None,
            };
        }
        self.failures = self.failures.saturating_add(1);
        if self.failures >= policy.max_failures && self.locked_until.is_none() {
            let until = now.plus(policy.lockout);
            self.locked_until = Some(until);
            return Some(until);
        }
        None
    }

    /// Whether the history can be forgotten (nothing locked, window over).
    #[must_use]
    pub fn is_stale(&self, policy: ThrottlePolicy, now: Timestamp) -> bool {
        self.check(now).is_ok() && now.since(self.window_started) >= policy.window
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: ThrottlePolicy = ThrottlePolicy {
        max_failures: 3,
        window: Duration::from_secs(60),
        lockout: Duration::from_secs(300),
    };

    fn at(secs: i64) -> Timestamp {
        Timestamp(secs * 1000)
    }

    #[test]
    fn locks_after_the_limit_and_unlocks_after_the_lockout() {
        let mut key = LoginThrottle::default();
        assert_eq!(key.record_failure(POLICY, at(1)), None);
        assert_eq!(key.record_failure(POLICY, at(2)), None);
        assert_eq!(key.record_failure(POLICY, at(3)), Some(at(303)));
        assert_eq!(key.check(at(302)), Err(at(303)));
        assert_eq!(key.check(at(303)), Ok(()));
        // After the lockout the count starts over.
        assert_eq!(key.record_failure(POLICY, at(304)), None);
    }

    #[test]
    fn failures_outside_the_window_do_not_add_up() {
        let mut key = LoginThrottle::default();
        key.record_failure(POLICY, at(1000));
        key.record_failure(POLICY, at(1001));
        assert_eq!(key.record_failure(POLICY, at(1100)), None);
        assert_eq!(key.check(at(1100)), Ok(()));
        assert!(key.is_stale(POLICY, at(1200)));
    }

    #[test]
    fn failures_during_a_lockout_do_not_extend_it() {
        let mut key = LoginThrottle::default();
        for s in 0..3 {
            key.record_failure(POLICY, at(s));
        }
        assert_eq!(key.record_failure(POLICY, at(100)), None);
        assert_eq!(key.check(at(302)), Ok(()));
    }
}
