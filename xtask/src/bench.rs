//! `cargo xtask bench`: the figures docs/benchmarks.md records.
//!
//! On one machine, in one run, alternating so drift hits both alike:
//! - authenticated `GET /api/v1/me` over HTTPS with keep-alive against
//!   omnigate, and `GET /` against a bare hyper+rustls hello-world with the
//!   same TLS set-up (`core/server/examples/bare_https_hello.rs`); each server
//!   pinned to CPU 0 with one runtime worker, wrk pinned to CPU 1;
//! - idle RSS of `omnigate serve` after start-up and after the load;
//! - time from exec to the listener accepting (omnigate builds its router,
//!   opens the store and loads TLS before binding, so a connection accepted
//!   means `/readyz` answers 200, which is checked right after).
//!
//! - durable 1 KiB inserts per second through group commit with 1 to 256
//!   concurrent writers (`core/store/examples/group_commit.rs`).
//!
//! Medians of `--runs` rounds are printed as a Markdown table, with the
//! server's CPU time per request beside req/s: on a shared machine the CPU
//! that other tenants steal moves req/s a lot and CPU per request little.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::util::{cargo, ensure_debian_package, root, run_ok};

pub(crate) const PASSWORD: &str = "benchmark password 1234";
pub(crate) const EMAIL: &str = "bench@localhost";

struct Options {
    runs: usize,
    secs: u64,
    connections: u32,
}

fn parse(args: &[String]) -> Result<Options, String> {
    let mut options = Options {
        runs: 3,
        secs: 10,
        connections: 64,
    };
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = |name: &str| -> Result<u64, String> {
            it.next()
                .and_then(|v| v.parse().ok())
                .ok_or_else(|| format!("{name} needs a number"))
        };
        match arg.as_str() {
            "--runs" => options.runs = value("--runs")?.max(1) as usize,
            "--secs" => options.secs = value("--secs")?.max(1),
            "--connections" => options.connections = value("--connections")?.max(1) as u32,
            other => return Err(format!("unknown option `{other}` for `bench`")),
        }
    }
    Ok(options)
}

