//! A loaded plugin version and its calls.
//!
//! Isolation: by default a call runs in a fresh `Store` and instance from
//! the plugin's `InstancePre` ([`Binding::isolated`]): with the pooling
//! allocator resetting slots in place this costs about 7 µs over a warm
//! call, so nothing one contact's call leaves in memory reaches any other
//! call. Channels whose volume makes those microseconds matter can opt into
//! a warm instance kept by the [`Binding`] of one configured channel and
//! recycled after a fixed number of calls or at once after any failure
//! ([`Binding::reusing`]). The boundary is the binding: a warm instance
//! only ever sees the data of the one channel (one provider account) it was
//! created for, which that channel's plugin sees anyway; it never serves
//! another channel or another plugin version. A trap, timeout, memory cap
//! or oversized output discards the instance, so a fault never reaches a
//! later call.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;
use wasmtime::component::InstancePre;
use wasmtime::{Engine, Store, Trap};

use crate::allowlist::Allowlist;
use crate::bindings::channel::exports::omnigate::plugin::channel_plugin as channel_exports;
use crate::bindings::channel::{Channel, ChannelPre};
use crate::bindings::commerce::{Commerce, CommercePre};
use crate::bindings::flow::{Flow, FlowPre};
use crate::breaker::{Breaker, Tripped};
use crate::error::{Cause, LoadError, PluginError};
use crate::host::PluginHost;
use crate::manifest::{Manifest, PluginKind, Settings};
use crate::metrics::{Failure, MetricsSnapshot};
use crate::services::{AttachmentSource, PluginDisabled, Services};
use crate::state::{AttachmentGrant, CallState, PluginShared};
use crate::types::Content;
use crate::types::channel::{
    ChannelCapabilities, FetchedMedia, InboundEvent, OutboundMessage, ProviderError, Sent,
    TemplateInfo, WebhookError, WebhookRequest, WebhookResponse,
};
use crate::types::commerce::{CustomerRef, Order, OrderAction, Product, ShopError};
use crate::types::flow::{FlowContext, FlowError, FlowEvent, Step};
use crate::version::Interface;

/// Budgets for reading the manifest, before the manifest's own are known.
const BOOTSTRAP_TIME: Duration = Duration::from_secs(1);
const BOOTSTRAP_MEMORY_BYTES: usize = 64 * 1024 * 1024;

/// The pre-linked component for its kind.
enum Typed {
    Channel(ChannelPre<CallState>),
    Flow(FlowPre<CallState>),
    Commerce(CommercePre<CallState>),
}

/// An instantiated component for one call.
enum Instance {
    Channel(Channel),
    Flow(Flow),
    Commerce(Commerce),
}

/// An instance kept warm between calls of one binding.
struct Warm {
    store: Store<CallState>,
    instance: Instance,
    calls: u32,
}

/// Most warm instances one binding keeps idle (one per core is plenty).
const MAX_IDLE_PER_BINDING: usize = 2;

/// One configured instance of a plugin (one WhatsApp number, one shop):
/// its settings and, when reuse is on, its warm instances. The embedder
/// keeps one per channel and passes it to every call.
pub struct Binding {
    settings: Arc<Settings>,
    recycle_after: u32,
    idle: Mutex<Vec<Warm>>,
}

impl Binding {
    /// Every call in a fresh instance: the strongest isolation, at the
    /// cost of an instantiation per call.
    #[must_use]
    pub fn isolated(settings: Settings) -> Binding {
        Binding::reusing(settings, 1)
    }

    /// Calls reuse a warm instance of this binding, recycled after
    /// `recycle_after` calls or after any failure.
    #[must_use]
    pub fn reusing(settings: Settings, recycle_after: u32) -> Binding {
        Binding {
            settings: Arc::new(settings),
            recycle_after: recycle_after.max(1),
            idle: Mutex::new(Vec::new()),
        }
    }

