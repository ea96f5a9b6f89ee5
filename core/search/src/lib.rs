//! The full-text index of message text, for history search.
//!
//! One tantivy document per message: its id, its conversation, its time
//! and its text. The index is derived data: the store is the truth, and the
//! index can be dropped and rebuilt from it at any time (`omnigate search
//! rebuild`, or automatically when its layout changed). A commit records the
//! highest message id it covers (the *watermark*), so a restart re-indexes
//! only what came after.
//!
//! Text is split on anything that is not a letter or digit, lower-cased and
//! folded to ASCII, so `siparis` finds `Sipariş` and `IADE` finds `iade`:
//! agents on keyboards without Turkish letters still find their customers.

use std::ops::Bound;
use std::path::Path;
use std::sync::{Mutex, PoisonError};

use tantivy::collector::TopDocs;
use tantivy::query::{BooleanQuery, Occur, Query, QueryParser, RangeQuery};
use tantivy::schema::{
    FAST, Field, INDEXED, IndexRecordOption, STORED, Schema, TextFieldIndexing, TextOptions,
};
use tantivy::tokenizer::{
    AsciiFoldingFilter, LowerCaser, RemoveLongFilter, SimpleTokenizer, TextAnalyzer,
};
use tantivy::{
    DocAddress, Index, IndexReader, IndexWriter, Order, ReloadPolicy, TantivyDocument, Term, doc,
};

/// Bumped whenever the schema or the analyzer changes; an index of another
/// layout is rebuilt.
const LAYOUT: &str = "omnigate-messages-v1";

const ANALYZER: &str = "omnigate_text";

/// Why the index failed.
#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    /// tantivy reported an error.
    #[error("search index: {0}")]
    Index(#[from] tantivy::TantivyError),
    /// The index directory could not be opened or created.
    #[error("search index directory {dir}: {reason}")]
    Directory {
        /// The directory.
        dir: String,
        /// What went wrong.
        reason: String,
    },
}

/// A message as the index sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexedMessage {
    /// The message id (unique; re-indexing replaces).
    pub message_id: u64,
    /// Its conversation.
    pub conversation_id: u64,
    /// When it was received or sent.
    pub at_ms: i64,
    /// Its searchable text.
    pub text: String,
}

/// One search hit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hit {
    /// The matching message.
    pub message_id: u64,
    /// Its conversation.
    pub conversation_id: u64,
    /// Its time (results come newest first).
    pub at_ms: i64,
}

#[derive(Clone, Copy)]
struct Fields {
    message_id: Field,
    conversation_id: Field,
    at_ms: Field,
    text: Field,
}

/// The opened index. Writes are serialised internally; searches run in
/// parallel.
pub struct SearchIndex {
    index: Index,
    reader: IndexReader,
    writer: Mutex<IndexWriter>,
    fields: Fields,
    /// Whether the index was (re)created empty and must be filled from the
    /// store.
    fresh: bool,
}

fn schema() -> (Schema, Fields) {
    let mut builder = Schema::builder();
    let message_id = builder.add_u64_field("message_id", INDEXED | STORED | FAST);
    let conversation_id = builder.add_u64_field("conversation_id", STORED | FAST);
    let at_ms = builder.add_i64_field("at_ms", INDEXED | FAST);
    let text = builder.add_text_field(
        "text",
        TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(ANALYZER)
                .set_index_option(IndexRecordOption::WithFreqsAndPositions),
        ),
    );
    (
        builder.build(),
        Fields {
            message_id,
            conversation_id,
            at_ms,
            text,
        },
    )
}

fn analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(64))
        // Folding first: Unicode lower-casing turns `İ` into `i` plus a
        // combining dot, which would never match a typed `i`.
        .filter(AsciiFoldingFilter)
        .filter(LowerCaser)
        .build()
}

/// The commit payload: layout and watermark.
fn payload(watermark: u64) -> String {
    format!("{LAYOUT} {watermark}")
}

fn parse_payload(payload: Option<&str>) -> Option<u64> {
    let (layout, watermark) = payload?.split_once(' ')?;
    (layout == LAYOUT).then(|| watermark.parse().ok()).flatten()
}

