//! # keel-cache
//!
//! A typed cache with time-to-live, in this process (moka, the default) or in Redis
//! (feature `redis`), chosen by `[cache] backend`:
//!
//! ```no_run
//! use std::time::Duration;
//! use keel_cache::Cache;
//!
//! async fn world(cache: Cache) -> keel_core::Result<String> {
//!     let n: u64 = cache
//!         .get_or_compute("answer", Duration::from_secs(60), || async {
//!             Ok::<_, keel_core::Error>(42) // the expensive part, run once per key at a time
//!         })
//!         .await?;
//!     Ok(n.to_string())
//! }
//! ```
//!
//! In process, values are kept as themselves (a hit is a lookup and a `clone`); in
//! Redis, as JSON. `get_or_compute` protects against stampedes: while one
//! caller computes a missing key, the others for that key wait for its result instead
//! of computing it too. When the backend fails (Redis down), `get_or_compute` either
//! answers with a 503 problem or, with `cache.fall_through = true`, computes the value
//! without caching it; plain `get` / `set` return the error. The Redis connection
//! reconnects by itself once Redis is back.

use std::any::Any;
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum_core::extract::FromRequestParts;
use futures_util::future::BoxFuture;
use http::request::Parts;
use keel_core::config::duration;
use keel_core::{App, AppState, Error};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

mod clock;
mod named;
pub use named::Named;

/// The `[cache]` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CacheSettings {
    /// `memory` (default) or `redis`.
    pub backend: String,
    /// Redis server for `backend = "redis"`; unset: `REDIS_URL` / `redis.url`.
    pub redis_url: Option<String>,
    /// Key prefix in Redis.
    pub prefix: String,
    /// Most entries the in-process cache keeps.
    pub max_entries: u64,
    /// Most entries each thread keeps of its own recent in-process hits (the near
    /// cache; `0` turns it off). See [`MemoryBackend`].
    pub near_entries: u64,
    /// Time-to-live when a call does not give one.
    #[serde(with = "duration")]
    pub default_ttl: Duration,
    /// When the backend fails, compute without caching instead of answering 503.
    pub fall_through: bool,
}

impl Default for CacheSettings {
    fn default() -> Self {
        Self {
            backend: "memory".into(),
            redis_url: None,
            prefix: "keel:cache:".into(),
            max_entries: 100_000,
            near_entries: DEFAULT_NEAR_ENTRIES,
            default_ttl: Duration::from_secs(300),
            fall_through: false,
        }
    }
}

/// Where cached bytes live.
pub trait CacheBackend: Send + Sync + 'static {
    /// The bytes under `key`, if present and fresh.
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<Vec<u8>>, Error>>;
    /// Stores `value` under `key` for `ttl`.
    fn set<'a>(
        &'a self,
        key: &'a str,
        value: Vec<u8>,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<(), Error>>;
    /// Removes `key`.
    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), Error>>;
    /// The bytes under each of `keys`, in order. The default reads them one by one;
    /// Redis reads them in one `MGET`.
    fn get_many<'a>(
        &'a self,
        keys: &'a [&'a str],
    ) -> BoxFuture<'a, Result<Vec<Option<Vec<u8>>>, Error>> {
        Box::pin(async move {
            let mut out = Vec::with_capacity(keys.len());
            for key in keys {
                out.push(self.get(key).await?);
            }
            Ok(out)
        })
    }
    /// Adds one to the counter under `key` (created at 1 with a time-to-live of `ttl`;
    /// later increments keep its expiry) and returns the new count and the time left
    /// until it expires. Atomic: concurrent increments, on any number of app nodes
    /// sharing the backend, are all counted.
    fn incr<'a>(
        &'a self,
        key: &'a str,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<(u64, Duration), Error>>;

    /// The in-process backend behind this one, if it is one: [`Cache`] then keeps
    /// values as themselves instead of as JSON.
    fn as_memory(&self) -> Option<&MemoryBackend> {
        None
    }
}

