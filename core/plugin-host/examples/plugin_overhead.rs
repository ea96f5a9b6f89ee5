//! Per-message overhead of a channel plugin call, against the same work
//! done natively: parse the typical signed WhatsApp Cloud webhook
//! (HMAC-SHA256 check, JSON, normalized events) with
//!
//! - `native`: the well-behaved plugin's parsing code compiled into the host;
//! - `isolated`: the plugin in a fresh `Store` + instance per call;
//! - `reusing`: the plugin in a warm instance of one channel's binding,
//!   recycled every 100 calls;
//!
//! once with the signature check (an `app_secret` set) and once without.
//!
//! Also the cold compile and the artifact-cache load of the component.
//! Run after `cargo xtask plugins`:
//!
//! ```text
//! cargo run --release -p omnigate-plugin-host --example plugin_overhead
//! ```
//!
//! With `--profile-warm N` it only makes N signed calls on a warm instance
//! (nothing printed), for `perf record` of the reused-instance path. With
//! `--wasm FILE` it measures that build of the well-behaved plugin instead
//! (an older SDK's, say, for an A/B).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hmac::{Hmac, Mac};
use omnigate_domain::SystemClock;
use omnigate_plugin_host::services::{LogEvents, MemoryKv, NoNetwork};
use omnigate_plugin_host::types::channel::{
    InboundEvent, InboundMessage, StatusUpdate, WebhookRequest,
};
use omnigate_plugin_host::types::{ContactProfile, Content, DeliveryStatus};
use omnigate_plugin_host::{Binding, HostConfig, PluginHost, Services, Settings};
use serde::Deserialize;

const WEBHOOK: &str = r#"{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"field":"messages","value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881","phone_number_id":"106540352242922"},"contacts":[{"profile":{"name":"Ay\u015fe Y."},"wa_id":"905321112233"}],"messages":[{"from":"905321112233","id":"wamid.HBgMOTA1MzIxMTEyMjMzFQIAEhgUM0EwRjQ1QkY2OTc4RjE0MUE3RTcA","timestamp":"1749416383","type":"text","text":{"body":"Merhaba, sipari\u015fim nerede? Kargo takip numaras\u0131n\u0131 alabilir miyim?"}}]}}]}]}"#;
const SECRET: &str = "app-secret-for-the-benchmark";
const ITERATIONS: usize = 20_000;

