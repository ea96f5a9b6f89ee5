//! Per-plugin key-value storage that survives calls and restarts.
//!
//! Each call runs in a fresh sandbox, so anything a plugin must remember
//! (a refreshed OAuth token, a cursor) goes here. The manifest's
//! `[budgets] kv_bytes` bounds keys plus values; a write past it fails with
//! [`Error::QuotaExceeded`] and changes nothing.

use crate::bindings::omnigate::plugin::kv as host;
pub use host::{Error, Quota};

/// The value stored under `key`, if any.
pub fn get(key: &str) -> Result<Option<Vec<u8>>, Error> {
    host::get(key)
}

/// Stores `value` under `key`, replacing what was there.
pub fn set(key: &str, value: &[u8]) -> Result<(), Error> {
    host::set(key, value)
}

/// Removes `key`; removing a missing key is not an error.
pub fn delete(key: &str) -> Result<(), Error> {
    host::delete(key)
}
