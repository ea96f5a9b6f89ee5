//! The HTTP client behind plugins' `http` import.
//!
//! The plugin host has already checked the request against the plugin's
//! `allowed_hosts` when it gets here; this client keeps that check
//! meaningful: HTTPS only (a plugin's credentials never cross the network
//! in the clear) and no redirects (a redirect would take the request to a
//! host the manifest never named; the plugin sees the 3xx instead).
//! Answers are read up to a size limit, and each request is bounded by the
//! time left in the plugin's budget.
//!
//! Plugin calls are synchronous and may run on any thread, so requests run
//! on the client's own small tokio runtime and the caller waits on a
//! channel: that works from a blocking thread and from tests alike, and
//! never nests runtimes.
//!
//! [`HttpSettings::resolve`] pins host names to addresses (split-horizon
//! DNS, an egress proxy's address, or a test's local fake provider), and
//! [`HttpSettings::extra_roots_pem`] adds trusted CAs (a corporate
//! TLS-inspecting proxy, a test CA) to the system's.

use std::net::SocketAddr;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use omnigate_plugin_host::HttpClient;
use omnigate_plugin_host::services::{HttpFailure, OutboundRequest, OutboundResponse};

/// How the client is set up.
#[derive(Debug, Clone)]
pub struct HttpSettings {
    /// Host names pinned to an address instead of being looked up.
    pub resolve: Vec<(String, SocketAddr)>,
    /// PEM certificates trusted in addition to the system's roots.
    pub extra_roots_pem: Vec<String>,
    /// Largest answer body read; a longer one is refused.
    pub max_response_bytes: u64,
}

impl Default for HttpSettings {
    fn default() -> HttpSettings {
        HttpSettings {
            resolve: Vec::new(),
            extra_roots_pem: Vec::new(),
            max_response_bytes: 32 * 1024 * 1024,
        }
    }
}

/// Why the client could not be built.
#[derive(Debug)]
pub struct BuildError(pub String);

impl std::fmt::Display for BuildError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BuildError {}

/// Parses `host=ip:port` (the config file's form of a resolve entry).
///
/// # Errors
/// A message naming what is wrong with `entry`.
pub fn parse_resolve(entry: &str) -> Result<(String, SocketAddr), String> {
    let (host, addr) = entry
        .split_once('=')
        .ok_or_else(|| format!("`{entry}` is not of the form host=ip:port"))?;
    let host = host.trim().to_ascii_lowercase();
    if host.is_empty() || host.contains(['/', ':', ' ']) {
        return Err(format!("`{entry}`: `{host}` is not a host name"));
    }
    let addr = addr
        .trim()
        .parse::<SocketAddr>()
        .map_err(|_| format!("`{entry}`: `{addr}` is not an ip:port address"))?;
    Ok((host, addr))
}

/// The client. Dropping it stops its runtime.
pub struct ProviderHttp {
    client: reqwest::Client,
    runtime: Option<tokio::runtime::Runtime>,
    max_response_bytes: u64,
}