fn main() {
    let wasm_path = option("--wasm").map(PathBuf::from).unwrap_or_else(|| {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../plugins/target/wasm32-wasip2/release/well_behaved.wasm")
    });
    let wasm = match std::fs::read(&wasm_path) {
        Ok(bytes) => bytes,
        Err(e) => {
            eprintln!(
                "{}: {e}; run `cargo xtask plugins` first",
                wasm_path.display()
            );
            std::process::exit(2);
        }
    };
    let signature = {
        let mut mac = match Hmac::<sha2::Sha256>::new_from_slice(SECRET.as_bytes()) {
            Ok(mac) => mac,
            Err(e) => panic!("{e}"),
        };
        mac.update(WEBHOOK.as_bytes());
        format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
    };
    let request = WebhookRequest {
        method: "POST".into(),
        path: "/".into(),
        query: Vec::new(),
        headers: vec![
            ("content-type".into(), "application/json".into()),
            ("x-hub-signature-256".into(), signature),
        ],
        body: WEBHOOK.as_bytes().to_vec(),
    };

    let cache = match tempfile::tempdir() {
        Ok(dir) => dir,
        Err(e) => panic!("{e}"),
    };
    let host = |cache_dir: Option<PathBuf>| {
        let services = Services {
            http: Arc::new(NoNetwork),
            kv: Arc::new(MemoryKv::default()),
            clock: Arc::new(SystemClock),
            events: Arc::new(LogEvents),
        };
        let config = HostConfig {
            cache_dir,
            max_concurrent_calls: 16,
            ..HostConfig::default()
        };
        match PluginHost::new(config, services) {
            Ok(host) => host,
            Err(e) => panic!("{e}"),
        }
    };
    let cold = host(Some(cache.path().to_owned()));
    let started = Instant::now();
    if let Err(e) = cold.load(&wasm) {
        panic!("{e}");
    }
    let cold_load = started.elapsed();
    drop(cold);
    let warm_host = host(Some(cache.path().to_owned()));
    let started = Instant::now();
    let plugin = match warm_host.load(&wasm) {
        Ok(plugin) => plugin,
        Err(e) => panic!("{e}"),
    };
    let cached_load = started.elapsed();
    assert!(plugin.from_cache());

    if let Some(calls) = profile_warm_calls() {
        let mut settings = Settings::default();
        settings.secrets.insert("app_secret".into(), SECRET.into());
        let binding = Binding::reusing(settings, 100);
        for _ in 0..calls {
            let answer = plugin.parse_webhook(&binding, &request);
            assert!(
                matches!(answer, Ok(Ok(ref e)) if e.len() == 1),
                "{answer:?}"
            );
        }
        return;
    }
    println!("component: {} bytes", wasm.len());
    println!("load, cold compile + cache write: {cold_load:>9.2?}");
    println!("load, from the artifact cache:    {cached_load:>9.2?}");
    for signed in [true, false] {
        let mut settings = Settings::default();
        if signed {
            settings.secrets.insert("app_secret".into(), SECRET.into());
        }
        let native = measure(|| {
            let events = native_parse(&request, signed).unwrap_or_default();
            assert_eq!(events.len(), 1);
        });
        let isolated_binding = Binding::isolated(settings.clone());
        let isolated = measure(|| {
            let answer = plugin.parse_webhook(&isolated_binding, &request);
            assert!(
                matches!(answer, Ok(Ok(ref e)) if e.len() == 1),
                "{answer:?}"
            );
        });
        let reusing_binding = Binding::reusing(settings, 100);
        let warm_call = || {
            let answer = plugin.parse_webhook(&reusing_binding, &request);
            assert!(
                matches!(answer, Ok(Ok(ref e)) if e.len() == 1),
                "{answer:?}"
            );
        };
        let reusing = measure(warm_call);
        let paired_ratio = paired(
            || {
                let events = native_parse(&request, signed).unwrap_or_default();
                assert_eq!(events.len(), 1);
            },
            warm_call,
        );
        println!(
            "{} ({ITERATIONS} calls each)       median      p99     mean",
            if signed {
                "HMAC check + parse"
            } else {
                "parse only        "
            }
        );
        for (name, figures) in [
            ("native", native),
            ("isolated (fresh store)", isolated),
            ("reusing (recycle/100)", reusing),
        ] {
            println!(
                "  {name:<30} {:>8.2?} {:>8.2?} {:>8.2?}   x{:.1} native",
                figures.median,
                figures.p99,
                figures.mean,
                figures.median.as_secs_f64() / native.median.as_secs_f64()
            );
        }
        println!(
            "  reusing / native, paired blocks: x{paired_ratio:.2} (median of {PAIRED_BLOCKS})"
        );
    }
}

/// Blocks of [`paired`]'s comparison.
const PAIRED_BLOCKS: usize = 60;
/// Calls of each side per block.
const PAIRED_CALLS: u32 = 400;

/// The ratio of `wasm`'s time to `native`'s, as the median over blocks
/// that run one right after the other (a few hundred calls each, about a
/// millisecond): the shared machine's load and clock changes over seconds,
/// which moves two medians taken a second apart more than the ratio itself.
fn paired(mut native: impl FnMut(), mut wasm: impl FnMut()) -> f64 {
    let mut ratios = Vec::with_capacity(PAIRED_BLOCKS);
    for _ in 0..PAIRED_BLOCKS {
        let started = Instant::now();
        for _ in 0..PAIRED_CALLS {
            native();
        }
        let native_time = started.elapsed();
        let started = Instant::now();
        for _ in 0..PAIRED_CALLS {
            wasm();
        }
        ratios.push(started.elapsed().as_secs_f64() / native_time.as_secs_f64().max(1e-12));
    }
    ratios.sort_by(f64::total_cmp);
    ratios[ratios.len() / 2]
}

/// `--profile-warm N`: the number of warm calls to make, if asked.
fn profile_warm_calls() -> Option<u64> {
    option("--profile-warm").and_then(|n| n.parse().ok())
}