    /// The settings the plugin's `config` import answers from.
    #[must_use]
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    fn take(&self, plugin: &Arc<PluginShared>) -> Option<Warm> {
        let mut idle = self.idle.lock().ok()?;
        // A binding moved to another plugin version drops the old warm
        // instances rather than running them.
        idle.retain(|w| Arc::ptr_eq(&w.store.data().plugin, plugin));
        idle.pop()
    }

    fn give_back(&self, warm: Warm) {
        if warm.calls >= self.recycle_after {
            return;
        }
        if let Ok(mut idle) = self.idle.lock()
            && idle.len() < MAX_IDLE_PER_BINDING
        {
            idle.push(warm);
        }
    }
}

/// One loaded plugin version, ready to call from any thread.
pub struct Plugin {
    engine: Engine,
    services: Services,
    typed: Typed,
    manifest: Manifest,
    shared: Arc<PluginShared>,
    breaker: Breaker,
    max_output_bytes: usize,
    epoch_tick: Duration,
    from_cache: bool,
}

impl Plugin {
    pub(crate) fn new(
        host: &PluginHost,
        pre: InstancePre<CallState>,
        interface: Interface,
        from_cache: bool,
    ) -> Result<Plugin, LoadError> {
        let link = |e: wasmtime::Error| LoadError::Link(format!("{e:#}"));
        let typed = match interface.kind {
            PluginKind::Channel => Typed::Channel(ChannelPre::new(pre).map_err(link)?),
            PluginKind::Flow => Typed::Flow(FlowPre::new(pre).map_err(link)?),
            PluginKind::Commerce => Typed::Commerce(CommercePre::new(pre).map_err(link)?),
        };
        let bootstrap = Manifest {
            name: "unknown".into(),
            version: "0.0.0".into(),
            kind: interface.kind,
            interface: interface.version.clone(),
            description: String::new(),
            allowed_hosts: Vec::new(),
            fields: Vec::new(),
            budgets: crate::manifest::Budgets {
                memory_bytes: BOOTSTRAP_MEMORY_BYTES.min(host.config.max_memory_bytes),
                time: BOOTSTRAP_TIME,
                kv_bytes: 0,
            },
        };
        let mut plugin = Plugin {
            engine: host.engine.clone(),
            services: host.services.clone(),
            typed,
            shared: Arc::new(PluginShared {
                id: "(loading)".into(),
                name: String::new(),
                allowlist: Allowlist::default(),
                kv_quota_bytes: 0,
                metrics: Default::default(),
                config_defaults: Default::default(),
                max_request_bytes: host.config.max_request_bytes,
            }),
            manifest: bootstrap,
            breaker: Breaker::new(host.config.breaker_threshold),
            max_output_bytes: 1024 * 1024,
            epoch_tick: host.config.epoch_tick,
            from_cache,
        };
        let text = plugin
            .call(
                "manifest",
                &Binding::isolated(Settings::default()),
                |store, instance| match instance {
                    Instance::Channel(c) => c.omnigate_plugin_meta().call_manifest(store),
                    Instance::Flow(f) => f.omnigate_plugin_meta().call_manifest(store),
                    Instance::Commerce(c) => c.omnigate_plugin_meta().call_manifest(store),
                },
            )
            .map_err(|e| LoadError::ManifestCall(e.to_string()))?;
        let manifest = Manifest::parse(&text)?;
        if manifest.kind != interface.kind {
            return Err(LoadError::Manifest(crate::manifest::ManifestError {
                key: "kind".into(),
                message: format!(
                    "says `{}` but the component exports the {} interface",
                    manifest.kind.as_str(),
                    interface.kind.as_str()
                ),
            }));
        }
        if manifest.interface != interface.version {
            return Err(LoadError::Manifest(crate::manifest::ManifestError {
                key: "interface".into(),
                message: format!(
                    "says `{}` but the component was built against {}",
                    manifest.interface, interface.version
                ),
            }));
        }
        if manifest.budgets.memory_bytes > host.config.max_memory_bytes {
            return Err(LoadError::Manifest(crate::manifest::ManifestError {
                key: "budgets.memory_mib".into(),
                message: format!(
                    "asks for more than this appliance allows ({} MiB)",
                    host.config.max_memory_bytes / (1024 * 1024)
                ),
            }));
        }
        plugin.shared = Arc::new(PluginShared {
            id: format!("{}@{}", manifest.name, manifest.version),
            name: manifest.name.clone(),
            allowlist: Allowlist::new(&manifest.allowed_hosts),
            kv_quota_bytes: manifest.budgets.kv_bytes,
            metrics: Default::default(),
            config_defaults: manifest
                .fields
                .iter()
                .filter(|f| !f.secret)
                .filter_map(|f| Some((f.key.clone(), f.default.clone()?)))
                .collect(),
            max_request_bytes: host.config.max_request_bytes,
        });
        plugin.manifest = manifest;
        plugin.max_output_bytes = host.config.max_output_bytes;
        Ok(plugin)
    }

