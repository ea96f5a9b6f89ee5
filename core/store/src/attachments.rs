//! Attachments: files stored once by content (SHA-256) under
//! `<data dir>/attachments/<first two hex digits>/<hash>`, their metadata in
//! the `attachments` tree, and which conversations may show each one in
//! `attachment_refs` (conversation id ‖ hash), so a download is allowed
//! exactly to those who may read one of those conversations. A file a
//! channel uploads for an inbound message is referenced by that channel
//! (`c` ‖ channel id ‖ hash) until a message names it, so an integrator can
//! name only files it uploaded itself, never one it merely knows the hash
//! of.
//!
//! Uploads are written to `attachments/tmp/` first, then fsynced, renamed
//! into place and the directory fsynced before the record is written, so
//! an acknowledged upload survives a crash and a half-written one never
//! appears under its hash.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sled::Transactional;
use sled::transaction::ConflictableTransactionError;

use crate::record::{self, Record, id_key};
use crate::{Store, StoreError};

/// A stored attachment's metadata (encoding version 1).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct AttachmentRecord {
    /// SHA-256 of the content.
    pub sha256: [u8; 32],
    /// Size in bytes.
    pub size_bytes: u64,
    /// MIME type detected from the content.
    pub mime: String,
    /// Media kind name (`image`, `document`...).
    pub kind: String,
    /// File name as uploaded, for downloads.
    pub filename: Option<String>,
    /// First upload.
    pub created_at_ms: i64,
}

impl Record for AttachmentRecord {
    const KIND: &'static str = "attachment";
    const VERSION: u8 = 1;

    fn validate(&self) -> Result<(), String> {
        if self.mime.is_empty() || self.kind.is_empty() {
            return Err("missing type".into());
        }
        Ok(())
    }
}

fn io(context: String) -> impl FnOnce(std::io::Error) -> StoreError {
    move |source| StoreError::Io { context, source }
}

/// Who may use a stored attachment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttachmentScope {
    /// Shown in this conversation.
    Conversation(u64),
    /// Uploaded by this channel, for its inbound messages to name.
    Channel(u64),
}

impl AttachmentScope {
    fn key(self, sha256: &[u8; 32]) -> Vec<u8> {
        match self {
            AttachmentScope::Conversation(id) => ref_key(id, sha256).to_vec(),
            AttachmentScope::Channel(id) => {
                // One byte longer than a conversation's key: never equal.
                let mut key = Vec::with_capacity(41);
                key.push(b'c');
                key.extend_from_slice(&id_key(id));
                key.extend_from_slice(sha256);
                key
            }
        }
    }
}

fn ref_key(conversation: u64, sha256: &[u8; 32]) -> [u8; 40] {
    let mut key = [0u8; 40];
    key[..8].copy_from_slice(&id_key(conversation));
    key[8..].copy_from_slice(sha256);
    key
}

fn sync_dir(dir: &Path) -> Result<(), StoreError> {
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io(format!("syncing {}", dir.display())))
}

impl Store {
    /// Where uploads are staged; created on first use, on the same file
    /// system as the final place so the rename is atomic.
    pub fn attachment_staging_dir(&self) -> Result<PathBuf, StoreError> {
        let dir = self.dir.join("attachments").join("tmp");
        std::fs::create_dir_all(&dir).map_err(io(format!("creating {}", dir.display())))?;
        Ok(dir)
    }

    /// The path of an attachment's content.
    #[must_use]
    pub fn attachment_path(&self, sha256: &[u8; 32]) -> PathBuf {
        let hex = hex::encode(sha256);
        self.dir.join("attachments").join(&hex[..2]).join(hex)
    }

    /// Moves a fully written, staged upload into place (or drops it when the
    /// same content is stored already), records it and allows it in
    /// `scope`. Synchronous file system work: call it off the async
    /// runtime.
    pub fn commit_attachment(
        &self,
        staged: &Path,
        record: &AttachmentRecord,
        scope: AttachmentScope,
    ) -> Result<AttachmentRecord, StoreError> {
        let target = self.attachment_path(&record.sha256);
        let existing = self.attachment(&record.sha256)?;
        if existing.is_some() && target.exists() {
            std::fs::remove_file(staged).map_err(io(format!("removing {}", staged.display())))?;
        } else {
            std::fs::File::open(staged)
                .and_then(|f| f.sync_all())
                .map_err(io(format!("syncing {}", staged.display())))?;
            let parent = target
                .parent()
                .ok_or_else(|| StoreError::NotFound("attachment directory".into()))?;
            std::fs::create_dir_all(parent)
                .map_err(io(format!("creating {}", parent.display())))?;
            std::fs::rename(staged, &target)
                .map_err(io(format!("moving the upload to {}", target.display())))?;
            sync_dir(parent)?;
        }
        let stored = existing.unwrap_or_else(|| record.clone());
        let bytes = record::encode(&stored)?;
        (&self.trees.attachments, &self.trees.attachment_refs).transaction(|(meta, refs)| {
            meta.insert(&stored.sha256[..], bytes.as_slice())?;
            refs.insert(scope.key(&stored.sha256), &[] as &[u8])?;
            Ok::<_, ConflictableTransactionError<StoreError>>(())
        })?;
        Ok(stored)
    }

    /// Allows an already stored attachment in another conversation (an
    /// agent forwards a file the contact sent elsewhere).
    pub fn allow_attachment(&self, conversation: u64, sha256: &[u8; 32]) -> Result<(), StoreError> {
        self.trees
            .attachment_refs
            .insert(ref_key(conversation, sha256), &[] as &[u8])?;
        Ok(())
    }

    /// An attachment's metadata.
    pub fn attachment(&self, sha256: &[u8; 32]) -> Result<Option<AttachmentRecord>, StoreError> {
        self.trees
            .attachments
            .get(sha256)?
            .map(|v| record::decode(&v))
            .transpose()
    }

    /// Whether `conversation` may show the attachment.
    pub fn attachment_allowed(
        &self,
        conversation: u64,
        sha256: &[u8; 32],
    ) -> Result<bool, StoreError> {
        self.attachment_in_scope(AttachmentScope::Conversation(conversation), sha256)
    }

    /// Whether the attachment was allowed in `scope` (shown in that
    /// conversation, or uploaded by that channel).
    pub fn attachment_in_scope(
        &self,
        scope: AttachmentScope,
        sha256: &[u8; 32],
    ) -> Result<bool, StoreError> {
        Ok(self.trees.attachment_refs.contains_key(scope.key(sha256))?)
    }

    /// A fresh path in the staging directory for one upload.
    pub fn staging_path(&self) -> Result<PathBuf, StoreError> {
        Ok(self
            .attachment_staging_dir()?
            .join(format!("upload-{}", self.next_id()?)))
    }
}
