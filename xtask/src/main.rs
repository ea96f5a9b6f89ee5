//! omnigate's build automation (`cargo xtask <command>`), in Rust so it runs
//! wherever cargo does. Standard library only: it must build in seconds on a
//! fresh machine.
//!
//! - `run`: build and start the server with development defaults, creating a
//!   first admin on an empty data directory and printing its password once.
//! - `test`: everything CI checks: formatting, clippy with warnings denied,
//!   every test of the workspace, then the console's end-to-end tests in
//!   headless Chromium.
//! - `plugins`: build the WASM plugins (`plugins/`) for `wasm32-wasip2`,
//!   adding the target when it is missing.
//! - `bench`: the HTTPS throughput, idle memory and start-up figures of
//!   docs/benchmarks.md, beside a bare hyper+rustls baseline.

mod bench;
mod bench_ingest;
mod plugins;
mod run;
mod test;
mod util;

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (command, rest) = match args.split_first() {
        Some((command, rest)) => (command.as_str(), rest),
        None => ("help", &[][..]),
    };
    let result = match command {
        "run" => run::run(rest),
        "test" => test::run(rest),
        "bench" => bench::run(rest),
        "plugins" => plugins::run(rest),
        "help" | "--help" | "-h" => {
            println!(
                "cargo xtask <command>\n\n  run [--release] [-- SERVE ARGS]  start omnigate with dev defaults (first admin created on an empty ./data)\n  test                             plugins, fmt check, clippy -D warnings, all tests, console e2e in Chromium\n  plugins                          build plugins/ for wasm32-wasip2 (adds the target if missing)\n  bench [--runs N] [--secs S]      HTTPS req/s vs a bare hyper+rustls baseline, idle RSS, start-up time\n  bench ingest [--runs N] [--secs S] [--agents N] [--compare BIN] [--compare-plugin KIND=WASM]\n                                   durable inbound messages/s with agents on WebSockets, latency, memory of idle consoles\n  bench search [--messages N]      history search latency over N stored messages"
            );
            Ok(())
        }
        other => Err(format!("unknown command `{other}`; try `cargo xtask help`")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask: {message}");
            ExitCode::FAILURE
        }
    }
}