    /// The validated manifest.
    #[must_use]
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// `name@version`.
    #[must_use]
    pub fn id(&self) -> &str {
        &self.shared.id
    }

    /// Whether the compiled code came from the artifact cache.
    #[must_use]
    pub fn from_cache(&self) -> bool {
        self.from_cache
    }

    /// The call counters now.
    #[must_use]
    pub fn metrics(&self) -> MetricsSnapshot {
        self.shared.metrics.snapshot()
    }

    /// Whether the circuit breaker has disabled the plugin.
    #[must_use]
    pub fn is_disabled(&self) -> bool {
        self.breaker.is_open()
    }

    /// Re-enables a plugin the breaker disabled (an admin's decision).
    pub fn enable(&self) {
        self.breaker.reset();
    }

    /// Runs `f` on a fresh instance under the plugin's budgets, mapping
    /// every failure to a [`PluginError`] and counting it.
    fn call<R: Serialize>(
        &self,
        function: &'static str,
        binding: &Binding,
        f: impl FnOnce(&mut Store<CallState>, &Instance) -> wasmtime::Result<R>,
    ) -> Result<R, PluginError> {
        if self.breaker.is_open() {
            return Err(self.error(
                function,
                Cause::Disabled {
                    failures: self.breaker.failures(),
                },
            ));
        }
        let started = Instant::now();
        let budgets = self.manifest.budgets;
        let deadline = started + budgets.time;
        let ticks = self.budget_ticks();
        let warm = match binding.take(&self.shared) {
            Some(mut warm) => {
                warm.store.data_mut().begin_call(deadline);
                Ok(warm)
            }
            None => self.fresh(binding, deadline),
        };
        let (result, warm) = match warm {
            Err(cause) => (Err(cause), None),
            Ok(mut warm) => {
                warm.store.set_epoch_deadline(ticks.saturating_add(1));
                let outcome = f(&mut warm.store, &warm.instance);
                match outcome {
                    Ok(value)
                        if output_capped(function)
                            && !crate::output::fits(&value, self.max_output_bytes) =>
                    {
                        (
                            Err(Cause::OutputTooLarge {
                                limit_bytes: self.max_output_bytes,
                            }),
                            None,
                        )
                    }
                    Ok(value) => (Ok(value), Some(warm)),
                    Err(e) => (
                        Err(classify(
                            &e,
                            warm.store.data(),
                            budgets.time,
                            budgets.memory_bytes,
                        )),
                        None,
                    ),
                }
            }
        };
        if let Some(mut warm) = warm {
            warm.calls += 1;
            binding.give_back(warm);
        }
        let latency = started.elapsed();
        match result {
            Ok(value) => {
                self.shared.metrics.record(latency, None);
                self.breaker.success();
                Ok(value)
            }
            Err(cause) => {
                let failure = match &cause {
                    Cause::Timeout { .. } => Failure::Timeout,
                    Cause::MemoryCap { .. } => Failure::MemoryCap,
                    Cause::Trap { .. } => Failure::Trap,
                    Cause::OutputTooLarge { .. } => Failure::Oversized,
                    Cause::Disabled { .. } | Cause::Host { .. } => Failure::Other,
                };
                self.shared.metrics.record(latency, Some(failure));
                let error = self.error(function, cause);
                tracing::warn!(plugin = %self.shared.id, function, error = %error, "plugin call failed");
                let plugin_fault =
                    !matches!(error.cause, Cause::Disabled { .. } | Cause::Host { .. });
                if plugin_fault && let Tripped::Now(failures) = self.breaker.failure() {
                    self.services.events.plugin_disabled(PluginDisabled {
                        plugin: self.shared.id.clone(),
                        failures,
                        last_error: error.to_string(),
                    });
                }
                Err(error)
            }
        }
    }

