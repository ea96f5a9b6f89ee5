//! The configuration: built-in defaults, then the TOML file, then
//! `OMNIGATE_<SECTION>__<KEY>` environment variables.
//!
//! Every key has a default that works on a developer machine, so no file is
//! needed to start. Unknown keys and bad values are refused with the key, where
//! it came from (file or environment) and what is wrong: a typo in a config
//! file must never be silently ignored on a server that regulated businesses
//! run.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use config::{Config, Environment, File, FileFormat};
use omnigate_api::ApiConfig;
use omnigate_domain::{PasswordPolicy, ThrottlePolicy};
use serde::{Deserialize, Serialize};

/// Prefix of the environment variables that override config keys.
pub const ENV_PREFIX: &str = "OMNIGATE";

/// The whole configuration.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    /// HTTPS listener.
    pub server: ServerSettings,
    /// Where data lives.
    pub storage: StorageSettings,
    /// Plugins.
    pub plugins: PluginSettings,
    /// Logins and sessions.
    pub auth: AuthSettings,
    /// Logs.
    pub logging: LoggingSettings,
    /// The conversation desk's first settings and limits.
    pub desk: DeskConfigSettings,
    /// Testing aids; never set in production.
    pub testing: TestingSettings,
}

/// `[desk]`: the starting values of a new installation (admins change
/// capacity, timeout and end reasons later in the console; what they saved
/// wins over these), and limits.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct DeskConfigSettings {
    /// Conversations the queue hands each agent automatically.
    #[serde(deserialize_with = "strict::whole_number")]
    pub default_capacity: u32,
    /// A transfer unanswered this long comes back to its source.
    #[serde(deserialize_with = "strict::whole_number")]
    pub transfer_timeout_secs: u64,
    /// Largest media file an API channel carries.
    #[serde(deserialize_with = "strict::whole_number")]
    pub max_media_bytes: u64,
    /// Attempts to deliver an outbound message to an API channel's webhook
    /// before it is marked failed.
    #[serde(deserialize_with = "strict::whole_number")]
    pub webhook_max_attempts: u32,
    /// An agent whose last console connection dropped this long ago goes
    /// offline, so agents who walk away stop getting work.
    #[serde(deserialize_with = "strict::whole_number")]
    pub presence_grace_secs: u64,
}

/// `[testing]`
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(deny_unknown_fields, default)]
pub struct TestingSettings {
    /// Read the time from this file (milliseconds since the Unix epoch)
    /// instead of the system clock, so tests can step over timeouts and the
    /// service window. Never set this in production.
    pub clock_file: Option<PathBuf>,
}

impl Default for DeskConfigSettings {
    fn default() -> DeskConfigSettings {
        let engine = omnigate_engine::EngineConfig::default();
        DeskConfigSettings {
            default_capacity: engine.default_capacity,
            transfer_timeout_secs: engine.transfer_timeout.as_secs(),
            max_media_bytes: engine.max_media_bytes,
            webhook_max_attempts: engine.delivery.max_attempts,
            presence_grace_secs: engine.presence_grace.as_secs(),
        }
    }
}

/// `[server]`
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ServerSettings {
    /// Address and port for HTTPS, e.g. `0.0.0.0:443`.
    pub listen: SocketAddr,
    /// Certificate and key.
    pub tls: TlsSettings,
    /// Largest request body accepted.
    #[serde(deserialize_with = "strict::whole_number")]
    pub request_body_limit_bytes: usize,
    /// Longest a request may take.
    #[serde(deserialize_with = "strict::whole_number")]
    pub request_timeout_secs: u64,
    /// Time allowed for a TLS handshake and for a request's headers; an
    /// HTTP/1.1 connection idle between requests for this long is closed.
    #[serde(deserialize_with = "strict::whole_number")]
    pub header_timeout_secs: u64,
    /// Most connections served at once; more wait in the kernel's backlog.
    #[serde(deserialize_with = "strict::whole_number")]
    pub max_connections: usize,
    /// Longest graceful shutdown waits for in-flight requests.
    #[serde(deserialize_with = "strict::whole_number")]
    pub shutdown_grace_secs: u64,
}

/// `[server.tls]`
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(deny_unknown_fields, default)]
pub struct TlsSettings {
    /// PEM certificate chain; absent = a self-signed certificate in the data dir.
    pub cert: Option<PathBuf>,
    /// PEM private key for `cert`.
    pub key: Option<PathBuf>,
}

