//! One cache hit, as `/cached-queries` makes a hundred of them per request: Keel's
//! in-process cache keeping values as themselves (answered from the thread's near
//! copy, and with moka alone), the same moka store read through the byte interface
//! (JSON, what every hit cost before values were kept typed), and a `HashMap` behind
//! a lock as the floor for a lookup by string key.
#![allow(missing_docs, clippy::unwrap_used)]

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

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

fn keys() -> Vec<String> {
    (0..1024)
        .map(|_| format!("world:{}", fastrand::i32(1..=ROWS)))
        .collect()
}

/// Times one `get` of a random key of a filled `cache`.
fn hits(bencher: divan::Bencher<'_, '_>, cache: Cache) {
    let (rt, cache) = filled(cache);
    let keys = keys();
    let mut i = 0;
    bencher.bench_local(|| {
        i = (i + 1) % keys.len();
        rt.block_on(cache.get::<World>(&keys[i])).unwrap().unwrap()
    });
}

/// The default: a hit answered from the reading thread's near copy.
#[divan::bench]
fn typed_hit(bencher: divan::Bencher<'_, '_>) {
    hits(bencher, Cache::memory(100_000));
}

/// The same store without near copies: every hit goes through moka.
#[divan::bench]
fn typed_hit_moka_only(bencher: divan::Bencher<'_, '_>) {
    hits(
        bencher,
        Cache::new(Arc::new(MemoryBackend::with_near(100_000, 0))),
    );
}

#[divan::bench]
fn json_hit(bencher: divan::Bencher<'_, '_>) {
    hits(
        bencher,
        Cache::new(Arc::new(AsBytes(MemoryBackend::new(100_000)))),
    );
}

#[divan::bench]
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
    for key in &keys {
        memory.get_typed::<World>(key).unwrap();
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
