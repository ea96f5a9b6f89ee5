//! Inbound messages made durable through the journal (see [`crate::journal`]).

use serde::{Deserialize, Serialize};

use crate::conversations::InboundEntry;
use crate::{Inbound, Ingested, Store, StoreError, journal};

/// Format of a journal record; bump when [`JournalBatch`] changes, and keep
/// reading the old one for as long as a journal written by an older binary
/// can exist (it is gone after one clean start).
const JOURNAL_VERSION: u8 = 1;

/// One journal record: the messages of one batch that wrote something.
#[derive(Serialize, Deserialize)]
struct JournalBatch {
    entries: Vec<InboundEntry>,
}

impl Store {
    /// Stores inbound messages, as [`Store::ingest_batch`], and returns only
    /// once they are on disk: no [`Store::durable`] is needed for them.
    ///
    /// This is the inbound hot path: the batch costs one journal append and
    /// one `fdatasync` instead of a sled flush. Callers are serialised; the
    /// engine calls it from one thread.
    pub fn ingest_durable(&self, batch: &[Inbound]) -> Result<Vec<Ingested>, StoreError> {
        let entries = self.prepare_inbound(batch)?;
        let mut journal = self
            .journal
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let Some(journal) = journal.as_mut() else {
            return Err(StoreError::Flush("the inbound journal is closed".into()));
        };
        journal.check()?;
        let outcomes = self.apply_inbound(&entries)?;
        // A duplicate wrote nothing; the message it repeats was journaled
        // (and synced) by an earlier call, or earlier in this batch.
        let written: Vec<InboundEntry> = entries
            .into_iter()
            .zip(&outcomes)
            .filter(|(_, outcome)| matches!(outcome, Ingested::New { .. }))
            .map(|(entry, _)| entry)
            .collect();
        if !written.is_empty() {
            let mut payload = vec![JOURNAL_VERSION];
            // Encoding into memory cannot fail for these types; if it ever
            // did, the journal refuses like any failed append.
            match postcard::to_io(&JournalBatch { entries: written }, &mut payload) {
                Ok(_) => journal.append(&payload)?,
                Err(error) => {
                    return Err(journal.fail(format!("encoding a journal record: {error}")));
                }
            }
        }
        Ok(outcomes)
    }

    /// Applies what the journal holds from before the last stop, flushes
    /// sled, removes the replayed segments and opens the journal. Runs once,
    /// while the store is being opened.
    pub(crate) fn recover_journal(&self) -> Result<(), StoreError> {
        let dir = self.dir.join("journal");
        let recovered = journal::recover(&dir)?;
        let mut applied = 0usize;
        let mut highest_id = 0u64;
        for (index, record) in recovered.records.iter().enumerate() {
            let batch = decode(record).map_err(|reason| StoreError::InvalidRecord {
                kind: "journal",
                reason: format!("record {index}: {reason}"),
            })?;
            for entry in &batch.entries {
                highest_id = highest_id.max(entry.max_id());
            }
            let outcomes = self.apply_inbound(&batch.entries)?;
            applied += outcomes
                .iter()
                .filter(|o| matches!(o, Ingested::New { .. }))
                .count();
        }
        if !recovered.records.is_empty() {
            self.ensure_ids_above(highest_id);
            self.db.flush()?;
            tracing::info!(
                records = recovered.records.len(),
                restored = applied,
                "inbound journal replayed"
            );
        }
        for segment in &recovered.segments {
            let path = dir.join(format!("{segment:020}.log"));
            std::fs::remove_file(&path).map_err(|source| StoreError::Io {
                context: format!("removing the replayed journal {}", path.display()),
                source,
            })?;
        }
        let newest = recovered.segments.last().copied().unwrap_or(0);
        let opened = journal::Journal::open(&dir, newest, self.db.clone())?;
        let _ = self.journal_failure.set(opened.failure_handle());
        *self
            .journal
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(opened);
        Ok(())
    }
}

