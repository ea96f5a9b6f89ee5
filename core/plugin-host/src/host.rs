//! The engine every plugin runs on: pooling allocator, epoch interruption
//! with a ticker thread, one linker with the empty WASI context and the
//! omnigate imports, and loading (cache, interface check, `InstancePre`,
//! manifest).

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use wasmtime::component::{Component, HasSelf, Linker};
use wasmtime::{Config, Enabled, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

use crate::cache::ArtifactCache;
use crate::error::LoadError;
use crate::plugin::Plugin;
use crate::services::Services;
use crate::state::CallState;

/// How the host is set up; the defaults suit a 2-core appliance.
#[derive(Debug, Clone)]
pub struct HostConfig {
    /// Where compiled artifacts are kept (`<data_dir>/plugin-cache`);
    /// `None` compiles on every load.
    pub cache_dir: Option<PathBuf>,
    /// Plugin calls that may run at once (pool slots).
    pub max_concurrent_calls: u32,
    /// Largest memory any plugin may have; manifests may ask for less.
    pub max_memory_bytes: usize,
    /// Largest result a call may return, measured in its compact binary
    /// encoding (about the raw bytes of its strings and lists).
    pub max_output_bytes: usize,
    /// Largest body a plugin's outbound HTTP request may carry: a media
    /// upload (WhatsApp documents reach 100 MB) plus its multipart
    /// framing. The plugin's memory budget bounds it too.
    pub max_request_bytes: usize,
    /// Consecutive failures that disable a plugin.
    pub breaker_threshold: u32,
    /// Epoch tick: how precisely time budgets are enforced.
    pub epoch_tick: Duration,
}

impl Default for HostConfig {
    fn default() -> HostConfig {
        HostConfig {
            cache_dir: None,
            max_concurrent_calls: 64,
            max_memory_bytes: 1024 * 1024 * 1024,
            max_output_bytes: 16 * 1024 * 1024,
            max_request_bytes: 128 * 1024 * 1024,
            breaker_threshold: 5,
            epoch_tick: Duration::from_millis(5),
        }
    }
}

/// Runs plugins. Cheap to share behind an `Arc`; dropping it stops the
/// epoch ticker.
pub struct PluginHost {
    pub(crate) engine: Engine,
    linker: Linker<CallState>,
    pub(crate) config: HostConfig,
    pub(crate) services: Services,
    cache: Option<ArtifactCache>,
    ticker: Option<Ticker>,
}

impl PluginHost {
    /// Builds the engine, the linker and the ticker.
    pub fn new(config: HostConfig, services: Services) -> Result<PluginHost, LoadError> {
        let engine = engine(&config).map_err(|e| LoadError::Link(format!("engine: {e:#}")))?;
        let linker = linker(&engine).map_err(|e| LoadError::Link(format!("{e:#}")))?;
        let cache = match &config.cache_dir {
            Some(dir) => Some(ArtifactCache::open(dir, &engine)?),
            None => None,
        };
        let ticker = Ticker::start(engine.clone(), config.epoch_tick)
            .map_err(|e| LoadError::Link(format!("cannot start the epoch thread: {e}")))?;
        Ok(PluginHost {
            engine,
            linker,
            config,
            services,
            cache,
            ticker: Some(ticker),
        })
    }

    /// Loads a component: compiles it (or takes it from the cache), checks
    /// its interface version from its names, links it, reads and validates
    /// its embedded manifest.
    pub fn load(&self, wasm: &[u8]) -> Result<Plugin, LoadError> {
        let (component, from_cache) = match &self.cache {
            Some(cache) => cache.load(&self.engine, wasm)?,
            None => (
                Component::new(&self.engine, wasm)
                    .map_err(|e| LoadError::Compile(format!("{e:#}")))?,
                false,
            ),
        };
        let interface = crate::version::inspect(&self.engine, &component)?;
        let pre = self
            .linker
            .instantiate_pre(&component)
            .map_err(|e| LoadError::Link(format!("{e:#}")))?;
        Plugin::new(self, pre, interface, from_cache)
    }
}

impl Drop for PluginHost {
    fn drop(&mut self) {
        if let Some(ticker) = self.ticker.take() {
            ticker.stop();
        }
    }
}

/// Bytes of each freed memory slot reset in place rather than decommitted:
/// a Rust plugin's stack and heap for a typical message fit in this.
const KEEP_RESIDENT_BYTES: usize = 2 * 1024 * 1024;

fn engine(config: &HostConfig) -> wasmtime::Result<Engine> {
    let slots = config.max_concurrent_calls.max(1);
    let mut pool = PoolingAllocationConfig::new();
    pool.total_component_instances(slots)
        // Rust components hold a few core instances (the program and
        // wit-component's shims) and one memory.
        .max_core_instances_per_component(16)
        .total_core_instances(slots.saturating_mul(16))
        .max_memories_per_component(2)
        .total_memories(slots.saturating_mul(2))
        .max_tables_per_component(4)
        .total_tables(slots.saturating_mul(4))
        .max_memory_size(config.max_memory_bytes)
        // Reset a freed slot by zeroing only the pages the call dirtied
        // (PAGEMAP_SCAN, Linux 6.7+) and keep them mapped, instead of an
        // madvise and fresh page faults on every instantiation: this is
        // most of the cost of a fresh instance per call.
        .pagemap_scan(Enabled::Auto)
        .linear_memory_keep_resident(KEEP_RESIDENT_BYTES)
        .table_keep_resident(KEEP_RESIDENT_BYTES / 16)
        .decommit_batch_size(16);
    let mut wasm = Config::new();
    wasm.epoch_interruption(true)
        .allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    Engine::new(&wasm)
}

fn linker(engine: &Engine) -> wasmtime::Result<Linker<CallState>> {
    let mut linker = Linker::new(engine);
    wasmtime_wasi::p2::add_to_linker_sync(&mut linker)?;
    crate::bindings::imports::Imports::add_to_linker::<CallState, HasSelf<CallState>>(
        &mut linker,
        |state| state,
    )?;
    // Channel-only, but linked for every kind: the scope check refuses
    // reads outside a channel's `send`, and flow and commerce worlds do
    // not import it.
    crate::bindings::channel::omnigate::plugin::attachments::add_to_linker::<
        CallState,
        HasSelf<CallState>,
    >(&mut linker, |state| state)?;
    Ok(linker)
}

/// The thread that advances the engine's epoch; a call's deadline is a
/// number of ticks.
struct Ticker {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<()>,
}

impl Ticker {
    fn start(engine: Engine, tick: Duration) -> std::io::Result<Ticker> {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("plugin-epoch".into())
            .spawn(move || {
                while !flag.load(Ordering::Acquire) {
                    std::thread::sleep(tick);
                    engine.increment_epoch();
                }
            })?;
        Ok(Ticker { stop, thread })
    }

    fn stop(self) {
        self.stop.store(true, Ordering::Release);
        let _ = self.thread.join();
    }
}
