//! A plugin host wired to fake servers: the built component, an HTTP client
//! that resolves the providers' host names to the fakes and trusts their
//! test CAs, and helpers to call a channel plugin with little ceremony.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use omnigate_domain::{ManualClock, Timestamp};
use omnigate_fakes::{FakeServer, InboundWebhook};
use omnigate_plugin_host::services::{
    HttpFailure, LogEvents, MemoryKv, OutboundRequest, OutboundResponse,
};
use omnigate_plugin_host::types::Content;
use omnigate_plugin_host::types::channel::{
    FetchedMedia, InboundEvent, OutboundMessage, ProviderError, Sent, TemplateInfo, WebhookError,
    WebhookRequest, WebhookResponse,
};
use omnigate_plugin_host::{
    Binding, HostConfig, HttpClient, Plugin, PluginHost, Services, Settings,
};

/// When the host's clock stands in these tests (ms since the epoch).
pub const NOW_MS: i64 = 1_750_000_000_000;

/// The bytes of a built plugin, or a failure that says how to build it.
fn wasm(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../plugins/target/wasm32-wasip2/release")
        .join(format!("{}.wasm", name.replace('-', "_")));
    std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "plugin `{name}` not found at {} ({e}): run `cargo xtask plugins` first",
            path.display()
        )
    })
}

/// Sends plugins' requests with reqwest to the fakes: each fake's host
/// names resolve to its address and its CA is trusted.
struct FakeNet {
    runtime: tokio::runtime::Runtime,
    client: reqwest::Client,
}

impl FakeNet {
    fn new(servers: &[&FakeServer]) -> FakeNet {
        let mut builder = reqwest::Client::builder().use_rustls_tls();
        for server in servers {
            for entry in server.resolve_entries() {
                let (host, _) = entry.split_once('=').expect("host=addr");
                builder = builder.resolve(host, server.addr());
            }
            builder = builder.add_root_certificate(
                reqwest::Certificate::from_pem(server.ca_pem().as_bytes()).expect("CA PEM"),
            );
        }
        FakeNet {
            runtime: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime"),
            client: builder.build().expect("client"),
        }
    }
}

impl HttpClient for FakeNet {
    fn send(
        &self,
        _plugin: &str,
        request: OutboundRequest,
        timeout: Duration,
    ) -> Result<OutboundResponse, HttpFailure> {
        self.runtime.block_on(async {
            let method = reqwest::Method::from_bytes(request.method.as_bytes())
                .map_err(|e| HttpFailure::Transport(e.to_string()))?;
            let mut builder = self
                .client
                .request(method, &request.url)
                .timeout(timeout)
                .body(request.body);
            for (name, value) in request.headers {
                builder = builder.header(name, value);
            }
            let response = builder.send().await.map_err(|e| {
                if e.is_timeout() {
                    HttpFailure::Timeout
                } else {
                    HttpFailure::Transport(format!("{e:?}"))
                }
            })?;
            let status = response.status().as_u16();
            let headers = response
                .headers()
                .iter()
                .map(|(n, v)| {
                    (
                        n.as_str().to_owned(),
                        String::from_utf8_lossy(v.as_bytes()).into_owned(),
                    )
                })
                .collect();
            let body = response
                .bytes()
                .await
                .map_err(|e| HttpFailure::Transport(e.to_string()))?
                .to_vec();
            Ok(OutboundResponse {
                status,
                headers,
                body,
            })
        })
    }
}

/// A loaded channel plugin, its binding, and the host that runs it.
pub struct Channel {
    _host: PluginHost,
    pub plugin: Plugin,
    pub binding: Binding,
}

/// Loads plugin `name` with `settings`, its HTTP going to `servers`.
pub fn channel(name: &str, servers: &[&FakeServer], settings: Settings) -> Channel {
    let services = Services {
        http: Arc::new(FakeNet::new(servers)),
        kv: Arc::new(MemoryKv::default()),
        clock: Arc::new(ManualClock::starting_at(Timestamp(NOW_MS))),
        events: Arc::new(LogEvents),
    };
    let host = PluginHost::new(
        HostConfig {
            max_concurrent_calls: 4,
            ..HostConfig::default()
        },
        services,
    )
    .expect("host");
    let plugin = host.load(&wasm(name)).expect("plugin loads");
    Channel {
        _host: host,
        plugin,
        binding: Binding::isolated(settings),
    }
}

/// Settings from `config` and `secrets` pairs.
pub fn settings(config: &[(&str, &str)], secrets: &[(&str, &str)]) -> Settings {
    let mut settings = Settings::default();
    for (k, v) in config {
        settings.config.insert((*k).to_owned(), (*v).to_owned());
    }
    for (k, v) in secrets {
        settings.secrets.insert((*k).to_owned(), (*v).to_owned());
    }
    settings
}

/// The host's form of a webhook the fakes' builders made.
pub fn request(webhook: &InboundWebhook) -> WebhookRequest {
    WebhookRequest {
        method: webhook.method.clone(),
        path: "/".to_owned(),
        query: webhook.query.clone(),
        headers: webhook.headers.clone(),
        body: webhook.body.clone(),
    }
}

/// A message to `recipient` with `content`.
pub fn outbound(recipient: &str, content: Content) -> OutboundMessage {
    OutboundMessage {
        recipient: recipient.to_owned(),
        content,
        reply_to: None,
        idempotency_key: "msg-1".to_owned(),
        extensions: Vec::new(),
    }
}

impl Channel {
    pub fn handshake(&self, webhook: &InboundWebhook) -> WebhookResponse {
        self.plugin
            .handshake(&self.binding, &request(webhook))
            .expect("handshake call")
    }

    pub fn parse(&self, webhook: &InboundWebhook) -> Result<Vec<InboundEvent>, WebhookError> {
        self.plugin
            .parse_webhook(&self.binding, &request(webhook))
            .expect("parse-webhook call")
    }

    /// The events of a webhook that must parse.
    pub fn events(&self, webhook: &InboundWebhook) -> Vec<InboundEvent> {
        self.parse(webhook).expect("webhook parses")
    }

    pub fn send(&self, message: &OutboundMessage) -> Result<Sent, ProviderError> {
        self.plugin.send(&self.binding, message).expect("send call")
    }

    pub fn fetch_media(&self, reference: &str) -> Result<FetchedMedia, ProviderError> {
        self.plugin
            .fetch_media(&self.binding, reference)
            .expect("fetch-media call")
    }

    pub fn list_templates(&self) -> Result<Vec<TemplateInfo>, ProviderError> {
        self.plugin
            .list_templates(&self.binding)
            .expect("list-templates call")
    }
}