    /// The time budget in epoch ticks (the deadline is one tick more, so a
    /// call gets at least its whole budget).
    fn budget_ticks(&self) -> u64 {
        let tick_ns = self.epoch_tick.as_nanos().max(1);
        u64::try_from(self.manifest.budgets.time.as_nanos() / tick_ns).unwrap_or(u64::MAX)
    }

    /// A new store and instance for `binding`, under the memory cap and
    /// with epoch interruption armed.
    fn fresh(&self, binding: &Binding, deadline: Instant) -> Result<Warm, Cause> {
        let mut store = Store::new(
            &self.engine,
            CallState::new(
                Arc::clone(&self.shared),
                Arc::clone(&binding.settings),
                self.services.clone(),
                self.manifest.budgets.memory_bytes,
                deadline,
            ),
        );
        store.limiter(|state| &mut state.limiter);
        store.epoch_deadline_trap();
        // Instantiation runs guest start code too: give it the budget.
        store.set_epoch_deadline(self.budget_ticks().saturating_add(1));
        let instance = match &self.typed {
            Typed::Channel(pre) => pre.instantiate(&mut store).map(Instance::Channel),
            Typed::Flow(pre) => pre.instantiate(&mut store).map(Instance::Flow),
            Typed::Commerce(pre) => pre.instantiate(&mut store).map(Instance::Commerce),
        };
        match instance {
            Ok(instance) => Ok(Warm {
                store,
                instance,
                calls: 0,
            }),
            // The plugin's own start-up code failed: its fault.
            Err(e) if store.data().limiter.memory_cap_hit || e.downcast_ref::<Trap>().is_some() => {
                let budgets = self.manifest.budgets;
                Err(classify(
                    &e,
                    store.data(),
                    budgets.time,
                    budgets.memory_bytes,
                ))
            }
            // No free pool slot, or another host-side failure: not the
            // plugin's fault, so it does not count towards the breaker.
            Err(e) => Err(Cause::Host {
                message: format!("cannot instantiate: {e:#}"),
            }),
        }
    }

    fn error(&self, function: &'static str, cause: Cause) -> PluginError {
        PluginError {
            plugin: self.shared.id.clone(),
            function,
            cause,
        }
    }

    fn wrong_kind(&self, function: &'static str, wanted: PluginKind) -> PluginError {
        self.error(
            function,
            Cause::Host {
                message: format!(
                    "`{function}` is a {} function but this is a {} plugin",
                    wanted.as_str(),
                    self.manifest.kind.as_str()
                ),
            },
        )
    }

    /// Runs a channel export, refusing other kinds before any work.
    fn channel_call<R: Serialize>(
        &self,
        function: &'static str,
        binding: &Binding,
        f: impl FnOnce(&channel_exports::Guest, &mut Store<CallState>) -> wasmtime::Result<R>,
    ) -> Result<R, PluginError> {
        if !matches!(self.typed, Typed::Channel(_)) {
            return Err(self.wrong_kind(function, PluginKind::Channel));
        }
        self.call(function, binding, |store, instance| match instance {
            Instance::Channel(c) => f(c.omnigate_plugin_channel_plugin(), store),
            _ => Err(wasmtime::Error::msg("not a channel plugin")),
        })
    }

