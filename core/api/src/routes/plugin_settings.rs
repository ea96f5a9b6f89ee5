//! The settings of a plugin instance (a channel, a shop), checked against
//! the plugin's manifest: only the keys it declares, secrets only as
//! secrets, every required one set.

use std::collections::BTreeMap;

use omnigate_domain::ValidationError;
use omnigate_plugin_host::{Manifest, Settings};

use crate::error::ApiError;

/// Applies `given_config` and `given_secrets` (a key with an empty value
/// is removed) to the stored values and checks the result.
pub(crate) fn merge(
    manifest: &Manifest,
    config: &mut BTreeMap<String, String>,
    secrets: &mut BTreeMap<String, String>,
    given_config: Option<BTreeMap<String, String>>,
    given_secrets: Option<BTreeMap<String, String>>,
) -> Result<(), ApiError> {
    apply(manifest, "config", config, given_config, false)?;
    apply(manifest, "secrets", secrets, given_secrets, true)?;
    manifest
        .check_settings(&Settings {
            config: config.clone(),
            secrets: secrets.clone(),
        })
        .map_err(|e| ApiError::from(ValidationError::new("config", e.to_string())))
}

fn apply(
    manifest: &Manifest,
    table: &'static str,
    target: &mut BTreeMap<String, String>,
    given: Option<BTreeMap<String, String>>,
    secret: bool,
) -> Result<(), ApiError> {
    for (key, value) in given.unwrap_or_default() {
        if !manifest
            .fields
            .iter()
            .any(|f| f.key == key && f.secret == secret)
        {
            return Err(ValidationError::new(
                table,
                format!("`{key}` is not a {table} key of plugin `{}`", manifest.name),
            )
            .into());
        }
        if value.is_empty() {
            target.remove(&key);
        } else if value.len() > 8 * 1024 || value.chars().any(char::is_control) {
            return Err(ValidationError::new(
                table,
                format!("`{key}`: at most 8 KiB, no control characters"),
            )
            .into());
        } else {
            target.insert(key, value);
        }
    }
    Ok(())
}
