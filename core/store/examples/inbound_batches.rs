//! The store's share of an inbound message, without HTTP, TLS or the
//! engine: `Store::ingest_durable` over batches of text messages from
//! known contacts (each in their open conversation), the path the engine's
//! ingest thread takes under load. Prints the messages per second and the
//! microseconds of one thread per message, for a few batch sizes, so a
//! change to the store's inbound path can be measured on its own (run it
//! under `perf record` to see where the time goes).
//!
//! Usage: inbound_batches [MESSAGES_PER_STEP] [CONTACTS]

use std::time::Instant;

use omnigate_domain::conversation::Content;
use omnigate_store::{Inbound, StatusRecord, Store};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let messages: u64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(100_000);
    let contacts: u64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(2_000);
    let dir = tempfile::tempdir()?;
    let store = Store::open(dir.path())?;
    let message = |n: u64| Inbound {
        channel_id: 1,
        external_id: format!("contact-{}", n % contacts),
        contact_name: Some(format!("Customer {}", n % contacts)),
        contact_phone: None,
        provider_id: format!("wamid.bench-{n}"),
        content: Content::Text {
            body: format!("Merhaba, siparişim #{n} nerede? Kargo takip numarasını alabilir miyim?"),
        },
        at_ms: 1_749_416_383_000 + i64::try_from(n).unwrap_or(0),
        initial_status: StatusRecord::Queued { since_ms: 0 },
    };
    // Every contact writes once first: the load is known contacts, as in
    // `cargo xtask bench ingest` after its warm-up.
    let mut next = 0u64;
    while next < contacts {
        let batch: Vec<Inbound> = (next..(next + 64).min(contacts)).map(message).collect();
        store.ingest_durable(&batch)?;
        next += batch.len() as u64;
    }
    println!("batch  messages/s  µs per message (one thread, fdatasync included)");
    for batch_size in [1u64, 8, 16, 32, 64, 128, 256] {
        let began = Instant::now();
        let end = next + messages / batch_size * batch_size;
        while next < end {
            let batch: Vec<Inbound> = (next..next + batch_size).map(message).collect();
            store.ingest_durable(&batch)?;
            next += batch_size;
        }
        let elapsed = began.elapsed().as_secs_f64();
        let done = (messages / batch_size * batch_size) as f64;
        println!(
            "{batch_size:>5}  {:>10.0}  {:>8.1}",
            done / elapsed,
            elapsed * 1e6 / done
        );
    }
    Ok(())
}
