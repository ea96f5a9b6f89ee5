//! Inbound messages go to the store in batches, durably.
//!
//! sled runs every transaction under one global lock, and an inbound message
//! is a transaction over seven trees; one at a time, the lock set the pace.
//! A dedicated thread takes whatever messages are waiting, stores them in
//! one transaction and one journal append (one `fdatasync`, see the store's
//! journal), and hands each caller its own outcome, already on disk. Under
//! load a batch holds as many messages as arrived during the previous one;
//! alone, a message waits for nobody.

use std::sync::Arc;
use std::sync::mpsc;

use omnigate_store::{Inbound, Ingested, Store, StoreError};
use tokio::sync::oneshot;

/// Most messages in one transaction: bounds the time the global lock is
/// held and the memory of one batch.
const MAX_BATCH: usize = 256;

struct Job {
    inbound: Inbound,
    reply: oneshot::Sender<Result<Ingested, StoreError>>,
}

/// The handle callers submit to; the thread ends when it is dropped.
pub(crate) struct Batcher {
    jobs: mpsc::Sender<Job>,
}

impl Batcher {
    /// Starts the batching thread over `store`.
    pub(crate) fn start(store: Arc<Store>) -> Result<Batcher, std::io::Error> {
        let (jobs, receiver) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("omnigate-ingest".into())
            .spawn(move || run(&store, &receiver))?;
        Ok(Batcher { jobs })
    }

    /// Stores one inbound message with whatever else is waiting; on disk
    /// when it returns.
    pub(crate) async fn ingest(&self, inbound: Inbound) -> Result<Ingested, StoreError> {
        let (reply, outcome) = oneshot::channel();
        self.jobs
            .send(Job { inbound, reply })
            .map_err(|_| StoreError::Flush("the ingest thread has stopped".into()))?;
        outcome
            .await
            .map_err(|_| StoreError::Flush("the ingest thread has stopped".into()))?
    }
}

fn run(store: &Store, receiver: &mpsc::Receiver<Job>) {
    while let Ok(first) = receiver.recv() {
        let mut jobs = vec![first];
        while jobs.len() < MAX_BATCH {
            match receiver.try_recv() {
                Ok(job) => jobs.push(job),
                Err(_) => break,
            }
        }
        // Moved apart rather than cloned: the batch is all the store needs.
        let (batch, mut replies): (Vec<Inbound>, Vec<_>) =
            jobs.into_iter().map(|j| (j.inbound, j.reply)).unzip();
        match store.ingest_durable(&batch) {
            Ok(outcomes) => {
                for (reply, outcome) in replies.into_iter().zip(outcomes) {
                    // A caller that gave up (client gone) does not matter:
                    // its message is stored and a retry finds it.
                    let _ = reply.send(Ok(outcome));
                }
            }
            Err(error) if replies.len() == 1 => {
                if let Some(reply) = replies.pop() {
                    let _ = reply.send(Err(error));
                }
            }
            Err(error) => {
                // One bad message must not fail its neighbours: store them
                // one by one, so each gets its own outcome.
                tracing::warn!(%error, messages = replies.len(), "a batch of inbound messages failed; storing them one by one");
                for (inbound, reply) in batch.iter().zip(replies) {
                    let outcome = store
                        .ingest_durable(std::slice::from_ref(inbound))
                        .and_then(|mut one| {
                            one.pop().ok_or_else(|| {
                                StoreError::Flush("an ingested batch of one gave no result".into())
                            })
                        });
                    let _ = reply.send(outcome);
                }
            }
        }
    }
}
