//! Canned responses: the `canned` tree (id → record).

use serde::{Deserialize, Serialize};

use crate::record::{self, Record, id_key};
use crate::{Store, StoreError};

/// A stored canned response (encoding version 1).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct CannedRecord {
    /// Id.
    pub id: u64,
    /// Owner; `None` = shared with everyone.
    pub owner: Option<u64>,
    /// Shortcut, normalised.
    pub shortcut: String,
    /// Text with variables.
    pub text: String,
}

impl Record for CannedRecord {
    const KIND: &'static str = "canned response";
    const VERSION: u8 = 1;

    fn validate(&self) -> Result<(), String> {
        if self.id == 0 || self.shortcut.is_empty() || self.text.is_empty() {
            return Err("missing id, shortcut or text".into());
        }
        Ok(())
    }
}

impl Store {
    /// Stores a new canned response under a fresh id.
    pub fn create_canned(&self, mut canned: CannedRecord) -> Result<CannedRecord, StoreError> {
        canned.id = self.next_id()?;
        self.trees
            .canned
            .insert(id_key(canned.id), record::encode(&canned)?)?;
        Ok(canned)
    }

    /// Replaces a canned response.
    pub fn update_canned(&self, canned: &CannedRecord) -> Result<(), StoreError> {
        record::replace_by_id(&self.trees.canned, canned.id, canned)
    }

    /// Canned response `id`.
    pub fn canned(&self, id: u64) -> Result<Option<CannedRecord>, StoreError> {
        record::get_by_id(&self.trees.canned, id)
    }

    /// Every canned response.
    pub fn all_canned(&self) -> Result<Vec<CannedRecord>, StoreError> {
        record::all(&self.trees.canned)
    }

    /// Deletes canned response `id`.
    pub fn delete_canned(&self, id: u64) -> Result<CannedRecord, StoreError> {
        record::take_by_id(&self.trees.canned, id)
    }
}
