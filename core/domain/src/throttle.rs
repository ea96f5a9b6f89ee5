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

/// Why an attempt may not go ahead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The key is locked out until then.
    LockedUntil(Timestamp),
    /// Attempts already in progress would use up the remaining failures;
    /// try again in a moment. Without this, a burst of simultaneous guesses
    /// would all be checked before the first failure is counted.
    Busy,
}

/// The failure history of one key (one account or one address).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LoginThrottle {
    failures: u32,
    in_flight: u32,
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

    /// Starts a new window when the lockout or the window is over.
    fn roll(&mut self, policy: ThrottlePolicy, now: Timestamp) {
        let lock_over = self.locked_until.is_some_and(|until| now >= until);
        let window_over =
            self.locked_until.is_none() && now.since(self.window_started) >= policy.window;
        if lock_over || window_over {
            self.failures = 0;
            self.window_started = now;
            self.locked_until = None;
        }
    }

    /// Admits one attempt (a password check) unless the key is locked or the
    /// attempts in progress could already reach the limit. Every admitted
    /// attempt must end with [`fail`](Self::fail), [`succeed`](Self::succeed)
    /// or [`abandon`](Self::abandon).
    pub fn begin(&mut self, policy: ThrottlePolicy, now: Timestamp) -> Result<(), Refusal> {
        self.roll(policy, now);
        if let Err(until) = self.check(now) {
            return Err(Refusal::LockedUntil(until));
        }
        if self.failures.saturating_add(self.in_flight) >= policy.max_failures {
            return Err(Refusal::Busy);
        }
        self.in_flight += 1;
        Ok(())
    }

    /// Ends an attempt as a failure; returns the end of the lockout if this
    /// failure started one.
    pub fn fail(&mut self, policy: ThrottlePolicy, now: Timestamp) -> Option<Timestamp> {
        self.in_flight = self.in_flight.saturating_sub(1);
        self.roll(policy, now);
        self.failures = self.failures.saturating_add(1);
        if self.failures >= policy.max_failures && self.locked_until.is_none() {
            let until = now.plus(policy.lockout);
            self.locked_until = Some(until);
            return Some(until);
        }
        None
    }

    /// Ends an attempt as a success. `forget_failures` clears the count (an
    /// account after its right password); an address keeps it, so one good
    /// login does not reset a spray across accounts.
    pub fn succeed(&mut self, forget_failures: bool) {
        self.in_flight = self.in_flight.saturating_sub(1);
        if forget_failures && self.locked_until.is_none() {
            self.failures = 0;
        }
    }

    /// Ends an attempt that was not decided (the client went away).
    pub fn abandon(&mut self) {
        self.in_flight = self.in_flight.saturating_sub(1);
    }

    /// Whether the history can be forgotten (nothing locked or in progress,
    /// window over).
    #[must_use]
    pub fn is_stale(&self, policy: ThrottlePolicy, now: Timestamp) -> bool {
        self.in_flight == 0
            && self.check(now).is_ok()
            && now.since(self.window_started) >= policy.window
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

    fn failed_attempt(key: &mut LoginThrottle, now: Timestamp) -> Option<Timestamp> {
        key.begin(POLICY, now).unwrap();
        key.fail(POLICY, now)
    }

    #[test]
    fn locks_after_the_limit_and_unlocks_after_the_lockout() {
        let mut key = LoginThrottle::default();
        assert_eq!(failed_attempt(&mut key, at(1)), None);
        assert_eq!(failed_attempt(&mut key, at(2)), None);
        assert_eq!(failed_attempt(&mut key, at(3)), Some(at(303)));
        assert_eq!(
            key.begin(POLICY, at(302)),
            Err(Refusal::LockedUntil(at(303)))
        );
        assert_eq!(key.check(at(303)), Ok(()));
        // After the lockout the count starts over.
        assert_eq!(failed_attempt(&mut key, at(304)), None);
    }

    #[test]
    fn failures_outside_the_window_do_not_add_up() {
        let mut key = LoginThrottle::default();
        failed_attempt(&mut key, at(1000));
        failed_attempt(&mut key, at(1001));
        assert_eq!(failed_attempt(&mut key, at(1100)), None);
        assert_eq!(key.check(at(1100)), Ok(()));
        assert!(key.is_stale(POLICY, at(1200)));
    }

    #[test]
    fn simultaneous_attempts_cannot_exceed_the_limit() {
        let mut key = LoginThrottle::default();
        failed_attempt(&mut key, at(1));
        assert_eq!(key.begin(POLICY, at(2)), Ok(()));
        assert_eq!(key.begin(POLICY, at(2)), Ok(()));
        // Two in flight plus one failure: a third would allow four checks.
        assert_eq!(key.begin(POLICY, at(2)), Err(Refusal::Busy));
        key.abandon();
        assert_eq!(key.begin(POLICY, at(2)), Ok(()));
        assert!(
            !key.is_stale(POLICY, at(1000)),
            "attempts in flight are remembered"
        );
    }

    #[test]
    fn the_right_password_after_a_few_typos_still_gets_in_and_resets_the_account() {
        let mut key = LoginThrottle::default();
        failed_attempt(&mut key, at(1));
        failed_attempt(&mut key, at(2));
        key.begin(POLICY, at(3)).unwrap();
        key.succeed(true);
        assert_eq!(failed_attempt(&mut key, at(4)), None);
        assert_eq!(failed_attempt(&mut key, at(5)), None);
    }
}
