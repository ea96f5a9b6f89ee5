//! Group commit: many writers, one flush.
//!
//! sled 0.34.7's own `flush_async` deadlocks with 16 or more concurrent callers
//! (all its IO threads end up waiting), so the store runs one flusher thread
//! that calls the blocking `flush()` back to back while anyone is waiting. A
//! writer notes how many flushes had *started* when its write was done and
//! waits for the next one to *complete*: that flush began after the write, so
//! it covers it. With 256 concurrent writers one flush serves hundreds of
//! writes; with one writer it costs one flush each.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Instant;

use tokio::sync::watch;

use crate::StoreError;

/// The outcome of the latest completed flush.
#[derive(Debug, Clone, Default)]
struct Completed {
    /// Number of the flush (1-based; 0 = none yet).
    epoch: u64,
    /// Why it failed, if it did.
    error: Option<Arc<str>>,
}

#[derive(Default)]
struct Wanted {
    pending: bool,
    stop: bool,
}

struct Shared {
    db: sled::Db,
    started: AtomicU64,
    wanted: Mutex<Wanted>,
    wake: Condvar,
    completed: watch::Sender<Completed>,
    running: AtomicBool,
    /// The first flush failure. Sticky: after a failed fsync the kernel may
    /// have dropped dirty pages, so a later "successful" flush proves
    /// nothing; every later write is refused until an operator restarts.
    failure: std::sync::OnceLock<Arc<str>>,
    durable_waits: AtomicU64,
    flush_micros_total: AtomicU64,
}

/// Counters for `/metrics`.
#[derive(Debug, Clone, Copy, Default)]
pub struct CommitStats {
    /// Flushes completed.
    pub flushes: u64,
    /// Writers that waited for durability.
    pub durable_waits: u64,
    /// Time spent in `flush()`, in microseconds.
    pub flush_micros_total: u64,
}

pub(crate) struct GroupCommit {
    shared: Arc<Shared>,
    flusher: Mutex<Option<JoinHandle<()>>>,
}

impl GroupCommit {
    pub(crate) fn start(db: sled::Db) -> GroupCommit {
        let (completed, _) = watch::channel(Completed::default());
        let shared = Arc::new(Shared {
            db,
            started: AtomicU64::new(0),
            wanted: Mutex::new(Wanted::default()),
            wake: Condvar::new(),
            completed,
            running: AtomicBool::new(true),
            failure: std::sync::OnceLock::new(),
            durable_waits: AtomicU64::new(0),
            flush_micros_total: AtomicU64::new(0),
        });
        let for_thread = Arc::clone(&shared);
        let flusher = std::thread::Builder::new()
            .name("omnigate-flusher".into())
            .spawn(move || run_flusher(&for_thread))
            .map_err(|error| tracing::error!(%error, "could not start the flusher thread"))
            .ok();
        if flusher.is_none() {
            shared.running.store(false, Ordering::SeqCst);
        }
        GroupCommit {
            shared,
            flusher: Mutex::new(flusher),
        }
    }

    pub(crate) async fn durable(&self) -> Result<(), StoreError> {
        if let Some(failure) = self.shared.failure.get() {
            return Err(StoreError::Flush(failure.to_string()));
        }
        if !self.shared.running.load(Ordering::SeqCst) {
            // No flusher (stopping, or it never started): flush here.
            let db = self.shared.db.clone();
            return match tokio::task::spawn_blocking(move || db.flush()).await {
                Ok(Ok(_)) => Ok(()),
                Ok(Err(error)) => Err(StoreError::Flush(error.to_string())),
                Err(join) => Err(StoreError::Flush(join.to_string())),
            };
        }
        self.shared.durable_waits.fetch_add(1, Ordering::Relaxed);
        let target = self.shared.started.load(Ordering::SeqCst) + 1;
        let mut completed = self.shared.completed.subscribe();
        {
            let mut wanted = self
                .shared
                .wanted
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            wanted.pending = true;
        }
        self.shared.wake.notify_one();
        let outcome = completed
            .wait_for(|c| c.epoch >= target)
            .await
            .map_err(|_| StoreError::Flush("the flusher stopped".into()))?;
        match (&outcome.error, self.shared.failure.get()) {
            (None, None) => Ok(()),
            (Some(error), _) | (None, Some(error)) => Err(StoreError::Flush(error.to_string())),
        }
    }

    pub(crate) fn stats(&self) -> CommitStats {
        CommitStats {
            flushes: self.shared.started.load(Ordering::Relaxed),
            durable_waits: self.shared.durable_waits.load(Ordering::Relaxed),
            flush_micros_total: self.shared.flush_micros_total.load(Ordering::Relaxed),
        }
    }

    /// Running and no flush has failed.
    pub(crate) fn is_healthy(&self) -> bool {
        self.shared.running.load(Ordering::SeqCst) && self.shared.failure.get().is_none()
    }

    /// Stops the flusher after it has served everyone already waiting.
    pub(crate) fn stop(&self) {
        {
            let mut wanted = self
                .shared
                .wanted
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            wanted.stop = true;
        }
        self.shared.wake.notify_one();
        let handle = self
            .flusher
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(handle) = handle {
            let _ = handle.join();
        }
    }
}

fn run_flusher(shared: &Shared) {
    loop {
        {
            let mut wanted = shared.wanted.lock().unwrap_or_else(PoisonError::into_inner);
            while !wanted.pending && !wanted.stop {
                wanted = shared
                    .wake
                    .wait(wanted)
                    .unwrap_or_else(PoisonError::into_inner);
            }
            if !wanted.pending {
                break;
            }
            wanted.pending = false;
        }
        let epoch = shared.started.fetch_add(1, Ordering::SeqCst) + 1;
        let began = Instant::now();
        let error = shared.db.flush().err().map(|error| {
            tracing::error!(%error, "group commit flush failed; refusing further writes until restart");
            let error = Arc::<str>::from(error.to_string());
            let _ = shared.failure.set(Arc::clone(&error));
            error
        });
        let micros = u64::try_from(began.elapsed().as_micros()).unwrap_or(u64::MAX);
        shared
            .flush_micros_total
            .fetch_add(micros, Ordering::Relaxed);
        shared.completed.send_replace(Completed { epoch, error });
    }
    // Writers that saw the flusher running just before it stopped are still
    // waiting: one last flush, which began after their writes, releases them.
    shared.running.store(false, Ordering::SeqCst);
    let error = shared
        .db
        .flush()
        .err()
        .map(|e| Arc::<str>::from(e.to_string()));
    shared.completed.send_replace(Completed {
        epoch: u64::MAX,
        error,
    });
}
