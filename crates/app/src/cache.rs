//! Read-through caches of the data path (DESIGN "Gateway path": grants cached with invalidation on change).
//!
//! An entry is current while the [`shuqiao_store::generation`] of its kind of rows has not moved since it was read —
//! every committed change of such rows in this process moves it — and for at most [`MAX_AGE`], which bounds how long a change made by another
//! process (a second platform process on the same PostgreSQL database, an operator's CLI command) can go unseen.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use shuqiao_store::Kind;

use crate::Result;

/// The longest an entry is used without reading it again.
pub const MAX_AGE: Duration = Duration::from_secs(1);

/// Entries kept at most; past that the cache starts afresh (a bound against floods of distinct tokens).
const CAPACITY: usize = 50_000;

struct Slot<V> {
    value: V,
    generation: u64,
    read_at: Instant,
}

/// A map from keys to values read from the store, rows of one [`Kind`].
pub struct Cache<K, V> {
    kind: Kind,
    map: Mutex<HashMap<K, Slot<V>>>,
}

impl<K, V> Cache<K, V> {
    /// A cache of values read from rows of `kind`.
    pub fn of(kind: Kind) -> Self {
        Cache { kind, map: Mutex::new(HashMap::new()) }
    }
}

impl<K, V> std::fmt::Debug for Cache<K, V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Cache")
    }
}

impl<K: Hash + Eq, V: Clone> Cache<K, V> {
    /// The cached value of `key`, or what `load` reads (then cached). Errors are not cached.
    pub async fn get_or_load<Q, F, Fut>(&self, key: &Q, load: F) -> Result<V>
    where
        K: std::borrow::Borrow<Q>,
        Q: Hash + Eq + ToOwned<Owned = K> + ?Sized,
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<V>>,
    {
        // The generation before the read: a change committed during the read makes the entry stale at once.
        let generation = shuqiao_store::generation(self.kind);
        if let Some(v) = self.lookup(key, generation) {
            return Ok(v);
        }
        let value = load().await?;
        if let Ok(mut map) = self.map.lock() {
            if map.len() >= CAPACITY {
                map.clear();
            }
            map.insert(key.to_owned(), Slot { value: value.clone(), generation, read_at: Instant::now() });
        }
        Ok(value)
    }

    fn lookup<Q>(&self, key: &Q, generation: u64) -> Option<V>
    where
        K: std::borrow::Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let map = self.map.lock().ok()?;
        let slot = map.get(key)?;
        (slot.generation == generation && slot.read_at.elapsed() < MAX_AGE).then(|| slot.value.clone())
    }

    /// Forgets everything (tests, operators' tools).
    pub fn clear(&self) {
        if let Ok(mut map) = self.map.lock() {
            map.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn answers_from_the_cache_until_the_generation_moves() {
        let cache: Cache<String, u32> = Cache::of(Kind::Catalog);
        let g = shuqiao_store::generation(Kind::Catalog);
        assert_eq!(cache.get_or_load("a", || async { Ok(1) }).await.unwrap(), 1);
        // Read at `g` (or later, if something committed meanwhile): current at that generation only.
        let at = cache.map.lock().unwrap().get("a").unwrap().generation;
        assert!(at >= g);
        assert_eq!(cache.lookup("a", at), Some(1));
        assert_eq!(cache.lookup("a", at + 1), None, "a committed change invalidates");
        cache.map.lock().unwrap().get_mut("a").unwrap().read_at = Instant::now() - MAX_AGE;
        assert_eq!(cache.lookup("a", at), None, "too old");
    }

    #[tokio::test]
    async fn a_change_of_its_kind_invalidates_and_of_another_kind_does_not() {
        use std::sync::atomic::{AtomicU32, Ordering};
        let cache: Cache<String, u32> = Cache::of(Kind::Grants);
        let loads = AtomicU32::new(0);
        let load = || async { Ok(loads.fetch_add(1, Ordering::SeqCst) + 1) };
        // Other tests of this process may commit meanwhile (moving every kind): try until a round sees none.
        let mut checked = false;
        for _ in 0..100 {
            let before = shuqiao_store::generation(Kind::Grants);
            let first = cache.get_or_load("a", load).await.unwrap();
            shuqiao_store::changed(&[Kind::Accounts, Kind::Catalog, Kind::Exchange]);
            let second = cache.get_or_load("a", load).await.unwrap();
            if shuqiao_store::generation(Kind::Grants) == before {
                assert_eq!(first, second, "a change of another kind made the cache read again");
                checked = true;
                break;
            }
        }
        assert!(checked, "no quiet round in 100");
        let cached = cache.get_or_load("a", load).await.unwrap();
        shuqiao_store::changed(&[Kind::Grants]);
        let after = cache.get_or_load("a", load).await.unwrap();
        assert!(after > cached, "a change of its kind must make it read again");
    }

    #[tokio::test]
    async fn errors_are_not_cached() {
        let cache: Cache<String, u32> = Cache::of(Kind::Accounts);
        let r = cache.get_or_load("k", || async { Err(crate::AppError::NotFound("x".into())) }).await;
        assert!(r.is_err());
        let v = cache.get_or_load("k", || async { Ok(7) }).await.unwrap();
        assert_eq!(v, 7);
    }
}

/// The caches of the data path and the sharing workflow, one per kind of row they read on every request.
#[derive(Debug)]
pub struct HotPath {
    /// Token hash → the caller, and its session's expiry (`None` for API clients).
    pub(crate) principals: Cache<String, (crate::platform::Principal, Option<String>)>,
    /// Resource code → the published entry.
    pub(crate) entries: Cache<String, Option<std::sync::Arc<shuqiao_domain::entry::Entry>>>,
    /// Consumer department and resource code → its grants, newest first.
    pub(crate) grants: Cache<String, std::sync::Arc<Vec<crate::sharing::grants::GrantView>>>,
    /// Resource code → its mount as the gateway may use it.
    pub(crate) mounts: Cache<String, crate::exchange::mounts::Serving>,
    /// Department id → its name as parties of applications and grants show it.
    pub(crate) departments: Cache<String, Option<crate::sharing::Party>>,
}

impl Default for HotPath {
    fn default() -> Self {
        HotPath {
            principals: Cache::of(Kind::Accounts),
            entries: Cache::of(Kind::Catalog),
            grants: Cache::of(Kind::Grants),
            mounts: Cache::of(Kind::Exchange),
            departments: Cache::of(Kind::Accounts),
        }
    }
}
