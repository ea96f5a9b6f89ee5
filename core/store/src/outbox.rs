//! Outbound delivery jobs: one per message that must reach a channel.
//!
//! A job is written in the same transaction as its message, so a message
//! acknowledged to an agent is never forgotten by a crash; the delivery
//! worker retries it with backoff until it is sent or gives up. A job given
//! up on moves to the dead letters (in one transaction, so it is in exactly
//! one of the two), where admins see why and may send it again or drop it.

use serde::{Deserialize, Serialize};
use sled::Transactional;
use sled::transaction::ConflictableTransactionError;

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

/// A delivery given up on (encoding version 1), keyed by message id.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct DeadLetterRecord {
    /// The message that was not delivered.
    pub message_id: u64,
    /// Its channel, for filtering.
    pub channel_id: u64,
    /// Attempts made.
    pub attempts: u32,
    /// Why the last attempt failed.
    pub reason: String,
    /// When it was given up on.
    pub failed_at_ms: i64,
}

impl Record for DeadLetterRecord {
    const KIND: &'static str = "dead letter";
    const VERSION: u8 = 1;

    fn validate(&self) -> Result<(), String> {
        if self.message_id == 0 {
            return Err("missing message id".into());
        }
        if self.reason.len() > 2_000 {
            return Err("reason longer than 2000 bytes".into());
        }
        Ok(())
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

    /// Jobs waiting for their next attempt that `keep` accepts, oldest
    /// message first, at most `limit`.
    pub fn pending_deliveries(
        &self,
        limit: usize,
        mut keep: impl FnMut(&OutboxRecord) -> bool,
    ) -> Result<Vec<OutboxRecord>, StoreError> {
        let mut jobs = Vec::new();
        for entry in self.trees.outbox.iter().values() {
            let job: OutboxRecord = record::decode(&entry?)?;
            if keep(&job) {
                jobs.push(job);
                if jobs.len() == limit {
                    break;
                }
            }
        }
        Ok(jobs)
    }

    /// Moves a job given up on from the outbox to the dead letters.
    pub fn bury_delivery(&self, letter: &DeadLetterRecord) -> Result<(), StoreError> {
        let bytes = record::encode(letter)?;
        let key = id_key(letter.message_id);
        (&self.trees.outbox, &self.trees.dead_letters).transaction(|(outbox, dead)| {
            outbox.remove(&key)?;
            dead.insert(&key, bytes.as_slice())?;
            Ok::<_, ConflictableTransactionError<StoreError>>(())
        })?;
        Ok(())
    }

    /// Dead letters, newest message first: those of `channel` if given,
    /// with message ids below `before` if given, at most `limit`.
    pub fn dead_letters(
        &self,
        channel: Option<u64>,
        before: Option<u64>,
        limit: usize,
    ) -> Result<Vec<DeadLetterRecord>, StoreError> {
        let range = match before {
            Some(before) => self.trees.dead_letters.range(..id_key(before)),
            None => self.trees.dead_letters.range::<&[u8], _>(..),
        };
        let mut letters = Vec::new();
        for entry in range.rev() {
            let (key, bytes) = entry?;
            let letter: DeadLetterRecord = record::decode(&bytes)?;
            if key_id(&key)? != letter.message_id {
                return Err(StoreError::InvalidRecord {
                    kind: DeadLetterRecord::KIND,
                    reason: "key and message id differ".into(),
                });
            }
            if channel.is_none_or(|c| c == letter.channel_id) {
                letters.push(letter);
                if letters.len() == limit {
                    break;
                }
            }
        }
        Ok(letters)
    }

    /// One dead letter.
    pub fn dead_letter(&self, message_id: u64) -> Result<Option<DeadLetterRecord>, StoreError> {
        self.trees
            .dead_letters
            .get(id_key(message_id))?
            .map(|v| record::decode(&v))
            .transpose()
    }

    /// Puts a dead letter back in the outbox as a fresh job due at
    /// `now_ms`; `None` when there is no such dead letter (any more).
    pub fn revive_delivery(
        &self,
        message_id: u64,
        now_ms: i64,
    ) -> Result<Option<DeadLetterRecord>, StoreError> {
        let key = id_key(message_id);
        let job = record::encode(&OutboxRecord::first(message_id, now_ms))?;
        let revived =
            (&self.trees.outbox, &self.trees.dead_letters).transaction(|(outbox, dead)| {
                let Some(bytes) = dead.remove(&key)? else {
                    return Ok(None);
                };
                outbox.insert(&key, job.as_slice())?;
                Ok::<_, ConflictableTransactionError<StoreError>>(Some(bytes))
            })?;
        revived.map(|bytes| record::decode(&bytes)).transpose()
    }

    /// Drops a dead letter for good; `None` when there is none.
    pub fn discard_dead_letter(
        &self,
        message_id: u64,
    ) -> Result<Option<DeadLetterRecord>, StoreError> {
        self.trees
            .dead_letters
            .remove(id_key(message_id))?
            .map(|v| record::decode(&v))
            .transpose()
    }

    /// Dead letters kept, for `/metrics`.
    #[must_use]
    pub fn dead_letter_count(&self) -> usize {
        self.trees.dead_letters.len()
    }
}