fn decode(record: &[u8]) -> Result<JournalBatch, String> {
    match record.split_first() {
        Some((&JOURNAL_VERSION, body)) => postcard::from_bytes(body).map_err(|e| e.to_string()),
        Some((version, _)) => Err(format!(
            "journal format {version} is not one this binary reads (it reads {JOURNAL_VERSION})"
        )),
        None => Err("empty record".into()),
    }
}

#[cfg(test)]
mod tests {
    use omnigate_domain::conversation::Content;

    use crate::{Inbound, Ingested, StatusRecord, Store};

    fn inbound(contact: &str, provider: &str, text: &str) -> Inbound {
        Inbound {
            channel_id: 1,
            external_id: contact.into(),
            contact_name: None,
            contact_phone: None,
            provider_id: provider.into(),
            content: Content::Text { body: text.into() },
            at_ms: 1_000,
            initial_status: StatusRecord::Queued { since_ms: 1_000 },
        }
    }

    fn copy_journal(from: &std::path::Path, to: &std::path::Path) {
        std::fs::create_dir_all(to).expect("mkdir");
        for entry in std::fs::read_dir(from).expect("journal dir") {
            let entry = entry.expect("entry");
            std::fs::copy(entry.path(), to.join(entry.file_name())).expect("copy");
        }
    }

    /// A crash after the acknowledgement and before sled's own flush: the
    /// database knows nothing of the messages, the journal knows them all.
    #[test]
    fn replay_restores_acknowledged_messages_a_database_lost() {
        let crashed = tempfile::tempdir().expect("tempdir");
        let saved = tempfile::tempdir().expect("tempdir");
        let kept = tempfile::tempdir().expect("tempdir");
        let (ids, conversation) = {
            let store = Store::open(crashed.path()).expect("opens");
            let outcomes = store
                .ingest_durable(&[
                    inbound("c1", "m1", "hello"),
                    inbound("c1", "m2", "again"),
                    inbound("c2", "m3", "other"),
                ])
                .expect("stored");
            let again = store
                .ingest_durable(&[inbound("c1", "m2", "again")])
                .expect("stored");
            assert!(matches!(again[0], Ingested::Duplicate { .. }));
            copy_journal(&crashed.path().join("journal"), kept.path());
            let ids: Vec<u64> = outcomes
                .iter()
                .map(|o| match o {
                    Ingested::New { message, .. } => message.id,
                    Ingested::Duplicate { message } => message.id,
                })
                .collect();
            let conversation = match &outcomes[0] {
                Ingested::New { conversation, .. } => conversation.id,
                Ingested::Duplicate { .. } => panic!("first message is new"),
            };
            (ids, conversation)
        };
        // The journal over an empty database stands for the crash.
        copy_journal(kept.path(), &saved.path().join("journal"));
        let store = Store::open(saved.path()).expect("replays");
        for id in &ids {
            assert!(store.message(*id).expect("reads").is_some(), "message {id}");
        }
        let restored = store
            .conversation(conversation)
            .expect("reads")
            .expect("restored");
        assert_eq!(restored.message_count, 2);
        assert_eq!(restored.preview, "again");
        // Replay removed what it applied, and ids go on past the journal's.
        assert_eq!(
            std::fs::read_dir(saved.path().join("journal"))
                .expect("journal dir")
                .count(),
            1,
            "only the fresh segment is left"
        );
        let next = store
            .ingest_durable(&[inbound("c3", "m4", "new")])
            .expect("stored");
        let Ingested::New { message, .. } = &next[0] else {
            panic!("new message")
        };
        assert!(ids.iter().all(|id| message.id > *id));
        // A second replay of the same records changes nothing.
        drop(store);
        copy_journal(kept.path(), &saved.path().join("journal"));
        let store = Store::open(saved.path()).expect("replays again");
        let restored = store
            .conversation(conversation)
            .expect("reads")
            .expect("kept");
        assert_eq!(restored.message_count, 2);
    }
}