/// `[storage]`
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct StorageSettings {
    /// The data directory (database, certificates, attachments).
    pub data_dir: PathBuf,
    /// Upper bound of the database's in-memory page cache.
    #[serde(deserialize_with = "strict::whole_number")]
    pub cache_capacity_bytes: u64,
}

/// `[plugins]`
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct PluginSettings {
    /// Directory the plugin host loads `.wasm` components from.
    pub dir: PathBuf,
    /// Base64 ed25519 public keys whose signatures are accepted
    /// (`omnigate plugin keygen` prints one).
    pub trusted_keys: Vec<String>,
    /// Refuse plugins without a valid signature by a trusted key.
    pub require_signed: bool,
    /// Host names pinned to addresses for plugins' outbound HTTPS, as
    /// `host=ip:port` (split-horizon DNS, an egress gateway, or a test's
    /// local fake provider).
    pub http_resolve: Vec<String>,
    /// A PEM file of CA certificates plugins' outbound HTTPS trusts besides
    /// the system's (a TLS-inspecting proxy's CA).
    pub http_ca_file: Option<PathBuf>,
}

/// The environment variable the plugin commands read an API token from.
pub const API_TOKEN_ENV: &str = "OMNIGATE_API_TOKEN";

impl PluginSettings {
    /// The plugin HTTP client's settings, with the CA file read.
    pub fn http_settings(&self) -> Result<omnigate_plugin_http::HttpSettings, SettingsError> {
        let resolve = self
            .http_resolve
            .iter()
            .enumerate()
            .map(|(i, entry)| {
                omnigate_plugin_http::parse_resolve(entry)
                    .map_err(|e| SettingsError(format!("plugins.http_resolve[{i}]: {e}")))
            })
            .collect::<Result<_, _>>()?;
        let extra_roots_pem = match &self.http_ca_file {
            Some(path) => vec![std::fs::read_to_string(path).map_err(|e| {
                SettingsError(format!("plugins.http_ca_file: {}: {e}", path.display()))
            })?],
            None => Vec::new(),
        };
        Ok(omnigate_plugin_http::HttpSettings {
            resolve,
            extra_roots_pem,
            ..omnigate_plugin_http::HttpSettings::default()
        })
    }

    /// The trusted keys, parsed (validation already refused bad ones).
    pub fn trusted(
        &self,
    ) -> Result<Vec<omnigate_engine::plugins::signing::TrustedKey>, SettingsError> {
        self.trusted_keys
            .iter()
            .enumerate()
            .map(|(i, text)| {
                omnigate_engine::plugins::signing::TrustedKey::parse(text)
                    .map_err(|e| SettingsError(format!("plugins.trusted_keys[{i}]: {e}")))
            })
            .collect()
    }
}

/// `[auth]`
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct AuthSettings {
    /// Absolute lifetime of a login session.
    #[serde(deserialize_with = "strict::whole_number")]
    pub session_ttl_secs: u64,
    /// A session unused for this long ends.
    #[serde(deserialize_with = "strict::whole_number")]
    pub session_idle_timeout_secs: u64,
    /// Fewest characters in a password.
    #[serde(deserialize_with = "strict::whole_number")]
    pub min_password_length: usize,
    /// Failed logins per account within the window before a lockout.
    #[serde(deserialize_with = "strict::whole_number")]
    pub max_failures_per_account: u32,
    /// Failed logins per client address within the window before a lockout.
    #[serde(deserialize_with = "strict::whole_number")]
    pub max_failures_per_address: u32,
    /// How far back failed logins count.
    #[serde(deserialize_with = "strict::whole_number")]
    pub failure_window_secs: u64,
    /// How long a lockout lasts.
    #[serde(deserialize_with = "strict::whole_number")]
    pub lockout_secs: u64,
}

/// `[logging]`
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct LoggingSettings {
    /// `text` (human-readable) or `json` (one object per line).
    pub format: LogFormat,
    /// A tracing filter, e.g. `info` or `info,omnigate_store=debug`.
    pub level: String,
}

