//! The HTTPS harness every fake shares: a certificate for the provider's
//! host names, a server thread with its own runtime (so blocking tests can
//! use it too), and the log of requests received.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};

use axum::Router;
use axum::body::Body;
use axum::extract::Request;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::service::TowerToHyperService;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::sync::oneshot;
use tokio_rustls::TlsAcceptor;

/// One request a fake received, as it came over the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    /// `GET`, `POST`...
    pub method: String,
    /// The path, without the query.
    pub path: String,
    /// The raw query string, if any.
    pub query: Option<String>,
    /// Header names lower-case, in order.
    pub headers: Vec<(String, String)>,
    /// The body bytes.
    pub body: Vec<u8>,
}

impl Recorded {
    /// The first value of header `name` (lower-case).
    #[must_use]
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body parsed as JSON (`Null` when it is not JSON).
    #[must_use]
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }
}

type Log = Arc<Mutex<Vec<Recorded>>>;

/// The largest request body a fake takes (a 100 MB WhatsApp document and
/// its multipart framing fit); a larger one is answered 413, never read
/// as empty.
pub const MAX_BODY_BYTES: usize = 128 * 1024 * 1024;

/// A running fake: HTTPS on `127.0.0.1:<port>` for the given host names.
/// Stops when dropped.
pub struct FakeServer {
    addr: SocketAddr,
    hosts: Vec<String>,
    ca_pem: String,
    log: Log,
    stop: Option<oneshot::Sender<()>>,
}

impl FakeServer {
    /// Serves `router` over HTTPS (HTTP/1.1 and HTTP/2) with a certificate
    /// for `hosts`, recording every request before the router sees it.
    ///
    /// # Errors
    /// When the certificate cannot be made or no port can be bound.
    pub fn start(hosts: &[&str], router: Router) -> Result<FakeServer, String> {
        let (ca_pem, acceptor) = tls(hosts)?;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
        listener.set_nonblocking(true).map_err(|e| e.to_string())?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        let log: Log = Arc::default();
        let recording = log.clone();
        let app = router.layer(middleware::from_fn(move |request: Request, next: Next| {
            record(recording.clone(), request, next)
        }));
        let (stop, stopped) = oneshot::channel::<()>();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        std::thread::Builder::new()
            .name(format!(
                "fake-{}",
                hosts.first().copied().unwrap_or("server")
            ))
            .spawn(move || runtime.block_on(serve(listener, acceptor, app, stopped)))
            .map_err(|e| e.to_string())?;
        Ok(FakeServer {
            addr,
            hosts: hosts.iter().map(|h| (*h).to_owned()).collect(),
            ca_pem,
            log,
            stop: Some(stop),
        })
    }

    /// Where it listens.
    #[must_use]
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `https://<first host>` (reachable once the host is resolved to
    /// [`FakeServer::addr`]).
    #[must_use]
    pub fn base_url(&self) -> String {
        format!(
            "https://{}",
            self.hosts.first().map_or("localhost", String::as_str)
        )
    }

    /// The PEM of the CA that signed its certificate, for the client's
    /// trusted roots.
    #[must_use]
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// `host=127.0.0.1:port` for each of its host names: the form of
    /// omnigate's `plugins.http.resolve` setting.
    #[must_use]
    pub fn resolve_entries(&self) -> Vec<String> {
        self.hosts
            .iter()
            .map(|h| format!("{h}={}", self.addr))
            .collect()
    }

    /// Every request received so far, oldest first.
    #[must_use]
    pub fn requests(&self) -> Vec<Recorded> {
        self.log
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Waits up to `timeout` until `pred` holds for some request; returns
    /// the requests seen then.
    #[must_use]
    pub fn wait_for(
        &self,
        timeout: std::time::Duration,
        pred: impl Fn(&Recorded) -> bool,
    ) -> Option<Recorded> {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            if let Some(found) = self.requests().into_iter().find(|r| pred(r)) {
                return Some(found);
            }
            if std::time::Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// A CA, a leaf certificate for `hosts` signed by it, and the acceptor.
fn tls(hosts: &[&str]) -> Result<(String, TlsAcceptor), String> {
    let text = |e: rcgen::Error| e.to_string();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).map_err(text)?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "omnigate test CA");
    let ca_key = KeyPair::generate().map_err(text)?;
    let ca = ca_params.self_signed(&ca_key).map_err(text)?;
    let names: Vec<String> = hosts.iter().map(|h| (*h).to_owned()).collect();
    let leaf_key = KeyPair::generate().map_err(text)?;
    let leaf = CertificateParams::new(names)
        .map_err(text)?
        .signed_by(&leaf_key, &ca, &ca_key)
        .map_err(text)?;
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der()));
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| e.to_string())?
    .with_no_client_auth()
    .with_single_cert(vec![leaf.der().clone()], key)
    .map_err(|e| e.to_string())?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok((ca.pem(), TlsAcceptor::from(Arc::new(config))))
}

async fn serve(
    listener: std::net::TcpListener,
    acceptor: TlsAcceptor,
    app: Router,
    mut stopped: oneshot::Receiver<()>,
) {
    let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
        return;
    };
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = &mut stopped => return,
        };
        let Ok((stream, _)) = accepted else { continue };
        let acceptor = acceptor.clone();
        let app = app.clone();
        tokio::spawn(async move {
            let Ok(tls) = acceptor.accept(stream).await else {
                return;
            };
            let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(tls), TowerToHyperService::new(app))
                .await;
        });
    }
}

async fn record(log: Log, request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_BODY_BYTES).await else {
        return axum::http::StatusCode::PAYLOAD_TOO_LARGE.into_response();
    };
    log.lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(Recorded {
            method: parts.method.to_string(),
            path: parts.uri.path().to_owned(),
            query: parts.uri.query().map(str::to_owned),
            headers: parts
                .headers
                .iter()
                .map(|(n, v)| {
                    (
                        n.as_str().to_owned(),
                        String::from_utf8_lossy(v.as_bytes()).into_owned(),
                    )
                })
                .collect(),
            body: bytes.to_vec(),
        });
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::routing::post;

    #[tokio::test]
    async fn serves_the_provider_host_name_over_https_and_records_the_request() {
        let fake = FakeServer::start(
            &["graph.facebook.com"],
            Router::new().route("/v1/echo", post(|body: String| async move { body })),
        )
        .expect("fake starts");
        let client = reqwest::Client::builder()
            .resolve("graph.facebook.com", fake.addr())
            .add_root_certificate(
                reqwest::Certificate::from_pem(fake.ca_pem().as_bytes()).expect("ca pem"),
            )
            .build()
            .expect("client");
        let answer = client
            .post("https://graph.facebook.com/v1/echo?x=1")
            .header("x-test", "yes")
            .body("hello")
            .send()
            .await
            .expect("request reaches the fake");
        assert_eq!(answer.text().await.expect("body"), "hello");
        let seen = fake.requests();
        assert_eq!(seen.len(), 1);
        assert_eq!(seen[0].path, "/v1/echo");
        assert_eq!(seen[0].query.as_deref(), Some("x=1"));
        assert_eq!(seen[0].header("x-test"), Some("yes"));
        assert_eq!(seen[0].body, b"hello");
        assert_eq!(
            fake.resolve_entries(),
            vec![format!("graph.facebook.com={}", fake.addr())]
        );
    }
}
