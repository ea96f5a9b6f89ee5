//! omnigate's embedded storage on sled.
//!
//! The store owns the data directory: it takes an exclusive lock on it, opens
//! sled, runs schema migrations, and exposes typed operations (users, sessions,
//! API tokens, the audit chain). Records on disk are this crate's own
//! versioned encodings (see [`record`]), never the domain types, so the domain
//! can change without rewriting stored data by accident.
//!
//! Durability: sled writes land in memory first. Anything acknowledged to a
//! client must first `await` [`Store::durable`], which joins the next group
//! commit (see [`commit`]): one background flusher calls `flush()` back to
//! back and every writer waits for the first flush that started after its
//! write.

pub mod attachments;
pub mod audit;
mod cache;
pub mod canned;
pub mod channels;
pub mod commit;
pub mod conversations;
pub mod desk_state;
pub mod flows;
mod inbound;
mod journal;
mod lock;
pub mod outbox;
pub mod plugins;
pub mod record;
mod schema;
pub mod sessions;
pub mod shops;
pub mod tokens;
pub mod users;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

pub use audit::{AuditEntry, AuditFilter, ChainBreak, ChainReport};
pub use commit::CommitStats;
pub use conversations::{
    ContactRecord, ContentRecord, ConversationRecord, Inbound, Ingested, MessageRecord, Outgoing,
    StatusRecord,
};
pub use plugins::{KvWrite, PluginRecord};
pub use sessions::SessionRecord;
pub use tokens::TokenRecord;
pub use users::{NewUser, UserUpdate};

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Another process holds the data directory.
    #[error(
        "data directory {dir} is in use by another omnigate process{pid}; stop it or set storage.data_dir to another directory",
        pid = match .pid { Some(pid) => format!(" (pid {pid})"), None => String::new() }
    )]
    Locked {
        /// The data directory.
        dir: PathBuf,
        /// The holder's process id, when it could be read.
        pid: Option<u32>,
    },
    /// The data was written by a newer omnigate that this binary cannot read.
    #[error(
        "data directory was written by a newer omnigate (schema version {found}); this binary understands up to version {supported}"
    )]
    SchemaTooNew {
        /// Version found on disk.
        found: u32,
        /// Highest version this binary knows.
        supported: u32,
    },
    /// A unique value (e-mail address) is already taken.
    #[error("{0}")]
    Conflict(String),
    /// The record asked for does not exist.
    #[error("{0} not found")]
    NotFound(String),
    /// A record failed validation on its way to or from disk.
    #[error("invalid {kind} record: {reason}")]
    InvalidRecord {
        /// Which kind of record.
        kind: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// sled reported an error.
    #[error("storage engine error: {0}")]
    Sled(#[from] sled::Error),
    /// A filesystem operation on the data directory failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// The group-commit flush failed, so the write is not known to be durable.
    #[error("flushing to disk failed: {0}")]
    Flush(String),
}

impl From<sled::transaction::TransactionError<StoreError>> for StoreError {
    fn from(err: sled::transaction::TransactionError<StoreError>) -> StoreError {
        match err {
            sled::transaction::TransactionError::Abort(inner) => inner,
            sled::transaction::TransactionError::Storage(inner) => StoreError::Sled(inner),
        }
    }
}

/// Tuning for [`Store::open_with`].
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// Upper bound of sled's page cache. sled's own default is 1 GiB; an
    /// appliance sharing a small machine wants a deliberate figure.
    pub cache_capacity_bytes: u64,
}

impl Default for StoreOptions {
    fn default() -> StoreOptions {
        StoreOptions {
            cache_capacity_bytes: 128 * 1024 * 1024,
        }
    }
}

/// Entries per read cache: far more than the concurrent sessions and users of
/// one installation, small enough (a few MB) not to matter.
const CACHE_CAPACITY: usize = 16_384;

const ID_COUNTER_KEY: &str = "id_counter";