/// The in-process backend (moka), with a time-to-live per entry.
///
/// Values go in as themselves, not as JSON: [`Cache::get`] of the type that was stored
/// is a lookup and a `clone`. A value read as another type goes through JSON, as it
/// would through Redis, so both backends answer alike.
///
/// A read also keeps a copy of the entry (a pointer to the value) in a small map of
/// the reading thread's own, the *near cache*, and the next read of that key on that
/// thread is answered from it without touching moka's shared bookkeeping, which
/// records every read (`/cached-queries` spent most of its time there). Copies stay
/// exact: every write (`set`, `delete`, `incr`) bumps one of [`NEAR_SLOTS`] write
/// counters, chosen by the key, after it has written moka; a copy is used only while
/// its key's counter still has the value read before the copy was made, and only
/// until the entry's own expiry. So a read that starts after a write has finished
/// sees that write, on every thread. What a copy can outlive is moka's own eviction
/// for size: an evicted entry may still be answered from a thread's copy until it
/// expires or its key is written.
#[derive(Clone)]
pub struct MemoryBackend {
    cache: moka::sync::SegmentedCache<String, Entry>,
    near: Option<Arc<NearShared>>,
    /// The copies of each [`Named`] cache, by name and types.
    named: Arc<Mutex<NamedRegistry>>,
}

type NamedRegistry = HashMap<(String, std::any::TypeId), Arc<named::NamedCopies>>;

/// Copies each thread keeps unless `cache.near_entries` says otherwise.
const DEFAULT_NEAR_ENTRIES: u64 = 10_000;

/// How many write counters the near cache spreads keys over.
pub const NEAR_SLOTS: usize = 64;

/// What all threads share of one backend's near cache.
struct NearShared {
    /// Bumped after every write of a key in the slot.
    writes: [std::sync::atomic::AtomicU64; NEAR_SLOTS],
    /// Most copies per thread; past it the thread's map starts over.
    capacity: usize,
}

/// A thread's copy of an entry, with the write count it was read under and its
/// deadline ([`clock::deadline`]).
struct NearCopy {
    writes: u64,
    deadline: u64,
    entry: Entry,
}

impl NearCopy {
    /// Whether the copy is still exact: made under the key's current write count
    /// (`writes`), before its deadline (`now`: [`clock::now`]).
    fn live(&self, writes: u64, now: u64) -> bool {
        self.writes == writes && self.deadline > now
    }
}

/// A thread's copies, per backend. Keys of up to 24 bytes are kept inline in the
/// map's slot: a lookup then touches one slot, not the slot and the key's own
/// allocation (`/cached-queries` measured both as cache misses).
type NearMaps = Owned<NearShared, HashMap<compact_str::CompactString, NearCopy>>;

thread_local! {
    /// This thread's copies, per backend (usually one).
    static NEAR: std::cell::RefCell<NearMaps> = const { std::cell::RefCell::new(Vec::new()) };
}

/// A thread's parts of shared owners (near copies per backend, named copies per
/// name), each beside a weak pointer to its owner, so that the parts of an owner
/// dropped since are recognised and let go.
type Owned<O, M> = Vec<(std::sync::Weak<O>, M)>;

/// `owner`'s part of `list`.
fn owned<'a, O, M>(list: &'a Owned<O, M>, owner: &Arc<O>) -> Option<&'a M> {
    list.iter()
        .find(|(o, _)| std::ptr::eq(o.as_ptr(), Arc::as_ptr(owner)))
        .map(|(_, part)| part)
}

/// `owner`'s part of `list`, made by `new` (after letting go of the parts of dropped
/// owners) if it has none yet.
fn owned_mut<'a, O, M>(
    list: &'a mut Owned<O, M>,
    owner: &Arc<O>,
    new: impl FnOnce() -> M,
) -> &'a mut M {
    let i = match list
        .iter()
        .position(|(o, _)| std::ptr::eq(o.as_ptr(), Arc::as_ptr(owner)))
    {
        Some(i) => i,
        None => {
            list.retain(|(o, _)| o.strong_count() > 0);
            list.push((Arc::downgrade(owner), new()));
            list.len() - 1
        }
    };
    &mut list[i].1
}

/// The write counter of `key` (FNV-1a: keys are short).
fn near_slot(key: &str) -> usize {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in key.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    (h % NEAR_SLOTS as u64) as usize
}

impl NearShared {
    fn new(capacity: usize) -> Self {
        Self {
            writes: std::array::from_fn(|_| std::sync::atomic::AtomicU64::new(0)),
            capacity,
        }
    }

