//! A bounded cache by document text: the least recently used entry goes first. Looked up with
//! the request's own `&str` (no key is allocated on a hit) under a lock held only for the
//! lookup, hashed with a seeded `foldhash` (SipHash cost more than the rest of the lookup; the
//! cache is bounded, so colliding keys could only slow their own lookups).

use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};

use foldhash::fast::RandomState;

/// Cheap to clone (shared).
#[derive(Clone)]
pub(super) struct Lru<V>(Arc<Mutex<lru::LruCache<String, V, RandomState>>>);

impl<V: Clone> Lru<V> {
    /// A cache of at most `cap` entries (at least one).
    pub(super) fn new(cap: usize) -> Self {
        let cap = NonZeroUsize::new(cap).unwrap_or(NonZeroUsize::MIN);
        Self(Arc::new(Mutex::new(lru::LruCache::with_hasher(
            cap,
            RandomState::default(),
        ))))
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
