//! Keeps the search index in step with the store.
//!
//! Every stored message is queued for indexing; a background task adds
//! batches and commits at most once a second (a tantivy commit costs an
//! fsync, a new segment that merges must fold in later and a reader reload,
//! so batching is what makes indexing keep up with ingest). A message is
//! searchable within about a second of its arrival: 0.2 s after a quiet
//! spell, up to [`COMMIT_EVERY`] plus the commit's own time under a burst.
//! The index
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

/// Least time between two commits under a burst. Committing whenever a
/// batch was ready (every ~0.25 s under load) spent a tenth of the server's
/// CPU in tantivy's indexer, segment updater and merges.
const COMMIT_EVERY: Duration = Duration::from_secs(1);

/// How long a message arriving after a quiet spell waits for company.
const GATHER: Duration = Duration::from_millis(200);

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

/// Indexes what is queued, committing at most once a second, until
/// aborted. First catches up with (or rebuilds from) the store.
pub async fn run(engine: Arc<Engine>) {
    let for_catch_up = Arc::clone(&engine);
    // Queued messages up to the last id the catch-up read may be in the
    // index already (they arrived while it ran): those are replaced, the
    // rest added without a delete. Without a catch-up, anything may be.
    let mut replace_through = u64::MAX;
    match tokio::task::spawn_blocking(move || catch_up(&for_catch_up)).await {
        Ok(Ok((count, through))) => {
            replace_through = through;
            if count > 0 {
                tracing::info!(messages = count, "search index caught up with the store");
            }
        }
        Ok(Err(error)) => {
            tracing::error!(%error, "search index catch-up failed; search may miss older messages")
        }
        Err(error) => tracing::error!(%error, "search index catch-up task failed"),
    }
    let mut last_commit: Option<tokio::time::Instant> = None;
    loop {
        let _ =
            tokio::time::timeout(Duration::from_secs(1), engine.index_queue.wake.notified()).await;
        // Let a burst gather into one commit, and keep commits apart.
        let spacing = last_commit.map_or(Duration::ZERO, |at| {
            COMMIT_EVERY.saturating_sub(at.elapsed())
        });
        tokio::time::sleep(GATHER.max(spacing)).await;
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
        last_commit = Some(tokio::time::Instant::now());
        let for_commit = Arc::clone(&engine);
        let outcome = tokio::task::spawn_blocking(move || {
            let watermark = batch.iter().map(|m| m.message_id).max().unwrap_or(0);
            let index = &for_commit.search;
            let (known, new): (Vec<IndexedMessage>, Vec<IndexedMessage>) = batch
                .into_iter()
                .partition(|m| m.message_id <= replace_through);
            index.add(&known)?;
            index.add_new(&new)?;
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
/// index). Returns how many, and the highest message id it read (or that
/// the index may hold).
pub(crate) fn catch_up(engine: &Engine) -> Result<(u64, u64), EngineError> {
    let index = &engine.search;
    let mut after = if index.is_fresh() {
        0
    } else {
        index.watermark()?.saturating_sub(CATCH_UP_MARGIN)
    };
    let count = reindex_from(engine.store(), index, &mut after)?;
    Ok((count, after.max(index.watermark()?)))
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
