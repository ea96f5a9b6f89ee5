//! The circuit breaker: a plugin that fails (traps, times out, hits its
//! memory cap, floods its output) too many times in a row is disabled
//! instead of burning a core per message, and the embedder is told so it
//! can alert the admins. A success resets the count; an admin re-enables.

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

/// Consecutive-failure breaker for one plugin.
#[derive(Debug)]
pub struct Breaker {
    threshold: u32,
    consecutive: AtomicU32,
    open: AtomicBool,
}

/// What a recorded failure did to the breaker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tripped {
    /// Still closed; the count so far.
    No(u32),
    /// This failure opened it.
    Now(u32),
}

impl Breaker {
    /// Opens after `threshold` consecutive failures (at least 1).
    #[must_use]
    pub fn new(threshold: u32) -> Breaker {
        Breaker {
            threshold: threshold.max(1),
            consecutive: AtomicU32::new(0),
            open: AtomicBool::new(false),
        }
    }

    /// Whether calls are refused.
    #[must_use]
    pub fn is_open(&self) -> bool {
        self.open.load(Ordering::Acquire)
    }

    /// Consecutive failures so far.
    #[must_use]
    pub fn failures(&self) -> u32 {
        self.consecutive.load(Ordering::Acquire)
    }

    /// A call succeeded.
    pub fn success(&self) {
        self.consecutive.store(0, Ordering::Release);
    }

    /// A call failed; reports whether this one tripped the breaker (exactly
    /// one caller sees `Now`, however many fail at once).
    pub fn failure(&self) -> Tripped {
        let count = self
            .consecutive
            .fetch_add(1, Ordering::AcqRel)
            .saturating_add(1);
        if count >= self.threshold && !self.open.swap(true, Ordering::AcqRel) {
            Tripped::Now(count)
        } else {
            Tripped::No(count)
        }
    }

    /// An admin re-enabled the plugin.
    pub fn reset(&self) {
        self.consecutive.store(0, Ordering::Release);
        self.open.store(false, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_after_threshold_consecutive_failures() {
        let b = Breaker::new(3);
        assert_eq!(b.failure(), Tripped::No(1));
        b.success();
        assert_eq!(b.failure(), Tripped::No(1));
        assert_eq!(b.failure(), Tripped::No(2));
        assert!(!b.is_open());
        assert_eq!(b.failure(), Tripped::Now(3));
        assert!(b.is_open());
        assert_eq!(b.failure(), Tripped::No(4));
        b.reset();
        assert!(!b.is_open());
        assert_eq!(b.failures(), 0);
    }
}
