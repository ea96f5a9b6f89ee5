//! The ingest load generator behind `cargo xtask bench ingest`.
//!
//! Against omnigate: sets up an API channel and `--agents` agents (users,
//! API tokens, online, each following `/api/v1/events` over a WebSocket),
//! warms up `--contacts` conversations (one per contact, so every agent
//! holds some), then POSTs inbound messages from `--connections` keep-alive
//! HTTPS connections for `--secs` seconds, as fast as the server answers or
//! at `--rate` messages per second in total. Each message carries its send
//! time; the agent's WebSocket reader computes POST-to-frame latency.
//!
//! Against the bare baseline (`--bare`): the same POSTs, nothing else.
//!
//! Prints one JSON line: sent, ok, errors, seconds, per_sec, frames, and
//! latency percentiles in milliseconds.
//!
//! Usage: ingest_load --url https://127.0.0.1:PORT --cert CERT.pem
//!        [--bare] [--email E --password P] [--agents N] [--contacts N]
//!        [--connections N] [--secs S] [--rate R] [--idle-agents N]

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

#[derive(Debug, Clone)]
struct Options {
    url: String,
    cert: String,
    bare: bool,
    email: String,
    password: String,
    agents: usize,
    contacts: usize,
    connections: usize,
    secs: u64,
    rate: Option<u64>,
    /// Only open this many idle WebSockets and report memory (no load).
    idle_agents: Option<usize>,
    /// Send through a channel of this channel plugin (WhatsApp-shaped,
    /// signed webhooks) instead of the API channel.
    plugin: Option<String>,
}

/// The app secret of the benchmark's plugin channel.
const APP_SECRET: &str = "bench-app-secret";

fn options() -> Options {
    let mut o = Options {
        url: String::new(),
        cert: String::new(),
        bare: false,
        email: "bench@localhost".into(),
        password: "benchmark password 1234".into(),
        agents: 1000,
        contacts: 2000,
        connections: 64,
        secs: 10,
        rate: None,
        idle_agents: None,
        plugin: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().expect("option needs a value");
        match arg.as_str() {
            "--url" => o.url = value(),
            "--cert" => o.cert = value(),
            "--bare" => o.bare = true,
            "--email" => o.email = value(),
            "--password" => o.password = value(),
            "--agents" => o.agents = value().parse().unwrap(),
            "--contacts" => o.contacts = value().parse().unwrap(),
            "--connections" => o.connections = value().parse().unwrap(),
            "--secs" => o.secs = value().parse().unwrap(),
            "--rate" => o.rate = Some(value().parse().unwrap()),
            "--idle-agents" => o.idle_agents = Some(value().parse().unwrap()),
            "--plugin" => o.plugin = Some(value()),
            other => panic!("unknown option {other}"),
        }
    }
    assert!(
        !o.url.is_empty() && !o.cert.is_empty(),
        "--url and --cert are required"
    );
    o
}

fn client(o: &Options) -> reqwest::Client {
    let pem = std::fs::read(&o.cert).unwrap();
    reqwest::Client::builder()
        .use_rustls_tls()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(&pem).unwrap())
        .http1_only()
        .pool_max_idle_per_host(o.connections + 16)
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

struct Admin {
    cookie: String,
    csrf: String,
}

async fn call(
    http: &reqwest::Client,
    o: &Options,
    admin: &Admin,
    method: reqwest::Method,
    path: &str,
    body: Value,
) -> Value {
    let response = http
        .request(method, format!("{}{path}", o.url))
        .header(
            "cookie",
            format!("__Host-omnigate_session={}", admin.cookie),
        )
        .header("x-csrf-token", &admin.csrf)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    assert!(status.is_success(), "{path}: {status} {body}");
    body
}

async fn login(http: &reqwest::Client, o: &Options) -> Admin {
    let response = http
        .post(format!("{}/api/v1/auth/login", o.url))
        .json(&json!({ "email": o.email, "password": o.password }))
        .send()
        .await
        .unwrap();
    let cookie = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix("__Host-omnigate_session="))
        .map(|v| v.split(';').next().unwrap().to_owned())
        .expect("login failed");
    let body: Value = response.json().await.unwrap();
    Admin {
        cookie,
        csrf: body["csrf_token"].as_str().unwrap().to_owned(),
    }
}

