//! The plugins installed on this appliance, loaded and callable.
//!
//! [`Plugins`] is the embedder's side of the plugin host: it keeps the
//! installed `.wasm` files (content-addressed under `<data_dir>/plugin-store`)
//! and their registry records, loads the enabled ones at start (from the
//! host's compiled-artifact cache, so a restart does not recompile), and
//! installs, upgrades, enables, disables and removes them while the server
//! runs. An upgrade swaps the loaded version under its name: calls already
//! running finish on the old version, the next ones get the new; a channel's
//! binding drops warm instances of the old version by itself.
//!
//! The host's services are wired here too: plugin storage is the store's
//! per-plugin key-value tree (quota checked in the same transaction as the
//! write), and a breaker trip becomes an audit record admins see.

mod call_pool;
pub mod channel;
pub mod commerce;
mod services;
pub mod signing;
pub mod templates;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Instant;

use omnigate_domain::conversation::ChannelCapabilities;
use omnigate_domain::{Actor, AuditAction, AuditEvent, Clock};
use omnigate_plugin_host::{
    Binding, HostConfig, HttpClient, LoadError, MetricsSnapshot, Plugin, PluginHost, PluginKind,
    Services, Settings,
};
use omnigate_store::channels::ChannelSettingsRecord;
use omnigate_store::{PluginRecord, Store, StoreError};

use signing::TrustedKey;

/// Calls one warm instance of a channel's plugin serves before it is
/// replaced by a fresh one (and after any failure it is replaced at once).
/// Reuse stays within one channel: one provider account whose webhooks the
/// plugin parses anyway; no instance ever serves two channels, two plugins
/// or two versions. What a plugin leaves in its globals can reach at most
/// the next 99 calls of the same channel, which is why the SDK's guide says
/// to keep nothing there (`kv` is the plugin's memory).
pub const CHANNEL_INSTANCE_CALLS: u32 = 100;

/// How plugins are admitted.
#[derive(Debug, Clone, Default)]
pub struct SigningPolicy {
    /// Keys whose signatures are accepted.
    pub trusted: Vec<TrustedKey>,
    /// Refuse plugins without a valid signature by one of them.
    pub require_signed: bool,
}

/// Why a plugin operation was refused or failed. The message is what the
/// admin reads.
#[derive(Debug, thiserror::Error)]
pub enum PluginsError {
    /// The file is not a plugin this host can run (compile, interface
    /// version, manifest, exports).
    #[error("{0}")]
    Invalid(#[from] LoadError),
    /// Signed-only mode and no signature, or a signature that does not
    /// verify.
    #[error("{0}")]
    Signature(String),
    /// An installed plugin of that name has this version or a newer one.
    #[error(
        "{name} {installed} is installed; an upgrade needs a higher version than that (got {offered})"
    )]
    NotNewer {
        /// The plugin.
        name: String,
        /// Its installed version.
        installed: String,
        /// The version offered.
        offered: String,
    },
    /// No plugin of that name is installed.
    #[error("no plugin named `{0}` is installed")]
    NotFound(String),
    /// Channels, shops or flows still use the plugin.
    #[error(
        "plugin `{name}` is used by channel(s), shop(s) or flow(s) {channels:?}; change or delete them first"
    )]
    InUse {
        /// The plugin.
        name: String,
        /// The ids of the channels and shops using it.
        channels: Vec<u64>,
    },
    /// The plugin is installed but not loaded (disabled, or failed to load).
    #[error("plugin `{0}` is not enabled")]
    NotEnabled(String),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The plugin store directory failed.
    #[error("plugin files: {0}")]
    Io(String),
}

/// One installed plugin as admins see it.
#[derive(Debug, Clone)]
pub struct PluginStatus {
    /// The registry record.
    pub record: PluginRecord,
    /// What its manifest says, when it is loaded.
    pub manifest: Option<omnigate_plugin_host::Manifest>,
    /// Calls, errors and latency since it was loaded.
    pub metrics: Option<MetricsSnapshot>,
    /// Whether the circuit breaker stopped it.
    pub tripped: bool,
    /// Why an enabled plugin could not be loaded at start.
    pub load_error: Option<String>,
}

/// What a start-up load did, for the log line.
#[derive(Debug, Clone, Copy, Default)]
pub struct LoadReport {
    /// Plugins loaded.
    pub loaded: usize,
    /// Of which compiled code came from the cache.
    pub from_cache: usize,
    /// Plugins that failed to load (they stay installed, shown with the
    /// error).
    pub failed: usize,
    /// Milliseconds the whole load took.
    pub elapsed_ms: u64,
}