    fn writes_of(&self, key: &str) -> u64 {
        self.writes_at(near_slot(key))
    }

    fn writes_at(&self, slot: usize) -> u64 {
        self.writes[slot].load(std::sync::atomic::Ordering::Acquire)
    }

    /// Marks `key` written: every thread's copy of it (and of its slot) is stale.
    fn wrote(&self, key: &str) {
        self.writes[near_slot(key)].fetch_add(1, std::sync::atomic::Ordering::Release);
    }

    /// `read` of this thread's copy of `key`, if made under `writes` and not
    /// expired. The copy is lent, not cloned: cloning would touch the value's
    /// reference count, a cache line every thread reading the key shares.
    fn read_copy<R>(
        self: &Arc<Self>,
        key: &str,
        writes: u64,
        read: impl FnOnce(&Entry) -> R,
    ) -> Result<R, impl FnOnce(&Entry) -> R> {
        NEAR.with(|near| {
            let near = near.borrow();
            let copy = owned(&near, self)
                .and_then(|map| map.get(key))
                .filter(|c| c.live(writes, clock::now()));
            match copy {
                Some(c) => Ok(read(&c.entry)),
                None => Err(read),
            }
        })
    }

    /// `read` of this thread's live copy of each of `keys` (each made under the count
    /// in `writes`), under one borrow and one clock reading; `None` where there is none.
    fn read_copies<R>(
        self: &Arc<Self>,
        keys: &[&str],
        writes: &[u64],
        read: impl Fn(&Entry) -> R,
    ) -> Vec<Option<R>> {
        NEAR.with(|near| {
            let near = near.borrow();
            let Some(map) = owned(&near, self) else {
                return keys.iter().map(|_| None).collect();
            };
            let now = clock::now();
            keys.iter()
                .zip(writes)
                .map(|(key, writes)| {
                    let copy = map.get(*key)?;
                    copy.live(*writes, now).then(|| read(&copy.entry))
                })
                .collect()
        })
    }

    fn keep(self: &Arc<Self>, key: &str, writes: u64, entry: &Entry) {
        let Some(deadline) = clock::deadline(entry.until) else {
            return;
        };
        NEAR.with(|near| {
            let mut near = near.borrow_mut();
            let map = owned_mut(&mut near, self, HashMap::new);
            if let Some(copy) = map.get_mut(key) {
                copy.writes = writes;
                copy.deadline = deadline;
                copy.entry = entry.clone();
                return;
            }
            if map.len() >= self.capacity {
                map.clear();
            }
            map.insert(
                compact_str::CompactString::new(key),
                NearCopy {
                    writes,
                    deadline,
                    entry: entry.clone(),
                },
            );
        });
    }
}

/// How many independent parts the in-process cache has.
const SEGMENTS: usize = 16;

/// Turns a stored value back into JSON (made where its type is known).
type ToJson = fn(&(dyn Any + Send + Sync)) -> serde_json::Result<Vec<u8>>;

/// What the in-process backend keeps under a key.
#[derive(Clone)]
enum Stored {
    /// A value as itself, with the way to write it as JSON.
    Typed(Arc<dyn Any + Send + Sync>, ToJson),
    /// JSON bytes (from [`CacheBackend::set`] and counters).
    Bytes(Arc<[u8]>),
}

#[derive(Clone)]
struct Entry {
    value: Stored,
    /// How long the entry lives from its last write.
    ttl: Duration,
    /// When it expires (counters report the time left).
    until: Instant,
}

impl Entry {
    fn new(value: Stored, ttl: Duration) -> Self {
        Self {
            value,
            ttl,
            until: Instant::now() + ttl,
        }
    }

    fn json(&self) -> Option<Vec<u8>> {
        match &self.value {
            Stored::Typed(value, to_json) => to_json(value.as_ref()).ok(),
            Stored::Bytes(bytes) => Some(bytes.to_vec()),
        }
    }
}

/// `entry` as a `T`: a clone when a `T` was stored, else read from its JSON.
fn typed<T: DeserializeOwned + Clone + 'static>(entry: &Entry) -> Option<T> {
    if let Stored::Typed(value, _) = &entry.value
        && let Some(v) = value.downcast_ref::<T>()
    {
        return Some(v.clone());
    }
    serde_json::from_slice(&entry.json()?).ok()
}

