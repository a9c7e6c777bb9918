//! Named caches: values of one type under typed keys (Spring's named caches, a
//! key prefix in Django or Rails).

use std::any::{Any, TypeId};
use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt::Display;
use std::future::Future;
use std::hash::Hash;
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

use keel_core::Error;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::{Cache, NearShared, Owned, owned, owned_mut};

/// The values of type `V` kept under the keys `{name}:{key}` of a [`Cache`], made by
/// [`Cache::named`].
///
/// It is the same cache as the string API, seen through typed keys: `named("world")`
/// with key `5` reads and writes the entry `"world:5"`, in process and in Redis alike,
/// so a `cache.delete("world:5")` is seen by the next `get(&5)`.
///
/// What it adds in process: each thread keeps its own copies of what it read keyed by
/// `K` itself, with the value inline, so a repeated read is one hash of the key and
/// one probe of a compact map (no key string to format, hash and compare, no pointer
/// to follow to the value); for integer keys from 0 to the near cache's capacity
/// (`cache.near_entries`, 10,000 by default), one index into an array. Copies stay exact as the string API's do: a write of the
/// entry from any thread (through either API) makes every copy of it stale, and a copy
/// never outlives its entry's time-to-live.
///
/// ```no_run
/// use std::time::Duration;
/// use keel_cache::Cache;
///
/// async fn price(cache: Cache, id: i32) -> keel_core::Result<u64> {
///     let prices = cache.named::<i32, u64>("price");
///     prices
///         .get_or_compute(&id, Duration::from_secs(60), || async move {
///             Ok::<_, keel_core::Error>(u64::try_from(id).unwrap_or(0) * 100) // the expensive part
///         })
///         .await
/// }
/// ```
pub struct Named<K, V> {
    inner: Arc<Handle>,
    _types: PhantomData<fn(K) -> V>,
}

/// What a [`Named`] holds (the same for every `K` and `V`).
struct Handle {
    cache: Cache,
    name: Box<str>,
    /// This name's copies (in process, with the near cache on).
    copies: Option<Arc<NamedCopies>>,
}

impl<K, V> Clone for Named<K, V> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
            _types: PhantomData,
        }
    }
}

impl<K, V> std::fmt::Debug for Named<K, V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Named")
            .field("name", &self.inner.name)
            .finish_non_exhaustive()
    }
}

/// What identifies one name's copies on every thread, shared by all its handles.
pub(crate) struct NamedCopies {
    near: Arc<NearShared>,
}

impl NamedCopies {
    pub(crate) fn new(near: Arc<NearShared>) -> Self {
        Self { near }
    }
}

/// A thread's copy of an entry: which write counter it was read under and that
/// counter's value then, when the entry expires, and the value.
///
/// The bookkeeping is kept as byte arrays (alignment 1) and the slot shares a word
/// with the write count, so that a copy of a small value is small: for an `i32` key
/// and an 8-byte value a map bucket is 28 bytes instead of 40. Reads of many copies
/// are bound by cache misses on them (perf: half of `/cached-queries`' handler time
/// was the load of the bucket), so their size is their speed.
struct Copy<V> {
    /// The slot (top [`SLOT_BITS`] bits) and its write count (the rest).
    tag: [u8; 8],
    /// Its [`clock::deadline`](crate::clock::deadline).
    deadline: [u8; 8],
    value: V,
}

/// Bits of a [`Copy`]'s tag that hold its slot.
const SLOT_BITS: u32 = usize::BITS - (crate::NEAR_SLOTS - 1).leading_zeros();
/// The write-count part of a tag. A count that outgrew it (2^58 writes to one slot)
/// never equals a stored one, so such copies read as stale: slower, never wrong.
const WRITES_MASK: u64 = u64::MAX >> SLOT_BITS;
const _: () = assert!(crate::NEAR_SLOTS.is_power_of_two() && crate::NEAR_SLOTS <= 256);