/// Log output format.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Plain text, coloured only on a terminal.
    Text,
    /// JSON lines, for journald and log shippers.
    Json,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            server: ServerSettings::default(),
            storage: StorageSettings {
                data_dir: PathBuf::from("./data"),
                cache_capacity_bytes: omnigate_store::StoreOptions::default().cache_capacity_bytes,
            },
            plugins: PluginSettings {
                dir: PathBuf::from("./data/plugins"),
                trusted_keys: Vec::new(),
                require_signed: false,
                http_resolve: Vec::new(),
                http_ca_file: None,
            },
            auth: AuthSettings::default(),
            logging: LoggingSettings {
                format: LogFormat::Text,
                level: "info".into(),
            },
            desk: DeskConfigSettings::default(),
            testing: TestingSettings::default(),
        }
    }
}

impl Default for ServerSettings {
    fn default() -> ServerSettings {
        ServerSettings {
            listen: SocketAddr::from(([127, 0, 0, 1], 8443)),
            tls: TlsSettings::default(),
            request_body_limit_bytes: 1024 * 1024,
            request_timeout_secs: 30,
            header_timeout_secs: 15,
            max_connections: 20_000,
            shutdown_grace_secs: 20,
        }
    }
}

impl Default for StorageSettings {
    fn default() -> StorageSettings {
        Settings::default().storage
    }
}

impl Default for PluginSettings {
    fn default() -> PluginSettings {
        Settings::default().plugins
    }
}

impl Default for LoggingSettings {
    fn default() -> LoggingSettings {
        Settings::default().logging
    }
}

impl Default for AuthSettings {
    fn default() -> AuthSettings {
        let api = ApiConfig::default();
        AuthSettings {
            session_ttl_secs: api.session_ttl.as_secs(),
            session_idle_timeout_secs: api.session_idle_timeout.as_secs(),
            min_password_length: api.password_policy.min_chars,
            max_failures_per_account: api.account_throttle.max_failures,
            max_failures_per_address: api.address_throttle.max_failures,
            failure_window_secs: api.account_throttle.window.as_secs(),
            lockout_secs: api.account_throttle.lockout.as_secs(),
        }
    }
}

/// Deserializers that refuse what the `config` crate would otherwise coerce.
mod strict {
    use serde::de::{self, Deserializer, Unexpected, Visitor};

    /// A whole, non-negative number: `true`, `0.5`, `-30.0`, `inf` and `"yes"`
    /// are refused instead of becoming 1, 1, 0, the maximum and 1.
    pub(super) fn whole_number<'de, D, T>(deserializer: D) -> Result<T, D::Error>
    where
        D: Deserializer<'de>,
        T: TryFrom<u64>,
    {
        struct Whole;
        impl Visitor<'_> for Whole {
            type Value = u64;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a whole number of 0 or more")
            }

            fn visit_u64<E: de::Error>(self, v: u64) -> Result<u64, E> {
                Ok(v)
            }

            fn visit_i64<E: de::Error>(self, v: i64) -> Result<u64, E> {
                u64::try_from(v).map_err(|_| E::invalid_value(Unexpected::Signed(v), &self))
            }

            fn visit_u128<E: de::Error>(self, v: u128) -> Result<u64, E> {
                u64::try_from(v).map_err(|_| E::custom(format!("{v} is too large")))
            }

            fn visit_i128<E: de::Error>(self, v: i128) -> Result<u64, E> {
                u64::try_from(v)
                    .map_err(|_| E::custom(format!("{v} is not a whole number of 0 or more")))
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<u64, E> {
                // Environment variables arrive as text.
                let trimmed = v.trim();
                if !trimmed.is_empty() && trimmed.bytes().all(|b| b.is_ascii_digit()) {
                    trimmed
                        .parse()
                        .map_err(|_| E::invalid_value(Unexpected::Str(v), &self))
                } else {
                    Err(E::invalid_value(Unexpected::Str(v), &self))
                }
            }
        }
        let value = deserializer.deserialize_any(Whole)?;
        T::try_from(value).map_err(|_| de::Error::custom(format!("{value} is too large")))
    }
}

/// A configuration that cannot be used, with the key and source at fault.
#[derive(Debug)]
pub struct SettingsError(String);

impl fmt::Display for SettingsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SettingsError {}

