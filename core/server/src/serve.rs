//! `omnigate serve`: the HTTPS listener, connection handling and graceful
//! shutdown around the API router.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use omnigate_api::{ApiService, AppState};
use omnigate_domain::{Actor, AuditAction, AuditEvent, SystemClock};
use omnigate_store::Store;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

use crate::settings::Settings;
use crate::{systemd, tls};

/// Why the server could not run.
#[derive(Debug)]
pub enum ServeError {
    /// The configuration names something unusable (certificate files).
    Config(String),
    /// Anything else: the data directory, the port, the disk.
    Runtime(String),
}

impl std::fmt::Display for ServeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ServeError::Config(message) | ServeError::Runtime(message) => f.write_str(message),
        }
    }
}

impl From<String> for ServeError {
    fn from(message: String) -> ServeError {
        ServeError::Runtime(message)
    }
}

/// Runs the server until SIGTERM or SIGINT, then shuts down gracefully.
pub async fn run(
    settings: Settings,
    config_file: Option<&std::path::Path>,
) -> Result<(), ServeError> {
    let started = Instant::now();
    let data_dir = settings.storage.data_dir.clone();
    let store =
        Store::open_with(&data_dir, &settings.store_options()).map_err(|e| e.to_string())?;
    record_config_change(&store, &settings).await?;
    let tls = tls::load(&settings.server.tls, &data_dir, settings.server.listen)
        .map_err(|e| ServeError::Config(e.to_string()))?;
    let clock = crate::clock::from_settings(settings.testing.clock_file.as_deref())
        .map_err(ServeError::Config)?;
    let engine = omnigate_engine::Engine::start(
        Arc::clone(&store),
        Arc::clone(&clock),
        settings.engine_config(),
    )
    .map_err(|e| format!("starting the conversation engine: {e}"))?;
    start_plugins(&settings, &store, &clock, &engine)?;
    let state = AppState::new(
        Arc::clone(&store),
        Arc::clone(&engine),
        clock,
        settings.api_config(),
    );
    let app = omnigate_api::service(state.clone());

    let listener = TcpListener::bind(settings.server.listen)
        .await
        .map_err(|e| {
            format!(
                "server.listen: cannot listen on {}: {e}",
                settings.server.listen
            )
        })?;
    let addr = listener
        .local_addr()
        .map_err(|e| format!("server.listen: {e}"))?;
    let shutdown = shutdown_signal();
    tracing::info!(
        addr = %addr,
        url = %format!("https://{}/", display_host(addr)),
        tls_fingerprint_sha256 = %tls.fingerprint,
        tls_cert = %tls.cert_path.display(),
        self_signed = tls.self_signed,
        data_dir = %data_dir.display(),
        config = %config_file.map_or_else(|| "(defaults)".to_owned(), |p| p.display().to_string()),
        startup_ms = started.elapsed().as_millis() as u64,
        "listening"
    );
    systemd::notify("READY=1");

    let ticker = tokio::spawn(tick_desk(Arc::clone(&engine)));
    let publisher = tokio::spawn(Arc::clone(&engine).run_publisher());
    let indexer = tokio::spawn(omnigate_engine::indexing::run(Arc::clone(&engine)));
    let delivery = tokio::spawn(omnigate_engine::delivery::run(
        Arc::clone(&engine),
        Duration::from_millis(500),
    ));
    let flows = tokio::spawn(omnigate_engine::flows::run(Arc::clone(&engine)));
    let purge = tokio::spawn(purge_sessions(
        state.clone(),
        settings.api_config().session_idle_timeout,
    ));
    let limits = Limits {
        header_timeout: Duration::from_secs(settings.server.header_timeout_secs),
        connections: Arc::new(Semaphore::new(settings.server.max_connections)),
    };
    let graceful = GracefulShutdown::new();
    accept_loop(
        &listener,
        &TlsAcceptor::from(tls.config),
        &app,
        &limits,
        &graceful,
        shutdown,
    )
    .await;

    systemd::notify("STOPPING=1");
    state.stop_accepting();
    drop(listener);
    purge.abort();
    ticker.abort();
    publisher.abort();
    indexer.abort();
    delivery.abort();
    flows.abort();
    let grace = Duration::from_secs(settings.server.shutdown_grace_secs);
    tracing::info!(
        open_connections = graceful.count(),
        "shutting down: finishing in-flight requests"
    );
    if tokio::time::timeout(grace, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            grace_secs = grace.as_secs(),
            "some connections did not finish in time and were dropped"
        );
    }
    if let Err(error) = omnigate_engine::indexing::flush(&engine) {
        tracing::warn!(%error, "the last messages were not indexed; the next start catches up");
    }
    store
        .flush_blocking()
        .map_err(|e| format!("final flush failed: {e}"))?;
    tracing::info!("stopped");
    Ok(())
}

