//! `omnigate plugin install | list | enable | disable | remove`: the admin
//! API's plugin operations from the command line, against the running
//! server, so nothing needs a restart.
//!
//! The command reads the same config as the server: it connects to
//! `server.listen` (loopback when the server listens on every address) and
//! trusts the server's certificate (the configured one or the self-signed
//! one in the data directory) besides the system's roots. It authenticates
//! with an admin's API token (`--token` or `OMNIGATE_API_TOKEN`).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::settings::Settings;

/// Exit code when the server refused the operation.
const REFUSED: u8 = 4;

/// What to do.
pub(crate) enum Operation {
    /// Upload a component, with its detached signature when given.
    Install {
        wasm: PathBuf,
        signature: Option<PathBuf>,
    },
    /// Print the installed plugins.
    List,
    /// Load a plugin again.
    Enable(String),
    /// Unload a plugin.
    Disable(String),
    /// Delete a plugin and its data.
    Remove(String),
}

/// Where and as whom to connect.
pub(crate) struct Target {
    /// `https://host:port`; default from `server.listen`.
    pub server: Option<String>,
    /// An admin's API token.
    pub token: String,
}

pub(crate) fn run(settings: &Settings, target: &Target, operation: Operation) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => return fail(&format!("cannot start the async runtime: {e}"), 1),
    };
    runtime.block_on(async {
        match execute(settings, target, operation).await {
            Ok(text) => {
                print!("{text}");
                ExitCode::SUCCESS
            }
            Err((message, code)) => fail(&message, code),
        }
    })
}

fn fail(message: &str, code: u8) -> ExitCode {
    eprintln!("omnigate: {message}");
    ExitCode::from(code)
}

async fn execute(
    settings: &Settings,
    target: &Target,
    operation: Operation,
) -> Result<String, (String, u8)> {
    let client = client(settings).map_err(|e| (e, 2))?;
    let base = target.server.clone().unwrap_or_else(|| {
        let listen = settings.server.listen;
        let host = if listen.ip().is_unspecified() {
            "127.0.0.1".to_owned()
        } else {
            listen.ip().to_string()
        };
        format!("https://{host}:{}", listen.port())
    });
    let base = base.trim_end_matches('/').to_owned();
    let request = |method: Method, path: &str| {
        client
            .request(method, format!("{base}{path}"))
            .bearer_auth(&target.token)
    };
    let request = match &operation {
        Operation::Install { wasm, signature } => {
            let bytes = read(wasm)?;
            let mut request = request(Method::POST, "/api/v1/plugins")
                .header("content-type", "application/wasm")
                .body(bytes);
            if let Some(signature) = signature {
                let text = String::from_utf8(read(signature)?).map_err(|_| {
                    (
                        format!("{} is not a signature file", signature.display()),
                        2,
                    )
                })?;
                request = request.header("x-omnigate-signature", text.trim());
            }
            request
        }
        Operation::List => request(Method::GET, "/api/v1/plugins"),
        Operation::Enable(name) => request(Method::POST, &format!("/api/v1/plugins/{name}/enable")),
        Operation::Disable(name) => {
            request(Method::POST, &format!("/api/v1/plugins/{name}/disable"))
        }
        Operation::Remove(name) => request(Method::DELETE, &format!("/api/v1/plugins/{name}")),
    };
    let response = request
        .send()
        .await
        .map_err(|e| (format!("cannot reach the server at {base}: {e}"), 1))?;
    let status = response.status();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    if !status.is_success() {
        let code = body["error"]["code"].as_str().unwrap_or("error");
        let message = body["error"]["message"].as_str().unwrap_or("");
        return Err((format!("{status}: {code}: {message}"), REFUSED));
    }
    Ok(match operation {
        Operation::List => body["plugins"]
            .as_array()
            .map(|plugins| plugins.iter().map(line).collect::<String>())
            .unwrap_or_default(),
        Operation::Remove(name) if status == StatusCode::NO_CONTENT => {
            format!("removed {name}\n")
        }
        _ => line(&body),
    })
}

/// One plugin as a line: name, version, kind, state.
fn line(plugin: &Value) -> String {
    let state = if plugin["tripped"] == true {
        "stopped by the circuit breaker".to_owned()
    } else if plugin["loaded"] == true {
        "loaded".to_owned()
    } else if let Some(error) = plugin["load_error"].as_str() {
        format!("failed to load: {error}")
    } else {
        "disabled".to_owned()
    };
    format!(
        "{} {} ({}) {}{}\n",
        plugin["name"].as_str().unwrap_or("?"),
        plugin["version"].as_str().unwrap_or("?"),
        plugin["kind"].as_str().unwrap_or("?"),
        state,
        plugin["signed_by"]
            .as_str()
            .map(|k| format!(", signed by {k}"))
            .unwrap_or_default(),
    )
}

fn read(path: &Path) -> Result<Vec<u8>, (String, u8)> {
    std::fs::read(path).map_err(|e| (format!("cannot read {}: {e}", path.display()), 2))
}

/// A client trusting the server's certificate as well as the system's.
fn client(settings: &Settings) -> Result<reqwest::Client, String> {
    let cert = settings
        .server
        .tls
        .cert
        .clone()
        .unwrap_or_else(|| settings.storage.data_dir.join(crate::tls::SELF_SIGNED_CERT));
    let mut builder = reqwest::Client::builder()
        .timeout(Duration::from_secs(120))
        .redirect(reqwest::redirect::Policy::none());
    if let Ok(pem) = std::fs::read(&cert) {
        let certs = reqwest::Certificate::from_pem_bundle(&pem)
            .map_err(|e| format!("{}: {e}", cert.display()))?;
        for cert in certs {
            builder = builder.add_root_certificate(cert);
        }
    }
    builder.build().map_err(|e| e.to_string())
}