impl<V> Copy<V> {
    fn new(slot: u8, writes: u64, deadline: u64, value: V) -> Self {
        // A count that does not fit is stored as the one that never matches.
        let tag = (u64::from(slot) << (64 - SLOT_BITS)) | writes.min(WRITES_MASK);
        Self {
            tag: tag.to_ne_bytes(),
            deadline: deadline.to_ne_bytes(),
            value,
        }
    }

    /// Whether the copy is still exact: its string key's write counter unchanged and
    /// its deadline after `now` ([`clock::now`](crate::clock::now)).
    fn live(&self, near: &NearShared, now: u64) -> bool {
        let tag = u64::from_ne_bytes(self.tag);
        // Below NEAR_SLOTS: the top SLOT_BITS bits.
        let slot = usize::try_from(tag >> (64 - SLOT_BITS)).unwrap_or(0);
        let writes = tag & WRITES_MASK;
        writes != WRITES_MASK
            && near.writes_at(slot) == writes
            && u64::from_ne_bytes(self.deadline) > now
    }
}

/// One name's copies on one thread.
///
/// Keys that are integers from 0 to the near cache's capacity (database ids, most
/// often) are kept in an array indexed by the key: no hash to compute and no probe,
/// and the array of 10,000 TechEmpower worlds is about 280 KB against the map's 460
/// KB. Other keys are in a hash map (SipHash: keys come from requests, so the map
/// keeps std's defence against hash flooding). Each part holds at most `capacity`
/// copies: the array by its length, the map by starting over when full.
struct Copies<K, V> {
    dense: Vec<Option<Copy<V>>>,
    map: HashMap<K, Copy<V>>,
}

impl<K: Hash + Eq + 'static, V> Copies<K, V> {
    fn new() -> Self {
        Self {
            dense: Vec::new(),
            map: HashMap::new(),
        }
    }

    fn get(&self, key: &K, capacity: usize) -> Option<&Copy<V>> {
        match dense_index(key, capacity) {
            Some(i) => self.dense.get(i)?.as_ref(),
            None => self.map.get(key),
        }
    }

    /// The value of `key`'s copy, while the copy is exact.
    #[inline]
    fn value(&self, key: &K, near: &NearShared, now: u64) -> Option<V>
    where
        V: Clone,
    {
        let copy = self.get(key, near.capacity)?;
        copy.live(near, now).then(|| copy.value.clone())
    }

    fn insert(&mut self, key: &K, copy: Copy<V>, capacity: usize)
    where
        K: Clone,
    {
        if let Some(i) = dense_index(key, capacity) {
            if i >= self.dense.len() {
                self.dense.resize_with(i + 1, || None);
            }
            self.dense[i] = Some(copy);
            return;
        }
        if self.map.len() >= capacity && !self.map.contains_key(key) {
            self.map.clear();
        }
        self.map.insert(key.clone(), copy);
    }
}

/// Where `key` sits in a name's array of copies: integer keys from 0 to `capacity`.
/// The type tests are on constants and fold away in each instantiation.
fn dense_index<K: 'static>(key: &K, capacity: usize) -> Option<usize> {
    let key: &dyn Any = key;
    let i = if let Some(&k) = key.downcast_ref::<i32>() {
        usize::try_from(k).ok()
    } else if let Some(&k) = key.downcast_ref::<i64>() {
        usize::try_from(k).ok()
    } else if let Some(&k) = key.downcast_ref::<u32>() {
        usize::try_from(k).ok()
    } else if let Some(&k) = key.downcast_ref::<u64>() {
        usize::try_from(k).ok()
    } else if let Some(&k) = key.downcast_ref::<usize>() {
        Some(k)
    } else if let Some(&k) = key.downcast_ref::<i16>() {
        usize::try_from(k).ok()
    } else if let Some(&k) = key.downcast_ref::<u16>() {
        Some(usize::from(k))
    } else {
        None
    }?;
    (i <= capacity).then_some(i)
}