/// Bytes read from a backend as a `T` (`None`: absent or not a `T`).
fn from_json<T: DeserializeOwned>(bytes: Option<Vec<u8>>) -> Option<T> {
    serde_json::from_slice(&bytes?).ok()
}

/// Entries expire `ttl` after they were written.
struct PerEntryTtl;

impl moka::Expiry<String, Entry> for PerEntryTtl {
    fn expire_after_create(&self, _: &String, value: &Entry, _: Instant) -> Option<Duration> {
        Some(value.ttl)
    }

    fn expire_after_update(
        &self,
        _: &String,
        value: &Entry,
        _: Instant,
        _: Option<Duration>,
    ) -> Option<Duration> {
        Some(value.ttl)
    }
}

fn to_json_of<T: Serialize + Send + Sync + 'static>(
    value: &(dyn Any + Send + Sync),
) -> serde_json::Result<Vec<u8>> {
    match value.downcast_ref::<T>() {
        Some(v) => serde_json::to_vec(v),
        None => Err(serde::ser::Error::custom("a cached value changed type")),
    }
}

impl std::fmt::Debug for MemoryBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryBackend")
            .field("entries", &self.cache.entry_count())
            .finish()
    }
}

impl MemoryBackend {
    /// A cache of at most `max_entries` entries, with a near cache of up to 10,000
    /// entries per thread (fewer if `max_entries` is smaller).
    pub fn new(max_entries: u64) -> Self {
        Self::with_near(max_entries, DEFAULT_NEAR_ENTRIES)
    }

    /// A cache of at most `max_entries` entries and a near cache of up to
    /// `near_entries` per thread (`0`: none; at most `max_entries`).
    pub fn with_near(max_entries: u64, near_entries: u64) -> Self {
        let near = near_entries.min(max_entries);
        Self {
            near: (near > 0).then(|| Arc::new(NearShared::new(near as usize))),
            named: Arc::default(),
            // Segments, each with its own bookkeeping: server workers reading random
            // keys rarely touch the same one (moka records every read).
            cache: moka::sync::SegmentedCache::builder(SEGMENTS)
                .max_capacity(max_entries)
                .expire_after(PerEntryTtl)
                .build(),
        }
    }

    /// The value under `key` as a `T`: a clone when a `T` was stored, else read from
    /// the value's JSON; `None` when absent, expired or not a `T`.
    pub fn get_typed<T: DeserializeOwned + Clone + Send + Sync + 'static>(
        &self,
        key: &str,
    ) -> Option<T> {
        self.with_entry(key, typed::<T>)?
    }

    /// The values under `keys` as `T`s, in order: [`get_typed`](Self::get_typed) of
    /// each, with the thread's copies read under one borrow and one clock reading.
    pub fn get_many_typed<T: DeserializeOwned + Clone + Send + Sync + 'static>(
        &self,
        keys: &[&str],
    ) -> Vec<Option<T>> {
        let Some(near) = &self.near else {
            return keys.iter().map(|key| self.get_typed(key)).collect();
        };
        // The counts are read before moka, as in `with_entry`.
        let writes: Vec<u64> = keys.iter().map(|key| near.writes_of(key)).collect();
        let copies = near.read_copies(keys, &writes, typed::<T>);
        keys.iter()
            .zip(writes)
            .zip(copies)
            .map(|((key, writes), copy)| match copy {
                Some(value) => value,
                None => {
                    let entry = self.cache.get(*key)?;
                    near.keep(key, writes, &entry);
                    typed::<T>(&entry)
                }
            })
            .collect()
    }

    /// Stores `value` as itself under `key` for `ttl`.
    pub fn set_typed<T: Serialize + Send + Sync + 'static>(
        &self,
        key: &str,
        value: T,
        ttl: Duration,
    ) {
        let stored = Stored::Typed(Arc::new(value), to_json_of::<T>);
        self.cache.insert(key.to_owned(), Entry::new(stored, ttl));
        self.wrote(key);
    }

    /// `read` of the live entry under `key`: this thread's copy when it is still
    /// exact, else moka's (then copied).
    fn with_entry<R>(&self, key: &str, read: impl FnOnce(&Entry) -> R) -> Option<R> {
        let Some(near) = &self.near else {
            return self.cache.get(key).map(|e| read(&e));
        };
        // The count is read before moka: a write that lands in between leaves the
        // copy made here already stale.
        let writes = near.writes_of(key);
        match near.read_copy(key, writes, read) {
            Ok(r) => Some(r),
            Err(read) => {
                let entry = self.cache.get(key)?;
                near.keep(key, writes, &entry);
                Some(read(&entry))
            }
        }
    }

    /// The shared identity of the copies of the named cache `name` of `types`
    /// (`None` without a near cache).
    fn named_copies(&self, name: &str, types: std::any::TypeId) -> Option<Arc<named::NamedCopies>> {
        let near = self.near.as_ref()?;
        let mut all = self
            .named
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let copies = all
            .entry((name.to_owned(), types))
            .or_insert_with(|| Arc::new(named::NamedCopies::new(Arc::clone(near))));
        Some(Arc::clone(copies))
    }

    /// The live entry under `key` from the shared store, with its write counter and
    /// that counter's value read before it (what a copy of it is checked against).
    fn entry_for_copy(&self, key: &str) -> Option<(u8, u64, Entry)> {
        let near = self.near.as_ref()?;
        let slot = near_slot(key);
        let writes = near.writes_at(slot);
        let entry = self.cache.get(key)?;
        Some((u8::try_from(slot).ok()?, writes, entry))
    }

    fn wrote(&self, key: &str) {
        if let Some(near) = &self.near {
            near.wrote(key);
        }
    }
}