/// A loaded plugin version with what the engine reads of it often.
pub struct Loaded {
    /// The plugin.
    pub plugin: Plugin,
    /// For channel plugins: what it can carry (read once at load).
    pub capabilities: Option<ChannelCapabilities>,
}

/// Told of every change of a plugin's state (the plugin's name and the
/// audited action: installed, enabled, disabled, tripped, removed), so
/// admins' consoles learn of it live.
pub type ChangeHook = Box<dyn Fn(&str, AuditAction) + Send + Sync>;

/// The installed plugins. One per process.
pub struct Plugins {
    host: PluginHost,
    store: Arc<Store>,
    clock: Arc<dyn Clock>,
    files: PathBuf,
    policy: SigningPolicy,
    loaded: RwLock<HashMap<String, Arc<Loaded>>>,
    load_errors: RwLock<HashMap<String, String>>,
    /// Per channel: the binding (settings and warm instances), rebuilt
    /// when the channel's settings or plugin version change.
    bindings: RwLock<HashMap<u64, Arc<Binding>>>,
    /// Per shop: the same.
    shop_bindings: RwLock<HashMap<u64, Arc<Binding>>>,
    /// Serialises installs, upgrades and removals.
    admin: std::sync::Mutex<()>,
    /// See [`ChangeHook`]; shared with the breaker's event sink.
    on_change: Arc<std::sync::OnceLock<ChangeHook>>,
    /// Where webhooks are parsed (see [`call_pool`]).
    parse_pool: call_pool::CallPool,
}

impl Plugins {
    /// Builds the host (compiled artifacts cached under
    /// `<data_dir>/plugin-cache`) over the given HTTP client. Nothing is
    /// loaded yet: see [`Plugins::load_installed`].
    pub fn open(
        store: Arc<Store>,
        clock: Arc<dyn Clock>,
        http: Arc<dyn HttpClient>,
        mut config: HostConfig,
        policy: SigningPolicy,
    ) -> Result<Arc<Plugins>, PluginsError> {
        let files = store.dir().join("plugin-store");
        std::fs::create_dir_all(&files)
            .map_err(|e| PluginsError::Io(format!("{}: {e}", files.display())))?;
        if config.cache_dir.is_none() {
            config.cache_dir = Some(store.dir().join("plugin-cache"));
        }
        let on_change = Arc::new(std::sync::OnceLock::new());
        let events = Arc::new(services::AuditingEvents::new(
            Arc::clone(&store),
            Arc::clone(&clock),
            Arc::clone(&on_change),
        ));
        let services = Services {
            http,
            kv: Arc::new(services::StoreKv::new(Arc::clone(&store))),
            clock: Arc::clone(&clock) as Arc<dyn Clock>,
            events,
        };
        let host = PluginHost::new(config, services)?;
        let parse_pool = call_pool::CallPool::per_core()
            .map_err(|e| PluginsError::Io(format!("starting the plugin call threads: {e}")))?;
        Ok(Arc::new(Plugins {
            host,
            store,
            clock,
            files,
            policy,
            loaded: RwLock::default(),
            load_errors: RwLock::default(),
            bindings: RwLock::default(),
            shop_bindings: RwLock::default(),
            admin: std::sync::Mutex::new(()),
            on_change,
            parse_pool,
        }))
    }

    /// Runs a call that computes and waits on nothing (a webhook's parse,
    /// a handshake) on the parse threads; see [`call_pool`] for why calls
    /// that wait on a provider must not.
    pub(crate) async fn compute<T: Send + 'static>(
        &self,
        call: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, call_pool::NotRun> {
        self.parse_pool.run(call).await
    }

    /// Loads every enabled plugin. One that fails stays installed and is
    /// shown with its error; the server starts anyway.
    pub fn load_installed(&self) -> Result<LoadReport, PluginsError> {
        let started = Instant::now();
        let mut report = LoadReport::default();
        for record in self.store.all_plugins()? {
            if !record.enabled {
                continue;
            }
            match self.load_record(&record) {
                Ok(loaded) => {
                    report.loaded += 1;
                    report.from_cache += usize::from(loaded.plugin.from_cache());
                    self.publish(&record.id, loaded);
                }
                Err(error) => {
                    report.failed += 1;
                    tracing::error!(plugin = %record.id, version = %record.version, %error, "an installed plugin failed to load");
                    write(&self.load_errors).insert(record.id.clone(), error.to_string());
                }
            }
        }
        report.elapsed_ms = started.elapsed().as_millis() as u64;
        Ok(report)
    }

