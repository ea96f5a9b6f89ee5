//! Loading: interface versions, manifests, and the artifact cache.

use omnigate_plugin_host::{HostConfig, LoadError, PluginKind};

use crate::support::{fixture, fixture_with, wasm};

#[test]
fn a_future_interface_is_refused_at_load() {
    let f = fixture();
    match f.host.load(&wasm("future-interface")) {
        Err(LoadError::Interface(message)) => {
            assert!(message.contains("omnigate:plugin@9.0.0"), "{message}");
            assert!(
                message.contains("supported: omnigate:plugin@0.1.2"),
                "{message}"
            );
        }
        Err(other) => panic!("wrong error: {other}"),
        Ok(plugin) => panic!("loaded {}", plugin.id()),
    }
    assert!(f.host.load(&wasm("well-behaved")).is_ok());
}

#[test]
fn garbage_is_refused() {
    let f = fixture();
    assert!(matches!(
        f.host.load(b"\0asm not really"),
        Err(LoadError::Compile(_))
    ));
}

#[test]
fn the_manifest_comes_from_the_component() {
    let f = fixture();
    let plugin = match f.host.load(&wasm("template-channel")) {
        Ok(p) => p,
        Err(e) => panic!("{e}"),
    };
    let m = plugin.manifest();
    assert_eq!(m.name, "template-channel");
    assert_eq!(m.kind, PluginKind::Channel);
    assert_eq!(m.interface, "0.1.2");
    assert_eq!(m.allowed_hosts, vec!["api.example.com".to_owned()]);
    assert!(
        m.fields
            .iter()
            .any(|f| f.key == "api_token" && f.secret && f.required)
    );
}

#[test]
fn a_second_load_comes_from_the_cache() {
    let dir = match tempfile::tempdir() {
        Ok(d) => d,
        Err(e) => panic!("{e}"),
    };
    let config = || HostConfig {
        cache_dir: Some(dir.path().join("plugin-cache")),
        max_concurrent_calls: 4,
        ..HostConfig::default()
    };
    let bytes = wasm("well-behaved");
    let first = fixture_with(config());
    let loaded = first.host.load(&bytes).map(|p| p.from_cache());
    assert!(matches!(loaded, Ok(false)), "{loaded:?}");
    assert!(matches!(
        first.host.load(&bytes).map(|p| p.from_cache()),
        Ok(true)
    ));
    drop(first);
    // A restart: a new engine with the same settings reuses the artifact.
    let second = fixture_with(config());
    let started = std::time::Instant::now();
    let plugin = match second.host.load(&bytes) {
        Ok(p) => p,
        Err(e) => panic!("{e}"),
    };
    eprintln!("load from cache: {:?}", started.elapsed());
    assert!(plugin.from_cache());
    let files: Vec<_> = std::fs::read_dir(dir.path().join("plugin-cache"))
        .map(|d| d.filter_map(Result::ok).collect())
        .unwrap_or_default();
    assert_eq!(files.len(), 1);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = files[0].metadata().map(|m| m.permissions().mode() & 0o777);
        assert!(matches!(mode, Ok(0o600)), "{mode:?}");
    }
}

#[test]
fn the_host_types_cross_threads() {
    fn shared<T: Send + Sync>() {}
    shared::<omnigate_plugin_host::PluginHost>();
    shared::<omnigate_plugin_host::Plugin>();
    shared::<omnigate_plugin_host::Binding>();
}
