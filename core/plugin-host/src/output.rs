//! The output cap: a plugin's result is measured in its compact binary
//! form (postcard: the raw bytes of every string and list, plus a byte or
//! two for each length and case), the closest cheap measure of what the
//! engine will hold. Every generated type derives `Serialize`; the
//! measuring flavor only counts, allocates nothing and stops at the cap,
//! so it costs at most the cap's worth of work. It used to serialise JSON
//! into a counter, which escaped every string only to count it: 5% of a
//! warm webhook call.
//!
//! The plugin's memory budget already bounds what can be lifted out of it;
//! this cap keeps a plugin from handing the engine, the store or the
//! console more than they should take in one call.

use postcard::ser_flavors::Flavor;
use serde::Serialize;

/// Whether `value`'s encoded size fits in `limit_bytes`.
pub fn fits<T: Serialize>(value: &T, limit_bytes: usize) -> bool {
    postcard::serialize_with_flavor(
        value,
        Counter {
            counted: 0,
            limit_bytes,
        },
    )
    .is_ok()
}

/// Counts what would be written, refusing past the limit.
struct Counter {
    counted: usize,
    limit_bytes: usize,
}

impl Counter {
    #[inline]
    fn add(&mut self, bytes: usize) -> postcard::Result<()> {
        self.counted = self.counted.saturating_add(bytes);
        if self.counted > self.limit_bytes {
            return Err(postcard::Error::SerializeBufferFull);
        }
        Ok(())
    }
}

impl Flavor for Counter {
    type Output = usize;

    #[inline]
    fn try_push(&mut self, _byte: u8) -> postcard::Result<()> {
        self.add(1)
    }

    #[inline]
    fn try_extend(&mut self, bytes: &[u8]) -> postcard::Result<()> {
        self.add(bytes.len())
    }

    fn finalize(self) -> postcard::Result<usize> {
        Ok(self.counted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measures_the_encoded_size() {
        // A string: one byte of length, then its bytes.
        assert!(fits(&"x".repeat(11), 12));
        assert!(!fits(&"x".repeat(12), 12));
        // A list of bytes: one byte of length, then one per element.
        assert!(fits(&vec![1u8; 6], 7));
        assert!(!fits(&vec![1u8; 7], 7));
        // Several megabytes stop at the cap.
        assert!(!fits(&vec!["y".repeat(1024); 4096], 1024 * 1024));
    }
}