impl CacheBackend for MemoryBackend {
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<Vec<u8>>, Error>> {
        let found = self.with_entry(key, Entry::json).flatten();
        Box::pin(std::future::ready(Ok(found)))
    }

    fn set<'a>(
        &'a self,
        key: &'a str,
        value: Vec<u8>,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<(), Error>> {
        self.cache
            .insert(key.to_owned(), Entry::new(Stored::Bytes(value.into()), ttl));
        self.wrote(key);
        Box::pin(std::future::ready(Ok(())))
    }

    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), Error>> {
        self.cache.invalidate(key);
        self.wrote(key);
        Box::pin(std::future::ready(Ok(())))
    }

    fn incr<'a>(
        &'a self,
        key: &'a str,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<(u64, Duration), Error>> {
        let now = Instant::now();
        let mut out = (1, now + ttl);
        self.cache
            .entry(key.to_owned())
            .and_compute_with(|current| {
                let (count, until) = match current.map(moka::Entry::into_value) {
                    Some(entry) if entry.until > now => {
                        let count: u64 = entry
                            .json()
                            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
                            .unwrap_or(0);
                        (count + 1, entry.until)
                    }
                    _ => (1, now + ttl),
                };
                out = (count, until);
                // The window keeps its end: the new value lives for what is left.
                let left = until.saturating_duration_since(now);
                moka::ops::compute::Op::Put(Entry {
                    value: Stored::Bytes(count.to_string().into_bytes().into()),
                    ttl: left,
                    until,
                })
            });
        self.wrote(key);
        Box::pin(std::future::ready(Ok((
            out.0,
            out.1.saturating_duration_since(now),
        ))))
    }

    fn as_memory(&self) -> Option<&MemoryBackend> {
        Some(self)
    }
}

/// The Redis backend (feature `redis`): a multiplexed connection that reconnects.
#[cfg(feature = "redis")]
#[derive(Clone)]
pub struct RedisBackend {
    conn: redis::aio::ConnectionManager,
    prefix: String,
}

#[cfg(feature = "redis")]
impl std::fmt::Debug for RedisBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisBackend")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

#[cfg(feature = "redis")]
impl RedisBackend {
    /// Connects to `url`; keys get `prefix`.
    pub async fn connect(url: &str, prefix: &str) -> Result<Self, Error> {
        let client =
            redis::Client::open(url).map_err(|e| Error::config(format!("cache.redis_url: {e}")))?;
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(2)))
            .set_response_timeout(Some(Duration::from_secs(2)));
        let conn = redis::aio::ConnectionManager::new_with_config(client, config)
            .await
            .map_err(|e| {
                Error::unavailable(format!("cannot reach Redis at {url}"), None).with_source(e)
            })?;
        Ok(Self {
            conn,
            prefix: prefix.to_owned(),
        })
    }
}