pub fn run(args: &[String]) -> Result<(), String> {
    match args.first().map(String::as_str) {
        Some("ingest") => return crate::bench_ingest::run(&args[1..]),
        Some("search") => return crate::bench_ingest::run_search(&args[1..]),
        _ => {}
    }
    let options = parse(args)?;
    ensure_debian_package("wrk", "wrk")?;
    ensure_debian_package("curl", "curl")?;
    let build = [
        "build",
        "--release",
        "--locked",
        "-p",
        "omnigate",
        "-p",
        "omnigate-store",
        "--bin",
        "omnigate",
        "--example",
        "bare_https_hello",
        "--example",
        "group_commit",
    ];
    run_ok(
        cargo().args(build),
        "building omnigate and the benchmarks (release)",
    )?;
    let release = root().join("target/release");
    let omnigate = release.join("omnigate");
    let baseline = release.join("examples/bare_https_hello");

    let data = std::env::temp_dir().join(format!("omnigate-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data);
    let result = measure(&options, &omnigate, &baseline, &data);
    let _ = std::fs::remove_dir_all(&data);
    result?;

    println!(
        "\nGroup commit, durable 1 KiB inserts (core/store/examples/group_commit.rs, 3 s per step):\n"
    );
    let out = Command::new(release.join("examples/group_commit"))
        .arg("3")
        .output()
        .map_err(|e| format!("running group_commit: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "group_commit failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    print!("{}", String::from_utf8_lossy(&out.stdout));
    Ok(())
}

fn measure(options: &Options, omnigate: &Path, baseline: &Path, data: &Path) -> Result<(), String> {
    create_admin(omnigate, data)?;

    // Warm start (makes the certificate), then timed starts.
    let (server, _) = start_omnigate(omnigate, data, false)?;
    stop(server)?;
    let mut startups_ms = Vec::new();
    let mut bare_idle_kb = Vec::new();
    for _ in 0..5 {
        let (server, ms) = start_omnigate(omnigate, data, false)?;
        startups_ms.push(ms);
        std::thread::sleep(Duration::from_millis(500));
        bare_idle_kb.push(rss_kb(server.child.id())?);
        stop(server)?;
    }
    // The same with every first-party plugin installed: one start installs
    // and compiles them, the timed ones load them from the compiled cache.
    crate::plugins::build()?;
    crate::plugins::stage_first_party(&data.join("dropins"))?;
    let (server, _) = start_omnigate(omnigate, data, false)?;
    stop(server)?;
    let mut plugin_startups_ms = Vec::new();
    for _ in 0..5 {
        let (server, ms) = start_omnigate(omnigate, data, false)?;
        plugin_startups_ms.push(ms);
        stop(server)?;
    }

    let cert = data.join("tls/self-signed.crt");
    let key = data.join("tls/self-signed.key");
    let mut ours = Vec::new();
    let mut ours_cpu = Vec::new();
    let mut probe = Vec::new();
    let mut bare = Vec::new();
    let mut bare_cpu = Vec::new();
    let mut idle_rss_kb = Vec::new();
    let mut loaded_rss_kb = Vec::new();
    for round in 1..=options.runs {
        eprintln!("xtask: round {round}/{}", options.runs);
        let (mut hello, addr) = start_baseline(baseline, &cert, &key, true)?;
        let load = wrk(options, &format!("https://{addr}/"), None, hello.id())?;
        bare.push(load.per_sec);
        bare_cpu.push(load.cpu_us_per_request);
        let _ = hello.kill();
        let _ = hello.wait();

        let (server, _) = start_omnigate(omnigate, data, true)?;
        let cookie = login(server.addr)?;
        std::thread::sleep(Duration::from_secs(1));
        idle_rss_kb.push(rss_kb(server.child.id())?);
        let pid = server.child.id();
        let load = wrk(
            options,
            &format!("https://{}/api/v1/me", server.addr),
            Some(&cookie),
            pid,
        )?;
        ours.push(load.per_sec);
        ours_cpu.push(load.cpu_us_per_request);
        probe.push(
            wrk(
                options,
                &format!("https://{}/healthz", server.addr),
                None,
                pid,
            )?
            .per_sec,
        );
        loaded_rss_kb.push(rss_kb(server.child.id())?);
        stop(server)?;
    }

    let (ours_m, bare_m) = (median(&ours), median(&bare));
    println!("\n| figure | median | runs |");
    println!("|---|---|---|");
    println!(
        "| bare hyper+rustls `GET /`, req/s | {bare_m:.0} | {} |",
        list(&bare)
    );
    println!(
        "| omnigate authenticated `GET /api/v1/me`, req/s | {ours_m:.0} | {} |",
        list(&ours)
    );
    // Paired per round (the two ran back to back), so slow drift of the
    // machine cancels out; the median of these is the figure to quote.
    let ratios: Vec<f64> = ours.iter().zip(&bare).map(|(o, b)| 100.0 * o / b).collect();
    println!(
        "| omnigate / bare, median of per-round ratios | {:.0}% | {} |",
        median(&ratios),
        ratios
            .iter()
            .map(|r| format!("{r:.0}%"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!(
        "| omnigate / bare, ratio of medians | {:.0}% | |",
        100.0 * ours_m / bare_m
    );
    println!(
        "| server CPU per request, bare / omnigate, µs | {:.1} / {:.1} = {:.0}% | {} / {} |",
        median(&bare_cpu),
        median(&ours_cpu),
        100.0 * median(&bare_cpu) / median(&ours_cpu),
        list1(&bare_cpu),
        list1(&ours_cpu)
    );
    println!(
        "| omnigate unauthenticated `GET /healthz` (all layers, no auth), req/s | {:.0} ({:.0}% of bare) | {} |",
        median(&probe),
        100.0 * median(&probe) / bare_m,
        list(&probe)
    );
    println!(
        "| idle RSS after start-up and one login, the first-party plugins loaded, MB | {:.1} | {} |",
        median(&idle_rss_kb) / 1024.0,
        list_mb(&idle_rss_kb)
    );
    println!(
        "| RSS right after the load, MB | {:.1} | {} |",
        median(&loaded_rss_kb) / 1024.0,
        list_mb(&loaded_rss_kb)
    );
    println!(
        "| idle RSS after start-up without plugins, MB | {:.1} | {} |",
        median(&bare_idle_kb) / 1024.0,
        list_mb(&bare_idle_kb)
    );
    println!(
        "| exec to listening (warm data dir), ms | {:.1} | {} |",
        median(&startups_ms),
        list(&startups_ms)
    );
    println!(
        "| the same with the {} first-party plugins loaded from the compiled cache, ms | {:.1} | {} |",
        crate::plugins::FIRST_PARTY.len(),
        median(&plugin_startups_ms),
        list(&plugin_startups_ms)
    );
    println!(
        "\nwrk -t1 -c{} -d{}s, keep-alive, HTTP/1.1 over TLS 1.3; servers on CPU 0 with one tokio worker, wrk on CPU 1.",
        options.connections, options.secs
    );
    Ok(())
}

/// Creates the benchmark admin in a fresh data directory.
pub(crate) fn create_admin(omnigate: &Path, data: &Path) -> Result<(), String> {
    let mut create = command(omnigate, data);
    create
        .args([
            "admin",
            "create-user",
            "--email",
            EMAIL,
            "--name",
            "Bench",
            "--role",
            "admin",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::null());
    let mut child = create.spawn().map_err(|e| e.to_string())?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(PASSWORD.as_bytes())
            .map_err(|e| e.to_string())?;
    }
    if !child.wait().map_err(|e| e.to_string())?.success() {
        return Err("creating the benchmark user failed".into());
    }

    Ok(())
}

pub(crate) fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted[sorted.len() / 2]
}

pub(crate) fn list(values: &[f64]) -> String {
    values
        .iter()
        .map(|v| format!("{v:.0}"))
        .collect::<Vec<_>>()
        .join(", ")
}

pub(crate) fn list1(values: &[f64]) -> String {
    values
        .iter()
        .map(|v| format!("{v:.1}"))
        .collect::<Vec<_>>()
        .join(", ")
}

pub(crate) fn list_mb(values: &[f64]) -> String {
    values
        .iter()
        .map(|v| format!("{:.1}", v / 1024.0))
        .collect::<Vec<_>>()
        .join(", ")
}

pub(crate) fn command(omnigate: &Path, data: &Path) -> Command {
    let mut command = Command::new(omnigate);
    command
        .env("OMNIGATE_STORAGE__DATA_DIR", data)
        .env("OMNIGATE_PLUGINS__DIR", data.join("dropins"))
        .env("OMNIGATE_SERVER__LISTEN", "127.0.0.1:0")
        .env("OMNIGATE_LOGGING__FORMAT", "json");
    command
}

pub(crate) struct Running {
    pub(crate) child: Child,
    pub(crate) addr: SocketAddr,
}

/// Starts omnigate; returns it and the milliseconds from exec to a
/// connection being accepted.
pub(crate) fn start_omnigate(
    omnigate: &Path,
    data: &Path,
    pinned: bool,
) -> Result<(Running, f64), String> {
    let mut cmd = if pinned {
        let mut c = Command::new("taskset");
        c.args(["-c", "0"]).arg(omnigate);
        c.env("TOKIO_WORKER_THREADS", "1");
        c
    } else {
        Command::new(omnigate)
    };
    let base = command(omnigate, data);
    for (key, value) in base.get_envs() {
        if let Some(value) = value {
            cmd.env(key, value);
        }
    }
    cmd.arg("serve")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let began = Instant::now();
    let mut child = cmd.spawn().map_err(|e| format!("starting omnigate: {e}"))?;
    let stderr = child.stderr.take().ok_or("no stderr")?;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if line.contains("\"message\":\"listening\"") {
                let addr = line
                    .split("\"addr\":\"")
                    .nth(1)
                    .and_then(|rest| rest.split('"').next())
                    .unwrap_or_default()
                    .to_owned();
                let _ = tx.send(addr);
            }
        }
    });
    // The port is ephemeral, so poll for the log line and the socket together.
    let addr: SocketAddr = loop {
        if let Ok(addr) = rx.try_recv() {
            break addr
                .parse()
                .map_err(|e| format!("bad listen address: {e}"))?;
        }
        if began.elapsed() > Duration::from_secs(20) {
            let _ = child.kill();
            return Err("omnigate did not start within 20 s".into());
        }
        std::thread::sleep(Duration::from_micros(200));
    };
    while TcpStream::connect(addr).is_err() {
        std::thread::sleep(Duration::from_micros(200));
    }
    let ms = began.elapsed().as_secs_f64() * 1000.0;
    let ready = Command::new("curl")
        .args(["-sk", "-o", "/dev/null", "-w", "%{http_code}"])
        .arg(format!("https://{addr}/readyz"))
        .output()
        .map_err(|e| e.to_string())?;
    if String::from_utf8_lossy(&ready.stdout) != "200" {
        return Err("/readyz did not answer 200 after the listener accepted".into());
    }
    Ok((Running { child, addr }, ms))
}

pub(crate) fn stop(mut server: Running) -> Result<(), String> {
    Command::new("kill")
        .args(["-TERM", &server.child.id().to_string()])
        .status()
        .map_err(|e| e.to_string())?;
    server.child.wait().map_err(|e| e.to_string())?;
    Ok(())
}

pub(crate) fn start_baseline(
    baseline: &Path,
    cert: &Path,
    key: &Path,
    pinned: bool,
) -> Result<(Child, SocketAddr), String> {
    let mut cmd = if pinned {
        let mut c = Command::new("taskset");
        c.args(["-c", "0"]).arg(baseline);
        c.env("TOKIO_WORKER_THREADS", "1");
        c
    } else {
        Command::new(baseline)
    };
    let mut child = cmd
        .arg(cert)
        .arg(key)
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("starting the baseline: {e}"))?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .map_err(|e| e.to_string())?;
    let addr = line
        .trim()
        .strip_prefix("listening ")
        .and_then(|a| a.parse().ok())
        .ok_or_else(|| format!("baseline printed `{line}`"))?;
    Ok((child, addr))
}

fn login(addr: SocketAddr) -> Result<String, String> {
    let out = Command::new("curl")
        .args([
            "-sk",
            "-D",
            "-",
            "-o",
            "/dev/null",
            "-H",
            "content-type: application/json",
            "-d",
        ])
        .arg(format!(
            "{{\"email\":\"{EMAIL}\",\"password\":\"{PASSWORD}\"}}"
        ))
        .arg(format!("https://{addr}/api/v1/auth/login"))
        .output()
        .map_err(|e| e.to_string())?;
    let headers = String::from_utf8_lossy(&out.stdout);
    headers
        .lines()
        .find_map(|l| l.strip_prefix("set-cookie: "))
        .and_then(|c| c.split(';').next())
        .map(str::to_owned)
        .ok_or_else(|| format!("login failed: {headers}"))
}

pub(crate) fn rss_kb(pid: u32) -> Result<f64, String> {
    let status =
        std::fs::read_to_string(format!("/proc/{pid}/status")).map_err(|e| e.to_string())?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .ok_or_else(|| "no VmRSS".to_owned())
}

/// What one wrk run measured.
struct Load {
    /// Requests per second, as wrk counted them.
    per_sec: f64,
    /// Server CPU time (user + system) per request, in microseconds. Unlike
    /// req/s it does not move with the CPU time other tenants of the machine
    /// steal, so its ratio is the steadier efficiency figure.
    cpu_us_per_request: f64,
}

/// utime + stime of a process, in clock ticks (USER_HZ, 100 per second).
pub(crate) fn cpu_ticks(pid: u32) -> Result<u64, String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).map_err(|e| e.to_string())?;
    let after_name = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .unwrap_or_default();
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let field = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    Ok(field(11) + field(12))
}

