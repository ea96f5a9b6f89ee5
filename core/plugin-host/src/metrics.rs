//! Per-plugin call figures as plain data; the embedder exports them (the
//! server's `/metrics`) without this crate knowing any metrics library.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds of the latency histogram's buckets, in microseconds; a last
/// implicit bucket holds everything slower.
pub const LATENCY_BUCKETS_US: [u64; 12] = [
    10, 20, 50, 100, 250, 500, 1_000, 5_000, 10_000, 100_000, 1_000_000, 10_000_000,
];

/// Live counters, updated lock-free by every call.
#[derive(Debug, Default)]
pub struct Metrics {
    calls: AtomicU64,
    errors: AtomicU64,
    timeouts: AtomicU64,
    memory_caps: AtomicU64,
    traps: AtomicU64,
    oversized: AtomicU64,
    refused_hosts: AtomicU64,
    latency_sum_us: AtomicU64,
    buckets: [AtomicU64; LATENCY_BUCKETS_US.len() + 1],
}

/// What kind of failure to count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Failure {
    Timeout,
    MemoryCap,
    Trap,
    Oversized,
    Other,
}

/// A copy of the counters at one moment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MetricsSnapshot {
    /// Calls made, failed or not.
    pub calls: u64,
    /// Calls that failed (any cause).
    pub errors: u64,
    /// Calls interrupted at their time budget.
    pub timeouts: u64,
    /// Calls stopped at their memory budget.
    pub memory_caps: u64,
    /// Calls that trapped otherwise (panics).
    pub traps: u64,
    /// Calls whose output exceeded the cap.
    pub oversized: u64,
    /// Outbound requests refused by the allowlist (the calls may still
    /// succeed: the plugin sees an error it can handle).
    pub refused_hosts: u64,
    /// Sum of call latencies, in microseconds.
    pub latency_sum_us: u64,
    /// Calls per latency bucket: `buckets[i]` counts calls of at most
    /// `LATENCY_BUCKETS_US[i]` µs (and more than the previous bound); the
    /// last counts the rest.
    pub buckets: Vec<u64>,
}

impl Metrics {
    pub(crate) fn record(&self, latency: Duration, failure: Option<Failure>) {
        let us = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        self.calls.fetch_add(1, Ordering::Relaxed);
        self.latency_sum_us.fetch_add(us, Ordering::Relaxed);
        let bucket = LATENCY_BUCKETS_US
            .iter()
            .position(|&bound| us <= bound)
            .unwrap_or(LATENCY_BUCKETS_US.len());
        self.buckets[bucket].fetch_add(1, Ordering::Relaxed);
        if let Some(failure) = failure {
            self.errors.fetch_add(1, Ordering::Relaxed);
            let counter = match failure {
                Failure::Timeout => &self.timeouts,
                Failure::MemoryCap => &self.memory_caps,
                Failure::Trap => &self.traps,
                Failure::Oversized => &self.oversized,
                Failure::Other => return,
            };
            counter.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub(crate) fn refused_host(&self) {
        self.refused_hosts.fetch_add(1, Ordering::Relaxed);
    }

    /// The counters now.
    #[must_use]
    pub fn snapshot(&self) -> MetricsSnapshot {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        MetricsSnapshot {
            calls: get(&self.calls),
            errors: get(&self.errors),
            timeouts: get(&self.timeouts),
            memory_caps: get(&self.memory_caps),
            traps: get(&self.traps),
            oversized: get(&self.oversized),
            refused_hosts: get(&self.refused_hosts),
            latency_sum_us: get(&self.latency_sum_us),
            buckets: self.buckets.iter().map(get).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_land_in_their_buckets() {
        let m = Metrics::default();
        m.record(Duration::from_micros(7), None);
        m.record(Duration::from_micros(15), Some(Failure::Trap));
        m.record(Duration::from_secs(60), Some(Failure::Timeout));
        let s = m.snapshot();
        assert_eq!((s.calls, s.errors, s.traps, s.timeouts), (3, 2, 1, 1));
        assert_eq!(s.buckets[0], 1);
        assert_eq!(s.buckets[1], 1);
        assert_eq!(s.buckets[LATENCY_BUCKETS_US.len()], 1);
        assert_eq!(s.latency_sum_us, 60_000_022);
    }
}
