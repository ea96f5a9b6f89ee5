//! Memory caps per call: wasmtime's `StoreLimits` (trap on grow failure)
//! plus a flag recording that the cap, not the plugin, ended the call, so
//! the error can say "memory budget" instead of a bare trap.

use wasmtime::{ResourceLimiter, StoreLimits, StoreLimitsBuilder};

/// The limiter installed in every plugin store.
pub struct Limiter {
    inner: StoreLimits,
    /// Set when a memory grow was refused.
    pub memory_cap_hit: bool,
    /// Linear memory the instance holds now (memories never shrink), so
    /// the host can tell how much of the budget is left before handing
    /// the plugin a large value.
    pub memory_in_use: usize,
    memory_limit: usize,
}

impl Limiter {
    /// Caps linear memory at `memory_bytes` and traps when growth fails.
    #[must_use]
    pub fn new(memory_bytes: usize) -> Limiter {
        Limiter {
            inner: StoreLimitsBuilder::new()
                .memory_size(memory_bytes)
                .trap_on_grow_failure(true)
                .build(),
            memory_cap_hit: false,
            memory_in_use: 0,
            memory_limit: memory_bytes,
        }
    }

    /// Bytes the instance may still grow by.
    #[must_use]
    pub fn memory_left(&self) -> usize {
        self.memory_limit.saturating_sub(self.memory_in_use)
    }
}

impl ResourceLimiter for Limiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let answer = self.inner.memory_growing(current, desired, maximum);
        if matches!(answer, Ok(true)) {
            self.memory_in_use = self
                .memory_in_use
                .saturating_add(desired.saturating_sub(current));
        } else {
            self.memory_cap_hit = true;
        }
        answer
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        self.inner.table_growing(current, desired, maximum)
    }

    fn instances(&self) -> usize {
        self.inner.instances()
    }

    fn tables(&self) -> usize {
        self.inner.tables()
    }

    fn memories(&self) -> usize {
        self.inner.memories()
    }
}
