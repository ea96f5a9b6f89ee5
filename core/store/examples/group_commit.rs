//! Durable-write throughput through group commit: N concurrent writers, each
//! inserting a 1 KiB value and awaiting `Store::durable()` in a loop. Run by
//! `cargo xtask bench`; prints one line per writer count.
//!
//! Usage: group_commit [SECONDS_PER_STEP]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use omnigate_store::Store;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let secs: u64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(3);
    let dir = tempfile::tempdir()?;
    let store = Store::open(dir.path())?;
    for writers in [1u64, 16, 64, 256] {
        let done = Arc::new(AtomicU64::new(0));
        let deadline = Instant::now() + Duration::from_secs(secs);
        let before = store.commit_stats();
        let began = Instant::now();
        let mut tasks = Vec::new();
        for w in 0..writers {
            let (store, done) = (Arc::clone(&store), Arc::clone(&done));
            tasks.push(tokio::spawn(async move {
                let value = [0x5a_u8; 1024];
                let mut i = 0u64;
                while Instant::now() < deadline {
                    store.meta_put(&format!("bench/{writers}/{w}/{i}"), &value)?;
                    store.durable().await?;
                    done.fetch_add(1, Ordering::Relaxed);
                    i += 1;
                }
                Ok::<_, omnigate_store::StoreError>(())
            }));
        }
        for task in tasks {
            task.await??;
        }
        let elapsed = began.elapsed().as_secs_f64();
        let writes = done.load(Ordering::Relaxed);
        let flushes = store.commit_stats().flushes - before.flushes;
        println!(
            "writers={writers} durable_inserts_per_sec={:.0} flushes_per_sec={:.0} writes_per_flush={:.1}",
            writes as f64 / elapsed,
            flushes as f64 / elapsed,
            writes as f64 / flushes.max(1) as f64
        );
    }
    Ok(())
}