/// Creates (or finds) `n` agents and returns an API token for each.
async fn agents(http: &reqwest::Client, o: &Options, admin: &Admin, n: usize) -> Vec<String> {
    let users = call(
        http,
        o,
        admin,
        reqwest::Method::GET,
        "/api/v1/users",
        Value::Null,
    )
    .await;
    let mut ids = Vec::new();
    let existing: Vec<(String, u64)> = users["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| {
            (
                u["email"].as_str().unwrap().to_owned(),
                u["id"].as_u64().unwrap(),
            )
        })
        .collect();
    let mut missing = Vec::new();
    for i in 0..n {
        let email = format!("agent{i}@bench.local");
        match existing.iter().find(|(e, _)| *e == email) {
            Some((_, id)) => ids.push(*id),
            None => missing.push(email),
        }
    }
    if !missing.is_empty() {
        eprintln!(
            "ingest_load: creating {} agents (password hashing: this takes a while)",
            missing.len()
        );
    }
    // Two at a time: each creation hashes a password with argon2id.
    for chunk in missing.chunks(2) {
        let created = futures_util::future::join_all(chunk.iter().map(|email| {
            call(
                http,
                o,
                admin,
                reqwest::Method::POST,
                "/api/v1/users",
                json!({ "email": email, "display_name": email, "role": "agent", "password": "a long enough password" }),
            )
        }))
        .await;
        ids.extend(created.iter().map(|c| c["user"]["id"].as_u64().unwrap()));
    }
    let mut tokens = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(32) {
        let made = futures_util::future::join_all(chunk.iter().map(|id| {
            call(
                http,
                o,
                admin,
                reqwest::Method::POST,
                "/api/v1/tokens",
                json!({ "name": "bench", "user_id": id }),
            )
        }))
        .await;
        tokens.extend(
            made.iter()
                .map(|t| t["secret"].as_str().unwrap().to_owned()),
        );
    }
    tokens
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_rustls::client::TlsStream<tokio::net::TcpStream>>;

async fn open_socket(o: &Options, tls: &tokio_rustls::TlsConnector, token: &str) -> Socket {
    let host = o.url.trim_start_matches("https://");
    let tcp = tokio::net::TcpStream::connect(host).await.unwrap();
    let _ = tcp.set_nodelay(true);
    let stream = tls
        .connect(ServerName::try_from("127.0.0.1").unwrap(), tcp)
        .await
        .unwrap();
    let mut request = format!("wss://{host}/api/v1/events")
        .into_client_request()
        .unwrap();
    request
        .headers_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    tokio_tungstenite::client_async(request, stream)
        .await
        .unwrap()
        .0
}

fn tls_connector(o: &Options) -> tokio_rustls::TlsConnector {
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_file(&o.cert).unwrap())
        .unwrap();
    let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    tokio_rustls::TlsConnector::from(Arc::new(config))
}

/// What the WebSocket readers saw.
#[derive(Default)]
struct Seen {
    frames: AtomicU64,
    latencies_us: std::sync::Mutex<Vec<u32>>,
}

fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    f64::from(sorted[i]) / 1000.0
}

/// One inbound message: the API channel's JSON, or a WhatsApp Cloud
/// webhook (with its `X-Hub-Signature-256`) for a plugin channel.
fn message_body(
    plugin: bool,
    run: u64,
    task: usize,
    seq: u64,
    contact: usize,
    sent_us: u64,
) -> (String, Option<String>) {
    if plugin {
        let body = json!({
            "object": "whatsapp_business_account",
            "entry": [{ "id": "1", "changes": [{ "field": "messages", "value": {
                "messaging_product": "whatsapp",
                "metadata": { "display_phone_number": "15550783881", "phone_number_id": "106540352242922" },
                "contacts": [{ "profile": { "name": format!("Customer {contact}") }, "wa_id": format!("90555{contact:07}") }],
                "messages": [{
                    "from": format!("90555{contact:07}"), "id": format!("wamid.r{run}-{task}-{seq}"),
                    "timestamp": "1749416383", "type": "text",
                    "text": { "body": format!("t{sent_us} Merhaba, siparişim nerede?") }
                }]
            }}]}]
        })
        .to_string();
        let signature = {
            use hmac::{Hmac, Mac};
            let mut mac = Hmac::<sha2::Sha256>::new_from_slice(APP_SECRET.as_bytes()).unwrap();
            mac.update(body.as_bytes());
            format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
        };
        return (body, Some(signature));
    }
    let body = json!({
        "type": "message",
        "message_id": format!("r{run}-{task}-{seq}"),
        "contact": { "id": format!("c{contact}"), "name": format!("Customer {contact}") },
        "content": { "type": "text", "text": format!("t{sent_us} Merhaba, siparişim nerede?") },
    })
    .to_string();
    (body, None)
}

