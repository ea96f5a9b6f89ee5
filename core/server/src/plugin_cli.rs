//! `omnigate plugin check | keygen | sign`: the commands plugin authors and
//! admins run on their own machine. None of them touches the data
//! directory, so they work on a laptop without an installed omnigate.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use omnigate_domain::SystemClock;
use omnigate_plugin_host::manifest::FieldType;
use omnigate_plugin_host::services::{LogEvents, MemoryKv, NoNetwork};
use omnigate_plugin_host::{HostConfig, Manifest, PluginHost, Services};

use crate::exit;
use crate::settings::Settings;
use omnigate_engine::plugins::signing::PrivateKey;

fn fail(message: impl std::fmt::Display, code: u8) -> ExitCode {
    eprintln!("omnigate: {message}");
    ExitCode::from(code)
}

/// Writes to stdout; a closed pipe (`| head`) is a normal end, not an error.
fn print(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
}

/// A host for one-off loads: no cache, no network, storage in memory, and
/// two pool slots (a check runs one call at a time).
fn offline_host() -> Result<PluginHost, String> {
    let config = HostConfig {
        cache_dir: None,
        max_concurrent_calls: 2,
        ..HostConfig::default()
    };
    let services = Services {
        http: Arc::new(NoNetwork),
        kv: Arc::new(MemoryKv::default()),
        clock: Arc::new(SystemClock),
        events: Arc::new(LogEvents),
    };
    PluginHost::new(config, services).map_err(|e| format!("cannot start the plugin host: {e}"))
}

/// Validates a component the way an install would (interface version,
/// exports, embedded manifest) and prints what an admin would approve.
pub(crate) fn check(settings: &Settings, file: &Path, signature: Option<&Path>) -> ExitCode {
    let wasm = match std::fs::read(file) {
        Ok(bytes) => bytes,
        Err(e) => return fail(format!("cannot read {}: {e}", file.display()), exit::CONFIG),
    };
    let signed_by = match signed_by(settings, &wasm, signature) {
        Ok(signed_by) => signed_by,
        Err(message) => {
            return fail(
                format!("{}: refused: {message}", file.display()),
                exit::PLUGIN_REFUSED,
            );
        }
    };
    let host = match offline_host() {
        Ok(host) => host,
        Err(e) => return fail(e, exit::FAILURE),
    };
    match host.load(&wasm) {
        Ok(plugin) => {
            let mut text = describe(
                file,
                plugin.manifest(),
                &hex::encode(omnigate_engine::plugins::signing::digest(&wasm)),
            );
            text.push_str(&match signed_by {
                Some(id) => format!("signed by: key {id}\n"),
                None => "signed by: (not signed)\n".to_owned(),
            });
            print(&text);
            ExitCode::SUCCESS
        }
        Err(e) => fail(
            format!("{}: refused: {e}", file.display()),
            exit::PLUGIN_REFUSED,
        ),
    }
}

/// The id of the trusted key that signed `wasm`, `None` for an unsigned
/// plugin the configuration allows, or why the install would be refused.
fn signed_by(
    settings: &Settings,
    wasm: &[u8],
    signature: Option<&Path>,
) -> Result<Option<String>, String> {
    let Some(path) = signature else {
        return if settings.plugins.require_signed {
            Err("plugins.require_signed is on and no signature was given (--signature FILE)".into())
        } else {
            Ok(None)
        };
    };
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read the signature {}: {e}", path.display()))?;
    let trusted = settings.plugins.trusted().map_err(|e| e.to_string())?;
    omnigate_engine::plugins::signing::verify(
        &trusted,
        &omnigate_engine::plugins::signing::digest(wasm),
        &text,
    )
    .map(Some)
    .map_err(|e| format!("signature {}: {e}", path.display()))
}

fn field_type(t: FieldType) -> &'static str {
    match t {
        FieldType::String => "string",
        FieldType::Url => "url",
        FieldType::Integer => "integer",
        FieldType::Boolean => "boolean",
    }
}

fn describe(file: &Path, m: &Manifest, sha256: &str) -> String {
    let hosts = if m.allowed_hosts.is_empty() {
        "(none)".to_owned()
    } else {
        m.allowed_hosts.join(", ")
    };
    let mut text = format!(
        "{}: ok\nname: {}\nversion: {}\nkind: {}\ninterface: {}@{}\nsha256: {sha256}\nallowed hosts: {hosts}\nbudgets: memory {} MiB, time {} ms, storage {} bytes\n",
        file.display(),
        m.name,
        m.version,
        m.kind.as_str(),
        omnigate_plugin_host::version::PACKAGE,
        m.interface,
        m.budgets.memory_bytes / (1024 * 1024),
        m.budgets.time.as_millis(),
        m.budgets.kv_bytes,
    );
    if m.fields.is_empty() {
        text.push_str("settings: (none)\n");
    } else {
        text.push_str("settings:\n");
        for f in &m.fields {
            text.push_str(&format!(
                "  {} ({}{}{})\n",
                f.key,
                if f.secret {
                    "secret"
                } else {
                    field_type(f.field_type)
                },
                if f.required { ", required" } else { "" },
                f.default
                    .as_ref()
                    .filter(|_| !f.secret)
                    .map(|d| format!(", default {d}"))
                    .unwrap_or_default(),
            ));
        }
    }
    text
}

/// Creates a file only if it does not exist, owner-only, and syncs it:
/// a key or signature is never silently overwritten.
fn write_new(path: &Path, text: &str, mode: u32) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(mode);
    }
    #[cfg(not(unix))]
    let _ = mode;
    let mut file = options.open(path)?;
    file.write_all(text.as_bytes())?;
    file.sync_all()
}

/// Writes a new private key and prints the public key to trust.
pub(crate) fn keygen(out: &Path) -> ExitCode {
    let key = PrivateKey::generate();
    if let Err(e) = write_new(out, &format!("{}\n", key.to_base64()), 0o600) {
        return fail(
            format!("cannot create {}: {e}", out.display()),
            exit::FAILURE,
        );
    }
    print(&format!(
        "private key written to {} (keep it secret)\npublic key (add to plugins.trusted_keys): {}\nkey id: {}\n",
        out.display(),
        key.public_base64(),
        key.key_id()
    ));
    ExitCode::SUCCESS
}

/// Signs a `.wasm`, writing the detached signature next to it (or to `out`).
pub(crate) fn sign(key_file: &Path, wasm_file: &Path, out: Option<&Path>) -> ExitCode {
    let key = match std::fs::read_to_string(key_file) {
        Ok(text) => match PrivateKey::parse(&text) {
            Ok(key) => key,
            Err(e) => return fail(format!("{}: {e}", key_file.display()), exit::CONFIG),
        },
        Err(e) => {
            return fail(
                format!("cannot read {}: {e}", key_file.display()),
                exit::CONFIG,
            );
        }
    };
    let wasm = match std::fs::read(wasm_file) {
        Ok(bytes) => bytes,
        Err(e) => {
            return fail(
                format!("cannot read {}: {e}", wasm_file.display()),
                exit::CONFIG,
            );
        }
    };
    let out = out.map_or_else(
        || {
            let mut name = wasm_file.as_os_str().to_owned();
            name.push(".sig");
            PathBuf::from(name)
        },
        Path::to_path_buf,
    );
    if let Err(e) = write_new(&out, &format!("{}\n", key.sign(&wasm)), 0o644) {
        return fail(
            format!("cannot create {}: {e}", out.display()),
            exit::FAILURE,
        );
    }
    print(&format!(
        "signature written to {} (key id {})\n",
        out.display(),
        key.key_id()
    ));
    ExitCode::SUCCESS
}
