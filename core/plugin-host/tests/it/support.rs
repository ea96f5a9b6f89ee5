//! Shared fixtures: the built test plugins, a recording HTTP client, an
//! event sink, and a host wired to them.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use omnigate_domain::{ManualClock, Timestamp};
use omnigate_plugin_host::services::{
    HttpFailure, MemoryKv, OutboundRequest, OutboundResponse, PluginDisabled,
};
use omnigate_plugin_host::types::channel::WebhookRequest;
use omnigate_plugin_host::{HostConfig, HostEvents, HttpClient, Plugin, PluginHost, Services};

/// The bytes of a test plugin, or a failure that says how to build them.
pub fn wasm(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../plugins/target/wasm32-wasip2/release")
        .join(format!("{}.wasm", name.replace('-', "_")));
    match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) => panic!(
            "test plugin `{name}` not found at {} ({e}): run `cargo xtask plugins` first",
            path.display()
        ),
    }
}

/// Records requests and answers `{"id":"wamid.1"}`.
#[derive(Default)]
pub struct FakeHttp {
    pub requests: Mutex<Vec<(String, OutboundRequest, Duration)>>,
}

impl HttpClient for FakeHttp {
    fn send(
        &self,
        plugin: &str,
        request: OutboundRequest,
        timeout: Duration,
    ) -> Result<OutboundResponse, HttpFailure> {
        self.requests
            .lock()
            .map_err(|e| HttpFailure::Transport(e.to_string()))?
            .push((plugin.to_owned(), request, timeout));
        Ok(OutboundResponse {
            status: 200,
            headers: vec![("content-type".into(), "application/json".into())],
            body: br#"{"id":"wamid.1"}"#.to_vec(),
        })
    }
}

/// Collects admin events.
#[derive(Default)]
pub struct Events {
    pub disabled: Mutex<Vec<PluginDisabled>>,
}

impl HostEvents for Events {
    fn plugin_disabled(&self, event: PluginDisabled) {
        if let Ok(mut list) = self.disabled.lock() {
            list.push(event);
        }
    }
}

/// A host with fakes, and the fakes to look at.
pub struct Fixture {
    pub host: PluginHost,
    pub http: Arc<FakeHttp>,
    pub events: Arc<Events>,
}

pub fn fixture_with(config: HostConfig) -> Fixture {
    let http = Arc::new(FakeHttp::default());
    let events = Arc::new(Events::default());
    let services = Services {
        http: http.clone(),
        kv: Arc::new(MemoryKv::default()),
        clock: Arc::new(ManualClock::starting_at(Timestamp(1_750_000_000_000))),
        events: events.clone(),
    };
    let host = match PluginHost::new(config, services) {
        Ok(host) => host,
        Err(e) => panic!("host: {e}"),
    };
    Fixture { host, http, events }
}

pub fn fixture() -> Fixture {
    fixture_with(HostConfig {
        max_concurrent_calls: 8,
        ..HostConfig::default()
    })
}

pub fn load(fixture: &Fixture, name: &str) -> Plugin {
    match fixture.host.load(&wasm(name)) {
        Ok(plugin) => plugin,
        Err(e) => panic!("loading {name}: {e}"),
    }
}

/// A WhatsApp Cloud webhook with one text message and one status.
pub const WHATSAPP_WEBHOOK: &str = r#"{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881","phone_number_id":"106540352242922"},"contacts":[{"profile":{"name":"Ay\u015fe Y."},"wa_id":"905321112233"}],"messages":[{"from":"905321112233","id":"wamid.HBgM1","timestamp":"1749416383","type":"text","text":{"body":"Merhaba, sipari\u015fim nerede?"}}]}},{"field":"messages","value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881","phone_number_id":"106540352242922"},"statuses":[{"id":"wamid.OUT1","status":"delivered","timestamp":"1749416390","recipient_id":"905321112233"}]}}]}]}"#;

pub fn webhook(body: &str, headers: Vec<(String, String)>) -> WebhookRequest {
    WebhookRequest {
        method: "POST".into(),
        path: "/".into(),
        query: Vec::new(),
        headers,
        body: body.as_bytes().to_vec(),
    }
}
