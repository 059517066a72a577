//! A bounded cache by document text: the least recently used entry goes first. Looked up with
//! the request's own `&str` (no key is allocated on a hit) under a lock held only for the
//! lookup.

use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};

/// Cheap to clone (shared).
#[derive(Clone)]
pub(super) struct Lru<V>(Arc<Mutex<lru::LruCache<String, V>>>);

impl<V: Clone> Lru<V> {
    /// A cache of at most `cap` entries (at least one).
    pub(super) fn new(cap: usize) -> Self {
        let cap = NonZeroUsize::new(cap).unwrap_or(NonZeroUsize::MIN);
        Self(Arc::new(Mutex::new(lru::LruCache::new(cap))))
    }

    pub(super) fn get(&self, key: &str) -> Option<V> {
        let mut cache = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        cache.get(key).cloned()
    }

    pub(super) fn set(&self, key: String, value: V) {
        let mut cache = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        cache.put(key, value);
    }
}