impl Settings {
    /// Loads defaults, then `file` (which must exist when given), then the
    /// environment, and validates the result.
    pub fn load(file: Option<&Path>) -> Result<Settings, SettingsError> {
        // `OMNIGATE_API_TOKEN` is the plugin commands' credential, not a
        // config key; every other `OMNIGATE_*` variable is config.
        let env: config::Map<String, String> = std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
            .filter(|(k, _)| k.starts_with("OMNIGATE_") && k != API_TOKEN_ENV)
            .collect();
        Settings::load_with_env(file, Some(env))
    }

    /// As [`Settings::load`], with the environment given explicitly (tests).
    pub fn load_with_env(
        file: Option<&Path>,
        env: Option<config::Map<String, String>>,
    ) -> Result<Settings, SettingsError> {
        let defaults = Config::try_from(&Settings::default())
            .map_err(|e| SettingsError(format!("built-in defaults: {e}")))?;
        let mut builder = Config::builder().add_source(defaults);
        if let Some(path) = file {
            if !path.is_file() {
                return Err(SettingsError(format!(
                    "config file {} does not exist or is not a file",
                    path.display()
                )));
            }
            builder = builder.add_source(File::from(path).format(FileFormat::Toml).required(true));
        }
        builder = builder.add_source(
            Environment::with_prefix(ENV_PREFIX)
                .prefix_separator("_")
                .separator("__")
                .try_parsing(true)
                // `OMNIGATE_PLUGINS__TRUSTED_KEYS=key1,key2` (base64 has no commas).
                .list_separator(",")
                .with_list_parse_key("plugins.trusted_keys")
                .with_list_parse_key("plugins.http_resolve")
                .source(env.clone()),
        );
        let env_keys: Vec<String> = match &env {
            Some(map) => map.keys().cloned().collect(),
            None => std::env::vars_os()
                .filter_map(|(k, _)| k.into_string().ok())
                .collect(),
        };
        let describe = |e: config::ConfigError| describe(&e, file, &env_keys);
        let merged = builder.build().map_err(describe)?;
        let settings: Settings = merged.try_deserialize().map_err(describe)?;
        settings.validate()?;
        Ok(settings)
    }

    fn validate(&self) -> Result<(), SettingsError> {
        const DAY: u64 = 86_400;
        let ranges: [(&str, u64, u64, u64); 13] = [
            (
                "server.request_body_limit_bytes",
                self.server.request_body_limit_bytes as u64,
                1024,
                1 << 30,
            ),
            (
                "server.request_timeout_secs",
                self.server.request_timeout_secs,
                1,
                DAY,
            ),
            (
                "server.header_timeout_secs",
                self.server.header_timeout_secs,
                1,
                3600,
            ),
            (
                "server.max_connections",
                self.server.max_connections as u64,
                1,
                1_000_000,
            ),
            (
                "server.shutdown_grace_secs",
                self.server.shutdown_grace_secs,
                0,
                3600,
            ),
            (
                "storage.cache_capacity_bytes",
                self.storage.cache_capacity_bytes,
                1 << 20,
                1 << 40,
            ),
            (
                "auth.session_ttl_secs",
                self.auth.session_ttl_secs,
                60,
                90 * DAY,
            ),
            (
                "auth.session_idle_timeout_secs",
                self.auth.session_idle_timeout_secs,
                60,
                90 * DAY,
            ),
            (
                "auth.min_password_length",
                self.auth.min_password_length as u64,
                8,
                128,
            ),
            (
                "auth.max_failures_per_account",
                u64::from(self.auth.max_failures_per_account),
                1,
                1000,
            ),
            (
                "auth.max_failures_per_address",
                u64::from(self.auth.max_failures_per_address),
                1,
                100_000,
            ),
            (
                "auth.failure_window_secs",
                self.auth.failure_window_secs,
                1,
                DAY,
            ),
            ("auth.lockout_secs", self.auth.lockout_secs, 1, DAY),
        ];
        if let Some((key, value, min, max)) =
            ranges.iter().find(|(_, v, min, max)| v < min || v > max)
        {
            return Err(SettingsError(format!(
                "{key}: {value} is out of range; use {min} to {max}"
            )));
        }
        match (&self.server.tls.cert, &self.server.tls.key) {
            (Some(_), None) => {
                return Err(SettingsError(
                    "server.tls.key: is required when server.tls.cert is set".into(),
                ));
            }
            (None, Some(_)) => {
                return Err(SettingsError(
                    "server.tls.cert: is required when server.tls.key is set".into(),
                ));
            }
            _ => {}
        }
        if self.desk.default_capacity > 1000 {
            return Err(SettingsError(
                "desk.default_capacity: must be 0 to 1000".into(),
            ));
        }
        if !(10..=86_400).contains(&self.desk.transfer_timeout_secs) {
            return Err(SettingsError(
                "desk.transfer_timeout_secs: must be 10 to 86400".into(),
            ));
        }
        if self.desk.presence_grace_secs > 86_400 {
            return Err(SettingsError(
                "desk.presence_grace_secs: must be 0 to 86400".into(),
            ));
        }
        if self.desk.webhook_max_attempts == 0 || self.desk.webhook_max_attempts > 100 {
            return Err(SettingsError(
                "desk.webhook_max_attempts: must be 1 to 100".into(),
            ));
        }
        if self.storage.data_dir.as_os_str().is_empty() {
            return Err(SettingsError("storage.data_dir: must not be empty".into()));
        }
        tracing_subscriber::EnvFilter::try_new(&self.logging.level)
            .map_err(|e| SettingsError(format!("logging.level: {e}")))?;
        self.plugins.trusted()?;
        self.plugins.http_settings()?;
        if self.plugins.require_signed && self.plugins.trusted_keys.is_empty() {
            return Err(SettingsError(
                "plugins.require_signed: needs at least one key in plugins.trusted_keys".into(),
            ));
        }
        Ok(())
    }

