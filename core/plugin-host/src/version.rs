//! Which interface a component was built against, read from its import and
//! export names (`omnigate:plugin/channel-plugin@0.1.0`) before any of its
//! code runs.

use wasmtime::Engine;
use wasmtime::component::Component;

use crate::error::LoadError;
use crate::manifest::{PluginKind, parse_semver};

/// The package every plugin interface lives in.
pub const PACKAGE: &str = "omnigate:plugin";

/// The interface versions this host links. A component is accepted when
/// every `omnigate:plugin` name it uses is on the compatible track of one
/// of them (wasmtime's rule: the same major, or before 1.0 the same minor)
/// and not newer than it: a newer compatible version may import interfaces
/// this host does not have (`0.1.1` added `attachments`, `0.1.2` `crypto`).
pub const SUPPORTED: &[&str] = &["0.1.2"];

/// What the names say about a component.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interface {
    /// The kind its exports implement.
    pub kind: PluginKind,
    /// The interface version in its names.
    pub version: String,
}

/// Reads the kind and version from the component's names, refusing
/// versions this host does not link and components that export no (or
/// more than one) plugin kind.
pub fn inspect(engine: &Engine, component: &Component) -> Result<Interface, LoadError> {
    let ty = component.component_type();
    let exports: Vec<String> = ty.exports(engine).map(|(n, _)| n.to_owned()).collect();
    let imports: Vec<String> = ty.imports(engine).map(|(n, _)| n.to_owned()).collect();
    let mut version: Option<String> = None;
    for name in exports.iter().chain(&imports) {
        let Some(rest) = name.strip_prefix(PACKAGE).and_then(|r| r.strip_prefix('/')) else {
            continue;
        };
        let Some((_, v)) = rest.split_once('@') else {
            return Err(LoadError::Interface(format!(
                "`{name}` carries no interface version; rebuild the plugin with the omnigate SDK"
            )));
        };
        if !supported(v) {
            return Err(LoadError::Interface(format!(
                "the plugin was built against {PACKAGE}@{v} (`{name}`), which this omnigate does not support; supported: {}",
                SUPPORTED
                    .iter()
                    .map(|s| format!("{PACKAGE}@{s}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        match &version {
            Some(seen) if seen != v => {
                return Err(LoadError::Interface(format!(
                    "the plugin mixes interface versions {seen} and {v}"
                )));
            }
            _ => version = Some(v.to_owned()),
        }
    }
    let kinds: Vec<PluginKind> = [PluginKind::Channel, PluginKind::Flow, PluginKind::Commerce]
        .into_iter()
        .filter(|k| {
            exports.iter().any(|e| {
                e.strip_prefix(PACKAGE)
                    .and_then(|r| r.strip_prefix('/'))
                    .and_then(|r| r.split('@').next())
                    == Some(k.export_interface())
            })
        })
        .collect();
    let kind = match kinds.as_slice() {
        [kind] => *kind,
        [] => {
            return Err(LoadError::Interface(format!(
                "the component exports none of {PACKAGE}/channel-plugin, flow-plugin, commerce-plugin; is it an omnigate plugin?"
            )));
        }
        _ => {
            return Err(LoadError::Interface(
                "the component exports more than one plugin kind; build one component per kind"
                    .to_owned(),
            ));
        }
    };
    let has_meta = exports
        .iter()
        .any(|e| e.starts_with(&format!("{PACKAGE}/meta@")));
    if !has_meta {
        return Err(LoadError::Interface(format!(
            "the component does not export {PACKAGE}/meta, so it carries no manifest"
        )));
    }
    Ok(Interface {
        kind,
        version: version.unwrap_or_default(),
    })
}

/// Whether this host links a version compatible with `version`.
#[must_use]
pub fn supported(version: &str) -> bool {
    let Some((major, minor, patch)) = parse_semver(version) else {
        return false;
    };
    SUPPORTED
        .iter()
        .filter_map(|s| parse_semver(s))
        .any(|(m, n, p)| {
            if major != m {
                return false;
            }
            if major == 0 {
                // Before 1.0 the minor is the breaking digit and the patch
                // the additive one (plugin-sdk/wit/README.md).
                minor == n && patch <= p
            } else {
                minor <= n
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compatible_versions() {
        assert!(supported("0.1.0"));
        assert!(supported("0.1.1"));
        assert!(supported("0.1.2"));
        assert!(!supported("0.1.3"));
        assert!(!supported("0.2.0"));
        assert!(!supported("1.0.0"));
        assert!(!supported("9.0.0"));
        assert!(!supported("0.1"));
    }
}