/// The opened data directory. Cheap to share behind an `Arc`.
pub struct Store {
    db: sled::Db,
    trees: Trees,
    commit: commit::GroupCommit,
    /// Serialises audit appends so each record chains to its predecessor.
    audit_append: Mutex<()>,
    /// Decoded sessions by token hash, for authentication.
    session_cache: cache::ReadCache<[u8; 32], SessionRecord>,
    /// Decoded users by id, for authentication.
    user_cache: cache::ReadCache<u64, omnigate_domain::User>,
    /// Channels by id: every inbound message reads its channel.
    channel_cache: cache::ReadCache<u64, channels::ChannelRecord>,
    /// Channel ids by inbound token hash, for the webhook's authentication.
    channel_token_cache: cache::ReadCache<[u8; 32], u64>,
    /// Contacts and their open-conversation slots as the inbound path last
    /// wrote or read them; its lock is held across every transaction that
    /// writes `contacts`, `contacts_by_external` or `open_by_contact` (see
    /// [`conversations::InboundCache`]).
    inbound_cache: Mutex<conversations::InboundCache>,
    ids: Mutex<Ids>,
    /// Inbound messages' durability (see [`journal`]); `None` only while
    /// opening and after shutdown.
    journal: Mutex<Option<journal::Journal>>,
    /// The journal's sticky failure, readable without waiting for an append.
    journal_failure: std::sync::OnceLock<Arc<std::sync::OnceLock<String>>>,
    dir: PathBuf,
    _lock: lock::DataDirLock,
}

struct Trees {
    meta: sled::Tree,
    users: sled::Tree,
    users_by_email: sled::Tree,
    sessions: sled::Tree,
    tokens: sled::Tree,
    tokens_by_hash: sled::Tree,
    audit: sled::Tree,
    channels: sled::Tree,
    channel_tokens: sled::Tree,
    contacts: sled::Tree,
    contacts_by_external: sled::Tree,
    conversations: sled::Tree,
    open_by_contact: sled::Tree,
    messages: sled::Tree,
    message_keys: sled::Tree,
    messages_by_provider: sled::Tree,
    outbox: sled::Tree,
    dead_letters: sled::Tree,
    agents: sled::Tree,
    canned: sled::Tree,
    attachments: sled::Tree,
    attachment_refs: sled::Tree,
    outbound_by_provider: sled::Tree,
    plugins: sled::Tree,
    plugin_kv: sled::Tree,
    plugin_kv_usage: sled::Tree,
    channel_settings: sled::Tree,
    shops: sled::Tree,
    flows: sled::Tree,
    flow_sessions: sled::Tree,
}

impl Store {
    /// Opens (creating if needed) the data directory with default options.
    pub fn open(dir: &Path) -> Result<Arc<Store>, StoreError> {
        Store::open_with(dir, &StoreOptions::default())
    }

