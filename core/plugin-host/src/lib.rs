//! omnigate's plugin host: runs channel, flow and commerce plugins (WASM
//! components against `plugin-sdk/wit`) sandboxed under wasmtime.
//!
//! [`PluginHost::load`] compiles a component (or takes it from the on-disk
//! artifact cache), refuses interface versions it does not link, pre-links
//! it ([`wasmtime::component::InstancePre`]) and reads its embedded
//! manifest. Each call on the resulting [`Plugin`] runs in a fresh `Store`
//! with the manifest's memory cap and time budget, an empty WASI context,
//! and the omnigate imports, which check the manifest's `allowed_hosts` and
//! storage quota before the embedder's [`services`] are called. Failures
//! come back as a [`PluginError`] naming the plugin, the function and the
//! cause; they are counted ([`MetricsSnapshot`]) and, when they repeat, the
//! circuit breaker disables the plugin and tells [`HostEvents`].
//!
//! The crate depends on omnigate-domain only; the embedder (the server)
//! provides HTTP, storage, the clock and the event sink.

mod allowlist;
mod bindings;
mod breaker;
mod cache;
pub mod convert;
mod error;
mod host;
mod imports;
mod limits;
pub mod manifest;
mod metrics;
mod output;
mod plugin;
pub mod services;
mod state;
pub mod types;
pub mod version;

pub use error::{Cause, LoadError, PluginError};
pub use host::{HostConfig, PluginHost};
pub use manifest::{Manifest, ManifestError, PluginKind, Settings};
pub use metrics::{LATENCY_BUCKETS_US, MetricsSnapshot};
pub use plugin::{Binding, Plugin};
pub use services::{AttachmentSource, HostEvents, HttpClient, KvStore, Services};