#[tokio::main]
async fn main() {
    let o = options();
    let http = client(&o);
    let start = Instant::now();
    let run = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let (path, token) = if o.bare {
        ("/ingest".to_owned(), String::new())
    } else {
        let admin = login(&http, &o).await;
        let channel = call(
            &http,
            &o,
            &admin,
            reqwest::Method::POST,
            "/api/v1/channels",
            match &o.plugin {
                Some(kind) => json!({
                    "name": format!("bench {run}"),
                    "kind": kind,
                    "secrets": { "app_secret": APP_SECRET },
                }),
                None => json!({ "name": format!("bench {run}") }),
            },
        )
        .await;
        let channel_id = channel["channel"]["id"].as_u64().unwrap();
        let token = channel["inbound_token"].as_str().unwrap().to_owned();

        let tokens = agents(&http, &o, &admin, o.agents).await;
        // Room for every contact of every run on this data directory (each
        // run has its own channel, so its own contacts): nothing queues, and
        // every message is pushed to the agent who holds its conversation.
        let capacity = 1000;
        call(
            &http,
            &o,
            &admin,
            reqwest::Method::PATCH,
            "/api/v1/desk/settings",
            json!({ "default_capacity": capacity }),
        )
        .await;
        // Online, then follow the live events.
        for chunk in tokens.chunks(64) {
            futures_util::future::join_all(chunk.iter().map(|t| {
                http.put(format!("{}/api/v1/me/presence", o.url))
                    .bearer_auth(t)
                    .json(&json!({ "presence": "online" }))
                    .send()
            }))
            .await;
        }
        let tls = tls_connector(&o);
        let seen = Arc::new(Seen::default());
        let stop = Arc::new(AtomicBool::new(false));
        let mut readers = Vec::new();
        if let Some(idle) = o.idle_agents {
            // The caller measures the server once the agents have logged
            // in (each login hashed a password) and before any socket.
            println!("{}", json!({ "logged_in": tokens.len() }));
            tokio::time::sleep(Duration::from_secs(2)).await;
            // Idle consoles: `idle` sockets over the agents' tokens, kept
            // open while the caller measures the server's memory.
            let mut sockets = Vec::with_capacity(idle);
            let wanted: Vec<&String> = tokens.iter().cycle().take(idle).collect();
            for chunk in wanted.chunks(100) {
                sockets.extend(
                    futures_util::future::join_all(chunk.iter().map(|t| open_socket(&o, &tls, t)))
                        .await,
                );
            }
            println!("{}", json!({ "idle_sockets": sockets.len() }));
            // Answer the server's pings until killed.
            let mut all = futures_util::stream::select_all(sockets);
            while all.next().await.is_some() {}
            return;
        }
        for chunk in tokens.chunks(50) {
            let sockets =
                futures_util::future::join_all(chunk.iter().map(|t| open_socket(&o, &tls, t)))
                    .await;
            for mut socket in sockets {
                let seen = Arc::clone(&seen);
                let stop = Arc::clone(&stop);
                readers.push(tokio::spawn(async move {
                    let mut local = Vec::new();
                    loop {
                        let frame =
                            match tokio::time::timeout(Duration::from_millis(500), socket.next())
                                .await
                            {
                                Ok(Some(Ok(frame))) => frame,
                                Ok(_) => break,
                                Err(_) if stop.load(Ordering::Relaxed) => break,
                                Err(_) => continue,
                            };
                        let Message::Text(text) = frame else {
                            continue;
                        };
                        seen.frames.fetch_add(1, Ordering::Relaxed);
                        // Cheap check before parsing: only inbound messages carry a send time.
                        if !text.contains("\"inbound\"") {
                            continue;
                        }
                        let now_us = start.elapsed().as_micros() as u64;
                        let Ok(v) = serde_json::from_str::<Value>(&text) else {
                            continue;
                        };
                        let sent = v["data"]["message"]["content"]["text"]
                            .as_str()
                            .and_then(|t| t.strip_prefix('t'))
                            .and_then(|t| t.split(' ').next())
                            .and_then(|t| t.parse::<u64>().ok());
                        // Warm-up messages carry no send time (0): not part of the load.
                        if let Some(sent) = sent.filter(|s| *s > 0) {
                            local.push(
                                u32::try_from(now_us.saturating_sub(sent)).unwrap_or(u32::MAX),
                            );
                        }
                    }
                    seen.latencies_us.lock().unwrap().extend(local);
                }));
            }
        }
        // Warm-up: every contact starts a conversation (assigned at once).
        let path = format!("/webhooks/{channel_id}");
        for chunk in (0..o.contacts).collect::<Vec<_>>().chunks(64) {
            futures_util::future::join_all(chunk.iter().map(|c| {
                let (body, signature) =
                    message_body(o.plugin.is_some(), run, 9999, *c as u64, *c, 0);
                let mut request = http
                    .post(format!("{}{path}", o.url))
                    .header("content-type", "application/json")
                    .body(body);
                match signature {
                    Some(signature) => request = request.header("x-hub-signature-256", signature),
                    None => request = request.bearer_auth(&token),
                }
                request.send()
            }))
            .await;
        }
        // The warm-up's live events (each new conversation also moves the
        // queue, an event for every console: conversations x agents frames)
        // must have reached the consoles, or their tail is measured as part
        // of the load: wait until no frame arrives for a second (at most a
        // minute).
        let settle = Instant::now();
        let mut last = seen.frames.load(Ordering::Relaxed);
        loop {
            tokio::time::sleep(Duration::from_secs(1)).await;
            let now = seen.frames.load(Ordering::Relaxed);
            if now == last || settle.elapsed() > Duration::from_secs(60) {
                break;
            }
            last = now;
        }
        eprintln!(
            "ingest_load: warm-up settled after {:.1} s ({last} frames)",
            settle.elapsed().as_secs_f64()
        );
        seen.latencies_us.lock().unwrap().clear();
        let before_frames = seen.frames.load(Ordering::Relaxed);
        let result = load(&o, &http, &path, &token, run, start).await;
        tokio::time::sleep(Duration::from_secs(2)).await;
        stop.store(true, Ordering::Relaxed);
        for r in readers {
            let _ = r.await;
        }
        let mut latencies = seen.latencies_us.lock().unwrap().clone();
        latencies.sort_unstable();
        // Latencies of the warm-up's stragglers are gone; frames of the load only.
        let frames = seen.frames.load(Ordering::Relaxed) - before_frames;
        println!(
            "{}",
            json!({
                "sent": result.0, "ok": result.1, "errors": result.0 - result.1,
                "secs": result.2, "per_sec": result.1 as f64 / result.2,
                "frames": frames, "latency_samples": latencies.len(),
                "p50_ms": percentile(&latencies, 0.50), "p99_ms": percentile(&latencies, 0.99),
                "max_ms": percentile(&latencies, 1.0),
            })
        );
        return;
    };
    let result = load(&o, &http, &path, &token, run, start).await;
    println!(
        "{}",
        json!({ "sent": result.0, "ok": result.1, "errors": result.0 - result.1, "secs": result.2, "per_sec": result.1 as f64 / result.2 })
    );
}