    /// How to open the store.
    #[must_use]
    pub fn store_options(&self) -> omnigate_store::StoreOptions {
        omnigate_store::StoreOptions {
            cache_capacity_bytes: self.storage.cache_capacity_bytes,
        }
    }

    /// What the conversation engine needs.
    #[must_use]
    pub fn engine_config(&self) -> omnigate_engine::EngineConfig {
        let defaults = omnigate_engine::EngineConfig::default();
        omnigate_engine::EngineConfig {
            default_capacity: self.desk.default_capacity,
            transfer_timeout: Duration::from_secs(self.desk.transfer_timeout_secs),
            max_media_bytes: self.desk.max_media_bytes,
            delivery: omnigate_engine::delivery::DeliveryConfig {
                max_attempts: self.desk.webhook_max_attempts,
                ..defaults.delivery
            },
            presence_grace: Duration::from_secs(self.desk.presence_grace_secs),
        }
    }

    /// What the API layer needs.
    #[must_use]
    pub fn api_config(&self) -> ApiConfig {
        let throttle = |max_failures| ThrottlePolicy {
            max_failures,
            window: Duration::from_secs(self.auth.failure_window_secs),
            lockout: Duration::from_secs(self.auth.lockout_secs),
        };
        ApiConfig {
            session_ttl: Duration::from_secs(self.auth.session_ttl_secs),
            session_idle_timeout: Duration::from_secs(self.auth.session_idle_timeout_secs),
            password_policy: PasswordPolicy {
                min_chars: self.auth.min_password_length,
            },
            account_throttle: throttle(self.auth.max_failures_per_account),
            address_throttle: throttle(self.auth.max_failures_per_address),
            body_limit_bytes: self.server.request_body_limit_bytes,
            request_timeout: Duration::from_secs(self.server.request_timeout_secs),
        }
    }

    /// The effective configuration as TOML, secrets replaced by `<redacted>`.
    pub fn to_redacted_toml(&self) -> Result<String, SettingsError> {
        let mut value = toml::Value::try_from(self)
            .map_err(|e| SettingsError(format!("rendering the config: {e}")))?;
        redact(&mut value);
        toml::to_string_pretty(&value)
            .map_err(|e| SettingsError(format!("rendering the config: {e}")))
    }
}

/// Key names whose values are secrets. Later sections (webhook secrets,
/// plugin credentials) are covered by name without further changes here.
fn is_secret_key(key: &str) -> bool {
    const MARKERS: [&str; 6] = [
        "secret",
        "password",
        "passphrase",
        "token",
        "api_key",
        "private_key",
    ];
    let key = key.to_ascii_lowercase();
    MARKERS
        .iter()
        .any(|m| key == *m || key.ends_with(&format!("_{m}")))
}

fn redact(value: &mut toml::Value) {
    if let toml::Value::Table(table) = value {
        for (key, inner) in table.iter_mut() {
            if is_secret_key(key) && !inner.is_table() {
                *inner = toml::Value::String("<redacted>".into());
            } else {
                redact(inner);
            }
        }
    }
}

