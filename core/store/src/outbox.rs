//! Outbound delivery jobs: one per message that must reach a channel.
//!
//! A job is written in the same transaction as its message, so a message
//! acknowledged to an agent is never forgotten by a crash; the delivery
//! worker retries it with backoff until it is sent or gives up.

use serde::{Deserialize, Serialize};

use crate::record::{self, Record, id_key, key_id};
use crate::{Store, StoreError};

/// A pending delivery (encoding version 1).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct OutboxRecord {
    /// The message to deliver.
    pub message_id: u64,
    /// Attempts made so far.
    pub attempts: u32,
    /// Not before this time.
    pub next_attempt_ms: i64,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
}

impl Record for OutboxRecord {
    const KIND: &'static str = "outbox job";
    const VERSION: u8 = 1;

    fn validate(&self) -> Result<(), String> {
        if self.message_id == 0 {
            return Err("missing message id".into());
        }
        Ok(())
    }
}

impl OutboxRecord {
    /// The job for a new message, due at once.
    #[must_use]
    pub fn first(message_id: u64, now_ms: i64) -> OutboxRecord {
        OutboxRecord {
            message_id,
            attempts: 0,
            next_attempt_ms: now_ms,
            last_error: None,
        }
    }
}

impl Store {
    /// Jobs due at `now_ms`, oldest message first, at most `limit`.
    pub fn due_deliveries(
        &self,
        now_ms: i64,
        limit: usize,
    ) -> Result<Vec<OutboxRecord>, StoreError> {
        let mut due = Vec::new();
        for entry in self.trees.outbox.iter() {
            let (key, bytes) = entry?;
            let job: OutboxRecord = record::decode(&bytes)?;
            if key_id(&key)? != job.message_id {
                return Err(StoreError::InvalidRecord {
                    kind: OutboxRecord::KIND,
                    reason: "key and message id differ".into(),
                });
            }
            if job.next_attempt_ms <= now_ms {
                due.push(job);
                if due.len() == limit {
                    break;
                }
            }
        }
        Ok(due)
    }

    /// Jobs waiting, for `/metrics` and the admin view.
    #[must_use]
    pub fn outbox_len(&self) -> usize {
        self.trees.outbox.len()
    }

    /// Stores a job after a failed attempt.
    pub fn reschedule_delivery(&self, job: &OutboxRecord) -> Result<(), StoreError> {
        self.trees
            .outbox
            .insert(id_key(job.message_id), record::encode(job)?)?;
        Ok(())
    }

    /// Removes a finished (sent or abandoned) job.
    pub fn finish_delivery(&self, message_id: u64) -> Result<(), StoreError> {
        self.trees.outbox.remove(id_key(message_id))?;
        Ok(())
    }
}