    /// The channel's capabilities.
    pub fn capabilities(&self, binding: &Binding) -> Result<ChannelCapabilities, PluginError> {
        self.channel_call("capabilities", binding, |c, store| {
            c.call_capabilities(store)
        })
    }

    /// Answers a provider's webhook handshake.
    pub fn handshake(
        &self,
        binding: &Binding,
        request: &WebhookRequest,
    ) -> Result<WebhookResponse, PluginError> {
        self.channel_call("handshake", binding, |c, store| {
            c.call_handshake(store, request)
        })
    }

    /// Verifies and parses a webhook into events.
    pub fn parse_webhook(
        &self,
        binding: &Binding,
        request: &WebhookRequest,
    ) -> Result<Result<Vec<InboundEvent>, WebhookError>, PluginError> {
        self.channel_call("parse-webhook", binding, |c, store| {
            c.call_parse_webhook(store, request)
        })
    }

    /// Sends one message. The plugin cannot read any attachment (see
    /// [`Plugin::send_with_attachments`]).
    pub fn send(
        &self,
        binding: &Binding,
        message: &OutboundMessage,
    ) -> Result<Result<Sent, ProviderError>, PluginError> {
        self.channel_call("send", binding, |c, store| c.call_send(store, message))
    }

    /// Sends one message, letting the plugin read through `source` the
    /// attachments the message carries, and nothing else: the grant holds
    /// for this call only and names exactly the message's references.
    pub fn send_with_attachments(
        &self,
        binding: &Binding,
        message: &OutboundMessage,
        source: Arc<dyn AttachmentSource>,
    ) -> Result<Result<Sent, ProviderError>, PluginError> {
        let references = attachment_references(&message.content);
        self.channel_call("send", binding, |c, store| {
            store.data_mut().attachments = Some(AttachmentGrant { references, source });
            let result = c.call_send(&mut *store, message);
            // A warm instance's next call must not inherit the grant.
            store.data_mut().attachments = None;
            result
        })
    }

    /// Downloads inbound media by its provider reference.
    pub fn fetch_media(
        &self,
        binding: &Binding,
        reference: &str,
    ) -> Result<Result<FetchedMedia, ProviderError>, PluginError> {
        self.channel_call("fetch-media", binding, |c, store| {
            c.call_fetch_media(store, reference)
        })
    }

    /// The provider's templates.
    pub fn list_templates(
        &self,
        binding: &Binding,
    ) -> Result<Result<Vec<TemplateInfo>, ProviderError>, PluginError> {
        self.channel_call("list-templates", binding, |c, store| {
            c.call_list_templates(store)
        })
    }

    /// Starts a flow over the contact's first message.
    pub fn flow_start(
        &self,
        binding: &Binding,
        context: &FlowContext,
        message: &Content,
    ) -> Result<Result<Step, FlowError>, PluginError> {
        if !matches!(self.typed, Typed::Flow(_)) {
            return Err(self.wrong_kind("start", PluginKind::Flow));
        }
        self.call("start", binding, |store, instance| match instance {
            Instance::Flow(f) => f
                .omnigate_plugin_flow_plugin()
                .call_start(store, context, message),
            _ => Err(wasmtime::Error::msg("not a flow plugin")),
        })
    }

    /// Resumes a waiting flow with the state it returned last.
    pub fn flow_resume(
        &self,
        binding: &Binding,
        context: &FlowContext,
        state: &[u8],
        event: &FlowEvent,
    ) -> Result<Result<Step, FlowError>, PluginError> {
        if !matches!(self.typed, Typed::Flow(_)) {
            return Err(self.wrong_kind("resume", PluginKind::Flow));
        }
        self.call("resume", binding, |store, instance| match instance {
            Instance::Flow(f) => f
                .omnigate_plugin_flow_plugin()
                .call_resume(store, context, state, event),
            _ => Err(wasmtime::Error::msg("not a flow plugin")),
        })
    }