fn wrk(
    options: &Options,
    url: &str,
    cookie: Option<&str>,
    server_pid: u32,
) -> Result<Load, String> {
    let mut cmd = Command::new("taskset");
    cmd.args(["-c", "1", "wrk", "-t1"])
        .arg(format!("-c{}", options.connections))
        .arg(format!("-d{}s", options.secs));
    if let Some(cookie) = cookie {
        cmd.args(["-H", &format!("Cookie: {cookie}")]);
    }
    let ticks_before = cpu_ticks(server_pid)?;
    let out = cmd
        .arg(url)
        .output()
        .map_err(|e| format!("running wrk: {e}"))?;
    let ticks = cpu_ticks(server_pid)? - ticks_before;
    let text = String::from_utf8_lossy(&out.stdout);
    if text.contains("Non-2xx") {
        return Err(format!("wrk saw error responses:\n{text}"));
    }
    let per_sec: f64 = text
        .lines()
        .find_map(|l| l.strip_prefix("Requests/sec:"))
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| format!("no Requests/sec in wrk output:\n{text}"))?;
    let requests: f64 = text
        .lines()
        .find_map(|l| l.trim().split_once(" requests in "))
        .and_then(|(n, _)| n.trim().parse().ok())
        .ok_or_else(|| format!("no request count in wrk output:\n{text}"))?;
    Ok(Load {
        per_sec,
        cpu_us_per_request: ticks as f64 * 10_000.0 / requests.max(1.0),
    })
}
