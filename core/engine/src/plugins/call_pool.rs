//! The threads inbound webhooks are parsed on.
//!
//! A plugin call is synchronous wasm under an epoch budget, so it cannot
//! run on the async workers (a plugin spinning to the end of its budget
//! would stall every connection on that worker). tokio's blocking pool
//! was the first home for it, and under a webhook burst it was the wrong
//! one: it starts a thread per call in flight (some 60 under the ingest
//! benchmark), every call cost about four context switches, and a binding
//! keeps only two warm instances, so most of those threads instantiated
//! afresh. A webhook through a plugin cost 80 µs more server CPU than one
//! through the API channel, for a 5 µs plugin call.
//!
//! This pool has one thread per core fed from one queue. Under load its
//! threads take the next call without sleeping, and as many calls run at
//! once as a binding keeps warm instances. Only calls that compute go
//! here (parsing a webhook, answering a handshake): calls that wait on the
//! provider (sending, fetching media, listing templates) stay on tokio's
//! blocking pool, where a slow network holds no parse back. A parse that
//! spins holds one of these threads for at most its time budget, and the
//! breaker disables a plugin that keeps doing it.

use std::panic::AssertUnwindSafe;

/// One queued call: runs it and hands its result back.
type Job = Box<dyn FnOnce() + Send>;

/// A fixed set of threads running plugin calls in arrival order.
pub(crate) struct CallPool {
    jobs: crossbeam_channel::Sender<Job>,
}

/// The pool could not run the call: its threads are gone, or the call
/// panicked (a host bug; the plugin's own faults are errors, not panics).
#[derive(Debug)]
pub(crate) struct NotRun;

impl CallPool {
    /// Starts `threads` threads (at least one), named `plugin-call-N`.
    /// They end when the pool is dropped.
    pub(crate) fn start(threads: usize) -> std::io::Result<CallPool> {
        let (jobs, queue) = crossbeam_channel::unbounded::<Job>();
        for n in 0..threads.max(1) {
            let queue = queue.clone();
            std::thread::Builder::new()
                .name(format!("plugin-call-{n}"))
                .spawn(move || {
                    for job in queue {
                        // A panicking call drops its result sender, which
                        // its caller sees as `NotRun`; the thread goes on.
                        let _ = std::panic::catch_unwind(AssertUnwindSafe(job));
                    }
                })?;
        }
        Ok(CallPool { jobs })
    }

    /// One thread per core the process may use.
    pub(crate) fn per_core() -> std::io::Result<CallPool> {
        CallPool::start(std::thread::available_parallelism().map_or(2, usize::from))
    }

    /// Runs `call` on the pool and waits for it without blocking the
    /// async worker.
    pub(crate) async fn run<T: Send + 'static>(
        &self,
        call: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, NotRun> {
        let (done, result) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = done.send(call());
        });
        self.jobs.send(job).map_err(|_| NotRun)?;
        result.await.map_err(|_| NotRun)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn calls_run_off_the_async_worker_and_answer() {
        let pool = CallPool::start(2).expect("threads start");
        let caller = std::thread::current().id();
        let (value, ran_on) = pool
            .run(move || (21 * 2, std::thread::current().id()))
            .await
            .expect("runs");
        assert_eq!(value, 42);
        assert_ne!(ran_on, caller);
    }

    #[tokio::test]
    async fn a_panicking_call_is_reported_and_the_pool_goes_on() {
        let pool = CallPool::start(1).expect("threads start");
        let failed = pool.run(|| -> u32 { panic!("host bug") }).await;
        assert!(failed.is_err());
        assert_eq!(pool.run(|| 7).await.expect("still runs"), 7);
    }

    #[tokio::test]
    async fn many_calls_in_flight_all_finish_on_few_threads() {
        let pool = std::sync::Arc::new(CallPool::start(2).expect("threads start"));
        let calls = (0..200u64).map(|n| {
            let pool = std::sync::Arc::clone(&pool);
            async move { pool.run(move || n * 2).await.expect("runs") }
        });
        let results = futures_util::future::join_all(calls).await;
        assert_eq!(
            results.iter().sum::<u64>(),
            (0..200u64).map(|n| n * 2).sum::<u64>()
        );
    }
}
