//! The settings of a plugin instance (a channel, a shop), checked against
//! the plugin's manifest: only the keys it declares, secrets only as
//! secrets, every required one set.

use std::collections::BTreeMap;

use omnigate_domain::ValidationError;
use omnigate_plugin_host::{Manifest, Settings};

use crate::error::ApiError;

/// What a setting's value may hold.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ValueRules {
    /// Longest value, in bytes.
    pub(crate) max_bytes: usize,
    /// Whether line breaks and tabs are allowed (a flow's definition is a
    /// document; a token or a host name is one line).
    pub(crate) multiline: bool,
}

impl ValueRules {
    /// Channels' and shops' settings: host names, ids, tokens.
    pub(crate) const LINE: ValueRules = ValueRules {
        max_bytes: 8 * 1024,
        multiline: false,
    };
}

/// Applies `given_config` and `given_secrets` (a key with an empty value
/// is removed) to the stored values and checks the result.
pub(crate) fn merge(
    manifest: &Manifest,
    config: &mut BTreeMap<String, String>,
    secrets: &mut BTreeMap<String, String>,
    given_config: Option<BTreeMap<String, String>>,
    given_secrets: Option<BTreeMap<String, String>>,
    rules: ValueRules,
) -> Result<(), ApiError> {
    apply(manifest, "config", config, given_config, false, rules)?;
    apply(
        manifest,
        "secrets",
        secrets,
        given_secrets,
        true,
        ValueRules::LINE,
    )?;
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
    rules: ValueRules,
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
        } else if value.len() > rules.max_bytes
            || value
                .chars()
                .any(|c| c.is_control() && !(rules.multiline && matches!(c, '\n' | '\r' | '\t')))
        {
            return Err(ValidationError::new(
                table,
                format!(
                    "`{key}`: at most {} KiB, no control characters{}",
                    rules.max_bytes / 1024,
                    if rules.multiline {
                        " but line breaks and tabs"
                    } else {
                        ""
                    }
                ),
            )
            .into());
        } else {
            target.insert(key, value);
        }
    }
    Ok(())
}
