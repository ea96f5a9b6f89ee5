//! `cargo xtask bench ingest` and `cargo xtask bench search`: the
//! conversation engine's figures (issue 4).
//!
//! ingest, in one run, alternating so drift hits both alike:
//! - durable inbound messages per second through the API channel's webhook,
//!   each stored, routed and pushed to its agent's WebSocket, with `--agents`
//!   agents connected (`core/server/examples/ingest_load.rs`), beside a bare
//!   hyper+rustls server that parses the same JSON body
//!   (`core/server/examples/bare_https_hello.rs`); both servers use the
//!   machine's two cores, as does the load generator;
//! - the same through a channel plugin (the well-behaved test channel:
//!   WhatsApp-shaped webhooks, HMAC-checked and parsed in its sandbox) in
//!   the same rounds, as a share of the API channel's rate;
//! - POST-to-WebSocket-frame latency at half the measured rate;
//! - RSS of omnigate with 10,000 idle console WebSockets.
//!
//! search: p50/p95 of history searches over `--messages` stored messages
//! (`core/server/examples/search_load.rs`).

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::bench::{
    EMAIL, PASSWORD, create_admin, list, list_mb, median, rss_kb, start_baseline, start_omnigate,
    stop,
};
use crate::util::{cargo, root, run_ok};

struct Options {
    runs: usize,
    secs: u64,
    agents: usize,
    contacts: usize,
    connections: usize,
    idle: usize,
    /// Another omnigate binary (say, the code before a change) measured in
    /// the same rounds, right after this one, through the API channel.
    compare: Option<std::path::PathBuf>,
    /// Skip the plugin channel's rounds.
    no_plugin: bool,
    /// Another build of a channel plugin (say, the well-behaved channel
    /// against an older SDK), installed beside the first under its own
    /// manifest name and measured in the same rounds, the two alternating
    /// which goes first: `(kind, wasm file)`.
    compare_plugin: Option<(String, std::path::PathBuf)>,
}

fn parse(args: &[String]) -> Result<Options, String> {
    let mut o = Options {
        runs: 3,
        secs: 10,
        agents: 1000,
        contacts: 2000,
        connections: 256,
        idle: 10_000,
        compare: None,
        no_plugin: false,
        compare_plugin: None,
    };
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = |name: &str| -> Result<usize, String> {
            it.next()
                .and_then(|v| v.parse().ok())
                .ok_or_else(|| format!("{name} needs a number"))
        };
        match arg.as_str() {
            "--runs" => o.runs = value("--runs")?.max(1),
            "--secs" => o.secs = value("--secs")?.max(1) as u64,
            "--agents" => o.agents = value("--agents")?.max(1),
            "--contacts" => o.contacts = value("--contacts")?.max(1),
            "--connections" => o.connections = value("--connections")?.max(1),
            "--idle" => o.idle = value("--idle")?,
            "--compare" => {
                o.compare = Some(
                    it.next()
                        .ok_or("--compare needs the path of an omnigate binary")?
                        .into(),
                );
            }
            "--no-plugin" => o.no_plugin = true,
            "--compare-plugin" => {
                let spec = it.next().ok_or(
                    "--compare-plugin needs KIND=FILE (the plugin's manifest name and its .wasm)",
                )?;
                let (kind, file) = spec.split_once('=').ok_or(
                    "--compare-plugin needs KIND=FILE (the plugin's manifest name and its .wasm)",
                )?;
                o.compare_plugin = Some((kind.to_owned(), file.into()));
            }
            other => return Err(format!("unknown option `{other}` for `bench ingest`")),
        }
    }
    Ok(o)
}

fn build(examples: &[&str]) -> Result<(), String> {
    let mut args = vec![
        "build",
        "--release",
        "--locked",
        "-p",
        "omnigate",
        "--bin",
        "omnigate",
    ];
    for e in examples {
        args.extend(["--example", e]);
    }
    run_ok(
        cargo().args(&args),
        "building omnigate and the load tools (release)",
    )
}

