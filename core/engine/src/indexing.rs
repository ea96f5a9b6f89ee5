//! Keeps the search index in step with the store.
//!
//! Every stored message is queued for indexing; a background task adds
//! batches and commits about once a second (a tantivy commit costs an
//! fsync, so batching is what makes indexing keep up with ingest). The index
//! is derived data: after a crash the start-up catch-up re-indexes the
//! messages after the last committed watermark (with a margin, since ids
//! are drawn before their transaction commits), and a missing or outdated
//! index is rebuilt from the store in the background.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use omnigate_search::{IndexedMessage, SearchIndex};
use omnigate_store::MessageRecord;

use crate::{Engine, EngineError};

/// Ids re-indexed below the watermark at start: far more than can be in
/// flight between drawing an id and committing its message.
const CATCH_UP_MARGIN: u64 = 100_000;

/// Messages read from the store per rebuild step.
const REBUILD_BATCH: usize = 10_000;

/// Messages waiting for the indexer.
#[derive(Default)]
pub(crate) struct IndexQueue {
    waiting: Mutex<Vec<IndexedMessage>>,
    wake: tokio::sync::Notify,
}

impl IndexQueue {
    pub(crate) fn push(&self, message: &MessageRecord) {
        let Some(entry) = indexed(message) else {
            return;
        };
        self.waiting
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(entry);
        self.wake.notify_one();
    }

    fn take(&self) -> Vec<IndexedMessage> {
        std::mem::take(&mut *self.waiting.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

/// The index entry of a message, if it has text worth finding.
fn indexed(message: &MessageRecord) -> Option<IndexedMessage> {
    let text = message.content.to_domain().ok()?.searchable_text();
    (!text.trim().is_empty()).then_some(IndexedMessage {
        message_id: message.id,
        conversation_id: message.conversation_id,
        at_ms: message.at_ms,
        text,
    })
}

/// Indexes what is queued, committing about once a second, until aborted.
/// First catches up with (or rebuilds from) the store.
pub async fn run(engine: Arc<Engine>) {
    let for_catch_up = Arc::clone(&engine);
    match tokio::task::spawn_blocking(move || catch_up(&for_catch_up)).await {
        Ok(Ok(count)) if count > 0 => {
            tracing::info!(messages = count, "search index caught up with the store")
        }
        Ok(Ok(_)) => {}
        Ok(Err(error)) => {
            tracing::error!(%error, "search index catch-up failed; search may miss older messages")
        }
        Err(error) => tracing::error!(%error, "search index catch-up task failed"),
    }
    loop {
        let _ =
            tokio::time::timeout(Duration::from_secs(1), engine.index_queue.wake.notified()).await;
        // Let a burst gather into one commit.
        tokio::time::sleep(Duration::from_millis(200)).await;
        let batch = engine.index_queue.take();
        if batch.is_empty() {
            continue;
        }
        // Index only what is on disk, so the index never names a message a
        // crash took back (whose id could then be drawn again).
        if let Err(error) = engine.durable().await {
            tracing::error!(%error, "search indexing waits: the messages are not durable");
            continue;
        }
        let for_commit = Arc::clone(&engine);
        let outcome = tokio::task::spawn_blocking(move || {
            let watermark = batch.iter().map(|m| m.message_id).max().unwrap_or(0);
            let index = &for_commit.search;
            index.add(&batch)?;
            let watermark = watermark.max(index.watermark()?);
            index.commit(watermark)
        })
        .await;
        match outcome {
            Ok(Ok(())) => {}
            Ok(Err(error)) => {
                tracing::error!(%error, "search indexing failed; the messages are stored, run `omnigate search rebuild` to index them")
            }
            Err(error) => tracing::error!(%error, "search indexing task failed"),
        }
    }
}

/// Indexes and commits whatever is queued; for a graceful shutdown.
pub fn flush(engine: &Engine) -> Result<(), EngineError> {
    let batch = engine.index_queue.take();
    if batch.is_empty() {
        return Ok(());
    }
    let watermark = batch.iter().map(|m| m.message_id).max().unwrap_or(0);
    engine.search.add(&batch)?;
    let watermark = watermark.max(engine.search.watermark()?);
    engine.search.commit(watermark)?;
    Ok(())
}

/// Indexes every message after the watermark (all of them for a fresh
/// index). Returns how many.
pub(crate) fn catch_up(engine: &Engine) -> Result<u64, EngineError> {
    let index = &engine.search;
    let mut after = if index.is_fresh() {
        0
    } else {
        index.watermark()?.saturating_sub(CATCH_UP_MARGIN)
    };
    reindex_from(engine.store(), index, &mut after)
}

/// Drops the index and fills it again from the store. Returns how many
/// messages it holds.
pub fn rebuild(store: &omnigate_store::Store, index: &SearchIndex) -> Result<u64, EngineError> {
    index.clear()?;
    let mut after = 0;
    reindex_from(store, index, &mut after)
}

fn reindex_from(
    store: &omnigate_store::Store,
    index: &SearchIndex,
    after: &mut u64,
) -> Result<u64, EngineError> {
    let mut count = 0;
    loop {
        let messages = store.messages_after(*after, REBUILD_BATCH)?;
        let Some(last) = messages.last() else {
            break;
        };
        *after = last.id;
        let entries: Vec<IndexedMessage> = messages.iter().filter_map(indexed).collect();
        count += entries.len() as u64;
        index.add(&entries)?;
        let watermark = (*after).max(index.watermark()?);
        index.commit(watermark)?;
    }
    Ok(count)
}

impl From<omnigate_search::SearchError> for EngineError {
    fn from(error: omnigate_search::SearchError) -> EngineError {
        EngineError::Search(error.to_string())
    }
}
