//! The history-search benchmark behind `cargo xtask bench search`.
//!
//! Fills a fresh data directory with N inbound messages through the engine
//! (an API channel, 50,000 contacts, 5 to 15 words per message from a
//! 3,000-word vocabulary, Zipf-like so some words are common and most are
//! rare), builds the index from the store, then times searches the way the
//! history list runs them: one index query for the newest 500 matches, then
//! the conversations of the first 50 distinct ones read from the store.
//!
//! Usage: search_load DATA_DIR MESSAGES QUERIES

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::sync::Arc;
use std::time::Instant;

use omnigate_domain::SystemClock;
use omnigate_domain::conversation::Content;
use omnigate_engine::{Engine, EngineConfig, InboundMessage};
use omnigate_store::Store;
use omnigate_store::channels::ChannelRecord;

/// A small deterministic generator, so runs are comparable.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }

    /// Roughly Zipf: small indexes far more often than large ones.
    fn zipf(&mut self, n: usize) -> usize {
        let u = (self.next() % 1_000_000) as f64 / 1_000_000.0;
        ((n as f64).powf(u) as usize).saturating_sub(1).min(n - 1)
    }
}

fn vocabulary() -> Vec<String> {
    let stems = [
        "sipariş",
        "kargo",
        "iade",
        "fatura",
        "teslimat",
        "ürün",
        "beden",
        "renk",
        "ödeme",
        "kart",
        "adres",
        "indirim",
        "kupon",
        "stok",
        "mağaza",
        "order",
        "refund",
        "shipping",
        "invoice",
        "delivery",
        "size",
        "color",
        "payment",
        "address",
        "discount",
        "coupon",
        "stock",
        "store",
        "merhaba",
        "teşekkür",
        "lütfen",
        "hello",
        "thanks",
        "please",
    ];
    let mut words = Vec::new();
    for i in 0..3000 {
        let stem = stems[i % stems.len()];
        words.push(if i < stems.len() {
            stem.to_owned()
        } else {
            format!("{stem}{i}")
        });
    }
    words
}

fn main() {
    let mut args = std::env::args().skip(1);
    let dir = std::path::PathBuf::from(args.next().expect("DATA_DIR"));
    let messages: usize = args.next().expect("MESSAGES").parse().unwrap();
    let queries: usize = args.next().expect("QUERIES").parse().unwrap();

    let store = Store::open(&dir).unwrap();
    let engine = Engine::start(
        Arc::clone(&store),
        Arc::new(SystemClock),
        EngineConfig::default(),
    )
    .unwrap();
    let channel = store
        .create_channel(ChannelRecord {
            id: 0,
            name: "bench".into(),
            kind: "api".into(),
            service_window_secs: None,
            default_flow: None,
            webhook_url: None,
            webhook_secret: "0123456789abcdef0123".into(),
            inbound_token_hash: [7; 32],
            disabled: false,
            created_at_ms: 0,
        })
        .unwrap();
    let words = vocabulary();
    let mut rng = Lcg(42);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let began = Instant::now();
    for i in 0..messages {
        let n = 5 + (rng.next() % 11) as usize;
        let text: Vec<&str> = (0..n)
            .map(|_| words[rng.zipf(words.len())].as_str())
            .collect();
        runtime
            .block_on(engine.receive(
                &channel,
                InboundMessage {
                    contact_id: format!("c{}", rng.next() % 50_000),
                    contact_name: None,
                    contact_phone: None,
                    provider_id: format!("m{i}"),
                    content: Content::Text {
                        body: text.join(" "),
                    },
                },
            ))
            .unwrap();
        if i % 100_000 == 99_999 {
            eprintln!("search_load: {} messages stored", i + 1);
        }
    }
    store.flush_blocking().unwrap();
    let stored_secs = began.elapsed().as_secs_f64();
    let began = Instant::now();
    let indexed = omnigate_engine::indexing::rebuild(&store, engine.search_index()).unwrap();
    let index_secs = began.elapsed().as_secs_f64();

    // Queries: common, middling and rare words, and pairs.
    let mut rng = Lcg(7);
    let mut times_ms = Vec::with_capacity(queries);
    let mut hits_total = 0usize;
    for q in 0..queries {
        let query = match q % 4 {
            0 => words[rng.zipf(40)].clone(),
            1 => words[rng.zipf(words.len())].clone(),
            2 => words[100 + (rng.next() as usize % 2900)].clone(),
            _ => format!("{} {}", words[rng.zipf(200)], words[rng.zipf(200)]),
        };
        let t = Instant::now();
        let hits = engine.search(&query, None, 500).unwrap();
        let mut seen = std::collections::HashSet::new();
        for hit in &hits {
            if seen.len() == 50 {
                break;
            }
            if seen.insert(hit.conversation_id) {
                let _ = store.conversation(hit.conversation_id).unwrap();
            }
        }
        times_ms.push(t.elapsed().as_secs_f64() * 1000.0);
        hits_total += hits.len();
    }
    times_ms.sort_by(f64::total_cmp);
    let at = |p: f64| times_ms[((times_ms.len() as f64 - 1.0) * p).round() as usize];
    println!("| figure | value |");
    println!("|---|---|");
    println!(
        "| messages stored through the engine | {messages} in {stored_secs:.1} s ({:.0}/s, not durable-per-message) |",
        messages as f64 / stored_secs
    );
    println!("| index rebuilt from the store | {indexed} messages in {index_secs:.1} s |");
    println!("| search p50, ms | {:.2} |", at(0.50));
    println!("| search p95, ms | {:.2} |", at(0.95));
    println!("| search max, ms | {:.2} |", at(1.0));
    println!(
        "| mean hits per query (of at most 500) | {:.0} |",
        hits_total as f64 / queries as f64
    );
    println!(
        "\n{queries} queries (single common, any and rare words, and word pairs); each: the newest 500 matches from the index, then the first 50 distinct conversations read from the store."
    );
}