/// Builds the plugin host, installs what `plugins.dir` holds that is new,
/// loads the enabled plugins (from the compiled cache) and attaches them to
/// the engine. A plugin that fails is logged and shown to admins; it does
/// not stop the server.
fn start_plugins(
    settings: &Settings,
    store: &Arc<Store>,
    clock: &Arc<dyn omnigate_domain::Clock>,
    engine: &Arc<omnigate_engine::Engine>,
) -> Result<(), ServeError> {
    let started = Instant::now();
    let config = |e: crate::settings::SettingsError| ServeError::Config(e.to_string());
    let http =
        omnigate_plugin_http::ProviderHttp::new(&settings.plugins.http_settings().map_err(config)?)
            .map_err(|e| ServeError::Config(format!("plugins: {e}")))?;
    let policy = omnigate_engine::plugins::SigningPolicy {
        trusted: settings.plugins.trusted().map_err(config)?,
        require_signed: settings.plugins.require_signed,
    };
    let plugins = omnigate_engine::plugins::Plugins::open(
        Arc::clone(store),
        Arc::clone(clock),
        Arc::new(http),
        omnigate_plugin_host::HostConfig::default(),
        policy,
    )
    .map_err(|e| format!("starting the plugin host: {e}"))?;
    let dropped_in = plugins
        .install_dropins(&settings.plugins.dir)
        .map_err(|e| format!("plugins.dir: {e}"))?;
    let report = plugins
        .load_installed()
        .map_err(|e| format!("loading plugins: {e}"))?;
    tracing::info!(
        loaded = report.loaded,
        from_cache = report.from_cache,
        failed = report.failed,
        installed_from_dir = dropped_in,
        load_ms = report.elapsed_ms,
        total_ms = started.elapsed().as_millis() as u64,
        "plugins ready"
    );
    engine.attach_plugins(plugins);
    Ok(())
}

fn display_host(addr: SocketAddr) -> String {
    if addr.ip().is_unspecified() {
        format!("localhost:{}", addr.port())
    } else {
        addr.to_string()
    }
}

struct Limits {
    header_timeout: Duration,
    connections: Arc<Semaphore>,
}

async fn accept_loop(
    listener: &TcpListener,
    acceptor: &TlsAcceptor,
    app: &ApiService,
    limits: &Limits,
    graceful: &GracefulShutdown,
    shutdown: impl Future<Output = ()>,
) {
    tokio::pin!(shutdown);
    loop {
        // Wait for a free connection slot before accepting, so excess
        // clients queue in the kernel's backlog instead of in our memory.
        let permit = tokio::select! {
            biased;
            () = &mut shutdown => return,
            permit = Arc::clone(&limits.connections).acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => return,
            },
        };
        let (tcp, peer) = tokio::select! {
            biased;
            () = &mut shutdown => return,
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(error) => {
                    // EMFILE and friends: back off instead of spinning.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let _ = tcp.set_nodelay(true);
        let acceptor = acceptor.clone();
        let app = app.clone();
        let watcher = graceful.watcher();
        let header_timeout = limits.header_timeout;
        tokio::spawn(async move {
            let _permit = permit;
            let tls = match tokio::time::timeout(header_timeout, acceptor.accept(tcp)).await {
                Ok(Ok(tls)) => tls,
                Ok(Err(error)) => {
                    tracing::debug!(%peer, %error, "TLS handshake failed");
                    return;
                }
                Err(_) => {
                    tracing::debug!(%peer, "TLS handshake timed out");
                    return;
                }
            };
            let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
                req.extensions_mut().insert(ConnectInfo(peer));
                app.clone().oneshot(req.map(Body::new))
            });
            let mut builder = auto::Builder::new(TokioExecutor::new());
            builder
                .http1()
                .timer(TokioTimer::new())
                .header_read_timeout(header_timeout)
                .max_buf_size(64 * 1024);
            builder
                .http2()
                .timer(TokioTimer::new())
                .max_concurrent_streams(256)
                .keep_alive_interval(Duration::from_secs(30))
                .keep_alive_timeout(Duration::from_secs(20));
            let connection = builder.serve_connection_with_upgrades(TokioIo::new(tls), service);
            if let Err(error) = watcher.watch(connection.into_owned()).await {
                tracing::debug!(%peer, %error, "connection ended with an error");
            }
        });
    }
}

/// Registers the SIGTERM and SIGINT handlers now (before the server says it
/// is listening, so a supervisor's early SIGTERM is never fatal) and
/// returns the future that resolves on either.
fn shutdown_signal() -> impl Future<Output = ()> {
    #[cfg(unix)]
    let registered = {
        use tokio::signal::unix::{SignalKind, signal};
        (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        )
    };
    async move {
        #[cfg(unix)]
        {
            match registered {
                (Ok(mut terminate), Ok(mut interrupt)) => {
                    tokio::select! {
                        _ = interrupt.recv() => tracing::info!("SIGINT received"),
                        _ = terminate.recv() => tracing::info!("SIGTERM received"),
                    }
                }
                (Err(error), _) | (_, Err(error)) => {
                    tracing::error!(%error, "cannot listen for SIGTERM/SIGINT");
                    std::future::pending::<()>().await;
                }
            }
        }
        #[cfg(not(unix))]
        {
            if let Err(error) = tokio::signal::ctrl_c().await {
                tracing::error!(%error, "cannot listen for Ctrl-C");
                std::future::pending::<()>().await;
            }
            tracing::info!("SIGINT received");
        }
    }
}