#[cfg(feature = "redis")]
fn redis_down(e: redis::RedisError) -> Error {
    Error::unavailable("The cache is unavailable.", Some(1))
        .with_code("cache_unavailable")
        .with_source(e)
}

#[cfg(feature = "redis")]
impl CacheBackend for RedisBackend {
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<Vec<u8>>, Error>> {
        Box::pin(async move {
            let mut c = self.conn.clone();
            redis::AsyncCommands::get(&mut c, format!("{}{key}", self.prefix))
                .await
                .map_err(redis_down)
        })
    }

    fn get_many<'a>(
        &'a self,
        keys: &'a [&'a str],
    ) -> BoxFuture<'a, Result<Vec<Option<Vec<u8>>>, Error>> {
        Box::pin(async move {
            if keys.is_empty() {
                return Ok(Vec::new());
            }
            let mut c = self.conn.clone();
            let full: Vec<String> = keys.iter().map(|k| format!("{}{k}", self.prefix)).collect();
            redis::cmd("MGET")
                .arg(&full)
                .query_async(&mut c)
                .await
                .map_err(redis_down)
        })
    }

    fn set<'a>(
        &'a self,
        key: &'a str,
        value: Vec<u8>,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(async move {
            let mut c = self.conn.clone();
            let ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
            let () =
                redis::AsyncCommands::pset_ex(&mut c, format!("{}{key}", self.prefix), value, ms)
                    .await
                    .map_err(redis_down)?;
            Ok(())
        })
    }

    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(async move {
            let mut c = self.conn.clone();
            let _: i64 = redis::AsyncCommands::del(&mut c, format!("{}{key}", self.prefix))
                .await
                .map_err(redis_down)?;
            Ok(())
        })
    }

    fn incr<'a>(
        &'a self,
        key: &'a str,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<(u64, Duration), Error>> {
        Box::pin(async move {
            let mut c = self.conn.clone();
            let key = format!("{}{key}", self.prefix);
            let ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
            // One round trip, applied atomically: count, set the expiry only on the
            // first increment (NX), read what is left of it.
            let (count, left): (u64, i64) = redis::pipe()
                .atomic()
                .incr(&key, 1)
                .cmd("PEXPIRE")
                .arg(&key)
                .arg(ms)
                .arg("NX")
                .ignore()
                .pttl(&key)
                .query_async(&mut c)
                .await
                .map_err(redis_down)?;
            let left = u64::try_from(left).unwrap_or(0);
            Ok((count, Duration::from_millis(left)))
        })
    }
}

/// The cache: a backend plus single-flight locks for `get_or_compute`. Cheap to clone
/// (one reference count); also an extractor.
#[derive(Clone)]
pub struct Cache {
    parts: Arc<Shared>,
}

/// What a cache is. Behind one more `Arc` so that a `per-core` worker keeps a copy
/// with its own reference count ([`Cache::worker_copy`]): the extractor clones a
/// cache per request, and two workers incrementing one counter fight over its cache
/// line.
#[derive(Clone)]
struct Shared {
    backend: Arc<dyn CacheBackend>,
    flights: Arc<Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>>,
    fall_through: bool,
    default_ttl: Duration,
}

impl Cache {
    /// Whether `other` is this cache (a clone or a worker copy of it, with the same
    /// settings).
    fn same(&self, other: &Cache) -> bool {
        Arc::ptr_eq(&self.parts.backend, &other.parts.backend)
            && Arc::ptr_eq(&self.parts.flights, &other.parts.flights)
            && self.parts.fall_through == other.parts.fall_through
            && self.parts.default_ttl == other.parts.default_ttl
    }

    /// The same cache (backend, single-flight locks, settings) under a reference
    /// count of its own, for one server worker to clone without touching the
    /// others'.
    #[must_use]
    pub fn worker_copy(&self) -> Self {
        Self {
            parts: Arc::new((*self.parts).clone()),
        }
    }

    fn with_default_ttl(mut self, ttl: Duration) -> Self {
        Arc::make_mut(&mut self.parts).default_ttl = ttl;
        self
    }
}

impl std::fmt::Debug for Cache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cache")
            .field("fall_through", &self.parts.fall_through)
            .finish_non_exhaustive()
    }
}

