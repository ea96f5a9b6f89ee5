//! The admin's settings for this plugin instance.
//!
//! The manifest's `[config.*]` and `[secrets.*]` tables declare what exists;
//! the console renders them as a form and the host hands the values over
//! here. Secrets come through [`secret`] only, so it is obvious in review
//! which values must never be logged.

use crate::bindings::omnigate::plugin::config as host;

/// A required value or secret that is not set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Missing {
    /// The manifest key that needs a value.
    pub key: String,
}

impl std::fmt::Display for Missing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "`{}` is not configured for this channel", self.key)
    }
}

impl std::error::Error for Missing {}

/// A configuration value: the admin's, else the manifest's `default`, if any.
pub fn get(key: &str) -> Option<String> {
    host::get(key)
}

/// A configuration value the plugin cannot work without.
pub fn require(key: &str) -> Result<String, Missing> {
    host::get(key).ok_or_else(|| Missing {
        key: key.to_owned(),
    })
}

/// A secret, if set.
pub fn secret(key: &str) -> Option<String> {
    host::secret(key)
}

/// A secret the plugin cannot work without.
pub fn require_secret(key: &str) -> Result<String, Missing> {
    host::secret(key).ok_or_else(|| Missing {
        key: key.to_owned(),
    })
}