/// Runs the load tool; returns its JSON summary line.
fn load(tool: &Path, args: &[String]) -> Result<String, String> {
    let out = Command::new(tool)
        .args(args)
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("running ingest_load: {e}"))?;
    if !out.status.success() {
        return Err(format!("ingest_load failed ({})", out.status));
    }
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .last()
        .map(str::to_owned)
        .ok_or_else(|| "ingest_load printed nothing".into())
}

/// A number field of the tool's JSON line.
fn field(line: &str, name: &str) -> f64 {
    line.split(&format!("\"{name}\":"))
        .nth(1)
        .and_then(|rest| rest.split([',', '}']).next())
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(f64::NAN)
}

pub fn run(args: &[String]) -> Result<(), String> {
    let o = parse(args)?;
    build(&["ingest_load", "bare_https_hello"])?;
    if !o.no_plugin {
        crate::plugins::build()?;
    }
    let release = root().join("target/release");
    let omnigate = release.join("omnigate");
    let tool = release.join("examples/ingest_load");
    let baseline = release.join("examples/bare_https_hello");
    let data = std::env::temp_dir().join(format!("omnigate-ingest-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data);
    let result = measure(&o, &omnigate, &tool, &baseline, &data);
    let _ = std::fs::remove_dir_all(&data);
    result
}

fn measure(
    o: &Options,
    omnigate: &Path,
    tool: &Path,
    baseline: &Path,
    data: &Path,
) -> Result<(), String> {
    create_admin(omnigate, data)?;
    // The channel plugin the plugin rounds go through, installed at the
    // first start (which also compiles it into the cache).
    let dropins = data.join("dropins");
    std::fs::create_dir_all(&dropins).map_err(|e| e.to_string())?;
    if !o.no_plugin {
        let plugin = crate::plugins::dir().join("target/wasm32-wasip2/release/well_behaved.wasm");
        std::fs::copy(&plugin, dropins.join("well_behaved.wasm"))
            .map_err(|e| format!("{}: {e}", plugin.display()))?;
        if let Some((kind, file)) = &o.compare_plugin {
            std::fs::copy(file, dropins.join(format!("compared_{kind}.wasm")))
                .map_err(|e| format!("{}: {e}", file.display()))?;
        }
    }
    // First start makes the certificate.
    let (server, _) = start_omnigate(omnigate, data, false)?;
    stop(server)?;
    let cert = data.join("tls/self-signed.crt");
    let key = data.join("tls/self-signed.key");
    let common = |url: String| -> Vec<String> {
        vec![
            "--url".into(),
            url,
            "--cert".into(),
            cert.display().to_string(),
            "--email".into(),
            EMAIL.into(),
            "--password".into(),
            PASSWORD.into(),
            "--agents".into(),
            o.agents.to_string(),
            "--contacts".into(),
            o.contacts.to_string(),
            "--connections".into(),
            o.connections.to_string(),
            "--secs".into(),
            o.secs.to_string(),
        ]
    };
    let (mut ours, mut bare, mut errors, mut p50, mut p99, mut frames, mut rss) =
        (vec![], vec![], vec![], vec![], vec![], vec![], vec![]);
    let mut rates = vec![];
    let mut through_plugin = vec![];
    let mut compared = vec![];
    let mut through_compared_plugin = vec![];
    for round in 1..=o.runs {
        eprintln!("xtask: ingest round {round}/{}", o.runs);
        let (mut hello, addr) = start_baseline(baseline, &cert, &key, false)?;
        let mut args = common(format!("https://{addr}"));
        args.push("--bare".into());
        let line = load(tool, &args)?;
        bare.push(field(&line, "per_sec"));
        let _ = hello.kill();
        let _ = hello.wait();

        let (server, _) = start_omnigate(omnigate, data, false)?;
        let line = load(tool, &common(format!("https://{}", server.addr)))?;
        eprintln!("xtask: {line}");
        let rate = field(&line, "per_sec");
        ours.push(rate);
        errors.push(field(&line, "errors"));
        frames.push(field(&line, "frames"));
        rss.push(rss_kb(server.child.id())?);
        // Latency at half the rate just measured.
        let half = (rate / 2.0).max(1.0) as u64;
        rates.push(half as f64);
        let mut args = common(format!("https://{}", server.addr));
        args.extend(["--rate".into(), half.to_string()]);
        let line = load(tool, &args)?;
        eprintln!("xtask: {line}");
        p50.push(field(&line, "p50_ms"));
        p99.push(field(&line, "p99_ms"));
        stop(server)?;

        if let Some(other) = &o.compare {
            let (server, _) = start_omnigate(other, data, false)?;
            let line = load(tool, &common(format!("https://{}", server.addr)))?;
            eprintln!("xtask: compared binary: {line}");
            compared.push(field(&line, "per_sec"));
            stop(server)?;
        }

        if !o.no_plugin {
            let through = |kind: &str| -> Result<f64, String> {
                let (server, _) = start_omnigate(omnigate, data, false)?;
                let mut args = common(format!("https://{}", server.addr));
                args.extend(["--plugin".into(), kind.to_owned()]);
                let line = load(tool, &args)?;
                eprintln!("xtask: plugin channel {kind}: {line}");
                stop(server)?;
                Ok(field(&line, "per_sec"))
            };
            match &o.compare_plugin {
                None => through_plugin.push(through("well-behaved")?),
                // Odd rounds measure the usual build first, even rounds the
                // compared one, so the database's growth favours neither.
                Some((kind, _)) if round % 2 == 1 => {
                    through_plugin.push(through("well-behaved")?);
                    through_compared_plugin.push(through(kind)?);
                }
                Some((kind, _)) => {
                    through_compared_plugin.push(through(kind)?);
                    through_plugin.push(through("well-behaved")?);
                }
            }
        }
    }

    // Idle consoles.
    let (server, _) = start_omnigate(omnigate, data, false)?;
    let before_kb = rss_kb(server.child.id())?;
    let mut args = common(format!("https://{}", server.addr));
    args.extend(["--idle-agents".into(), o.idle.to_string()]);
    let mut idle = Command::new(tool)
        .args(&args)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("running ingest_load: {e}"))?;
    let mut stdout = BufReader::new(idle.stdout.take().ok_or("no stdout")?);
    let mut line = String::new();
    // First the agents log in (the tool then waits two seconds), then the
    // sockets open.
    stdout.read_line(&mut line).map_err(|e| e.to_string())?;
    let logged_in_kb = rss_kb(server.child.id())?;
    line.clear();
    stdout.read_line(&mut line).map_err(|e| e.to_string())?;
    std::thread::sleep(Duration::from_secs(2));
    let idle_kb = rss_kb(server.child.id())?;
    let _ = idle.kill();
    let _ = idle.wait();
    stop(server)?;

    let ratios = per_round(&ours, &bare);
    println!("\n| figure | median | runs |");
    println!("|---|---|---|");
    println!(
        "| bare hyper+rustls, POST parsing the same JSON, req/s | {:.0} | {} |",
        median(&bare),
        list(&bare)
    );
    println!(
        "| omnigate durable inbound messages/s, routed and pushed ({} agents on WebSockets) | {:.0} | {} |",
        o.agents,
        median(&ours),
        list(&ours)
    );
    println!(
        "| omnigate / bare, median of per-round ratios | {:.0}% | {} |",
        median(&ratios),
        percents(&ratios)
    );
    if let Some(other) = &o.compare {
        let compared_ratios = per_round(&compared, &bare);
        let gains = per_round(&ours, &compared);
        println!(
            "| compared binary ({}), msg/s | {:.0} | {} |",
            other.display(),
            median(&compared),
            list(&compared)
        );
        println!(
            "| compared binary / bare, median of per-round ratios | {:.0}% | {} |",
            median(&compared_ratios),
            percents(&compared_ratios)
        );
        println!(
            "| omnigate / compared binary, median of per-round ratios | {:.0}% | {} |",
            median(&gains),
            percents(&gains)
        );
    }
    // With --no-plugin there are no plugin rounds to report (and the
    // median of nothing is undefined).
    if !through_plugin.is_empty() {
        let plugin_ratios = per_round(&through_plugin, &ours);
        println!(
            "| the same through a channel plugin (signed WhatsApp-shaped webhooks parsed in the sandbox), msg/s | {:.0} | {} |",
            median(&through_plugin),
            list(&through_plugin)
        );
        println!(
            "| plugin channel / API channel, median of per-round ratios | {:.0}% | {} |",
            median(&plugin_ratios),
            percents(&plugin_ratios)
        );
    }
    if let Some((kind, file)) = &o.compare_plugin {
        let to_api = per_round(&through_compared_plugin, &ours);
        let to_usual = per_round(&through_plugin, &through_compared_plugin);
        println!(
            "| compared plugin build `{kind}` ({}), msg/s | {:.0} | {} |",
            file.display(),
            median(&through_compared_plugin),
            list(&through_compared_plugin)
        );
        println!(
            "| compared plugin channel / API channel, median of per-round ratios | {:.0}% | {} |",
            median(&to_api),
            percents(&to_api)
        );
        println!(
            "| well-behaved / compared plugin build, median of per-round ratios | {:.0}% | {} |",
            median(&to_usual),
            percents(&to_usual)
        );
    }
    println!(
        "| failed requests during the load | {:.0} | {} |",
        median(&errors),
        list(&errors)
    );
    println!(
        "| WebSocket frames received during the load | {:.0} | {} |",
        median(&frames),
        list(&frames)
    );
    println!(
        "| POST → agent's frame latency at half rate ({} msg/s), p50 ms | {:.1} | {} |",
        median(&rates),
        median(&p50),
        p50.iter()
            .map(|v| format!("{v:.1}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!(
        "| same, p99 ms | {:.1} | {} |",
        median(&p99),
        p99.iter()
            .map(|v| format!("{v:.1}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!(
        "| RSS right after the load, MB | {:.1} | {} |",
        median(&rss) / 1024.0,
        list_mb(&rss)
    );
    println!(
        "| RSS with {} idle console WebSockets ({}), MB | {:.1} (at start: {:.1}; after {} agents logged in: {:.1}) | |",
        o.idle,
        line.trim(),
        idle_kb / 1024.0,
        before_kb / 1024.0,
        o.agents,
        logged_in_kb / 1024.0
    );
    println!(
        "\n{} keep-alive HTTP/1.1 connections over TLS 1.3, {} s per run, {} contacts; server, baseline and load generator share the 2 cores.",
        o.connections, o.secs, o.contacts
    );
    Ok(())
}

/// `a / b` of each round, in percent.
fn per_round(a: &[f64], b: &[f64]) -> Vec<f64> {
    a.iter().zip(b).map(|(a, b)| 100.0 * a / b).collect()
}

/// Per-round ratios as a table cell: `74%, 62%, 71%`.
fn percents(ratios: &[f64]) -> String {
    ratios
        .iter()
        .map(|r| format!("{r:.0}%"))
        .collect::<Vec<_>>()
        .join(", ")
}

pub fn run_search(args: &[String]) -> Result<(), String> {
    let mut messages = 1_000_000usize;
    let mut queries = 200usize;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = |name: &str| -> Result<usize, String> {
            it.next()
                .and_then(|v| v.parse().ok())
                .ok_or_else(|| format!("{name} needs a number"))
        };
        match arg.as_str() {
            "--messages" => messages = value("--messages")?,
            "--queries" => queries = value("--queries")?,
            other => return Err(format!("unknown option `{other}` for `bench search`")),
        }
    }
    run_ok(
        cargo().args([
            "build",
            "--release",
            "--locked",
            "-p",
            "omnigate-engine",
            "--example",
            "search_load",
        ]),
        "building the search benchmark (release)",
    )?;
    let tool = root().join("target/release/examples/search_load");
    let dir = std::env::temp_dir().join(format!("omnigate-search-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let status = Command::new(tool)
        .arg(&dir)
        .arg(messages.to_string())
        .arg(queries.to_string())
        .status()
        .map_err(|e| format!("running search_load: {e}"));
    let _ = std::fs::remove_dir_all(&dir);
    if status?.success() {
        Ok(())
    } else {
        Err("search_load failed".into())
    }
}
