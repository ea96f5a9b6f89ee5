//! A read-through cache of decoded records for the hottest lookups (the
//! session and the user behind every authenticated request).
//!
//! Correct because this process is the only writer of the data directory
//! (the directory lock guarantees it) and every write path invalidates after
//! writing. A generation counter closes the remaining race: a reader that
//! loaded a value before a concurrent write does not put that stale value
//! into the cache after the write's invalidation.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

use crate::StoreError;

pub(crate) struct ReadCache<K, V> {
    entries: RwLock<HashMap<K, Arc<V>>>,
    generation: AtomicU64,
    capacity: usize,
}

impl<K: Eq + Hash + Clone, V> ReadCache<K, V> {
    /// A cache holding at most `capacity` entries; when full it starts over,
    /// which keeps memory bounded without bookkeeping on the hot path.
    pub(crate) fn new(capacity: usize) -> ReadCache<K, V> {
        ReadCache {
            entries: RwLock::new(HashMap::new()),
            generation: AtomicU64::new(0),
            capacity,
        }
    }

    /// The cached value, or `load()`'s, remembered unless a write intervened.
    pub(crate) fn get_or_load(
        &self,
        key: &K,
        load: impl FnOnce() -> Result<Option<V>, StoreError>,
    ) -> Result<Option<Arc<V>>, StoreError> {
        if let Some(hit) = self
            .entries
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(key)
        {
            return Ok(Some(Arc::clone(hit)));
        }
        let generation = self.generation.load(Ordering::Acquire);
        let Some(value) = load()? else {
            return Ok(None);
        };
        let value = Arc::new(value);
        let mut entries = self.entries.write().unwrap_or_else(PoisonError::into_inner);
        if self.generation.load(Ordering::Acquire) == generation {
            if entries.len() >= self.capacity {
                entries.clear();
            }
            entries.insert(key.clone(), Arc::clone(&value));
        }
        Ok(Some(value))
    }

    /// Forgets `key`. Call after the write that changed it.
    pub(crate) fn invalidate(&self, key: &K) {
        let mut entries = self.entries.write().unwrap_or_else(PoisonError::into_inner);
        self.generation.fetch_add(1, Ordering::AcqRel);
        entries.remove(key);
    }

    /// Forgets everything. Call after a write that touched many keys.
    pub(crate) fn invalidate_all(&self) {
        let mut entries = self.entries.write().unwrap_or_else(PoisonError::into_inner);
        self.generation.fetch_add(1, Ordering::AcqRel);
        entries.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_load_that_raced_a_write_is_not_cached() {
        let cache: ReadCache<u8, &str> = ReadCache::new(10);
        let value = cache
            .get_or_load(&1, || {
                // A write lands (and invalidates) while this load is running.
                cache.invalidate(&1);
                Ok(Some("stale"))
            })
            .unwrap();
        assert_eq!(value.as_deref(), Some(&"stale"));
        let reloaded = cache.get_or_load(&1, || Ok(Some("fresh"))).unwrap();
        assert_eq!(reloaded.as_deref(), Some(&"fresh"));
    }

    #[test]
    fn hits_do_not_load_and_invalidation_forces_a_reload() {
        let cache: ReadCache<u8, u32> = ReadCache::new(10);
        cache.get_or_load(&1, || Ok(Some(7))).unwrap();
        let hit = cache.get_or_load(&1, || panic!("loaded on a hit")).unwrap();
        assert_eq!(hit.as_deref(), Some(&7));
        cache.invalidate(&1);
        let miss = cache.get_or_load(&1, || Ok(Some(8))).unwrap();
        assert_eq!(miss.as_deref(), Some(&8));
    }

    #[test]
    fn it_never_grows_past_its_capacity() {
        let cache: ReadCache<u32, u32> = ReadCache::new(3);
        for k in 0..10 {
            cache.get_or_load(&k, || Ok(Some(k))).unwrap();
        }
        assert!(cache.entries.read().unwrap().len() <= 3);
    }
}