    fn load_record(&self, record: &PluginRecord) -> Result<Loaded, PluginsError> {
        let path = self.file_of(&record.sha256);
        let wasm = std::fs::read(&path)
            .map_err(|e| PluginsError::Io(format!("{}: {e}", path.display())))?;
        let plugin = self.host.load(&wasm)?;
        if plugin.manifest().name != record.id || plugin.manifest().version != record.version {
            return Err(PluginsError::Io(format!(
                "{} holds {}, not {}@{}",
                path.display(),
                plugin.id(),
                record.id,
                record.version
            )));
        }
        Ok(self.ready(plugin))
    }

    fn ready(&self, plugin: Plugin) -> Loaded {
        let capabilities = if plugin.manifest().kind == PluginKind::Channel {
            // Capabilities take no settings; an empty binding answers them.
            match plugin.capabilities(&Binding::isolated(Settings::default())) {
                Ok(caps) => Some(omnigate_plugin_host::convert::capabilities_from_wit(&caps)),
                Err(error) => {
                    tracing::warn!(plugin = %plugin.id(), %error, "cannot read the channel's capabilities; assuming text only");
                    Some(ChannelCapabilities {
                        service_window: None,
                        templates: false,
                        media: Vec::new(),
                    })
                }
            }
        } else {
            None
        };
        Loaded {
            plugin,
            capabilities,
        }
    }

    fn publish(&self, name: &str, loaded: Loaded) {
        write(&self.loaded).insert(name.to_owned(), Arc::new(loaded));
        write(&self.load_errors).remove(name);
        // Bindings keep warm instances of a version; new ones start clean.
        write(&self.bindings).clear();
        write(&self.shop_bindings).clear();
    }

    fn file_of(&self, sha256: &str) -> PathBuf {
        self.files.join(format!("{sha256}.wasm"))
    }

    /// Installs a plugin, or upgrades the installed one of the same name to
    /// this higher version, without a restart. A reinstall of the very same
    /// file changes nothing. `signature` is the base64 ed25519 signature
    /// (`omnigate plugin sign`).
    pub fn install(
        &self,
        wasm: &[u8],
        signature: Option<&str>,
        actor: Actor,
        source: Option<String>,
    ) -> Result<PluginStatus, PluginsError> {
        let digest = signing::digest(wasm);
        let sha256 = hex::encode(digest);
        let signed_by = match signature {
            Some(signature) => Some(
                signing::verify(&self.policy.trusted, &digest, signature)
                    .map_err(|e| PluginsError::Signature(e.to_string()))?,
            ),
            None if self.policy.require_signed => {
                return Err(PluginsError::Signature(
                    "this appliance accepts signed plugins only (plugins.require_signed); sign it with `omnigate plugin sign` and send the signature".into(),
                ));
            }
            None => None,
        };
        let plugin = self.host.load(wasm)?;
        let manifest = plugin.manifest().clone();
        let _admin = self.admin.lock().unwrap_or_else(PoisonError::into_inner);
        let previous = self.store.plugin(&manifest.name)?;
        if let Some(previous) = &previous {
            if previous.sha256 == sha256 {
                return self.status(&manifest.name);
            }
            if !newer(&manifest.version, &previous.version) {
                return Err(PluginsError::NotNewer {
                    name: manifest.name.clone(),
                    installed: previous.version.clone(),
                    offered: manifest.version.clone(),
                });
            }
        }
        write_durably(&self.file_of(&sha256), wasm)?;
        let record = PluginRecord {
            id: manifest.name.clone(),
            version: manifest.version.clone(),
            kind: manifest.kind.as_str().to_owned(),
            interface: manifest.interface.clone(),
            sha256,
            // A new plugin runs at once; an upgrade keeps the admin's
            // choice.
            enabled: previous.as_ref().is_none_or(|p| p.enabled),
            installed_at_ms: self.clock.now().0,
            signed_by,
        };
        self.store.put_plugin(&record)?;
        let detail = serde_json::json!({
            "version": record.version,
            "previous_version": previous.as_ref().map(|p| p.version.clone()),
            "sha256": record.sha256,
            "signed_by": record.signed_by,
        });
        self.audit(
            AuditEvent::new(actor, AuditAction::PluginInstalled)
                .target(record.id.clone())
                .detail(detail.to_string())
                .source(source),
        )?;
        if record.enabled {
            self.publish(&record.id, self.ready(plugin));
        }
        if let Some(previous) = previous {
            self.forget_file(&previous.sha256);
        }
        tracing::info!(plugin = %record.id, version = %record.version, "plugin installed");
        self.status(&record.id)
    }

