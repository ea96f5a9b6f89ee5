//! The TLS configuration: the admin's PEM files, or a self-signed certificate
//! made on first start and kept in the data directory.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use sha2::{Digest, Sha256};

use crate::settings::TlsSettings;

/// Where the self-signed pair lives, relative to the data directory.
pub const SELF_SIGNED_CERT: &str = "tls/self-signed.crt";
/// The key of the self-signed pair.
pub const SELF_SIGNED_KEY: &str = "tls/self-signed.key";

/// A TLS set-up failure, naming the file and the config key involved.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct TlsError(String);

/// The loaded certificate: the rustls config and what to log about it.
pub struct LoadedTls {
    /// Ready for `TlsAcceptor`.
    pub config: Arc<ServerConfig>,
    /// SHA-256 of the leaf certificate, `AA:BB:..`, for users to compare
    /// with what their browser shows.
    pub fingerprint: String,
    /// Where the certificate came from.
    pub cert_path: PathBuf,
    /// Whether it is the generated self-signed one.
    pub self_signed: bool,
}

/// Loads the configured pair, or makes/reuses the self-signed one.
pub fn load(tls: &TlsSettings, data_dir: &Path, listen: SocketAddr) -> Result<LoadedTls, TlsError> {
    let (cert_path, key_path, self_signed) = match (&tls.cert, &tls.key) {
        (Some(cert), Some(key)) => (cert.clone(), key.clone(), false),
        _ => {
            let cert = data_dir.join(SELF_SIGNED_CERT);
            let key = data_dir.join(SELF_SIGNED_KEY);
            if !(cert.is_file() && key.is_file()) {
                make_self_signed(&cert, &key, listen)?;
            }
            (cert, key, true)
        }
    };
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&cert_path)
        .map_err(|e| {
            TlsError(format!(
                "server.tls.cert: cannot read {}: {e}",
                cert_path.display()
            ))
        })?
        .collect::<Result<_, _>>()
        .map_err(|e| {
            TlsError(format!(
                "server.tls.cert: {} is not valid PEM: {e}",
                cert_path.display()
            ))
        })?;
    let Some(leaf) = certs.first() else {
        return Err(TlsError(format!(
            "server.tls.cert: {} contains no certificate",
            cert_path.display()
        )));
    };
    let fingerprint = fingerprint(leaf);
    let key = PrivateKeyDer::from_pem_file(&key_path).map_err(|e| {
        TlsError(format!(
            "server.tls.key: cannot read a private key from {}: {e}",
            key_path.display()
        ))
    })?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| TlsError(format!("TLS set-up: {e}")))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| {
            TlsError(format!(
                "server.tls.cert/key: {} and {} do not form a usable pair: {e}",
                cert_path.display(),
                key_path.display()
            ))
        })?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(LoadedTls {
        config: Arc::new(config),
        fingerprint,
        cert_path,
        self_signed,
    })
}

fn fingerprint(cert: &CertificateDer<'_>) -> String {
    Sha256::digest(cert.as_ref())
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// Names the certificate is valid for: loopback, the listen address and the
/// host name, so the common ways of reaching a dev server all match.
fn subject_names(listen: SocketAddr) -> Vec<String> {
    let mut names = vec![
        "localhost".to_owned(),
        "127.0.0.1".to_owned(),
        "::1".to_owned(),
    ];
    if !listen.ip().is_unspecified() && !listen.ip().is_loopback() {
        names.push(listen.ip().to_string());
    }
    if let Ok(host) = std::fs::read_to_string("/proc/sys/kernel/hostname") {
        let host = host.trim();
        if !host.is_empty() && host != "localhost" {
            names.push(host.to_owned());
        }
    }
    names
}

fn make_self_signed(cert_path: &Path, key_path: &Path, listen: SocketAddr) -> Result<(), TlsError> {
    let generated = rcgen::generate_simple_self_signed(subject_names(listen))
        .map_err(|e| TlsError(format!("generating a self-signed certificate: {e}")))?;
    if let Some(dir) = cert_path.parent() {
        omnigate_store::create_private_dir(dir)
            .map_err(|e| TlsError(format!("creating {}: {e}", dir.display())))?;
    }
    write_private(key_path, generated.key_pair.serialize_pem().as_bytes())?;
    std::fs::write(cert_path, generated.cert.pem())
        .map_err(|e| TlsError(format!("writing {}: {e}", cert_path.display())))?;
    tracing::info!(cert = %cert_path.display(), "generated a self-signed TLS certificate");
    Ok(())
}

/// Writes a file only the owner can read, creating it with those permissions
/// so the key is never briefly world-readable.
fn write_private(path: &Path, bytes: &[u8]) -> Result<(), TlsError> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .map_err(|e| TlsError(format!("writing {}: {e}", path.display())))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(|e| TlsError(format!("writing {}: {e}", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn self_signed_pair_is_made_once_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let listen: SocketAddr = "127.0.0.1:0".parse().unwrap();
        let first = load(&TlsSettings::default(), dir.path(), listen).unwrap();
        let second = load(&TlsSettings::default(), dir.path(), listen).unwrap();
        assert!(first.self_signed);
        assert_eq!(first.fingerprint, second.fingerprint);
        assert_eq!(first.fingerprint.len(), 32 * 3 - 1);
        assert_eq!(first.config.alpn_protocols[0], b"h2");
    }

    #[test]
    fn a_missing_configured_certificate_names_the_key_and_path() {
        let dir = tempfile::tempdir().unwrap();
        let settings = TlsSettings {
            cert: Some(dir.path().join("missing.crt")),
            key: Some(dir.path().join("missing.key")),
        };
        let Err(err) = load(&settings, dir.path(), "127.0.0.1:0".parse().unwrap()) else {
            panic!("loaded a missing certificate");
        };
        let message = err.to_string();
        assert!(
            message.contains("server.tls.cert") && message.contains("missing.crt"),
            "{message}"
        );
    }
}
