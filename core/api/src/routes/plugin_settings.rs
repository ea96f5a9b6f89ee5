//! The settings of a plugin instance (a channel, a shop), checked against
//! the plugin's manifest: only the keys it declares, secrets only as
//! secrets, every required one set.

use std::collections::BTreeMap;

use omnigate_domain::ValidationError;
use omnigate_plugin_host::{Manifest, PluginKind, Settings};

use crate::error::ApiError;
use crate::state::AppState;

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

/// The manifest of `plugin`, which must be an installed, enabled plugin of
/// `kind`.
pub(crate) fn manifest_of(
    state: &AppState,
    plugin: &str,
    kind: PluginKind,
) -> Result<Manifest, ApiError> {
    let plugins = crate::routes::plugins::running(state)?;
    let loaded = match kind {
        PluginKind::Channel => plugins.channel_plugin(plugin),
        PluginKind::Flow => plugins.flow_plugin(plugin),
        PluginKind::Commerce => plugins.commerce_plugin(plugin),
    }
    .map_err(|e| {
        ApiError::from(ValidationError::new(
            "plugin",
            format!(
                "`{plugin}` is not an installed, enabled {} plugin ({e})",
                kind.as_str()
            ),
        ))
    })?;
    Ok(loaded.plugin.manifest().clone())
}

/// A plugin instance's plugin and checked settings.
pub(crate) struct Instance {
    pub(crate) plugin: String,
    pub(crate) config: BTreeMap<String, String>,
    pub(crate) secrets: BTreeMap<String, String>,
}

/// The plugin and settings of a new instance (a shop, a flow): `plugin`
/// is required and must be an installed, enabled plugin of `kind`; the
/// settings are checked against its manifest.
pub(crate) fn for_new_instance(
    state: &AppState,
    plugin: Option<String>,
    kind: PluginKind,
    given_config: Option<BTreeMap<String, String>>,
    given_secrets: Option<BTreeMap<String, String>>,
    rules: ValueRules,
) -> Result<Instance, ApiError> {
    let plugin = plugin.ok_or_else(|| ValidationError::new("plugin", "is required"))?;
    let manifest = manifest_of(state, &plugin, kind)?;
    let (mut config, mut secrets) = (BTreeMap::new(), BTreeMap::new());
    merge(
        &manifest,
        &mut config,
        &mut secrets,
        given_config,
        given_secrets,
        rules,
    )?;
    Ok(Instance {
        plugin,
        config,
        secrets,
    })
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