/// Turns the config crate's error into one sentence that names the key, the
/// source and the problem.
fn describe(
    error: &config::ConfigError,
    file: Option<&Path>,
    env_keys: &[String],
) -> SettingsError {
    let text = error.to_string();
    // serde reports an unknown key as "unknown field `x`, expected one of
    // ... for key `section`"; say `section.x` and where it came from.
    if let Some((field, rest)) = text
        .strip_prefix("unknown field `")
        .and_then(|t| t.split_once('`'))
    {
        let section = rest
            .rsplit_once("for key `")
            .and_then(|(_, k)| k.strip_suffix('`'))
            .filter(|k| !k.is_empty());
        let key = section.map_or_else(|| field.to_owned(), |s| format!("{s}.{field}"));
        let var = format!("{ENV_PREFIX}_{}", key.replace('.', "__")).to_ascii_uppercase();
        let origin = if env_keys.iter().any(|k| k.eq_ignore_ascii_case(&var)) {
            format!("environment variable {var}")
        } else {
            file.map_or_else(
                || "the configuration".to_owned(),
                |p| format!("config file {}", p.display()),
            )
        };
        let expected = rest
            .split_once("expected ")
            .map(|(_, e)| e.split(" for key").next().unwrap_or(e))
            .unwrap_or("a known key");
        return SettingsError(format!(
            "invalid configuration: unknown key `{key}` in {origin} (expected {expected})"
        ));
    }
    let source_hint = if text.contains("environment")
        || file.is_some_and(|p| text.contains(&p.display().to_string()))
    {
        String::new()
    } else {
        match file {
            Some(path) => format!(
                " (in config file {} or a {ENV_PREFIX}_* environment variable)",
                path.display()
            ),
            None => format!(" (in a {ENV_PREFIX}_* environment variable)"),
        }
    };
    SettingsError(format!("invalid configuration: {text}{source_hint}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn env(pairs: &[(&str, &str)]) -> Option<config::Map<String, String>> {
        Some(
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        )
    }

    fn file(text: &str) -> tempfile::NamedTempFile {
        let mut file = tempfile::Builder::new().suffix(".toml").tempfile().unwrap();
        file.write_all(text.as_bytes()).unwrap();
        file
    }

    #[test]
    fn no_file_gives_the_development_defaults() {
        let settings = Settings::load_with_env(None, env(&[])).unwrap();
        assert_eq!(settings, Settings::default());
        assert_eq!(settings.server.listen.to_string(), "127.0.0.1:8443");
        assert_eq!(settings.storage.data_dir, PathBuf::from("./data"));
    }

    #[test]
    fn environment_overrides_file_overrides_defaults() {
        let f = file("[server]\nlisten = \"0.0.0.0:9000\"\n[storage]\ndata_dir = \"/srv/og\"\n");
        let settings = Settings::load_with_env(
            Some(f.path()),
            env(&[
                ("OMNIGATE_SERVER__LISTEN", "127.0.0.1:7000"),
                ("OMNIGATE_AUTH__LOCKOUT_SECS", "60"),
            ]),
        )
        .unwrap();
        assert_eq!(settings.server.listen.to_string(), "127.0.0.1:7000");
        assert_eq!(settings.storage.data_dir, PathBuf::from("/srv/og"));
        assert_eq!(settings.auth.lockout_secs, 60);
    }

    #[test]
    fn nested_keys_work_from_the_environment() {
        let settings = Settings::load_with_env(
            None,
            env(&[
                ("OMNIGATE_SERVER__TLS__CERT", "/c.pem"),
                ("OMNIGATE_SERVER__TLS__KEY", "/k.pem"),
            ]),
        )
        .unwrap();
        assert_eq!(settings.server.tls.cert, Some(PathBuf::from("/c.pem")));
    }

    #[test]
    fn plugin_signing_keys_are_checked_and_come_from_a_list_or_the_environment() {
        let key = omnigate_engine::plugins::signing::PrivateKey::generate().public_base64();
        let other = omnigate_engine::plugins::signing::PrivateKey::generate().public_base64();
        let f = file(&format!(
            "[plugins]\ntrusted_keys = [\"{key}\"]\nrequire_signed = true\n"
        ));
        let settings = Settings::load_with_env(Some(f.path()), env(&[])).unwrap();
        assert!(settings.plugins.require_signed);
        assert_eq!(settings.plugins.trusted().unwrap().len(), 1);
        let settings = Settings::load_with_env(
            None,
            env(&[
                ("OMNIGATE_PLUGINS__TRUSTED_KEYS", &format!("{key},{other}")),
                ("OMNIGATE_PLUGINS__REQUIRE_SIGNED", "true"),
            ]),
        )
        .unwrap();
        assert_eq!(settings.plugins.trusted_keys, vec![key, other]);
        let e = load_err("[plugins]\ntrusted_keys = [\"abc\"]\n", &[]);
        assert!(e.contains("plugins.trusted_keys[0]"), "{e}");
        let e = load_err("[plugins]\nrequire_signed = true\n", &[]);
        assert!(e.contains("plugins.require_signed"), "{e}");
    }

    fn load_err(toml: &str, vars: &[(&str, &str)]) -> String {
        let f = file(toml);
        Settings::load_with_env(Some(f.path()), env(vars))
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn unknown_keys_are_refused_by_name() {
        let message = load_err("[server]\nlisen = \"0.0.0.0:1\"\n", &[]);
        assert!(
            message.contains("server.lisen") && message.contains(".toml"),
            "{message}"
        );
        let message = load_err("[sever]\nlisten = \"0.0.0.0:1\"\n", &[]);
        assert!(message.contains("`sever`"), "{message}");
        let message = load_err("", &[("OMNIGATE_SERVER__LISTN", "x")]);
        assert!(message.contains("OMNIGATE_SERVER__LISTN"), "{message}");
    }

    #[test]
    fn bad_values_name_the_key() {
        let message = load_err("[server]\nlisten = \"not an address\"\n", &[]);
        assert!(message.contains("server.listen"), "{message}");
        let message = load_err("[auth]\nlockout_secs = \"soon\"\n", &[]);
        assert!(message.contains("auth.lockout_secs"), "{message}");
        let message = load_err("[auth]\nlockout_secs = 0\n", &[]);
        assert!(message.contains("auth.lockout_secs"), "{message}");
        let message = load_err("[logging]\nformat = \"xml\"\n", &[]);
        assert!(message.contains("logging.format"), "{message}");
        let message = load_err("[server.tls]\ncert = \"/c.pem\"\n", &[]);
        assert!(message.contains("server.tls.key"), "{message}");
    }

    #[test]
    fn numbers_are_not_coerced_from_other_types_and_are_bounded() {
        for toml in [
            "[server]\nmax_connections = true\n",
            "[auth]\nsession_idle_timeout_secs = 3600.5\n",
            "[server]\nshutdown_grace_secs = -30\n",
            "[auth]\nlockout_secs = inf\n",
            "[auth]\nmin_password_length = 300\n",
            "[server]\nmax_connections = 0\n",
        ] {
            let message = load_err(toml, &[]);
            let key = toml.lines().nth(1).unwrap().split(' ').next().unwrap();
            assert!(message.contains(key), "{toml}: {message}");
        }
        let message = load_err("", &[("OMNIGATE_SERVER__MAX_CONNECTIONS", "yes")]);
        assert!(message.contains("server.max_connections"), "{message}");
        let ok = Settings::load_with_env(None, env(&[("OMNIGATE_SERVER__MAX_CONNECTIONS", "500")]))
            .unwrap();
        assert_eq!(ok.server.max_connections, 500);
    }

    #[test]
    fn a_missing_file_is_named() {
        let message =
            Settings::load_with_env(Some(Path::new("/nonexistent/omnigate.toml")), env(&[]))
                .unwrap_err()
                .to_string();
        assert!(message.contains("/nonexistent/omnigate.toml"), "{message}");
    }

    #[test]
    fn secrets_are_redacted_by_key_name() {
        let mut value: toml::Value = toml::from_str(
            "[channel]\nwebhook_secret = \"s3cret\"\nname = \"wa\"\n[x]\npassword = \"p\"\n",
        )
        .unwrap();
        redact(&mut value);
        let text = value.to_string();
        assert!(
            !text.contains("s3cret") && !text.contains("\"p\""),
            "{text}"
        );
        assert!(text.contains("wa"), "{text}");
    }
}