    /// Loads a disabled plugin again, or lets one the breaker stopped run
    /// again.
    pub fn enable(
        &self,
        name: &str,
        actor: Actor,
        source: Option<String>,
    ) -> Result<PluginStatus, PluginsError> {
        let _admin = self.admin.lock().unwrap_or_else(PoisonError::into_inner);
        let mut record = self.record(name)?;
        let current = read(&self.loaded).get(name).cloned();
        match current {
            Some(loaded) if record.enabled => loaded.plugin.enable(),
            _ => {
                let loaded = self.load_record(&record)?;
                record.enabled = true;
                self.store.put_plugin(&record)?;
                self.publish(name, loaded);
            }
        }
        self.audit(
            AuditEvent::new(actor, AuditAction::PluginEnabled)
                .target(name.to_owned())
                .source(source),
        )?;
        self.status(name)
    }

    /// Unloads a plugin; its channels stop sending and receiving (their
    /// outbound messages wait in the outbox) until it is enabled again.
    pub fn disable(
        &self,
        name: &str,
        actor: Actor,
        source: Option<String>,
    ) -> Result<PluginStatus, PluginsError> {
        let _admin = self.admin.lock().unwrap_or_else(PoisonError::into_inner);
        let mut record = self.record(name)?;
        record.enabled = false;
        self.store.put_plugin(&record)?;
        write(&self.loaded).remove(name);
        write(&self.bindings).clear();
        self.audit(
            AuditEvent::new(actor, AuditAction::PluginDisabled)
                .target(name.to_owned())
                .source(source),
        )?;
        self.status(name)
    }

    /// Removes a plugin with its stored data; refused while a channel uses
    /// it.
    pub fn remove(
        &self,
        name: &str,
        actor: Actor,
        source: Option<String>,
    ) -> Result<(), PluginsError> {
        let _admin = self.admin.lock().unwrap_or_else(PoisonError::into_inner);
        let channels: Vec<u64> = self
            .store
            .channels()?
            .into_iter()
            .filter(|c| c.kind == name)
            .map(|c| c.id)
            .chain(
                self.store
                    .shops()?
                    .into_iter()
                    .filter(|s| s.plugin == name)
                    .map(|s| s.id),
            )
            .chain(
                self.store
                    .flows()?
                    .into_iter()
                    .filter(|f| f.plugin == name)
                    .map(|f| f.id),
            )
            .collect();
        if !channels.is_empty() {
            return Err(PluginsError::InUse {
                name: name.to_owned(),
                channels,
            });
        }
        let record = match self.store.delete_plugin(name) {
            Ok(record) => record,
            Err(StoreError::NotFound(_)) => return Err(PluginsError::NotFound(name.to_owned())),
            Err(e) => return Err(e.into()),
        };
        self.store.plugin_kv_clear(name)?;
        write(&self.loaded).remove(name);
        write(&self.load_errors).remove(name);
        write(&self.bindings).clear();
        self.forget_file(&record.sha256);
        self.audit(
            AuditEvent::new(actor, AuditAction::PluginRemoved)
                .target(name.to_owned())
                .detail(serde_json::json!({ "version": record.version }).to_string())
                .source(source),
        )?;
        Ok(())
    }

    /// Every installed plugin, by name.
    pub fn list(&self) -> Result<Vec<PluginStatus>, PluginsError> {
        self.store
            .all_plugins()?
            .into_iter()
            .map(|record| Ok(self.status_of(record)))
            .collect()
    }

    /// One installed plugin.
    pub fn status(&self, name: &str) -> Result<PluginStatus, PluginsError> {
        Ok(self.status_of(self.record(name)?))
    }

    fn record(&self, name: &str) -> Result<PluginRecord, PluginsError> {
        self.store
            .plugin(name)?
            .ok_or_else(|| PluginsError::NotFound(name.to_owned()))
    }

