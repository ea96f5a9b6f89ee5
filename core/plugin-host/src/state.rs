//! The data of one call's `Store`: an empty WASI context (no preopened
//! directories, no environment, no arguments, no sockets, stdin empty,
//! stdout dropped, stderr captured for the error message, the wall clock
//! the embedder's injected one), the memory limiter, and what the host
//! imports need to answer this plugin.

use std::sync::Arc;
use std::time::Instant;

use wasmtime::component::ResourceTable;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{HostWallClock, WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

use crate::allowlist::Allowlist;
use crate::limits::Limiter;
use crate::manifest::Settings;
use crate::metrics::Metrics;
use crate::services::{AttachmentSource, Services};

/// How much of a plugin's stderr is kept for its error message.
const STDERR_CAPTURE_BYTES: usize = 4096;

/// What every call of one plugin version shares.
pub(crate) struct PluginShared {
    /// `name@version`, in logs and errors.
    pub id: String,
    /// The manifest name: scopes its stored keys across upgrades.
    pub name: String,
    pub allowlist: Allowlist,
    pub kv_quota_bytes: u64,
    pub metrics: Metrics,
    /// The manifest's `default` of each config field, answered by
    /// `config.get` when the admin set no value.
    pub config_defaults: std::collections::BTreeMap<String, String>,
    /// The host's cap on an outbound request body.
    pub max_request_bytes: usize,
}

/// What the `attachments` import may read during one `send`: the
/// references the outbound message carries, and where to read them.
pub(crate) struct AttachmentGrant {
    pub references: Vec<String>,
    pub source: Arc<dyn AttachmentSource>,
}

/// The store data of one call.
pub(crate) struct CallState {
    wasi: WasiCtx,
    table: ResourceTable,
    pub limiter: Limiter,
    pub plugin: Arc<PluginShared>,
    pub settings: Arc<Settings>,
    pub services: Services,
    /// When the call's time budget runs out; host calls wait no longer.
    pub deadline: Instant,
    /// Set only for the duration of a `send` whose message carries
    /// attachments; `None` refuses every read.
    pub attachments: Option<AttachmentGrant>,
    stderr: MemoryOutputPipe,
    /// Bytes of stderr written before the current call, so a reused
    /// instance's error shows only this call's output.
    stderr_before: usize,
}

impl CallState {
    pub fn new(
        plugin: Arc<PluginShared>,
        settings: Arc<Settings>,
        services: Services,
        memory_bytes: usize,
        deadline: Instant,
    ) -> CallState {
        let stderr = MemoryOutputPipe::new(STDERR_CAPTURE_BYTES);
        let wasi = WasiCtxBuilder::new()
            .stderr(stderr.clone())
            .wall_clock(InjectedClock(Arc::clone(&services.clock)))
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .build();
        CallState {
            wasi,
            table: ResourceTable::new(),
            limiter: Limiter::new(memory_bytes),
            plugin,
            settings,
            services,
            deadline,
            attachments: None,
            stderr,
            stderr_before: 0,
        }
    }

    /// Readies a reused instance's state for its next call.
    pub fn begin_call(&mut self, deadline: Instant) {
        self.deadline = deadline;
        self.attachments = None;
        self.limiter.memory_cap_hit = false;
        self.stderr_before = self.stderr.contents().len();
    }

    /// What the plugin wrote to stderr (a panic's message), trimmed.
    pub fn stderr_text(&self) -> String {
        let all = self.stderr.contents();
        let this_call = all.get(self.stderr_before..).unwrap_or_default();
        String::from_utf8_lossy(this_call).trim().to_owned()
    }
}

impl WasiView for CallState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// The embedder's clock as WASI's wall clock, so `SystemTime::now()` in a
/// plugin agrees with the `clock` import (and with tests that move time).
struct InjectedClock(Arc<dyn omnigate_domain::Clock>);

impl HostWallClock for InjectedClock {
    fn resolution(&self) -> std::time::Duration {
        std::time::Duration::from_millis(1)
    }

    fn now(&self) -> std::time::Duration {
        std::time::Duration::from_millis(u64::try_from(self.0.now().0).unwrap_or(0))
    }
}