impl SearchIndex {
    /// Opens the index in `dir`, creating it (empty, [`SearchIndex::is_fresh`])
    /// when it is missing, of another layout, or unreadable.
    pub fn open(dir: &Path, writer_memory_bytes: usize) -> Result<SearchIndex, SearchError> {
        let directory_error = |reason: String| SearchError::Directory {
            dir: dir.display().to_string(),
            reason,
        };
        std::fs::create_dir_all(dir).map_err(|e| directory_error(e.to_string()))?;
        let (schema, fields) = schema();
        let existing = Index::open_in_dir(dir).ok().filter(|index| {
            index.schema() == schema
                && index
                    .load_metas()
                    .ok()
                    .and_then(|m| parse_payload(m.payload.as_deref()))
                    .is_some()
        });
        let (index, fresh) = match existing {
            Some(index) => (index, false),
            None => {
                if dir.read_dir().is_ok_and(|mut d| d.next().is_some()) {
                    tracing::warn!(dir = %dir.display(), "search index is missing, outdated or damaged: rebuilding it from the store");
                    std::fs::remove_dir_all(dir).map_err(|e| directory_error(e.to_string()))?;
                    std::fs::create_dir_all(dir).map_err(|e| directory_error(e.to_string()))?;
                }
                (Index::create_in_dir(dir, schema)?, true)
            }
        };
        index.tokenizers().register(ANALYZER, analyzer());
        let writer = index.writer_with_num_threads(1, writer_memory_bytes.max(15_000_000))?;
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        let search = SearchIndex {
            index,
            reader,
            writer: Mutex::new(writer),
            fields,
            fresh,
        };
        if fresh {
            search.commit(0)?;
        }
        Ok(search)
    }

    /// Whether the index was created empty by [`SearchIndex::open`] and
    /// must be filled from the store.
    #[must_use]
    pub fn is_fresh(&self) -> bool {
        self.fresh
    }

    /// The highest message id the last commit covers.
    pub fn watermark(&self) -> Result<u64, SearchError> {
        let metas = self.index.load_metas()?;
        Ok(parse_payload(metas.payload.as_deref()).unwrap_or(0))
    }

    /// Adds (or replaces) messages. Visible to searches after [`SearchIndex::commit`].
    pub fn add(&self, messages: &[IndexedMessage]) -> Result<(), SearchError> {
        let writer = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        for m in messages {
            writer.delete_term(Term::from_field_u64(self.fields.message_id, m.message_id));
            writer.add_document(self.document(m))?;
        }
        Ok(())
    }

    /// Adds messages that cannot be in the index yet (ids drawn after the
    /// index was last filled from the store). Unlike [`SearchIndex::add`]
    /// it queues no delete of an older copy: each such delete is looked up
    /// in every segment at the next commit, which under an inbound burst
    /// was work for nothing. Visible to searches after [`SearchIndex::commit`].
    pub fn add_new(&self, messages: &[IndexedMessage]) -> Result<(), SearchError> {
        let writer = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        for m in messages {
            writer.add_document(self.document(m))?;
        }
        Ok(())
    }

    /// A message as the index stores it.
    fn document(&self, m: &IndexedMessage) -> TantivyDocument {
        doc!(
            self.fields.message_id => m.message_id,
            self.fields.conversation_id => m.conversation_id,
            self.fields.at_ms => m.at_ms,
            self.fields.text => m.text.as_str(),
        )
    }

    /// Makes added messages durable and searchable; records `watermark`.
    pub fn commit(&self, watermark: u64) -> Result<(), SearchError> {
        {
            let mut writer = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
            let mut prepared = writer.prepare_commit()?;
            prepared.set_payload(&payload(watermark));
            prepared.commit()?;
        }
        self.reader.reload()?;
        Ok(())
    }

    /// Removes everything (before a rebuild).
    pub fn clear(&self) -> Result<(), SearchError> {
        {
            let writer = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
            writer.delete_all_documents()?;
        }
        self.commit(0)
    }

    /// Messages matching `text` (every word must occur; `"two words"`
    /// matches the phrase), newest first, older than `before_ms` when
    /// given, at most `limit`. Query syntax errors are forgiven: what can be
    /// read of the query is searched.
    pub fn search(
        &self,
        text: &str,
        before_ms: Option<i64>,
        limit: usize,
    ) -> Result<Vec<Hit>, SearchError> {
        if text.trim().is_empty() || limit == 0 {
            return Ok(Vec::new());
        }
        let mut parser = QueryParser::for_index(&self.index, vec![self.fields.text]);
        parser.set_conjunction_by_default();
        let (parsed, _ignored) = parser.parse_query_lenient(text);
        let query: Box<dyn Query> = match before_ms {
            None => parsed,
            Some(before) => Box::new(BooleanQuery::new(vec![
                (Occur::Must, parsed),
                (
                    Occur::Must,
                    Box::new(RangeQuery::new(
                        Bound::Unbounded,
                        Bound::Excluded(Term::from_field_i64(self.fields.at_ms, before)),
                    )),
                ),
            ])),
        };
        let searcher = self.reader.searcher();
        let top = searcher.search(
            &query,
            &TopDocs::with_limit(limit).order_by_fast_field::<i64>("at_ms", Order::Desc),
        )?;
        let mut hits = Vec::with_capacity(top.len());
        for (at_ms, address) in top {
            hits.push(self.hit(&searcher, address, at_ms.unwrap_or_default())?);
        }
        Ok(hits)
    }