    fn status_of(&self, record: PluginRecord) -> PluginStatus {
        let loaded = read(&self.loaded).get(&record.id).cloned();
        PluginStatus {
            manifest: loaded.as_ref().map(|l| l.plugin.manifest().clone()),
            metrics: loaded.as_ref().map(|l| l.plugin.metrics()),
            tripped: loaded.as_ref().is_some_and(|l| l.plugin.is_disabled()),
            load_error: read(&self.load_errors).get(&record.id).cloned(),
            record,
        }
    }

    /// The loaded plugin `name`, if enabled.
    pub fn get(&self, name: &str) -> Option<Arc<Loaded>> {
        read(&self.loaded).get(name).cloned()
    }

    /// The loaded channel plugin of a channel kind, or why there is none.
    pub fn channel_plugin(&self, kind: &str) -> Result<Arc<Loaded>, PluginsError> {
        self.loaded_of_kind(kind, PluginKind::Channel)
    }

    /// The loaded plugin `name` if it is of `kind`, or why there is none.
    fn loaded_of_kind(&self, name: &str, kind: PluginKind) -> Result<Arc<Loaded>, PluginsError> {
        match self.get(name) {
            Some(loaded) if loaded.plugin.manifest().kind == kind => Ok(loaded),
            Some(_) => Err(PluginsError::NotFound(name.to_owned())),
            None if self.store.plugin(name)?.is_some() => {
                Err(PluginsError::NotEnabled(name.to_owned()))
            }
            None => Err(PluginsError::NotFound(name.to_owned())),
        }
    }

    /// The binding of channel `id`: its stored settings, and warm
    /// instances when reuse is configured.
    pub fn binding(&self, channel_id: u64) -> Result<Arc<Binding>, PluginsError> {
        if let Some(binding) = read(&self.bindings).get(&channel_id) {
            return Ok(Arc::clone(binding));
        }
        let stored = self.store.channel_settings(channel_id)?;
        let binding = Arc::new(Binding::reusing(
            settings_of(stored),
            CHANNEL_INSTANCE_CALLS,
        ));
        write(&self.bindings).insert(channel_id, Arc::clone(&binding));
        Ok(binding)
    }

    /// The binding of a shop: its settings.
    pub fn shop_binding(&self, shop: &omnigate_store::shops::ShopRecord) -> Arc<Binding> {
        if let Some(binding) = read(&self.shop_bindings).get(&shop.id) {
            return Arc::clone(binding);
        }
        let binding = Arc::new(Binding::isolated(Settings {
            config: shop.config.clone(),
            secrets: shop.secrets.clone(),
        }));
        write(&self.shop_bindings).insert(shop.id, Arc::clone(&binding));
        binding
    }

    /// Forgets the binding of a shop whose settings changed.
    pub fn shop_changed(&self, shop_id: u64) {
        write(&self.shop_bindings).remove(&shop_id);
    }

    /// The loaded flow plugin `name`, or why there is none.
    pub fn flow_plugin(&self, name: &str) -> Result<Arc<Loaded>, PluginsError> {
        self.loaded_of_kind(name, PluginKind::Flow)
    }

    /// The loaded commerce plugin `name`, or why there is none.
    pub fn commerce_plugin(&self, name: &str) -> Result<Arc<Loaded>, PluginsError> {
        self.loaded_of_kind(name, PluginKind::Commerce)
    }

    /// Forgets the binding of a channel whose settings changed.
    pub fn channel_settings_changed(&self, channel_id: u64) {
        write(&self.bindings).remove(&channel_id);
    }

    /// The capabilities of channel plugin `kind`, if it is loaded.
    pub fn capabilities(&self, kind: &str) -> Option<ChannelCapabilities> {
        self.get(kind).and_then(|l| l.capabilities.clone())
    }