/// Sends for `secs`; returns (sent, ok, seconds).
async fn load(
    o: &Options,
    http: &reqwest::Client,
    path: &str,
    token: &str,
    run: u64,
    start: Instant,
) -> (u64, u64, f64) {
    let sent = Arc::new(AtomicU64::new(0));
    let ok = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(o.secs);
    let began = Instant::now();
    let per_task_interval = o
        .rate
        .map(|r| Duration::from_secs_f64(o.connections as f64 / r.max(1) as f64));
    let mut tasks = Vec::new();
    for task in 0..o.connections {
        let http = http.clone();
        let url = format!("{}{path}", o.url);
        let token = token.to_owned();
        let sent = Arc::clone(&sent);
        let ok = Arc::clone(&ok);
        let contacts = o.contacts.max(1);
        let connections = o.connections.max(1);
        let plugin = o.plugin.is_some();
        tasks.push(tokio::spawn(async move {
            let mut seq = 0u64;
            let mut ticker = per_task_interval.map(|i| {
                let mut t = tokio::time::interval_at(
                    tokio::time::Instant::now() + i.mul_f64(task as f64 / connections as f64),
                    i,
                );
                t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
                t
            });
            while Instant::now() < deadline {
                if let Some(t) = ticker.as_mut() {
                    t.tick().await;
                }
                seq += 1;
                let contact = (seq as usize * 7919 + task) % contacts;
                let sent_us = start.elapsed().as_micros() as u64;
                let (body, signature) = message_body(plugin, run, task, seq, contact, sent_us);
                let mut request = http
                    .post(&url)
                    .header("content-type", "application/json")
                    .body(body);
                if let Some(signature) = signature {
                    request = request.header("x-hub-signature-256", signature);
                } else if !token.is_empty() {
                    request = request.bearer_auth(&token);
                }
                sent.fetch_add(1, Ordering::Relaxed);
                if let Ok(response) = request.send().await
                    && response.status().is_success()
                {
                    let _ = response.bytes().await;
                    ok.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    (
        sent.load(Ordering::Relaxed),
        ok.load(Ordering::Relaxed),
        began.elapsed().as_secs_f64(),
    )
}