    /// Opens (creating if needed) the data directory, locks it and migrates it.
    pub fn open_with(dir: &Path, options: &StoreOptions) -> Result<Arc<Store>, StoreError> {
        create_private_dir(dir)?;
        let lock = lock::DataDirLock::acquire(dir)?;
        // Uploads staged by a previous run that never finished (a crash, a
        // kill) are garbage now; only this process writes here.
        if let Ok(entries) = std::fs::read_dir(dir.join("attachments").join("tmp")) {
            for entry in entries.flatten() {
                let _ = std::fs::remove_file(entry.path());
            }
        }
        let db = sled::Config::new()
            .path(dir.join("db"))
            .mode(sled::Mode::HighThroughput)
            .cache_capacity(options.cache_capacity_bytes)
            .open()?;
        let trees = Trees {
            meta: db.open_tree("meta")?,
            users: db.open_tree("users")?,
            users_by_email: db.open_tree("users_by_email")?,
            sessions: db.open_tree("sessions")?,
            tokens: db.open_tree("tokens")?,
            tokens_by_hash: db.open_tree("tokens_by_hash")?,
            audit: db.open_tree("audit")?,
            channels: db.open_tree("channels")?,
            channel_tokens: db.open_tree("channel_tokens")?,
            contacts: db.open_tree("contacts")?,
            contacts_by_external: db.open_tree("contacts_by_external")?,
            conversations: db.open_tree("conversations")?,
            open_by_contact: db.open_tree("open_by_contact")?,
            messages: db.open_tree("messages")?,
            message_keys: db.open_tree("message_keys")?,
            messages_by_provider: db.open_tree("messages_by_provider")?,
            outbox: db.open_tree("outbox")?,
            dead_letters: db.open_tree("dead_letters")?,
            agents: db.open_tree("agents")?,
            canned: db.open_tree("canned")?,
            attachments: db.open_tree("attachments")?,
            attachment_refs: db.open_tree("attachment_refs")?,
            outbound_by_provider: db.open_tree("outbound_by_provider")?,
            plugins: db.open_tree("plugins")?,
            plugin_kv: db.open_tree("plugin_kv")?,
            plugin_kv_usage: db.open_tree("plugin_kv_usage")?,
            channel_settings: db.open_tree("channel_settings")?,
            shops: db.open_tree("shops")?,
            flows: db.open_tree("flows")?,
            flow_sessions: db.open_tree("flow_sessions")?,
        };
        schema::migrate(&db, &trees.meta)?;
        let commit = commit::GroupCommit::start(db.clone());
        let first = first_id(&trees.meta)?;
        let store = Store {
            db,
            trees,
            commit,
            audit_append: Mutex::new(()),
            session_cache: cache::ReadCache::new(CACHE_CAPACITY),
            user_cache: cache::ReadCache::new(CACHE_CAPACITY),
            channel_cache: cache::ReadCache::new(CACHE_CAPACITY),
            channel_token_cache: cache::ReadCache::new(CACHE_CAPACITY),
            inbound_cache: Mutex::new(conversations::InboundCache::default()),
            ids: Mutex::new(Ids {
                next: first,
                reserved_until: first,
            }),
            journal: Mutex::new(None),
            journal_failure: std::sync::OnceLock::new(),
            dir: dir.to_path_buf(),
            _lock: lock,
        };
        store.recover_journal()?;
        Ok(Arc::new(store))
    }

    /// Waits until every write made before this call is on disk.
    ///
    /// Call it after writing and before acknowledging; concurrent callers share
    /// one flush.
    pub async fn durable(&self) -> Result<(), StoreError> {
        self.commit.durable().await
    }

    /// Flushes synchronously; for the CLI and shutdown, not for request paths.
    pub fn flush_blocking(&self) -> Result<(), StoreError> {
        self.db.flush()?;
        Ok(())
    }

    /// Figures about group commit, for `/metrics`.
    #[must_use]
    pub fn commit_stats(&self) -> CommitStats {
        self.commit.stats()
    }

    /// Whether the store can take writes: the flusher runs, and no flush
    /// and no journal write has failed.
    #[must_use]
    pub fn is_ready(&self) -> bool {
        self.commit.is_healthy()
            && self
                .journal_failure
                .get()
                .is_some_and(|failure| failure.get().is_none())
    }

    /// Bytes the database occupies on disk, for `/metrics`.
    #[must_use]
    pub fn size_on_disk(&self) -> u64 {
        self.db.size_on_disk().unwrap_or(0)
    }

    /// The data directory this store owns.
    #[must_use]
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Reads a value from the meta tree (small settings the server keeps).
    pub fn meta_get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.trees.meta.get(key)?.map(|v| v.to_vec()))
    }

    /// Writes a value to the meta tree. Call [`Store::durable`] to persist it.
    pub fn meta_put(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        self.trees.meta.insert(key, value)?;
        Ok(())
    }

    /// A fresh id, unique for the lifetime of the data directory: 1, 2, 3...
    ///
    /// A counter in the meta tree rather than sled's `generate_id`, which
    /// jumps by a million after every restart and makes ids unreadable. The
    /// stored value is an upper bound reserved [`ID_BLOCK`] ids at a time,
    /// so drawing an id is a memory operation (the inbound path draws three
    /// per message); the reservation is written before any id from it is
    /// used, so it is flushed with the first record that uses one. A clean
    /// shutdown stores the exact next id; after a crash ids skip at most
    /// one block.
    pub(crate) fn next_id(&self) -> Result<u64, StoreError> {
        let mut ids = self
            .ids
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if ids.next >= ids.reserved_until {
            let until = ids.next.saturating_add(ID_BLOCK);
            self.trees
                .meta
                .insert(ID_COUNTER_KEY, &until.to_be_bytes())?;
            ids.reserved_until = until;
        }
        let id = ids.next;
        ids.next += 1;
        Ok(id)
    }

    /// Makes sure no id up to `highest` is handed out again: the journal's
    /// replay restores records whose ids' reservation may not have reached
    /// the disk before a crash.
    pub(crate) fn ensure_ids_above(&self, highest: u64) {
        let mut ids = self
            .ids
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if ids.next <= highest {
            ids.next = highest.saturating_add(1);
            ids.reserved_until = ids.next;
        }
    }
}