    /// Installs every `*.wasm` in `dir` that is not installed yet or is a
    /// newer version than the installed one, with the signature in a
    /// `<file>.sig` beside it when there is one: how packaged first-party
    /// plugins and an admin's drop-ins arrive. A file that is refused is
    /// logged and skipped.
    pub fn install_dropins(&self, dir: &Path) -> Result<usize, PluginsError> {
        let entries = match std::fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
            Err(e) => return Err(PluginsError::Io(format!("{}: {e}", dir.display()))),
        };
        let mut paths: Vec<PathBuf> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "wasm"))
            .collect();
        paths.sort();
        let mut installed = 0;
        for path in paths {
            let wasm = match std::fs::read(&path) {
                Ok(wasm) => wasm,
                Err(error) => {
                    tracing::warn!(file = %path.display(), %error, "cannot read a plugin file");
                    continue;
                }
            };
            let sha256 = hex::encode(signing::digest(&wasm));
            if self.store.all_plugins()?.iter().any(|p| p.sha256 == sha256) {
                continue;
            }
            let mut sig_path = path.clone().into_os_string();
            sig_path.push(".sig");
            let signature = std::fs::read_to_string(&sig_path).ok();
            match self.install(&wasm, signature.as_deref(), Actor::System, None) {
                Ok(status) => {
                    installed += 1;
                    tracing::info!(file = %path.display(), plugin = %status.record.id, version = %status.record.version, "installed a plugin from plugins.dir");
                }
                Err(PluginsError::NotNewer { .. }) => {}
                Err(error) => {
                    tracing::error!(file = %path.display(), %error, "a plugin in plugins.dir was refused");
                }
            }
        }
        Ok(installed)
    }

    fn forget_file(&self, sha256: &str) {
        let still_used = self
            .store
            .all_plugins()
            .map(|all| all.iter().any(|p| p.sha256 == sha256))
            .unwrap_or(true);
        if !still_used {
            let _ = std::fs::remove_file(self.file_of(sha256));
        }
    }

    fn audit(&self, event: AuditEvent) -> Result<(), PluginsError> {
        self.store.append_audit(&event, self.clock.now())?;
        if let (Some(hook), Some(name)) = (self.on_change.get(), event.target.as_deref()) {
            hook(name, event.action);
        }
        Ok(())
    }

    /// Sets the hook told of every plugin state change; once per registry
    /// (`false` when one is set already).
    pub fn on_change(&self, hook: ChangeHook) -> bool {
        self.on_change.set(hook).is_ok()
    }
}

/// The plugin host's settings type from a channel's stored settings.
#[must_use]
pub fn settings_of(stored: ChannelSettingsRecord) -> Settings {
    Settings {
        config: stored.config,
        secrets: stored.secrets,
    }
}

/// Whether semver `offered` is higher than `installed` (pre-release and
/// build suffixes compare as text after the numbers).
fn newer(offered: &str, installed: &str) -> bool {
    fn parts(v: &str) -> (Vec<u64>, &str) {
        let (core, rest) = v.split_once(['-', '+']).unwrap_or((v, ""));
        (
            core.split('.').map(|n| n.parse().unwrap_or(0)).collect(),
            rest,
        )
    }
    let (a, a_rest) = parts(offered);
    let (b, b_rest) = parts(installed);
    match a.cmp(&b) {
        std::cmp::Ordering::Greater => true,
        std::cmp::Ordering::Less => false,
        // 1.0.0 > 1.0.0-rc1; otherwise compare the suffixes.
        std::cmp::Ordering::Equal => match (a_rest.is_empty(), b_rest.is_empty()) {
            (true, false) => true,
            (false, true) | (true, true) => false,
            (false, false) => a_rest > b_rest,
        },
    }
}

/// Writes a file and syncs it and its directory, so an acknowledged
/// install survives a crash.
fn write_durably(path: &Path, bytes: &[u8]) -> Result<(), PluginsError> {
    use std::io::Write as _;
    let io = |e: std::io::Error| PluginsError::Io(format!("{}: {e}", path.display()));
    let tmp = path.with_extension("tmp");
    let mut file = std::fs::File::create(&tmp).map_err(io)?;
    file.write_all(bytes).map_err(io)?;
    file.sync_all().map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)?;
    if let Some(dir) = path.parent()
        && let Ok(dir) = std::fs::File::open(dir)
    {
        let _ = dir.sync_all();
    }
    Ok(())
}

fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(PoisonError::into_inner)
}

fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::newer;

    #[test]
    fn upgrades_need_a_higher_semver() {
        assert!(newer("1.0.1", "1.0.0"));
        assert!(newer("1.10.0", "1.9.9"));
        assert!(newer("2.0.0", "1.99.0"));
        assert!(newer("1.0.0", "1.0.0-rc.1"));
        assert!(newer("1.0.0-rc.2", "1.0.0-rc.1"));
        assert!(!newer("1.0.0", "1.0.0"));
        assert!(!newer("0.9.0", "1.0.0"));
        assert!(!newer("1.0.0-rc.1", "1.0.0"));
    }
}
