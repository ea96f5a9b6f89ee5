//! How records are laid out on disk.
//!
//! Each stored value is one version byte followed by the record's postcard
//! encoding (compact, schema-less varints). The version byte is the record
//! kind's own; a change to a record's fields gets a new version and a
//! migration in `schema`, so old bytes are never misread as new ones. Every
//! record is validated before it is written and again after it is read.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::StoreError;

/// A value stored in a sled tree.
pub trait Record: Serialize + DeserializeOwned {
    /// Name used in errors ("user", "session", ...).
    const KIND: &'static str;
    /// Current encoding version of this kind of record.
    const VERSION: u8;

    /// Checks invariants that must hold for any stored record of this kind.
    fn validate(&self) -> Result<(), String>;
}

/// Validates and encodes a record.
pub fn encode<R: Record>(record: &R) -> Result<Vec<u8>, StoreError> {
    record
        .validate()
        .map_err(|reason| StoreError::InvalidRecord {
            kind: R::KIND,
            reason,
        })?;
    let buf = vec![R::VERSION];
    postcard::to_extend(record, buf).map_err(|e| StoreError::InvalidRecord {
        kind: R::KIND,
        reason: e.to_string(),
    })
}

/// Decodes and validates a record.
pub fn decode<R: Record>(bytes: &[u8]) -> Result<R, StoreError> {
    let invalid = |reason: String| StoreError::InvalidRecord {
        kind: R::KIND,
        reason,
    };
    let (&version, body) = bytes
        .split_first()
        .ok_or_else(|| invalid("empty value".into()))?;
    if version != R::VERSION {
        return Err(invalid(format!(
            "encoding version {version}, expected {}",
            R::VERSION
        )));
    }
    let record: R = postcard::from_bytes(body).map_err(|e| invalid(e.to_string()))?;
    record.validate().map_err(invalid)?;
    Ok(record)
}

/// Record `id` of a tree keyed by [`id_key`].
pub(crate) fn get_by_id<R: Record>(tree: &sled::Tree, id: u64) -> Result<Option<R>, StoreError> {
    tree.get(id_key(id))?.map(|v| decode(&v)).transpose()
}

/// Every record of a tree keyed by [`id_key`], by id.
pub(crate) fn all<R: Record>(tree: &sled::Tree) -> Result<Vec<R>, StoreError> {
    tree.iter().values().map(|v| decode(&v?)).collect()
}

/// Replaces record `id`, which must exist.
pub(crate) fn replace_by_id<R: Record>(
    tree: &sled::Tree,
    id: u64,
    record: &R,
) -> Result<(), StoreError> {
    if !tree.contains_key(id_key(id))? {
        return Err(StoreError::NotFound(format!("{} {id}", R::KIND)));
    }
    tree.insert(id_key(id), encode(record)?)?;
    Ok(())
}

/// Removes record `id` and returns it.
pub(crate) fn take_by_id<R: Record>(tree: &sled::Tree, id: u64) -> Result<R, StoreError> {
    let bytes = tree
        .remove(id_key(id))?
        .ok_or_else(|| StoreError::NotFound(format!("{} {id}", R::KIND)))?;
    decode(&bytes)
}

/// Big-endian key for a numeric id, so sled's byte order is numeric order.
#[must_use]
pub fn id_key(id: u64) -> [u8; 8] {
    id.to_be_bytes()
}

/// The id in a key made by [`id_key`].
pub fn key_id(key: &[u8]) -> Result<u64, StoreError> {
    let bytes: [u8; 8] = key.try_into().map_err(|_| StoreError::InvalidRecord {
        kind: "key",
        reason: format!("expected 8 bytes, found {}", key.len()),
    })?;
    Ok(u64::from_be_bytes(bytes))
}
