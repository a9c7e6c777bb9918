//! One cache hit, as `/cached-queries` makes a hundred of them per request, on keys
//! spread over all 10,000 rows as there: Keel's in-process cache keeping values as
//! themselves (answered from the thread's near copy, and with moka alone), a named
//! cache read by id (`Cache::named`; ids within the near cache's capacity index an
//! array of copies, larger ones a hash map), the same moka store read through the byte
//! interface (JSON, what every hit cost before values were kept typed), a `HashMap`
//! behind a lock as the floor for a lookup by string key, and indexing a `Vec` (what
//! the axum peer's `/cached-queries` does) as the floor for any cache.
#![allow(missing_docs, clippy::unwrap_used)]

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use keel::cache::{Cache, CacheBackend, MemoryBackend};
use serde::{Deserialize, Serialize};

fn main() {
    divan::main();
}

/// A row like the World table's.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct World {
    id: i32,
    #[serde(rename = "randomNumber")]
    random_number: i32,
}

const ROWS: i32 = 10_000;
const TTL: Duration = Duration::from_secs(3600);

/// The memory backend seen only through the byte interface, so `Cache` stores JSON.
struct AsBytes(MemoryBackend);

impl CacheBackend for AsBytes {
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<Vec<u8>>, keel::Error>> {
        self.0.get(key)
    }
    fn set<'a>(
        &'a self,
        key: &'a str,
        value: Vec<u8>,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<(), keel::Error>> {
        self.0.set(key, value, ttl)
    }
    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), keel::Error>> {
        self.0.delete(key)
    }
    fn incr<'a>(
        &'a self,
        key: &'a str,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<(u64, Duration), keel::Error>> {
        self.0.incr(key, ttl)
    }
}

fn filled(cache: Cache) -> (tokio::runtime::Runtime, Cache) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(async {
        for id in 1..=ROWS {
            let w = World {
                id,
                random_number: id * 7,
            };
            cache.set(&format!("world:{id}"), &w, TTL).await.unwrap();
        }
    });
    (rt, cache)
}

/// Random ids over the whole table.
fn ids() -> Vec<i32> {
    (0..16_384).map(|_| fastrand::i32(1..=ROWS)).collect()
}

fn keys() -> Vec<String> {
    ids().into_iter().map(|id| format!("world:{id}")).collect()
}

/// Times one `get` of a random key of a filled `cache`.
fn hits(bencher: divan::Bencher<'_, '_>, cache: Cache) {
    let (rt, cache) = filled(cache);
    let keys = keys();
    for id in 1..=ROWS {
        rt.block_on(cache.get::<World>(&format!("world:{id}")))
            .unwrap()
            .unwrap();
    }
    let mut i = 0;
    bencher.bench_local(|| {
        i = (i + 1) % keys.len();
        // In process a read never waits: polled once, without a runtime's overhead.
        cache
            .get::<World>(&keys[i])
            .now_or_never()
            .unwrap()
            .unwrap()
            .unwrap()
    });
}

/// The default: a hit answered from the reading thread's near copy.
#[divan::bench(sample_size = 1000)]
fn typed_hit(bencher: divan::Bencher<'_, '_>) {
    hits(bencher, Cache::memory(100_000));
}

/// The same store without near copies: every hit goes through moka.
#[divan::bench(sample_size = 1000)]
fn typed_hit_moka_only(bencher: divan::Bencher<'_, '_>) {
    hits(
        bencher,
        Cache::new(Arc::new(MemoryBackend::with_near(100_000, 0))),
    );
}

/// A named cache (`world:{id}` read by id): the thread's copy is found by the id and
/// holds the value inline. The key is not formatted for a hit.
#[divan::bench(sample_size = 1000)]
fn named_hit(bencher: divan::Bencher<'_, '_>) {
    let (rt, cache) = filled(Cache::memory(100_000));
    let worlds = cache.named::<i32, World>("world");
    let ids = ids();
    for id in 1..=ROWS {
        rt.block_on(worlds.get(&id)).unwrap().unwrap();
    }
    let mut i = 0;
    bencher.bench_local(|| {
        i = (i + 1) % ids.len();
        worlds
            .get(&ids[i])
            .now_or_never()
            .unwrap()
            .unwrap()
            .unwrap()
    });
}

/// A hundred ids read in one `get_many`, as `/cached-queries` does: the copies are
/// read under one borrow and one clock reading, and the CPU overlaps their cache
/// misses. Reported per id.
#[divan::bench(sample_size = 100)]
fn named_hit_many(bencher: divan::Bencher<'_, '_>) {
    let (rt, cache) = filled(Cache::memory(100_000));
    let worlds = cache.named::<i32, World>("world");
    for id in 1..=ROWS {
        rt.block_on(worlds.get(&id)).unwrap().unwrap();
    }
    let batches: Vec<Vec<i32>> = ids().chunks(100).map(<[i32]>::to_vec).collect();
    let mut i = 0;
    bencher
        .counter(divan::counter::ItemsCount::new(100usize))
        .bench_local(|| {
            i = (i + 1) % batches.len();
            worlds
                .get_many(&batches[i])
                .now_or_never()
                .unwrap()
                .unwrap()
        });
}

/// Making the handle, as a handler does per request (`cache.named("world")`) before
/// reading through it: the thread's kept handle, referenced again.
#[divan::bench(sample_size = 1000)]
fn named_handle(bencher: divan::Bencher<'_, '_>) {
    let cache = Cache::memory(100_000);
    let _warm = cache.named::<i32, World>("world");
    bencher.bench_local(|| divan::black_box(cache.named::<i32, World>("world")));
}