impl Cache {
    /// A cache over `backend`.
    pub fn new(backend: Arc<dyn CacheBackend>) -> Self {
        Self {
            parts: Arc::new(Shared {
                backend,
                flights: Arc::default(),
                fall_through: false,
                default_ttl: Duration::from_secs(300),
            }),
        }
    }

    /// When the backend fails, `get_or_compute` computes without caching.
    #[must_use]
    pub fn fall_through(mut self, on: bool) -> Self {
        Arc::make_mut(&mut self.parts).fall_through = on;
        self
    }

    /// The in-process cache.
    pub fn memory(max_entries: u64) -> Self {
        Self::new(Arc::new(MemoryBackend::new(max_entries)))
    }

    /// The value under `key`, if present, fresh and of type `T`.
    pub async fn get<T>(&self, key: &str) -> Result<Option<T>, Error>
    where
        T: DeserializeOwned + Clone + Send + Sync + 'static,
    {
        if let Some(memory) = self.parts.backend.as_memory() {
            return Ok(memory.get_typed(key));
        }
        Ok(from_json(self.parts.backend.get(key).await?))
    }

    /// The values under `keys`, in order, each `None` when absent, expired or not a
    /// `T` (Django's `get_many`, Rails' `read_multi`). In Redis, one round trip.
    pub async fn get_many<T>(&self, keys: &[&str]) -> Result<Vec<Option<T>>, Error>
    where
        T: DeserializeOwned + Clone + Send + Sync + 'static,
    {
        if let Some(memory) = self.parts.backend.as_memory() {
            return Ok(memory.get_many_typed(keys));
        }
        Ok(self
            .parts
            .backend
            .get_many(keys)
            .await?
            .into_iter()
            .map(from_json)
            .collect())
    }

    /// Stores `value` under `key` for `ttl` (in process: a copy of the value itself;
    /// in Redis: its JSON).
    pub async fn set<T>(&self, key: &str, value: &T, ttl: Duration) -> Result<(), Error>
    where
        T: Serialize + ToOwned + ?Sized,
        T::Owned: Serialize + Send + Sync + 'static,
    {
        if let Some(memory) = self.parts.backend.as_memory() {
            memory.set_typed(key, value.to_owned(), ttl);
            return Ok(());
        }
        let bytes = serde_json::to_vec(value).map_err(Error::internal)?;
        self.parts.backend.set(key, bytes, ttl).await
    }

    /// Stores `value` under `key` for `cache.default_ttl`.
    pub async fn set_default<T>(&self, key: &str, value: &T) -> Result<(), Error>
    where
        T: Serialize + ToOwned + ?Sized,
        T::Owned: Serialize + Send + Sync + 'static,
    {
        self.set(key, value, self.parts.default_ttl).await
    }

    /// Removes `key`.
    pub async fn delete(&self, key: &str) -> Result<(), Error> {
        self.parts.backend.delete(key).await
    }

    /// Adds one to the counter under `key`, which expires `ttl` after its first
    /// increment; returns the count and the time left in its window (rate limits,
    /// login throttling). [`get`](Self::get) reads it as a `u64`.
    pub async fn incr(&self, key: &str, ttl: Duration) -> Result<(u64, Duration), Error> {
        self.parts.backend.incr(key, ttl).await
    }

    /// The value under `key`, or the result of `compute` (stored for `ttl`). Concurrent
    /// callers for the same missing key wait for one computation.
    pub async fn get_or_compute<T, F, Fut, E>(
        &self,
        key: &str,
        ttl: Duration,
        compute: F,
    ) -> Result<T, Error>
    where
        T: Serialize + DeserializeOwned + Clone + Send + Sync + 'static,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
        E: Into<Error>,
    {
        match self.get::<T>(key).await {
            Ok(Some(v)) => return Ok(v),
            Ok(None) => {}
            Err(e) if self.parts.fall_through => {
                tracing::warn!(target: "keel::cache", key, error = %e, cause = %e.chain_string(), "cache unavailable; computing without it");
                return compute().await.map_err(Into::into);
            }
            Err(e) => return Err(e),
        }
        let flight = {
            let mut flights = self
                .parts
                .flights
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            Arc::clone(flights.entry(key.to_owned()).or_default())
        };
        let guard = flight.lock().await;
        // Another caller may have filled it while this one waited.
        let result = match self.get::<T>(key).await {
            Ok(Some(v)) => Ok(v),
            _ => {
                let value = compute().await.map_err(Into::into)?;
                if let Err(e) = self.set(key, &value, ttl).await {
                    if !self.parts.fall_through {
                        drop(guard);
                        self.forget_flight(key, &flight);
                        return Err(e);
                    }
                    tracing::warn!(target: "keel::cache", key, error = %e, "cache unavailable; value not stored");
                }
                Ok(value)
            }
        };
        drop(guard);
        self.forget_flight(key, &flight);
        result
    }

