//! `cargo xtask test`: the whole gate CI runs.

use crate::util::{cargo, run_ok};

pub fn run(args: &[String]) -> Result<(), String> {
    if let Some(extra) = args.first() {
        return Err(format!("`test` takes no arguments (got `{extra}`)"));
    }
    ensure_components()?;
    run_ok(
        cargo().args(["fmt", "--all", "--", "--check"]),
        "cargo fmt --check",
    )?;
    run_ok(
        cargo().args([
            "clippy",
            "--workspace",
            "--all-targets",
            "--locked",
            "--",
            "-D",
            "warnings",
        ]),
        "cargo clippy -D warnings",
    )?;
    run_ok(
        cargo().args(["test", "--workspace", "--locked"]),
        "cargo test --workspace",
    )?;
    eprintln!("xtask: all checks passed");
    Ok(())
}

/// rustfmt and clippy ship as rustup components; add them when missing.
fn ensure_components() -> Result<(), String> {
    let missing: Vec<&str> = [("fmt", "rustfmt"), ("clippy", "clippy")]
        .into_iter()
        .filter(|(sub, _)| {
            !cargo()
                .args([*sub, "--version"])
                .output()
                .is_ok_and(|o| o.status.success())
        })
        .map(|(_, component)| component)
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let mut rustup = std::process::Command::new("rustup");
    rustup.args(["component", "add"]).args(&missing);
    run_ok(
        &mut rustup,
        &format!("rustup component add {}", missing.join(" ")),
    )
}