/// The same hundred ids, past the copies' array: ids offset by a million are beyond
/// the near cache's capacity (10,000), so their copies are kept in the hash map (one
/// SipHash and one probe per id) instead of the array indexed by id.
#[divan::bench(sample_size = 100)]
fn named_hit_many_hashed(bencher: divan::Bencher<'_, '_>) {
    const FAR: i32 = 1_000_000;
    let (rt, cache) = filled(Cache::memory(100_000));
    let worlds = cache.named::<i32, World>("far");
    rt.block_on(async {
        for id in 1..=ROWS {
            let w = World {
                id,
                random_number: id * 7,
            };
            worlds.set(&(id + FAR), &w, TTL).await.unwrap();
            worlds.get(&(id + FAR)).await.unwrap().unwrap();
        }
    });
    let batches: Vec<Vec<i32>> = ids()
        .chunks(100)
        .map(|c| c.iter().map(|id| id + FAR).collect())
        .collect();
    let mut i = 0;
    bencher
        .counter(divan::counter::ItemsCount::new(100usize))
        .bench_local(|| {
            i = (i + 1) % batches.len();
            worlds
                .get_many(&batches[i])
                .now_or_never()
                .unwrap()
                .unwrap()
        });
}

/// A hundred ids through `get_many_or_compute` with all of them cached, as
/// `/cached-queries` calls it once warm: no computation is set up.
#[divan::bench(sample_size = 100)]
fn named_hit_many_or_compute(bencher: divan::Bencher<'_, '_>) {
    let (rt, cache) = filled(Cache::memory(100_000));
    let worlds = cache.named::<i32, World>("world");
    for id in 1..=ROWS {
        rt.block_on(worlds.get(&id)).unwrap().unwrap();
    }
    let batches: Vec<Vec<i32>> = ids().chunks(100).map(<[i32]>::to_vec).collect();
    let mut i = 0;
    bencher
        .counter(divan::counter::ItemsCount::new(100usize))
        .bench_local(|| {
            i = (i + 1) % batches.len();
            worlds
                .get_many_or_compute(&batches[i], TTL, |&id| async move {
                    Err::<World, _>(keel::Error::not_found(format!("no world {id}")))
                })
                .now_or_never()
                .unwrap()
                .unwrap()
        });
}

/// A hundred string keys in one `Cache::get_many`: the thread's copies read under one
/// borrow and one clock reading. Reported per key.
#[divan::bench(sample_size = 100)]
fn typed_hit_many(bencher: divan::Bencher<'_, '_>) {
    let (rt, cache) = filled(Cache::memory(100_000));
    for id in 1..=ROWS {
        rt.block_on(cache.get::<World>(&format!("world:{id}")))
            .unwrap()
            .unwrap();
    }
    let keys = keys();
    let batches: Vec<Vec<&str>> = keys
        .chunks(100)
        .map(|c| c.iter().map(String::as_str).collect())
        .collect();
    let mut i = 0;
    bencher
        .counter(divan::counter::ItemsCount::new(100usize))
        .bench_local(|| {
            i = (i + 1) % batches.len();
            cache
                .get_many::<World>(&batches[i])
                .now_or_never()
                .unwrap()
                .unwrap()
        });
}

/// The floor: a `Vec` indexed by id, no expiry, no invalidation.
#[divan::bench(sample_size = 1000)]
fn vec_index(bencher: divan::Bencher<'_, '_>) {
    let all: Vec<World> = (1..=ROWS)
        .map(|id| World {
            id,
            random_number: id * 7,
        })
        .collect();
    let ids = ids();
    let mut i = 0;
    bencher.bench_local(|| {
        i = (i + 1) % ids.len();
        all[usize::try_from(ids[i] - 1).unwrap()].clone()
    });
}

#[divan::bench(sample_size = 1000)]
fn json_hit(bencher: divan::Bencher<'_, '_>) {
    hits(
        bencher,
        Cache::new(Arc::new(AsBytes(MemoryBackend::new(100_000)))),
    );
}

#[divan::bench(sample_size = 1000)]
fn locked_hashmap_hit(bencher: divan::Bencher<'_, '_>) {
    let map: RwLock<HashMap<String, World>> = RwLock::new(
        (1..=ROWS)
            .map(|id| {
                (
                    format!("world:{id}"),
                    World {
                        id,
                        random_number: id * 7,
                    },
                )
            })
            .collect(),
    );
    let keys = keys();
    let mut i = 0;
    bencher.bench_local(|| {
        i = (i + 1) % keys.len();
        map.read().unwrap().get(&keys[i]).cloned().unwrap()
    });
}

/// The backend's typed lookup alone (no `Cache`, no runtime): a near copy against
/// moka's read.
fn backend_hits(bencher: divan::Bencher<'_, '_>, memory: &MemoryBackend) {
    for id in 1..=ROWS {
        let w = World {
            id,
            random_number: id * 7,
        };
        memory.set_typed(&format!("world:{id}"), w, TTL);
    }
    let keys = keys();
    // Timed from the second read of each key on: the first makes the near copy.
    for id in 1..=ROWS {
        memory.get_typed::<World>(&format!("world:{id}")).unwrap();
    }
    let mut i = 0;
    bencher.bench_local(|| {
        i = (i + 1) % keys.len();
        memory.get_typed::<World>(&keys[i]).unwrap()
    });
}

#[divan::bench(sample_size = 1000)]
fn backend_near_hit(bencher: divan::Bencher<'_, '_>) {
    backend_hits(bencher, &MemoryBackend::new(100_000));
}

#[divan::bench(sample_size = 1000)]
fn backend_moka_hit(bencher: divan::Bencher<'_, '_>) {
    backend_hits(bencher, &MemoryBackend::with_near(100_000, 0));
}