/// Applies the time rules (transfer timeouts) every second. Commands and
/// reads apply them too, so this only matters when nobody is asking.
async fn tick_desk(engine: Arc<omnigate_engine::Engine>) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let engine = Arc::clone(&engine);
        let ticked = tokio::task::spawn_blocking(move || {
            engine.tick()?;
            Ok::<_, omnigate_engine::EngineError>(engine)
        })
        .await;
        match ticked {
            Ok(Ok(engine)) => {
                if let Err(error) = engine.durable().await {
                    tracing::warn!(%error, "flushing timed-out transfers failed");
                }
            }
            Ok(Err(error)) => tracing::warn!(%error, "applying the desk's timeouts failed"),
            Err(error) => tracing::warn!(%error, "desk timer task failed"),
        }
    }
}

/// Deletes expired sessions every ten minutes so the tree does not grow
/// with every login forever.
async fn purge_sessions(state: AppState, idle: Duration) {
    let idle_ms = i64::try_from(idle.as_millis()).unwrap_or(i64::MAX);
    let mut tick = tokio::time::interval(Duration::from_secs(600));
    loop {
        tick.tick().await;
        let store = Arc::clone(state.store());
        let now = omnigate_domain::Clock::now(&SystemClock);
        match tokio::task::spawn_blocking(move || store.purge_expired_sessions(now, idle_ms)).await
        {
            Ok(Ok(0)) => {}
            Ok(Ok(n)) => tracing::info!(sessions = n, "purged expired sessions"),
            Ok(Err(error)) => tracing::warn!(%error, "purging expired sessions failed"),
            Err(error) => tracing::warn!(%error, "session purge task failed"),
        }
    }
}

const CONFIG_META_KEY: &str = "effective_config";

/// Compares the effective config with the previous start's and records a
/// `config.changed` audit event naming the keys that differ.
async fn record_config_change(store: &Store, settings: &Settings) -> Result<(), String> {
    let current = settings.to_redacted_toml().map_err(|e| e.to_string())?;
    let previous = store
        .meta_get(CONFIG_META_KEY)
        .map_err(|e| e.to_string())?
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned());
    if previous.as_deref() == Some(current.as_str()) {
        return Ok(());
    }
    let changed = changed_keys(previous.as_deref().unwrap_or(""), &current);
    let detail = serde_json::json!({ "first_start": previous.is_none(), "changed_keys": changed });
    let event = AuditEvent::new(Actor::System, AuditAction::ConfigChanged)
        .target("config")
        .detail(detail.to_string());
    let now = omnigate_domain::Clock::now(&SystemClock);
    store.append_audit(&event, now).map_err(|e| e.to_string())?;
    store
        .meta_put(CONFIG_META_KEY, current.as_bytes())
        .map_err(|e| e.to_string())?;
    store.durable().await.map_err(|e| e.to_string())
}

/// Dotted keys whose values differ between two TOML documents.
fn changed_keys(before: &str, after: &str) -> Vec<String> {
    fn flatten(
        prefix: &str,
        value: &toml::Value,
        out: &mut std::collections::BTreeMap<String, String>,
    ) {
        match value {
            toml::Value::Table(table) => {
                for (key, inner) in table {
                    let path = if prefix.is_empty() {
                        key.clone()
                    } else {
                        format!("{prefix}.{key}")
                    };
                    flatten(&path, inner, out);
                }
            }
            other => {
                out.insert(prefix.to_owned(), other.to_string());
            }
        }
    }
    let parse = |text: &str| {
        let mut out = std::collections::BTreeMap::new();
        if let Ok(value) = text.parse::<toml::Value>() {
            flatten("", &value, &mut out);
        }
        out
    };
    let (before, after) = (parse(before), parse(after));
    let mut keys: Vec<String> = after
        .iter()
        .filter(|(k, v)| before.get(*k) != Some(v))
        .map(|(k, _)| k.clone())
        .chain(before.keys().filter(|k| !after.contains_key(*k)).cloned())
        .collect();
    keys.sort();
    keys.dedup();
    keys
}

#[cfg(test)]
mod tests {
    use super::changed_keys;

    #[test]
    fn changed_keys_lists_added_removed_and_modified_keys() {
        let before = "[server]\nlisten = \"a\"\nx = 1\n[storage]\ndata_dir = \"d\"\n";
        let after =
            "[server]\nlisten = \"b\"\n[storage]\ndata_dir = \"d\"\n[auth]\nlockout_secs = 1\n";
        assert_eq!(
            changed_keys(before, after),
            vec!["auth.lockout_secs", "server.listen", "server.x"]
        );
    }
}