/// A thread's copies of every name (a `Copies<K, V>` each).
type AllCopies = Owned<NamedCopies, Box<dyn Any>>;

/// Handles a thread keeps for [`Cache::named`] before it starts over.
const HANDLES: usize = 16;

thread_local! {
    /// This thread's copies.
    static COPIES: RefCell<AllCopies> = const { RefCell::new(Vec::new()) };
    /// The in-process handles this thread made, by their types (at most [`HANDLES`]).
    static MADE: RefCell<Vec<(TypeId, Arc<Handle>)>> = const { RefCell::new(Vec::new()) };
}

impl Cache {
    /// The values of type `V` under the keys `{name}:{key}`: see [`Named`]. Every
    /// handle of the same name and types shares its copies. Names are meant to be fixed
    /// in code: each one used is kept for the life of the cache.
    ///
    /// Cheap to call per request: in process, each thread keeps the last handles it
    /// made and hands out another reference to one of them (no lock, no allocation,
    /// and no reference count that other cores touch).
    pub fn named<K, V>(&self, name: &str) -> Named<K, V>
    where
        K: Display + Hash + Eq + Clone + 'static,
        V: Serialize + DeserializeOwned + Clone + Send + Sync + 'static,
    {
        let types = TypeId::of::<(K, V)>();
        let Some(memory) = self.parts.backend.as_memory() else {
            return Named::from_handle(Handle {
                cache: self.clone(),
                name: name.into(),
                copies: None,
            });
        };
        let made = MADE.try_with(|made| {
            made.borrow()
                .iter()
                .find(|(t, h)| *t == types && *h.name == *name && h.cache.same(self))
                .map(|(_, h)| Arc::clone(h))
        });
        if let Ok(Some(inner)) = made {
            return Named {
                inner,
                _types: PhantomData,
            };
        }
        let handle = Arc::new(Handle {
            cache: self.clone(),
            name: name.into(),
            copies: memory.named_copies(name, types),
        });
        if handle.copies.is_some() {
            let _ = MADE.try_with(|made| {
                let mut made = made.borrow_mut();
                if made.len() >= HANDLES {
                    made.clear();
                }
                made.push((types, Arc::clone(&handle)));
            });
        }
        Named {
            inner: handle,
            _types: PhantomData,
        }
    }
}

impl<K, V> Named<K, V> {
    fn from_handle(handle: Handle) -> Self {
        Self {
            inner: Arc::new(handle),
            _types: PhantomData,
        }
    }
}