    fn forget_flight(&self, key: &str, flight: &Arc<tokio::sync::Mutex<()>>) {
        let mut flights = self
            .parts
            .flights
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // Only the map and this caller hold it: nobody else is waiting.
        if Arc::strong_count(flight) <= 2 {
            flights.remove(key);
        }
    }
}

/// A `per-core` worker's copy of the app's cache (kept per thread by
/// `keel_core::worker`).
#[derive(Clone)]
struct WorkerCache(Cache);

impl Cache {
    /// The app's cache as the current thread should use it: inside a `per-core`
    /// server worker, the worker's [copy](Cache::worker_copy) (the same cache under
    /// the worker's own reference count); anywhere else, the app's. This is what the
    /// `Cache` extractor hands to handlers.
    pub fn current(state: &AppState) -> Result<Self, Error> {
        if let Some(WorkerCache(cache)) = keel_core::worker::get::<WorkerCache>() {
            return Ok(cache);
        }
        state
            .get::<Cache>()
            .cloned()
            .ok_or_else(|| Error::internal_msg("the cache is not installed (keel::cache::plugin)"))
    }
}

impl FromRequestParts<AppState> for Cache {
    type Rejection = Error;

    async fn from_request_parts(_: &mut Parts, state: &AppState) -> Result<Self, Error> {
        Cache::current(state)
    }
}

/// The cache plugin: reads `[cache]` and provides [`Cache`] to handlers.
pub fn plugin(app: &mut App) {
    if !app.mark_installed("keel-cache") {
        return;
    }
    let settings: CacheSettings = app.section("cache");
    // Each `per-core` worker clones its own copy per request (see `Shared`).
    app.on_worker_start(|state, _| async move {
        if let Some(cache) = state.get::<Cache>() {
            keel_core::worker::provide(WorkerCache(cache.worker_copy()));
        }
        Ok(())
    });
    match settings.backend.as_str() {
        "memory" => {
            let cache = Cache::new(Arc::new(MemoryBackend::with_near(
                settings.max_entries,
                settings.near_entries,
            )))
            .fall_through(settings.fall_through)
            .with_default_ttl(settings.default_ttl);
            app.extensions().insert(cache);
        }
        #[cfg(feature = "redis")]
        "redis" => {
            app.known_section("redis");
            let url = settings
                .redis_url
                .clone()
                .or_else(|| app.config().get::<String>("redis.url").ok().flatten())
                .unwrap_or_else(|| "redis://127.0.0.1:6379/".into());
            app.provide_with(move |_| async move {
                let backend = RedisBackend::connect(&url, &settings.prefix).await?;
                Ok(Cache::new(Arc::new(backend))
                    .fall_through(settings.fall_through)
                    .with_default_ttl(settings.default_ttl))
            });
        }
        other => app.config_problem(keel_core::config::ConfigProblem {
            key: "cache.backend".into(),
            source: "config".into(),
            message: format!(
                "`{other}` is not a cache backend (memory; redis with the `redis` feature)"
            ),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_worker_copy_is_the_same_cache_under_a_count_of_its_own() {
        let app = Cache::memory(100);
        let copy = app.worker_copy();
        assert!(copy.same(&app) && app.same(&copy));
        assert!(!Arc::ptr_eq(&copy.parts, &app.parts));
        let per_request = copy.clone();
        assert_eq!(
            Arc::strong_count(&app.parts),
            1,
            "the app's count is untouched"
        );
        assert_eq!(Arc::strong_count(&copy.parts), 2);
        drop(per_request);
        assert_eq!(Arc::strong_count(&copy.parts), 1);
        assert!(!app.same(&Cache::memory(100)));
    }
}