/// Ids handed out from memory between two writes of the counter.
const ID_BLOCK: u64 = 1_000;

/// The id counter in memory: the next id, and the bound stored on disk.
#[derive(Debug)]
struct Ids {
    next: u64,
    reserved_until: u64,
}

/// The first id to hand out: one past the stored counter, which is the last
/// id used (after a clean shutdown) or a reservation's bound (after a
/// crash: then the ids up to the bound are skipped, never reused).
fn first_id(meta: &sled::Tree) -> Result<u64, StoreError> {
    let stored = match meta.get(ID_COUNTER_KEY)? {
        Some(bytes) => record::key_id(&bytes)?,
        None => 0,
    };
    Ok(stored.saturating_add(1))
}

/// Creates `dir` (and parents) readable only by the service user.
pub fn create_private_dir(dir: &Path) -> Result<(), StoreError> {
    let io = |context: String| move |source| StoreError::Io { context, source };
    std::fs::create_dir_all(dir).map_err(io(format!("creating {}", dir.display())))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .map_err(io(format!("restricting permissions of {}", dir.display())))?;
    }
    Ok(())
}

impl Drop for Store {
    fn drop(&mut self) {
        let journal = self
            .journal
            .get_mut()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        self.commit.stop();
        // Give back the unused part of the reservation: the next start
        // continues right after the last id used.
        let next = self
            .ids
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .next;
        if let Err(error) = self
            .trees
            .meta
            .insert(ID_COUNTER_KEY, &next.saturating_sub(1).to_be_bytes())
        {
            tracing::error!(%error, "storing the id counter failed");
        }
        match self.db.flush() {
            // Everything the journal holds is in sled's files now.
            Ok(_) => {
                if let Some(journal) = journal {
                    journal.close_flushed();
                }
            }
            Err(error) => tracing::error!(%error, "final flush of the store failed"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn temp_store() -> (tempfile::TempDir, Arc<Store>) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        (dir, store)
    }

    #[test]
    fn a_second_open_of_the_same_dir_is_refused_with_the_pid() {
        let (dir, _store) = temp_store();
        let Err(err) = Store::open(dir.path()) else {
            panic!("second open succeeded");
        };
        let message = err.to_string();
        assert!(
            message.contains("in use by another omnigate process"),
            "{message}"
        );
        assert!(
            message.contains(&std::process::id().to_string()),
            "{message}"
        );
    }

    #[test]
    fn data_survives_reopening() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = Store::open(dir.path()).unwrap();
            store.meta_put("k", b"v").unwrap();
            store.flush_blocking().unwrap();
        }
        let store = Store::open(dir.path()).unwrap();
        assert_eq!(store.meta_get("k").unwrap(), Some(b"v".to_vec()));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn group_commit_serves_many_concurrent_writers_with_few_flushes() {
        let (_dir, store) = temp_store();
        let writers = 256;
        let mut tasks = Vec::new();
        for i in 0..writers {
            let store = Arc::clone(&store);
            tasks.push(tokio::spawn(async move {
                store.meta_put(&format!("w{i}"), &[7u8; 1024]).unwrap();
                store.durable().await.unwrap();
            }));
        }
        for task in tasks {
            task.await.unwrap();
        }
        let stats = store.commit_stats();
        assert_eq!(stats.durable_waits, writers);
        assert!(
            stats.flushes < writers,
            "{} flushes for {writers} writers: no grouping",
            stats.flushes
        );
        for i in 0..writers {
            assert!(store.meta_get(&format!("w{i}")).unwrap().is_some());
        }
    }
}