    fn hit(
        &self,
        searcher: &tantivy::Searcher,
        address: DocAddress,
        at_ms: i64,
    ) -> Result<Hit, SearchError> {
        let fast = searcher.segment_reader(address.segment_ord).fast_fields();
        let message_id = fast.u64("message_id")?.first(address.doc_id).unwrap_or(0);
        let conversation_id = fast
            .u64("conversation_id")?
            .first(address.doc_id)
            .unwrap_or(0);
        Ok(Hit {
            message_id,
            conversation_id,
            at_ms,
        })
    }

    /// Documents in the index, for metrics and tests.
    #[must_use]
    pub fn len(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    /// Whether the index holds no documents.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(id: u64, conversation: u64, at_ms: i64, text: &str) -> IndexedMessage {
        IndexedMessage {
            message_id: id,
            conversation_id: conversation,
            at_ms,
            text: text.into(),
        }
    }

    #[test]
    fn new_messages_are_found_and_a_later_replace_keeps_one_copy() {
        let dir = tempfile::tempdir().unwrap();
        let index = SearchIndex::open(dir.path(), 20_000_000).unwrap();
        index
            .add_new(&[
                message(1, 10, 1_000, "kargo"),
                message(2, 10, 2_000, "iade"),
            ])
            .unwrap();
        index.commit(2).unwrap();
        assert_eq!(index.len(), 2);
        // A catch-up over the same ids replaces them.
        index.add(&[message(2, 10, 2_000, "iade kargo")]).unwrap();
        index.commit(2).unwrap();
        assert_eq!(index.len(), 2);
        let ids: Vec<u64> = index
            .search("kargo", None, 10)
            .unwrap()
            .iter()
            .map(|h| h.message_id)
            .collect();
        assert_eq!(ids, vec![2, 1]);
    }

    #[test]
    fn finds_words_newest_first_without_turkish_letters_and_pages_by_time() {
        let dir = tempfile::tempdir().unwrap();
        let index = SearchIndex::open(dir.path(), 20_000_000).unwrap();
        assert!(index.is_fresh());
        index
            .add(&[
                message(1, 10, 1_000, "Siparişim nerede? Kargo gelmedi."),
                message(2, 11, 2_000, "İade etmek istiyorum"),
                message(3, 12, 3_000, "kargo takip numarası lütfen"),
                message(4, 13, 4_000, "teşekkürler"),
            ])
            .unwrap();
        index.commit(4).unwrap();
        let ids = |hits: Vec<Hit>| hits.iter().map(|h| h.message_id).collect::<Vec<_>>();
        assert_eq!(ids(index.search("kargo", None, 10).unwrap()), vec![3, 1]);
        assert_eq!(ids(index.search("siparisim", None, 10).unwrap()), vec![1]);
        assert_eq!(ids(index.search("IADE", None, 10).unwrap()), vec![2]);
        assert_eq!(ids(index.search("kargo takip", None, 10).unwrap()), vec![3]);
        assert_eq!(
            ids(index.search("kargo", Some(3_000), 10).unwrap()),
            vec![1]
        );
        assert_eq!(
            ids(index.search("\"takip numarasi\"", None, 10).unwrap()),
            vec![3]
        );
        // Query syntax errors do not fail the search.
        assert!(index.search("kargo AND (", None, 10).is_ok());
        assert_eq!(
            index.search("kargo", None, 10).unwrap()[0].conversation_id,
            12
        );
    }

    #[test]
    fn the_watermark_survives_reopening_and_replacing_does_not_duplicate() {
        let dir = tempfile::tempdir().unwrap();
        {
            let index = SearchIndex::open(dir.path(), 20_000_000).unwrap();
            index.add(&[message(7, 1, 1, "merhaba")]).unwrap();
            index.add(&[message(7, 1, 1, "merhaba")]).unwrap();
            index.commit(7).unwrap();
        }
        let index = SearchIndex::open(dir.path(), 20_000_000).unwrap();
        assert!(!index.is_fresh());
        assert_eq!(index.watermark().unwrap(), 7);
        assert_eq!(index.search("merhaba", None, 10).unwrap().len(), 1);
        index.clear().unwrap();
        assert!(index.is_empty());
    }

    #[test]
    fn a_damaged_index_is_recreated_fresh() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("meta.json"), "not json").unwrap();
        let index = SearchIndex::open(dir.path(), 20_000_000).unwrap();
        assert!(index.is_fresh());
        assert!(index.is_empty());
    }
}
