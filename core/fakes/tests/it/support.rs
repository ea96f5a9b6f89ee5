//! Shared fixtures: the built plugins, and a plugin host whose HTTP client
//! reaches the given fakes under the providers' real host names.

#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::Arc;

use omnigate_domain::{ManualClock, Timestamp};
use omnigate_fakes::FakeServer;
use omnigate_plugin_host::services::{LogEvents, MemoryKv};
use omnigate_plugin_host::{Binding, HostConfig, Plugin, PluginHost, Services, Settings};
use omnigate_plugin_http::{HttpSettings, ProviderHttp, parse_resolve};

/// The bytes of a built plugin, or a failure that says how to build it.
pub fn wasm(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../plugins/target/wasm32-wasip2/release")
        .join(format!("{}.wasm", name.replace('-', "_")));
    match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) => panic!(
            "plugin `{name}` not found at {} ({e}): run `cargo xtask plugins` first",
            path.display()
        ),
    }
}

/// The production client, pointed at `fakes`.
pub fn http_for(fakes: &[&FakeServer]) -> ProviderHttp {
    let settings = HttpSettings {
        resolve: fakes
            .iter()
            .flat_map(|f| f.resolve_entries())
            .map(|entry| parse_resolve(&entry).expect("resolve entry"))
            .collect(),
        extra_roots_pem: fakes.iter().map(|f| f.ca_pem().to_owned()).collect(),
        ..HttpSettings::default()
    };
    ProviderHttp::new(&settings).expect("plugin HTTP client")
}

/// A host whose plugins reach `fakes`, with storage in memory and the
/// clock at a fixed time.
pub fn host_for(fakes: &[&FakeServer]) -> PluginHost {
    let services = Services {
        http: Arc::new(http_for(fakes)),
        kv: Arc::new(MemoryKv::default()),
        clock: Arc::new(ManualClock::starting_at(Timestamp(1_750_000_000_000))),
        events: Arc::new(LogEvents),
    };
    PluginHost::new(
        HostConfig {
            max_concurrent_calls: 8,
            ..HostConfig::default()
        },
        services,
    )
    .expect("plugin host")
}

/// `name`, built, loaded into `host`.
pub fn load(host: &PluginHost, name: &str) -> Plugin {
    match host.load(&wasm(name)) {
        Ok(plugin) => plugin,
        Err(e) => panic!("loading {name}: {e}"),
    }
}

/// A binding with the given config values and secrets.
pub fn binding(config: &[(&str, &str)], secrets: &[(&str, &str)]) -> Binding {
    let pairs = |list: &[(&str, &str)]| {
        list.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    };
    Binding::isolated(Settings {
        config: pairs(config),
        secrets: pairs(secrets),
    })
}
