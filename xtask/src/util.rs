//! Small helpers for running commands.

use std::path::PathBuf;
use std::process::Command;

/// The workspace root (the directory above xtask/).
pub fn root() -> PathBuf {
    // At run time first: `cargo run` sets it, and a binary left in a copied
    // `target/` must not send its work to the tree it was built in.
    let manifest = std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from);
    manifest.parent().map_or(manifest.clone(), PathBuf::from)
}

/// `cargo` as invoked by the user (respects `CARGO`).
pub fn cargo() -> Command {
    let mut command = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    command.current_dir(root());
    command
}

/// Runs a command, failing with its description when it does not succeed.
pub fn run_ok(command: &mut Command, what: &str) -> Result<(), String> {
    eprintln!("xtask: {what}");
    let status = command
        .status()
        .map_err(|e| format!("{what}: cannot start: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{what} failed ({status})"))
    }
}

/// Whether `program --version` runs.
pub fn has(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Installs Debian packages when a program is missing (CI and fresh machines
/// run as root; elsewhere the user is told what to install).
pub fn ensure_debian_package(program: &str, package: &str) -> Result<(), String> {
    if has(program) {
        return Ok(());
    }
    let is_root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    if !is_root {
        return Err(format!(
            "`{program}` is missing: install the Debian package `{package}`"
        ));
    }
    run_ok(
        Command::new("apt-get").args(["update", "-qq"]),
        "apt-get update",
    )?;
    run_ok(
        Command::new("apt-get")
            .args(["install", "-y", "-qq", "--no-install-recommends", package])
            .env("DEBIAN_FRONTEND", "noninteractive"),
        &format!("installing {package}"),
    )
}
