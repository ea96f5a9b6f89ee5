//! The plugin manifest (`omnigate-plugin.toml`, embedded in the component
//! and read through its `meta` export): parsed, validated, and checked
//! against the settings an admin gave a plugin instance. Every error names
//! the manifest key at fault, since plugin authors fix them by editing it.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;

/// The three plugin kinds; each has its own WIT world.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PluginKind {
    /// A messaging channel.
    Channel,
    /// A chatbot flow engine.
    Flow,
    /// A shop integration.
    Commerce,
}

impl PluginKind {
    /// The name used in manifests and in the world.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            PluginKind::Channel => "channel",
            PluginKind::Flow => "flow",
            PluginKind::Commerce => "commerce",
        }
    }

    /// The interface the kind exports (`channel-plugin`...).
    #[must_use]
    pub fn export_interface(self) -> &'static str {
        match self {
            PluginKind::Channel => "channel-plugin",
            PluginKind::Flow => "flow-plugin",
            PluginKind::Commerce => "commerce-plugin",
        }
    }
}

/// How the console renders a setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    /// Free text.
    String,
    /// An absolute URL.
    Url,
    /// A whole number.
    Integer,
    /// A checkbox.
    Boolean,
}

/// One setting the admin fills in: a config value or a secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    /// The key the plugin asks for.
    pub key: String,
    /// What the console shows.
    pub label: String,
    /// How the console renders it (secrets are always masked strings).
    pub field_type: FieldType,
    /// Whether the plugin cannot work without it.
    pub required: bool,
    /// Shown masked and stored apart; reaches the plugin only through
    /// `config.secret`.
    pub secret: bool,
    /// Pre-filled value.
    pub default: Option<String>,
}

/// Per-call limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budgets {
    /// Largest linear memory, in bytes.
    pub memory_bytes: usize,
    /// Longest call, host calls included.
    pub time: Duration,
    /// Stored keys plus values.
    pub kv_bytes: u64,
}

/// A validated manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    /// Unique on the appliance: lower-case letters, digits, `-`.
    pub name: String,
    /// The plugin's own semver.
    pub version: String,
    /// Which world it implements.
    pub kind: PluginKind,
    /// The WIT package version it was built against.
    pub interface: String,
    /// One line for the console.
    pub description: String,
    /// Host names `http.send` may reach (`api.example.com`,
    /// `*.myshopify.com`).
    pub allowed_hosts: Vec<String>,
    /// Config values, then secrets, in key order.
    pub fields: Vec<Field>,
    /// Memory, time and storage budgets.
    pub budgets: Budgets,
}

/// A manifest that cannot be used, naming the key at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("manifest key `{key}`: {message}")]
pub struct ManifestError {
    /// The dotted key (`budgets.memory_mib`, `allowed_hosts[2]`).
    pub key: String,
    /// What is wrong with it.
    pub message: String,
}

impl ManifestError {
    fn new(key: impl Into<String>, message: impl Into<String>) -> ManifestError {
        ManifestError {
            key: key.into(),
            message: message.into(),
        }
    }
}

/// The manifest key listing the hosts a plugin may call; named in every
/// refusal so the author knows what to change.
pub const ALLOWED_HOSTS_KEY: &str = "allowed_hosts";

