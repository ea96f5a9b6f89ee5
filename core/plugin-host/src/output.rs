//! The output cap: a plugin's result is measured as JSON (every generated
//! type derives `Serialize`) into a counter that stops at the cap, so
//! measuring costs at most the cap's worth of work and allocates nothing.
//! The plugin's memory budget already bounds what can be lifted out of it;
//! this cap keeps a plugin from handing the engine, the store or the
//! console more than they should take in one call.

use std::io;

use serde::Serialize;

/// Whether `value`'s JSON form fits in `limit_bytes`.
pub fn fits<T: Serialize>(value: &T, limit_bytes: usize) -> bool {
    let mut counter = Counter {
        written: 0,
        limit_bytes,
    };
    serde_json::to_writer(&mut counter, value).is_ok()
}

struct Counter {
    written: usize,
    limit_bytes: usize,
}

impl io::Write for Counter {
    #[inline]
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_all(buf).map(|()| buf.len())
    }

    // serde_json writes through `write_all`, one call per token: counting
    // here directly, instead of std's retry loop around `write`, keeps the
    // measuring a small share of a warm plugin call.
    #[inline]
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.written = self.written.saturating_add(buf.len());
        if self.written > self.limit_bytes {
            return Err(io::Error::other("output cap exceeded"));
        }
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measures_json_size() {
        assert!(fits(&"x".repeat(10), 12));
        assert!(!fits(&"x".repeat(11), 12));
        assert!(fits(&vec![1u8; 3], 7));
        assert!(!fits(&vec![1u8; 4], 7));
    }
}