impl ProviderHttp {
    /// Builds the client and starts its runtime (one worker thread).
    ///
    /// # Errors
    /// A bad extra root certificate, or no thread for the runtime.
    pub fn new(settings: &HttpSettings) -> Result<ProviderHttp, BuildError> {
        let mut builder = reqwest::Client::builder()
            .https_only(true)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("omnigate/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(10))
            .pool_idle_timeout(Duration::from_secs(60));
        for (host, addr) in &settings.resolve {
            builder = builder.resolve(host, *addr);
        }
        for pem in &settings.extra_roots_pem {
            let certs = reqwest::Certificate::from_pem_bundle(pem.as_bytes())
                .map_err(|e| BuildError(format!("an extra root certificate: {e}")))?;
            if certs.is_empty() {
                return Err(BuildError(
                    "an extra root certificate file holds no PEM certificate".into(),
                ));
            }
            for cert in certs {
                builder = builder.add_root_certificate(cert);
            }
        }
        let client = builder
            .build()
            .map_err(|e| BuildError(format!("the plugin HTTP client: {e}")))?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("plugin-http")
            .enable_all()
            .build()
            .map_err(|e| BuildError(format!("the plugin HTTP runtime: {e}")))?;
        Ok(ProviderHttp {
            client,
            runtime: Some(runtime),
            max_response_bytes: settings.max_response_bytes,
        })
    }
}

impl Drop for ProviderHttp {
    fn drop(&mut self) {
        // Dropping a runtime blocks, which is refused inside another
        // runtime (the server drops this at shutdown).
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

impl HttpClient for ProviderHttp {
    fn send(
        &self,
        plugin: &str,
        request: OutboundRequest,
        timeout: Duration,
    ) -> Result<OutboundResponse, HttpFailure> {
        let Some(runtime) = &self.runtime else {
            return Err(HttpFailure::Transport("the HTTP client is stopped".into()));
        };
        let method = reqwest::Method::from_bytes(request.method.as_bytes())
            .map_err(|_| HttpFailure::Transport(format!("bad method {}", request.method)))?;
        let mut builder = self
            .client
            .request(method, &request.url)
            .timeout(timeout)
            .body(request.body);
        for (name, value) in &request.headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        let (answer, answered) = mpsc::sync_channel(1);
        let limit = self.max_response_bytes;
        let started = Instant::now();
        runtime.spawn(async move {
            let _ = answer.send(execute(builder, limit).await);
        });
        // The request carries the same timeout; the margin only covers a
        // runtime too busy to report it.
        let outcome = answered
            .recv_timeout(timeout + Duration::from_secs(1))
            .unwrap_or(Err(HttpFailure::Timeout));
        match &outcome {
            Ok(response) => tracing::debug!(
                plugin,
                url = %request.url,
                status = response.status,
                elapsed_ms = started.elapsed().as_millis() as u64,
                "plugin HTTP request"
            ),
            Err(failure) => tracing::info!(
                plugin,
                url = %request.url,
                ?failure,
                elapsed_ms = started.elapsed().as_millis() as u64,
                "plugin HTTP request failed"
            ),
        }
        outcome
    }
}

async fn execute(
    builder: reqwest::RequestBuilder,
    limit: u64,
) -> Result<OutboundResponse, HttpFailure> {
    let mut response = builder.send().await.map_err(failure)?;
    let status = response.status().as_u16();
    if response.content_length().is_some_and(|n| n > limit) {
        return Err(HttpFailure::TooLarge(limit));
    }
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
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(failure)? {
        if (body.len() + chunk.len()) as u64 > limit {
            return Err(HttpFailure::TooLarge(limit));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(OutboundResponse {
        status,
        headers,
        body,
    })
}

fn failure(error: reqwest::Error) -> HttpFailure {
    if error.is_timeout() {
        HttpFailure::Timeout
    } else if error.is_builder() {
        HttpFailure::Transport(format!("the request is not valid: {error}"))
    } else if error.is_connect() {
        HttpFailure::Transport(format!("cannot connect: {error}"))
    } else {
        HttpFailure::Transport(error.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolve_entries_are_host_equals_address() {
        assert_eq!(
            parse_resolve("Graph.Facebook.com=127.0.0.1:8443"),
            Ok((
                "graph.facebook.com".to_owned(),
                "127.0.0.1:8443".parse().expect("addr")
            ))
        );
        assert!(parse_resolve("graph.facebook.com").is_err());
        assert!(parse_resolve("graph.facebook.com=localhost").is_err());
        assert!(parse_resolve("https://x=127.0.0.1:1").is_err());
    }

    #[test]
    fn plain_http_is_refused_before_any_connection() {
        let http = ProviderHttp::new(&HttpSettings::default()).expect("client");
        let refused = http.send(
            "test@1",
            OutboundRequest {
                method: "GET",
                url: "http://127.0.0.1:9/".into(),
                headers: Vec::new(),
                body: Vec::new(),
            },
            Duration::from_secs(2),
        );
        assert!(
            matches!(refused, Err(HttpFailure::Transport(ref m)) if m.contains("not valid") || m.contains("https")),
            "{refused:?}"
        );
    }
}
