//! The clock the server runs on: the system clock, or for tests a file
//! (`testing.clock_file`) holding milliseconds since the Unix epoch, read on
//! every call so a test moves time by rewriting it — no sleeping, and the
//! 24-hour window or a transfer timeout passes in a millisecond.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use omnigate_domain::{Clock, SystemClock, Timestamp};

/// Time from a file. A read that fails (the file being rewritten) keeps the
/// last good value, so time never jumps back to zero.
pub struct FileClock {
    path: PathBuf,
    last: AtomicI64,
}

impl FileClock {
    /// A clock over `path`, which must hold a time now.
    pub fn open(path: &Path) -> Result<FileClock, String> {
        let first = read(path).ok_or_else(|| {
            format!(
                "testing.clock_file: {} must hold a whole number of milliseconds since 1970",
                path.display()
            )
        })?;
        Ok(FileClock {
            path: path.to_path_buf(),
            last: AtomicI64::new(first),
        })
    }
}

fn read(path: &Path) -> Option<i64> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

impl Clock for FileClock {
    fn now(&self) -> Timestamp {
        match read(&self.path) {
            Some(ms) => {
                self.last.store(ms, Ordering::Relaxed);
                Timestamp(ms)
            }
            None => Timestamp(self.last.load(Ordering::Relaxed)),
        }
    }
}

/// The clock `settings` ask for.
pub fn from_settings(clock_file: Option<&Path>) -> Result<Arc<dyn Clock>, String> {
    match clock_file {
        None => Ok(Arc::new(SystemClock)),
        Some(path) => {
            tracing::warn!(
                file = %path.display(),
                "testing.clock_file is set: time is read from a file, not the system clock; never do this in production"
            );
            Ok(Arc::new(FileClock::open(path)?))
        }
    }
}
