//! `cargo xtask plugins`: build the plugins workspace (`plugins/`) for
//! `wasm32-wasip2`, adding the target through rustup when it is missing.
//!
//! The plugins are their own cargo workspace so the root workspace never
//! builds wasm; this is the one place that knows how to build them. The
//! plugin host's integration tests load what this produces.

use std::path::PathBuf;

use crate::util::{cargo, root, run_ok};

/// The target plugins are built for: WASI 0.2 components straight from rustc.
pub const TARGET: &str = "wasm32-wasip2";

pub fn run(args: &[String]) -> Result<(), String> {
    if let Some(extra) = args.first() {
        return Err(format!("`plugins` takes no arguments (got `{extra}`)"));
    }
    build()?;
    for wasm in built()? {
        println!("{}", wasm.display());
    }
    Ok(())
}

/// The plugins workspace directory.
pub fn dir() -> PathBuf {
    root().join("plugins")
}

/// Adds the target if needed and builds every plugin in release.
pub fn build() -> Result<(), String> {
    ensure_target()?;
    run_ok(
        cargo()
            .current_dir(dir())
            .args(["build", "--release", "--locked", "--target", TARGET]),
        "cargo build --release --target wasm32-wasip2 (plugins/)",
    )
}

/// Formatting and clippy of the plugins workspace, for `cargo xtask test`.
pub fn lint() -> Result<(), String> {
    ensure_target()?;
    run_ok(
        cargo()
            .current_dir(dir())
            .args(["fmt", "--all", "--", "--check"]),
        "cargo fmt --check (plugins/)",
    )?;
    run_ok(
        cargo().current_dir(dir()).args([
            "clippy",
            "--release",
            "--locked",
            "--target",
            TARGET,
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ]),
        "cargo clippy -D warnings (plugins/)",
    )?;
    // Plugins whose logic is plain Rust behind a wasm-only export also
    // run their unit tests on the host.
    for name in HOST_TESTED {
        run_ok(
            cargo()
                .current_dir(dir())
                .args(["test", "--locked", "-p", name]),
            &format!("cargo test -p {name} (plugins/, on the host)"),
        )?;
    }
    Ok(())
}

/// Plugins with unit tests that run on the host target.
const HOST_TESTED: [&str; 1] = ["guided-flow"];

/// The plugins omnigate ships: what `cargo xtask run` installs.
pub const FIRST_PARTY: [&str; 6] = [
    "whatsapp-cloud",
    "telegram",
    "shopify",
    "ticimax",
    "ideasoft",
    "guided-flow",
];

/// Copies the first-party components into `dropins` (the server's
/// `plugins.dir`), where the next start installs what is new or newer.
pub fn stage_first_party(dropins: &std::path::Path) -> Result<(), String> {
    let out = dir().join("target").join(TARGET).join("release");
    std::fs::create_dir_all(dropins)
        .map_err(|e| format!("cannot create {}: {e}", dropins.display()))?;
    for name in FIRST_PARTY {
        let file = format!("{}.wasm", name.replace('-', "_"));
        let from = out.join(&file);
        std::fs::copy(&from, dropins.join(&file)).map_err(|e| {
            format!(
                "cannot copy {} to {}: {e}",
                from.display(),
                dropins.display()
            )
        })?;
    }
    Ok(())
}

/// The components the last build produced.
fn built() -> Result<Vec<PathBuf>, String> {
    let out = dir().join("target").join(TARGET).join("release");
    let entries =
        std::fs::read_dir(&out).map_err(|e| format!("cannot list {}: {e}", out.display()))?;
    let mut wasm: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "wasm"))
        .collect();
    wasm.sort();
    if wasm.is_empty() {
        return Err(format!("the build left no .wasm in {}", out.display()));
    }
    Ok(wasm)
}

/// `rustup target add wasm32-wasip2` unless it is installed already.
fn ensure_target() -> Result<(), String> {
    let installed = std::process::Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .map_err(|e| format!("rustup is needed to add the {TARGET} target: {e}"))?;
    let listed = String::from_utf8_lossy(&installed.stdout)
        .lines()
        .any(|line| line.trim() == TARGET);
    if listed {
        return Ok(());
    }
    run_ok(
        std::process::Command::new("rustup").args(["target", "add", TARGET]),
        &format!("rustup target add {TARGET}"),
    )
}
