//! The benchmark baseline: the smallest hyper + rustls server, with the same
//! TLS provider, protocol versions, ALPN and runtime as omnigate, answering
//! "hello" to a GET and, to a POST, parsing the JSON body and answering
//! `{"ok":true}` (the ingest benchmark's baseline: the same request as an
//! inbound message, without storing or routing it). `cargo xtask bench`
//! compares omnigate against it.
//!
//! Usage: bare_https_hello CERT.pem KEY.pem [LISTEN]

use std::convert::Infallible;
use std::sync::Arc;

use hyper::Response;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(cert), Some(key)) = (args.next(), args.next()) else {
        return Err("usage: bare_https_hello CERT.pem KEY.pem [LISTEN]".into());
    };
    let listen = args.next().unwrap_or_else(|| "127.0.0.1:0".into());
    let certs = CertificateDer::pem_file_iter(&cert)?.collect::<Result<Vec<_>, _>>()?;
    let key = PrivateKeyDer::from_pem_file(&key)?;
    let mut config =
        ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?
            .with_no_client_auth()
            .with_single_cert(certs, key)?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind(&listen).await?;
    println!("listening {}", listener.local_addr()?);
    loop {
        let (tcp, _) = listener.accept().await?;
        let _ = tcp.set_nodelay(true);
        let acceptor = acceptor.clone();
        tokio::spawn(async move {
            let Ok(tls) = acceptor.accept(tcp).await else {
                return;
            };
            let service = hyper::service::service_fn(
                |req: hyper::Request<hyper::body::Incoming>| async move {
                    if req.method() == hyper::Method::POST {
                        let body = http_body_util::BodyExt::collect(req.into_body())
                            .await
                            .map(|b| b.to_bytes())
                            .unwrap_or_default();
                        let parsed = serde_json::from_slice::<serde_json::Value>(&body);
                        let reply: &'static [u8] = if parsed.is_ok() {
                            b"{\"ok\":true}"
                        } else {
                            b"{\"ok\":false}"
                        };
                        return Ok::<_, Infallible>(Response::new(http_body_util::Full::new(
                            hyper::body::Bytes::from_static(reply),
                        )));
                    }
                    Ok::<_, Infallible>(Response::new(http_body_util::Full::new(
                        hyper::body::Bytes::from_static(b"hello"),
                    )))
                },
            );
            let _ = auto::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(tls), service)
                .await;
        });
    }
}