/// Upper bounds an admin cannot exceed through a manifest.
const MAX_MEMORY_MIB: u64 = 1024;
const MAX_TIME_MS: u64 = 60_000;
const MAX_KV_BYTES: u64 = 64 * 1024 * 1024;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    name: Option<String>,
    version: Option<String>,
    kind: Option<String>,
    interface: Option<String>,
    #[serde(default)]
    description: String,
    allowed_hosts: Option<Vec<String>>,
    #[serde(default)]
    config: BTreeMap<String, RawField>,
    #[serde(default)]
    secrets: BTreeMap<String, RawSecret>,
    budgets: Option<RawBudgets>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawField {
    #[serde(rename = "type")]
    field_type: Option<String>,
    label: Option<String>,
    #[serde(default)]
    required: bool,
    default: Option<toml::Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSecret {
    label: Option<String>,
    #[serde(default)]
    required: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBudgets {
    memory_mib: Option<u64>,
    time_ms: Option<u64>,
    kv_bytes: Option<u64>,
}

impl Manifest {
    /// Parses and validates manifest text.
    pub fn parse(text: &str) -> Result<Manifest, ManifestError> {
        let raw: Raw = toml::from_str(text).map_err(|e| {
            let message = e.message().to_owned();
            // toml names unknown fields in its message; keep it whole.
            ManifestError::new("(document)", message)
        })?;
        let name = required("name", raw.name)?;
        check_name(&name)?;
        let version = required("version", raw.version)?;
        check_semver("version", &version)?;
        let kind = match required("kind", raw.kind)?.as_str() {
            "channel" => PluginKind::Channel,
            "flow" => PluginKind::Flow,
            "commerce" => PluginKind::Commerce,
            other => {
                return Err(ManifestError::new(
                    "kind",
                    format!("`{other}` is not one of channel, flow, commerce"),
                ));
            }
        };
        let interface = required("interface", raw.interface)?;
        check_semver("interface", &interface)?;
        let allowed_hosts = raw.allowed_hosts.ok_or_else(|| {
            ManifestError::new(
                ALLOWED_HOSTS_KEY,
                "is required (an empty list if the plugin calls no host)",
            )
        })?;
        for (i, host) in allowed_hosts.iter().enumerate() {
            check_host_pattern(&format!("{ALLOWED_HOSTS_KEY}[{i}]"), host)?;
        }
        let mut fields = Vec::new();
        for (key, f) in raw.config {
            let at = format!("config.{key}");
            check_key(&at, &key)?;
            let field_type = match f.field_type.as_deref().unwrap_or("string") {
                "string" => FieldType::String,
                "url" => FieldType::Url,
                "integer" => FieldType::Integer,
                "boolean" => FieldType::Boolean,
                other => {
                    return Err(ManifestError::new(
                        format!("{at}.type"),
                        format!("`{other}` is not one of string, url, integer, boolean"),
                    ));
                }
            };
            let default = match f.default {
                None => None,
                Some(toml::Value::String(s)) => Some(s),
                Some(toml::Value::Integer(n)) if field_type == FieldType::Integer => {
                    Some(n.to_string())
                }
                Some(toml::Value::Boolean(b)) if field_type == FieldType::Boolean => {
                    Some(b.to_string())
                }
                Some(_) => {
                    return Err(ManifestError::new(
                        format!("{at}.default"),
                        "does not match the field's type",
                    ));
                }
            };
            fields.push(Field {
                label: required(&format!("{at}.label"), f.label)?,
                key,
                field_type,
                required: f.required,
                secret: false,
                default,
            });
        }
        for (key, s) in raw.secrets {
            let at = format!("secrets.{key}");
            check_key(&at, &key)?;
            if fields.iter().any(|f| f.key == key) {
                return Err(ManifestError::new(
                    at,
                    "is also declared under [config]; a key is one or the other",
                ));
            }
            fields.push(Field {
                label: required(&format!("{at}.label"), s.label)?,
                key,
                field_type: FieldType::String,
                required: s.required,
                secret: true,
                default: None,
            });
        }
        let budgets = raw
            .budgets
            .ok_or_else(|| ManifestError::new("budgets", "is required"))?;
        let memory_mib = bounded("budgets.memory_mib", budgets.memory_mib, 1, MAX_MEMORY_MIB)?;
        let time_ms = bounded("budgets.time_ms", budgets.time_ms, 1, MAX_TIME_MS)?;
        let kv_bytes = bounded("budgets.kv_bytes", budgets.kv_bytes, 0, MAX_KV_BYTES)?;
        Ok(Manifest {
            name,
            version,
            kind,
            interface,
            description: raw.description,
            allowed_hosts,
            fields,
            budgets: Budgets {
                memory_bytes: usize::try_from(memory_mib * 1024 * 1024).unwrap_or(usize::MAX),
                time: Duration::from_millis(time_ms),
                kv_bytes,
            },
        })
    }

    /// Whether `settings` give every required field a value, naming the
    /// first one missing.
    pub fn check_settings(&self, settings: &Settings) -> Result<(), ManifestError> {
        for field in self.fields.iter().filter(|f| f.required) {
            let (table, set) = if field.secret {
                ("secrets", settings.secrets.contains_key(&field.key))
            } else {
                (
                    "config",
                    settings.config.contains_key(&field.key) || field.default.is_some(),
                )
            };
            if !set {
                return Err(ManifestError::new(
                    format!("{table}.{}", field.key),
                    "is required but has no value for this instance",
                ));
            }
        }
        Ok(())
    }
}

/// The admin's values for one plugin instance (one WhatsApp number, one
/// shop): config values and secrets by manifest key.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Settings {
    /// Values of `[config.*]` fields.
    pub config: BTreeMap<String, String>,
    /// Values of `[secrets.*]` fields.
    pub secrets: BTreeMap<String, String>,
}

fn required(key: &str, value: Option<String>) -> Result<String, ManifestError> {
    match value {
        Some(v) if !v.trim().is_empty() => Ok(v),
        _ => Err(ManifestError::new(key, "is required")),
    }
}

fn bounded(key: &str, value: Option<u64>, min: u64, max: u64) -> Result<u64, ManifestError> {
    let value = value.ok_or_else(|| ManifestError::new(key, "is required"))?;
    if value < min || value > max {
        return Err(ManifestError::new(
            key,
            format!("must be between {min} and {max} (got {value})"),
        ));
    }
    Ok(value)
}

fn check_name(name: &str) -> Result<(), ManifestError> {
    let ok = (1..=64).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if ok {
        Ok(())
    } else {
        Err(ManifestError::new(
            "name",
            "must be 1 to 64 lower-case letters, digits or `-`, starting with a letter",
        ))
    }
}

fn check_key(at: &str, key: &str) -> Result<(), ManifestError> {
    let ok = (1..=64).contains(&key.len())
        && key
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(ManifestError::new(
            at,
            "keys are 1 to 64 lower-case letters, digits or `_`",
        ))
    }
}