    /// Runs a commerce export, refusing other kinds before any work.
    fn commerce_call<R: Serialize>(
        &self,
        function: &'static str,
        binding: &Binding,
        f: impl FnOnce(
            &crate::bindings::commerce::exports::omnigate::plugin::commerce_plugin::Guest,
            &mut Store<CallState>,
        ) -> wasmtime::Result<R>,
    ) -> Result<R, PluginError> {
        if !matches!(self.typed, Typed::Commerce(_)) {
            return Err(self.wrong_kind(function, PluginKind::Commerce));
        }
        self.call(function, binding, |store, instance| match instance {
            Instance::Commerce(c) => f(c.omnigate_plugin_commerce_plugin(), store),
            _ => Err(wasmtime::Error::msg("not a commerce plugin")),
        })
    }

    /// Products matching `query`.
    pub fn search_products(
        &self,
        binding: &Binding,
        query: &str,
        limit: u32,
    ) -> Result<Result<Vec<Product>, ShopError>, PluginError> {
        self.commerce_call("search-products", binding, |c, store| {
            c.call_search_products(store, query, limit)
        })
    }

    /// A customer's orders, newest first.
    pub fn orders_by_customer(
        &self,
        binding: &Binding,
        customer: &CustomerRef,
        limit: u32,
    ) -> Result<Result<Vec<Order>, ShopError>, PluginError> {
        self.commerce_call("orders-by-customer", binding, |c, store| {
            c.call_orders_by_customer(store, customer, limit)
        })
    }

    /// One order.
    pub fn get_order(
        &self,
        binding: &Binding,
        order_id: &str,
    ) -> Result<Result<Option<Order>, ShopError>, PluginError> {
        self.commerce_call("get-order", binding, |c, store| {
            c.call_get_order(store, order_id)
        })
    }

    /// What an agent may do to an order now.
    pub fn allowed_actions(
        &self,
        binding: &Binding,
        order_id: &str,
    ) -> Result<Result<Vec<OrderAction>, ShopError>, PluginError> {
        self.commerce_call("allowed-actions", binding, |c, store| {
            c.call_allowed_actions(store, order_id)
        })
    }

    /// Performs one of the allowed actions.
    pub fn perform_action(
        &self,
        binding: &Binding,
        order_id: &str,
        action_id: &str,
    ) -> Result<Result<String, ShopError>, PluginError> {
        self.commerce_call("perform-action", binding, |c, store| {
            c.call_perform_action(store, order_id, action_id)
        })
    }
}

/// The references of the stored files `content` carries.
fn attachment_references(content: &Content) -> Vec<String> {
    match content {
        Content::Media(media) => vec![media.reference.clone()],
        _ => Vec::new(),
    }
}

/// Names the cause of a failed call: the limiter's flag for the memory
/// cap, the trap code for the time budget, else the trap with what the
/// plugin wrote to stderr (where a Rust panic's message goes).
fn classify(error: &wasmtime::Error, state: &CallState, budget: Duration, memory: usize) -> Cause {
    if state.limiter.memory_cap_hit {
        return Cause::MemoryCap {
            limit_bytes: memory,
        };
    }
    if error.downcast_ref::<Trap>() == Some(&Trap::Interrupt) {
        return Cause::Timeout { budget };
    }
    let mut message = match error.downcast_ref::<Trap>() {
        Some(trap) => trap.to_string(),
        None => format!("{error:#}"),
    };
    let stderr = state.stderr_text();
    if !stderr.is_empty() {
        message.push_str(" — plugin stderr: ");
        message.push_str(&stderr);
    }
    Cause::Trap { message }
}

/// Whether `function`'s result is held to the output cap. `fetch-media`
/// is not: its result is the file, as large as the provider allows
/// (WhatsApp documents reach 100 MB), already bounded by the plugin's
/// memory budget, and the engine holds it to the channel's media limit.
/// Capped, a customer's large file failed the call on every redelivery
/// and tripped the breaker, disabling the channel for everyone.
fn output_capped(function: &str) -> bool {
    function != "fetch-media"
}