/// The value after `flag` on the command line.
fn option(flag: &str) -> Option<String> {
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == flag {
            return args.next();
        }
    }
    None
}

#[derive(Clone, Copy)]
struct Figures {
    median: Duration,
    p99: Duration,
    mean: Duration,
}

fn measure(mut f: impl FnMut()) -> Figures {
    for _ in 0..1_000 {
        f();
    }
    let mut samples = Vec::with_capacity(ITERATIONS);
    for _ in 0..ITERATIONS {
        let started = Instant::now();
        f();
        samples.push(started.elapsed());
    }
    samples.sort();
    let total: Duration = samples.iter().sum();
    Figures {
        median: samples[samples.len() / 2],
        p99: samples[samples.len() * 99 / 100],
        mean: total / u32::try_from(samples.len()).unwrap_or(u32::MAX),
    }
}

// The well-behaved plugin's parser, natively (same structs, same checks).

#[derive(Deserialize)]
struct Envelope {
    #[serde(default)]
    entry: Vec<Entry>,
}

#[derive(Deserialize)]
struct Entry {
    #[serde(default)]
    changes: Vec<Change>,
}

#[derive(Deserialize)]
struct Change {
    value: Value,
}

#[derive(Deserialize)]
struct Value {
    #[serde(default)]
    contacts: Vec<Contact>,
    #[serde(default)]
    messages: Vec<Message>,
    #[serde(default)]
    statuses: Vec<Status>,
}

#[derive(Deserialize)]
struct Contact {
    wa_id: String,
    #[serde(default)]
    profile: Option<Profile>,
}

#[derive(Deserialize)]
struct Profile {
    name: Option<String>,
}

#[derive(Deserialize)]
struct Message {
    from: String,
    id: String,
    timestamp: String,
    #[serde(default)]
    text: Option<Text>,
}

#[derive(Deserialize)]
struct Text {
    body: String,
}

#[derive(Deserialize)]
struct Status {
    id: String,
    status: String,
    timestamp: String,
    recipient_id: String,
}

fn native_parse(request: &WebhookRequest, signed: bool) -> Option<Vec<InboundEvent>> {
    if signed {
        let header = request
            .headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("x-hub-signature-256"))?
            .1
            .as_str();
        let expected = hex::decode(header.strip_prefix("sha256=")?).ok()?;
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(SECRET.as_bytes()).ok()?;
        mac.update(&request.body);
        mac.verify_slice(&expected).ok()?;
    }
    let envelope: Envelope = serde_json::from_slice(&request.body).ok()?;
    let millis = |s: &str| s.parse::<u64>().unwrap_or(0).saturating_mul(1000);
    let mut events = Vec::new();
    for value in envelope
        .entry
        .into_iter()
        .flat_map(|e| e.changes)
        .map(|c| c.value)
    {
        for m in value.messages {
            let mut contact = ContactProfile {
                external_id: m.from.clone(),
                display_name: None,
                phone: Some(m.from.clone()),
                email: None,
                username: None,
                language: None,
                extensions: Vec::new(),
            };
            contact.display_name = value
                .contacts
                .iter()
                .find(|c| c.wa_id == m.from)
                .and_then(|c| c.profile.as_ref()?.name.clone());
            let Some(text) = m.text else { continue };
            events.push(InboundEvent::Message(InboundMessage {
                provider_message_id: m.id,
                contact,
                sent_at_ms: millis(&m.timestamp),
                content: Content::Text(text.body),
                reply_to: None,
                extensions: Vec::new(),
            }));
        }
        for s in value.statuses {
            let status = match s.status.as_str() {
                "sent" => DeliveryStatus::Sent,
                "delivered" => DeliveryStatus::Delivered,
                "read" => DeliveryStatus::Read,
                "failed" => DeliveryStatus::Failed("provider reported failure".into()),
                _ => continue,
            };
            events.push(InboundEvent::Status(StatusUpdate {
                provider_message_id: s.id,
                recipient: s.recipient_id,
                status,
                at_ms: millis(&s.timestamp),
                extensions: Vec::new(),
            }));
        }
    }
    Some(events)
}