/// `MAJOR.MINOR.PATCH` of plain numbers (pre-release tags are not accepted:
/// an appliance runs releases).
pub(crate) fn parse_semver(text: &str) -> Option<(u64, u64, u64)> {
    let mut parts = text.split('.');
    let mut next = || -> Option<u64> {
        let part = parts.next()?;
        if part.is_empty() || (part.len() > 1 && part.starts_with('0')) {
            return None;
        }
        part.parse().ok()
    };
    let version = (next()?, next()?, next()?);
    parts.next().is_none().then_some(version)
}

fn check_semver(key: &str, text: &str) -> Result<(), ManifestError> {
    parse_semver(text).map(|_| ()).ok_or_else(|| {
        ManifestError::new(key, format!("`{text}` is not a MAJOR.MINOR.PATCH version"))
    })
}

fn check_host_pattern(key: &str, host: &str) -> Result<(), ManifestError> {
    let bare = host.strip_prefix("*.").unwrap_or(host);
    let ok = !bare.is_empty()
        && bare.len() <= 253
        && bare.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        });
    if ok {
        Ok(())
    } else {
        Err(ManifestError::new(
            key,
            format!(
                "`{host}` is not a lower-case host name or `*.` followed by one (no scheme, port or path)"
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
name = "whatsapp-cloud"
version = "1.2.0"
kind = "channel"
interface = "0.1.0"
allowed_hosts = ["graph.facebook.com", "*.fbsbx.com"]

[config.phone_number_id]
type = "string"
label = "Phone number id"
required = true

[secrets.access_token]
label = "Access token"
required = true

[budgets]
memory_mib = 16
time_ms = 2000
kv_bytes = 4096
"#;

    fn error_key(text: &str) -> String {
        match Manifest::parse(text) {
            Ok(m) => panic!("accepted: {m:?}"),
            Err(e) => e.key,
        }
    }

    #[test]
    fn a_good_manifest_parses() {
        let m = Manifest::parse(GOOD).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(m.kind, PluginKind::Channel);
        assert_eq!(m.budgets.memory_bytes, 16 * 1024 * 1024);
        assert_eq!(m.budgets.time, Duration::from_millis(2000));
        assert_eq!(m.fields.len(), 2);
        assert!(m.fields[1].secret);
    }

    #[test]
    fn errors_name_the_key() {
        assert_eq!(
            error_key(&GOOD.replace("kind = \"channel\"", "kind = \"bot\"")),
            "kind"
        );
        assert_eq!(
            error_key(&GOOD.replace("\"*.fbsbx.com\"", "\"https://x.com\"")),
            "allowed_hosts[1]"
        );
        assert_eq!(
            error_key(&GOOD.replace("memory_mib = 16", "memory_mib = 0")),
            "budgets.memory_mib"
        );
        assert_eq!(
            error_key(&GOOD.replace("interface = \"0.1.0\"", "interface = \"1\"")),
            "interface"
        );
        assert_eq!(
            error_key(&GOOD.replace(
                "allowed_hosts = [\"graph.facebook.com\", \"*.fbsbx.com\"]",
                ""
            )),
            "allowed_hosts"
        );
        assert_eq!(
            error_key(&GOOD.replace("label = \"Access token\"", "")),
            "secrets.access_token.label"
        );
        assert_eq!(error_key("name = \"x\"\nsurprise = 1"), "(document)");
    }

    #[test]
    fn settings_must_cover_required_fields() {
        let m = Manifest::parse(GOOD).unwrap_or_else(|e| panic!("{e}"));
        let mut settings = Settings::default();
        settings
            .config
            .insert("phone_number_id".into(), "1065".into());
        let missing = m.check_settings(&settings).err().map(|e| e.key);
        assert_eq!(missing.as_deref(), Some("secrets.access_token"));
        settings.secrets.insert("access_token".into(), "t".into());
        assert!(m.check_settings(&settings).is_ok());
    }

    #[test]
    fn semver_is_strict() {
        assert_eq!(parse_semver("0.1.0"), Some((0, 1, 0)));
        assert_eq!(parse_semver("9.0.0"), Some((9, 0, 0)));
        assert_eq!(parse_semver("1.0"), None);
        assert_eq!(parse_semver("01.0.0"), None);
        assert_eq!(parse_semver("1.0.0-rc1"), None);
    }
}
