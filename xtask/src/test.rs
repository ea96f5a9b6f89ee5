//! `cargo xtask test`: the whole gate CI runs: the plugins built and
//! checked, then formatting, clippy and every test of the workspace.

use std::path::Path;
use std::process::Command;

use crate::util::{cargo, has, root, run_ok};

/// Where the console's end-to-end tests live (a Node package).
const E2E_DIR: &str = "core/console/e2e";
/// The Chromium they drive: Debian's package.
const CHROMIUM: &str = "/usr/bin/chromium";

pub fn run(args: &[String]) -> Result<(), String> {
    if let Some(extra) = args.first() {
        return Err(format!("`test` takes no arguments (got `{extra}`)"));
    }
    ensure_components()?;
    // The plugin host's integration tests load the test plugins, so they
    // are built (and checked) first.
    crate::plugins::build()?;
    crate::plugins::lint()?;
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
    let (passed, failed) = run_tests()?;
    let (e2e_passed, e2e_failed) = run_console_e2e()?;
    let (passed, failed) = (passed + e2e_passed, failed + e2e_failed);
    eprintln!("xtask: all checks passed");
    // The plain closing line CI reads: every test of every test binary.
    println!("xtask: {passed} passed, {failed} failed");
    Ok(())
}

/// Runs `cargo test --workspace`, echoing its output, and adds up the
/// per-binary `test result:` lines.
fn run_tests() -> Result<(u64, u64), String> {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;

    eprintln!("xtask: cargo test --workspace");
    let mut child = cargo()
        .args(["test", "--workspace", "--locked"])
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cargo test: cannot start: {e}"))?;
    let (mut passed, mut failed) = (0, 0);
    if let Some(stdout) = child.stdout.take() {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            println!("{line}");
            if let Some(rest) = line.strip_prefix("test result: ") {
                passed += count(rest, " passed");
                failed += count(rest, " failed");
            }
        }
    }
    let status = child.wait().map_err(|e| format!("cargo test: {e}"))?;
    if !status.success() {
        println!("xtask: {passed} passed, {} failed", failed.max(1));
        return Err(format!("cargo test --workspace failed ({status})"));
    }
    Ok((passed, failed))
}

/// The console's end-to-end tests: the real binary driven through headless
/// Chromium by playwright-core (`node --test`, TAP summary lines). A missing
/// Chromium, Node or npm fails the run loudly rather than skipping it.
fn run_console_e2e() -> Result<(u64, u64), String> {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;

    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| CHROMIUM.to_owned());
    if !Path::new(&chromium).exists() {
        println!("xtask: console e2e tests NOT RUN: {chromium} is missing");
        return Err(format!(
            "the console's end-to-end tests need Chromium at {chromium}: \
             `apt-get install --no-install-recommends chromium` (.ci/run does this)"
        ));
    }
    for program in ["node", "npm"] {
        if !has(program) {
            return Err(format!(
                "the console's end-to-end tests need `{program}` (Node 20 or newer)"
            ));
        }
    }
    run_ok(
        cargo().args(["build", "-p", "omnigate", "--locked"]),
        "cargo build -p omnigate (the binary the console tests start)",
    )?;
    let dir = root().join(E2E_DIR);
    run_ok(
        Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(&dir),
        "npm ci (playwright-core for the console tests)",
    )?;
    eprintln!("xtask: node --test (console e2e in headless Chromium)");
    let mut child = Command::new("node")
        .args([
            "--test",
            "--test-reporter=tap",
            "--test-concurrency=1",
            "console.test.js",
        ])
        .env("CHROMIUM", &chromium)
        .current_dir(&dir)
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("node --test: cannot start: {e}"))?;
    let (mut passed, mut failed) = (0, 0);
    if let Some(stdout) = child.stdout.take() {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            println!("{line}");
            if let Some(n) = line.strip_prefix("# pass ") {
                passed += n.trim().parse::<u64>().unwrap_or(0);
            } else if let Some(n) = line.strip_prefix("# fail ") {
                failed += n.trim().parse::<u64>().unwrap_or(0);
            }
        }
    }
    let status = child.wait().map_err(|e| format!("node --test: {e}"))?;
    if !status.success() {
        println!("xtask: {passed} passed, {} failed", failed.max(1));
        return Err(format!("the console's end-to-end tests failed ({status})"));
    }
    Ok((passed, failed))
}

/// The number before `label` in a `test result:` line.
fn count(line: &str, label: &str) -> u64 {
    line.split(';')
        .find_map(|part| part.trim().strip_suffix(label.trim()))
        .and_then(|n| n.trim().rsplit(' ').next()?.parse().ok())
        .unwrap_or(0)
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