impl<K, V> Named<K, V>
where
    K: Display + Hash + Eq + Clone + 'static,
    V: Serialize + DeserializeOwned + Clone + Send + Sync + 'static,
{
    /// The cache key of `key`: `{name}:{key}`.
    pub fn key(&self, key: &K) -> String {
        format!("{}:{key}", self.inner.name)
    }

    /// The name.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// The value under `key`, if present, fresh and a `V`.
    pub async fn get(&self, key: &K) -> Result<Option<V>, Error> {
        if let Some(v) = self.copy_of(key) {
            return Ok(Some(v));
        }
        let full = self.key(key);
        if let Some(found) = self.read_and_copy(key, &full) {
            return Ok(found);
        }
        self.inner.cache.get(&full).await
    }

    /// Stores `value` under `key` for `ttl`.
    pub async fn set(&self, key: &K, value: &V, ttl: Duration) -> Result<(), Error> {
        self.inner.cache.set(&self.key(key), value, ttl).await
    }

    /// Removes `key`.
    pub async fn delete(&self, key: &K) -> Result<(), Error> {
        self.inner.cache.delete(&self.key(key)).await
    }

    /// The value under `key`, or the result of `compute` (stored for `ttl`), as
    /// [`Cache::get_or_compute`]: one computation per key at a time.
    pub async fn get_or_compute<F, Fut, E>(
        &self,
        key: &K,
        ttl: Duration,
        compute: F,
    ) -> Result<V, Error>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<V, E>>,
        E: Into<Error>,
    {
        if let Some(v) = self.copy_of(key) {
            return Ok(v);
        }
        let full = self.key(key);
        if let Some(Some(v)) = self.read_and_copy(key, &full) {
            return Ok(v);
        }
        self.inner.cache.get_or_compute(&full, ttl, compute).await
    }

    /// The values under `keys`, in order (`None`: absent, expired or not a `V`). In
    /// process the thread's copies are read in one pass; in Redis, one `MGET`.
    pub async fn get_many(&self, keys: &[K]) -> Result<Vec<Option<V>>, Error> {
        if self.inner.copies.is_none() {
            let full: Vec<String> = keys.iter().map(|k| self.key(k)).collect();
            let refs: Vec<&str> = full.iter().map(String::as_str).collect();
            return self.inner.cache.get_many(&refs).await;
        }
        Ok(self.complete(keys, self.copies_of(keys)))
    }

    /// The values under `keys`, in order, computing (concurrently) and storing for
    /// `ttl` the ones missing (Rails' `fetch_multi`). Each computation is single-flight
    /// as in [`get_or_compute`](Self::get_or_compute).
    pub async fn get_many_or_compute<F, Fut, E>(
        &self,
        keys: &[K],
        ttl: Duration,
        compute: F,
    ) -> Result<Vec<V>, Error>
    where
        F: Fn(&K) -> Fut,
        Fut: Future<Output = Result<V, E>>,
        E: Into<Error>,
    {
        // All copies live (the usual case for a warm cache): the values, read in one
        // pass straight into the answer.
        let found = match self.all_copies_of(keys) {
            Ok(all) => return Ok(all),
            Err(Some(partial)) => Ok(self.complete(keys, partial)),
            Err(None) => self.get_many(keys).await,
        };
        let found = match found {
            Ok(found) => found,
            // Each key then goes its own way (computed, or the error).
            Err(e) if self.inner.cache.parts.fall_through => {
                tracing::warn!(target: "keel::cache", name = %self.inner.name, error = %e, "cache unavailable; computing without it");
                vec![None; keys.len()]
            }
            Err(e) => return Err(e),
        };
        if found.iter().all(Option::is_some) {
            // All found (the usual case for a warm cache): nothing to compute, and no
            // join of computations to set up (the filtered join costs about a third
            // of a 100-key hit's time).
            let mut all = Vec::with_capacity(found.len());
            all.extend(found.into_iter().flatten());
            return Ok(all);
        }
        let missing = found
            .iter()
            .zip(keys)
            .filter(|(v, _)| v.is_none())
            .map(|(_, key)| self.get_or_compute(key, ttl, || compute(key)));
        let mut computed = futures_util::future::try_join_all(missing)
            .await?
            .into_iter();
        found
            .into_iter()
            .map(|v| v.or_else(|| computed.next()))
            .collect::<Option<Vec<V>>>()
            .ok_or_else(|| Error::internal_msg("a computed value went missing"))
    }

    /// `read` of this thread's copies of this name (`None`: none yet) and the clock,
    /// read once, under one borrow. `None` when this cache keeps no copies.
    #[inline]
    fn with_copies<R>(
        &self,
        read: impl FnOnce(Option<&Copies<K, V>>, &NearShared, u64) -> R,
    ) -> Option<R> {
        let copies = self.inner.copies.as_ref()?;
        COPIES
            .try_with(|all| {
                let all = all.borrow();
                let map = owned(&all, copies).and_then(|m| m.downcast_ref::<Copies<K, V>>());
                read(map, &copies.near, crate::clock::now())
            })
            .ok()
    }

    /// Every value of `keys` from this thread's live copies, in one pass. Short of
    /// that, what the copies hold (`None` where a key has no live copy), or nothing
    /// when this cache keeps no copies.
    fn all_copies_of(&self, keys: &[K]) -> Result<Vec<V>, Option<Vec<Option<V>>>> {
        self.with_copies(|map, near, now| {
            let Some(map) = map else {
                return Err(vec![None; keys.len()]);
            };
            let mut values = Vec::with_capacity(keys.len());
            for (i, key) in keys.iter().enumerate() {
                match map.value(key, near, now) {
                    Some(v) => values.push(v),
                    None => {
                        // A miss: the rest as `Option`s, the hits so far included.
                        let mut found: Vec<Option<V>> = Vec::with_capacity(keys.len());
                        found.extend(values.into_iter().map(Some));
                        found.push(None);
                        found.extend(keys[i + 1..].iter().map(|k| map.value(k, near, now)));
                        return Err(found);
                    }
                }
            }
            Ok(values)
        })
        .map_or(Err(None), |r| r.map_err(Some))
    }

    /// `found` (the thread's copies of `keys`) with each missing one read from the
    /// shared store, and copied.
    fn complete(&self, keys: &[K], mut found: Vec<Option<V>>) -> Vec<Option<V>> {
        for (key, slot) in keys.iter().zip(found.iter_mut()) {
            if slot.is_none() {
                *slot = self.read_and_copy(key, &self.key(key)).flatten();
            }
        }
        found
    }

    /// This thread's live copies of `keys` (`None` where there is none).
    fn copies_of(&self, keys: &[K]) -> Vec<Option<V>> {
        self.with_copies(|map, near, now| match map {
            Some(map) => keys.iter().map(|k| map.value(k, near, now)).collect(),
            None => vec![None; keys.len()],
        })
        .unwrap_or_else(|| vec![None; keys.len()])
    }

    /// This thread's copy of `key`, while it is exact.
    fn copy_of(&self, key: &K) -> Option<V> {
        self.with_copies(|map, near, now| map?.value(key, near, now))
            .flatten()
    }

    /// In process: the entry under `full` read from the shared store, copied for this
    /// thread (`Some(None)`: absent or not a `V`). `None`: not in process.
    fn read_and_copy(&self, key: &K, full: &str) -> Option<Option<V>> {
        let copies = self.inner.copies.as_ref()?;
        let memory = self.inner.cache.parts.backend.as_memory()?;
        let Some((slot, writes, entry)) = memory.entry_for_copy(full) else {
            return Some(None);
        };
        let Some(value) = crate::typed::<V>(&entry) else {
            return Some(None);
        };
        let Some(deadline) = crate::clock::deadline(entry.until) else {
            return Some(Some(value));
        };
        let copy = Copy::new(slot, writes, deadline, value.clone());
        let _ = COPIES.try_with(|all| {
            let mut all = all.borrow_mut();
            let mine = owned_mut(&mut all, copies, || Box::new(Copies::<K, V>::new()));
            if let Some(map) = mine.downcast_mut::<Copies<K, V>>() {
                map.insert(key, copy, copies.near.capacity);
            }
        });
        Some(Some(value))
    }
}

#[cfg(test)]
mod tests {
    use super::dense_index;

    #[test]
    fn small_integer_keys_index_the_array_and_others_do_not() {
        assert_eq!(dense_index(&0i32, 10), Some(0));
        assert_eq!(dense_index(&10i32, 10), Some(10));
        assert_eq!(dense_index(&11i32, 10), None);
        assert_eq!(dense_index(&-1i32, 10), None);
        assert_eq!(dense_index(&i64::MIN, 10), None);
        assert_eq!(dense_index(&7u64, 10), Some(7));
        assert_eq!(dense_index(&u64::MAX, 10), None);
        assert_eq!(dense_index(&3u16, 10), Some(3));
        assert_eq!(dense_index(&3usize, 0), None);
        assert_eq!(dense_index(&"3".to_owned(), 10), None);
        assert_eq!(dense_index(&(1i32, 2i32), 10), None);
    }
}
