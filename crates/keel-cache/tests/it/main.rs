//! keel-cache: TTL, stampede protection, the extractor, and the Redis backend against
//! the local Redis, including a Redis restart in the middle of a test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    missing_docs,
    unreachable_pub
)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use keel_cache::Cache;
use keel_core::{App, Router, routing::get};
use keel_test::TestClient;

async fn ttl_and_delete(cache: &Cache) {
    cache
        .set("greeting", &"hello", Duration::from_millis(300))
        .await
        .unwrap();
    assert_eq!(
        cache.get::<String>("greeting").await.unwrap().as_deref(),
        Some("hello")
    );
    assert_eq!(
        cache.get::<u32>("greeting").await.unwrap(),
        None,
        "a value of another type is a miss"
    );
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(
        cache.get::<String>("greeting").await.unwrap(),
        None,
        "expired after its TTL"
    );
    cache
        .set("n", &vec![1, 2, 3], Duration::from_secs(60))
        .await
        .unwrap();
    cache.delete("n").await.unwrap();
    assert_eq!(cache.get::<Vec<u8>>("n").await.unwrap(), None);
}

async fn one_computation_for_many_callers(cache: &Cache) {
    let runs = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..50 {
        let cache = cache.clone();
        let runs = Arc::clone(&runs);
        tasks.push(tokio::spawn(async move {
            cache
                .get_or_compute("expensive", Duration::from_secs(60), || async move {
                    runs.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    Ok::<_, keel_core::Error>(4242u64)
                })
                .await
                .unwrap()
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), 4242);
    }
    assert_eq!(
        runs.load(Ordering::SeqCst),
        1,
        "50 concurrent callers, one computation"
    );
    // A failed computation is not cached.
    let err = cache
        .get_or_compute("fails", Duration::from_secs(60), || async {
            Err::<u8, _>(keel_core::Error::not_found("nothing"))
        })
        .await
        .unwrap_err();
    assert_eq!(err.status(), 404);
    assert_eq!(cache.get::<u8>("fails").await.unwrap(), None);
}

async fn counters_count_every_increment_within_their_window(cache: &Cache) {
    let mut tasks = Vec::new();
    for _ in 0..40 {
        let cache = cache.clone();
        tasks.push(tokio::spawn(async move {
            cache
                .incr("hits", Duration::from_millis(600))
                .await
                .unwrap()
        }));
    }
    let mut counts = Vec::new();
    for t in tasks {
        let (count, left) = t.await.unwrap();
        assert!(left <= Duration::from_millis(600), "{left:?}");
        counts.push(count);
    }
    counts.sort_unstable();
    assert_eq!(
        counts,
        (1..=40).collect::<Vec<u64>>(),
        "atomic: no lost increments"
    );
    assert_eq!(cache.get::<u64>("hits").await.unwrap(), Some(40));
    tokio::time::sleep(Duration::from_millis(900)).await;
    let (count, _) = cache.incr("hits", Duration::from_secs(5)).await.unwrap();
    assert_eq!(count, 1, "a new window after the old one expired");
}

/// A value with a field JSON leaves out: it survives only where the cache keeps the
/// value itself.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
struct Visit {
    page: String,
    #[serde(skip)]
    hits: u32,
}

async fn values_as_themselves_or_as_json(cache: &Cache, in_process: bool) {
    let ttl = Duration::from_secs(60);
    let visit = Visit {
        page: "/".into(),
        hits: 7,
    };
    cache.set("visit", &visit, ttl).await.unwrap();
    let back: Visit = cache.get("visit").await.unwrap().unwrap();
    assert_eq!(back.page, "/");
    assert_eq!(
        back.hits,
        if in_process { 7 } else { 0 },
        "in process the value itself comes back; through Redis, its JSON"
    );
    // Read as another type, it goes through JSON on either backend.
    let as_json: serde_json::Value = cache.get("visit").await.unwrap().unwrap();
    assert_eq!(as_json, serde_json::json!({ "page": "/" }));
    // An unsized value is kept as its owned form.
    cache.set("name", "keel", ttl).await.unwrap();
    assert_eq!(
        cache.get::<String>("name").await.unwrap().as_deref(),
        Some("keel")
    );
    assert_eq!(cache.get::<u32>("name").await.unwrap(), None);
    // get_or_compute of a stored key returns it without computing.
    let got: Visit = cache
        .get_or_compute("visit", ttl, || async {
            Err::<Visit, _>(keel_core::Error::internal_msg("must not run"))
        })
        .await
        .unwrap();
    assert_eq!(got.page, "/");
}

/// A named cache reads and writes the string API's entries `{name}:{key}`: each sees
/// the other's writes, copies end with their entry, and `get_or_compute` runs once per
/// key at a time.
async fn named_caches_are_the_string_entries(cache: &Cache) {
    #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
    struct World {
        id: i32,
        n: i32,
    }
    let long = Duration::from_secs(60);
    let worlds = cache.named::<i32, World>("world");
    assert_eq!(worlds.key(&5), "world:5");
    assert_eq!(worlds.get(&5).await.unwrap(), None);
    let five = World { id: 5, n: 1 };
    worlds.set(&5, &five, long).await.unwrap();
    for _ in 0..2 {
        assert_eq!(worlds.get(&5).await.unwrap().as_ref(), Some(&five));
    }
    assert_eq!(
        cache.get::<World>("world:5").await.unwrap().as_ref(),
        Some(&five)
    );
    // Written through the string API, read through the name (its copy is stale).
    let other = World { id: 5, n: 2 };
    cache.set("world:5", &other, long).await.unwrap();
    for _ in 0..2 {
        assert_eq!(worlds.get(&5).await.unwrap().as_ref(), Some(&other));
    }
    // A second handle of the same name sees the same entries.
    let again = cache.named::<i32, World>("world");
    assert_eq!(again.get(&5).await.unwrap().as_ref(), Some(&other));
    // Another type under the same name is a miss, not a wrong value.
    assert_eq!(
        cache.named::<i32, u64>("world").get(&5).await.unwrap(),
        None
    );
    cache.delete("world:5").await.unwrap();
    assert_eq!(worlds.get(&5).await.unwrap(), None);
    worlds.set(&6, &five, long).await.unwrap();
    assert_eq!(worlds.get(&6).await.unwrap().as_ref(), Some(&five));
    worlds.delete(&6).await.unwrap();
    assert_eq!(worlds.get(&6).await.unwrap(), None);

    // Many at once: in order, misses as None, the copies of a second read included.
    worlds.set(&10, &five, long).await.unwrap();
    cache.set("world:11", &other, long).await.unwrap();
    for _ in 0..2 {
        assert_eq!(
            worlds.get_many(&[10, 12, 11, 10]).await.unwrap(),
            vec![
                Some(five.clone()),
                None,
                Some(other.clone()),
                Some(five.clone())
            ]
        );
    }
    assert_eq!(
        cache
            .get_many::<World>(&["world:11", "world:12", "world:10"])
            .await
            .unwrap(),
        vec![Some(other.clone()), None, Some(five.clone())]
    );
    cache.delete("world:10").await.unwrap();
    assert_eq!(worlds.get_many(&[10]).await.unwrap(), vec![None]);
    // Only the missing ones are computed, and then stored.
    let computed = Arc::new(std::sync::Mutex::new(Vec::new()));
    let got = worlds
        .get_many_or_compute(&[11, 13, 14], long, |&id| {
            let computed = Arc::clone(&computed);
            async move {
                computed.lock().unwrap().push(id);
                Ok::<_, keel_core::Error>(World { id, n: id * 2 })
            }
        })
        .await
        .unwrap();
    assert_eq!(
        got,
        vec![
            other.clone(),
            World { id: 13, n: 26 },
            World { id: 14, n: 28 }
        ]
    );
    let mut computed_ids = computed.lock().unwrap().clone();
    computed_ids.sort_unstable();
    assert_eq!(computed_ids, vec![13, 14]);
    // All present now: answered from the copies (or the store), nothing computed; a
    // write through the string API between two reads is seen by the second.
    let never = |_: &i32| async {
        Err::<World, _>(keel_core::Error::internal_msg("computed a present key"))
    };
    for round in 0..3 {
        if round == 2 {
            cache.set("world:13", &five, long).await.unwrap();
        }
        let again = worlds
            .get_many_or_compute(&[14, 11, 13], long, never)
            .await
            .unwrap();
        let thirteen = if round == 2 {
            five.clone()
        } else {
            World { id: 13, n: 26 }
        };
        assert_eq!(
            again,
            vec![World { id: 14, n: 28 }, other.clone(), thirteen],
            "round {round}"
        );
    }
    cache
        .set("world:13", &World { id: 13, n: 26 }, long)
        .await
        .unwrap();
    assert_eq!(
        cache.get::<World>("world:14").await.unwrap(),
        Some(World { id: 14, n: 28 })
    );
    let failed = worlds
        .get_many_or_compute(&[11, 15], long, |_| async {
            Err::<World, _>(keel_core::Error::internal_msg("no such world"))
        })
        .await
        .unwrap_err();
    assert_eq!(failed.status(), 500);
    assert_eq!(
        worlds.get(&15).await.unwrap(),
        None,
        "a failed computation stores nothing"
    );

    // A copy ends with its entry's time-to-live.
    worlds
        .set(&7, &five, Duration::from_millis(300))
        .await
        .unwrap();
    for _ in 0..2 {
        assert_eq!(worlds.get(&7).await.unwrap().as_ref(), Some(&five));
    }
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(worlds.get(&7).await.unwrap(), None, "expired after its TTL");

    // One computation for many callers; then served without computing.
    let runs = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..50 {
        let worlds = worlds.clone();
        let runs = Arc::clone(&runs);
        tasks.push(tokio::spawn(async move {
            worlds
                .get_or_compute(&8, Duration::from_secs(60), || async move {
                    runs.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    Ok::<_, keel_core::Error>(World { id: 8, n: 64 })
                })
                .await
                .unwrap()
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), World { id: 8, n: 64 });
    }
    let cached = worlds
        .get_or_compute(&8, long, || async {
            Err::<World, _>(keel_core::Error::internal_msg("computed again"))
        })
        .await
        .unwrap();
    assert_eq!(cached.n, 64);
    assert_eq!(runs.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn memory_backend() {
    let cache = Cache::memory(1000);
    values_as_themselves_or_as_json(&cache, true).await;
    ttl_and_delete(&cache).await;
    one_computation_for_many_callers(&cache).await;
    counters_count_every_increment_within_their_window(&cache).await;
    named_caches_are_the_string_entries(&cache).await;
}

#[tokio::test]
async fn memory_backend_without_near_copies() {
    let cache = Cache::new(Arc::new(keel_cache::MemoryBackend::with_near(1000, 0)));
    values_as_themselves_or_as_json(&cache, true).await;
    ttl_and_delete(&cache).await;
    one_computation_for_many_callers(&cache).await;
    counters_count_every_increment_within_their_window(&cache).await;
    named_caches_are_the_string_entries(&cache).await;
}

/// `Cache::named` keeps recent handles per thread, by cache, name and types: two
/// caches never share one, and a thread that uses more names than it keeps still reads
/// each of them right.
#[tokio::test]
async fn named_handles_belong_to_their_cache_and_name() {
    let long = Duration::from_secs(60);
    let (a, b) = (Cache::memory(1000), Cache::memory(1000));
    a.named::<i32, u64>("n").set(&1, &10, long).await.unwrap();
    b.named::<i32, u64>("n").set(&1, &20, long).await.unwrap();
    for _ in 0..3 {
        assert_eq!(a.named::<i32, u64>("n").get(&1).await.unwrap(), Some(10));
        assert_eq!(b.named::<i32, u64>("n").get(&1).await.unwrap(), Some(20));
        assert_eq!(
            a.clone().named::<i32, u64>("n").get(&2).await.unwrap(),
            None
        );
    }
    for i in 0..40u64 {
        let name = format!("name{i}");
        a.named::<i32, u64>(&name).set(&1, &i, long).await.unwrap();
    }
    for round in 0..2 {
        for i in 0..40u64 {
            let got = a.named::<i32, u64>(&format!("name{i}")).get(&1).await;
            assert_eq!(got.unwrap(), Some(i), "name{i}, round {round}");
        }
    }
    // A write through the string API is seen through a kept handle.
    a.set("name3:1", &33u64, long).await.unwrap();
    assert_eq!(
        a.named::<i32, u64>("name3").get(&1).await.unwrap(),
        Some(33)
    );
}

/// A runtime for one of a test's threads.
fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap()
}

/// Each thread keeps copies of what it read; a write on any other thread is seen by
/// the next read everywhere, and a copy never outlives its entry.
#[test]
fn near_copies_see_every_write_from_every_thread() {
    let cache = Cache::new(Arc::new(keel_cache::MemoryBackend::with_near(1000, 4)));
    let long = Duration::from_secs(60);
    // (the key, what a reader must see after the writer's step)
    let steps: [(&str, Option<u32>); 5] = [
        ("a", Some(1)),
        ("a", Some(2)),
        ("a", None),
        ("b", Some(3)),
        ("a", Some(4)),
    ];
    let (to_reader, steps_rx) = std::sync::mpsc::channel::<(String, Option<u32>)>();
    let (done_tx, done) = std::sync::mpsc::channel::<()>();
    let reader_cache = cache.clone();
    let reader = std::thread::spawn(move || {
        let rt = rt();
        let mut seen = Vec::new();
        for (key, expected) in steps_rx {
            // Read twice: the first read may fill the copy, the second is served by it.
            for _ in 0..2 {
                let got: Option<u32> = rt.block_on(reader_cache.get(&key)).unwrap();
                assert_eq!(got, expected, "key {key}");
                let many: Vec<Option<u32>> = rt
                    .block_on(reader_cache.get_many(&[key.as_str(), "nothing"]))
                    .unwrap();
                assert_eq!(many, vec![expected, None], "key {key}, read with others");
            }
            // Keep copies of other keys too, past the near cache's capacity.
            for other in ["x", "y", "z", "w", "v"] {
                let _: Option<u32> = rt.block_on(reader_cache.get(other)).unwrap();
            }
            seen.push((key, expected));
            done_tx.send(()).unwrap();
        }
        seen
    });
    let writer = rt();
    for (key, value) in steps {
        match value {
            Some(v) => writer.block_on(cache.set(key, &v, long)).unwrap(),
            None => writer.block_on(cache.delete(key)).unwrap(),
        }
        to_reader.send((key.to_owned(), value)).unwrap();
        done.recv().unwrap();
    }
    drop(to_reader);
    assert_eq!(reader.join().unwrap().len(), 5);

    // Counters: each increment is seen by a reader on another thread.
    let counter_cache = cache.clone();
    let (ask, asked) = std::sync::mpsc::channel::<u64>();
    let (answer, answers) = std::sync::mpsc::channel::<()>();
    let counter_reader = std::thread::spawn(move || {
        let rt = rt();
        for expected in asked {
            for _ in 0..2 {
                let got: Option<u64> = rt.block_on(counter_cache.get("hits")).unwrap();
                assert_eq!(got, Some(expected));
            }
            answer.send(()).unwrap();
        }
    });
    for n in 1..=3 {
        let (count, _) = writer.block_on(cache.incr("hits", long)).unwrap();
        assert_eq!(count, n);
        ask.send(n).unwrap();
        answers.recv().unwrap();
    }
    drop(ask);
    counter_reader.join().unwrap();

    // A copy ends with its entry's time-to-live.
    writer
        .block_on(cache.set("short", &7u32, Duration::from_millis(150)))
        .unwrap();
    let got: Option<u32> = writer.block_on(cache.get("short")).unwrap();
    assert_eq!(got, Some(7));
    std::thread::sleep(Duration::from_millis(200));
    let got: Option<u32> = writer.block_on(cache.get("short")).unwrap();
    assert_eq!(got, None);
}

/// A named cache's copies on one thread see writes made on another, through either
/// API, whether a key's copy is in the array (small integers) or the map, and a full
/// map of copies starts over without losing a value.
#[test]
fn named_copies_see_writes_from_other_threads() {
    let cache = Cache::new(Arc::new(keel_cache::MemoryBackend::with_near(1000, 4)));
    let long = Duration::from_secs(60);
    let (to_reader, steps) = std::sync::mpsc::channel::<(u32, Option<u64>)>();
    let (done_tx, done) = std::sync::mpsc::channel::<()>();
    let reader_cache = cache.clone();
    let reader = std::thread::spawn(move || {
        let rt = rt();
        let named = reader_cache.named::<u32, u64>("n");
        for (key, expected) in steps {
            for _ in 0..2 {
                assert_eq!(rt.block_on(named.get(&key)).unwrap(), expected, "key {key}");
                assert_eq!(
                    rt.block_on(named.get_many(&[key, 999])).unwrap(),
                    vec![expected, None],
                    "key {key}, read with others"
                );
            }
            // Past the near cache's capacity (4): the map starts over.
            for other in 100..106 {
                let _ = rt.block_on(named.get(&other)).unwrap();
            }
            done_tx.send(()).unwrap();
        }
    });
    let writer = rt();
    let named = cache.named::<u32, u64>("n");
    // Keys up to the capacity (4) are kept in the copies' array, larger ones in
    // their map: both must see every write.
    let steps: [(u32, Option<u64>, bool); 9] = [
        (1, Some(10), true),
        (1, Some(11), false),
        (1, None, true),
        (2, Some(20), false),
        (1, Some(12), true),
        (50, Some(500), true),
        (50, Some(501), false),
        (50, None, false),
        (50, Some(502), true),
    ];
    for (key, value, through_name) in steps {
        match (value, through_name) {
            (Some(v), true) => writer.block_on(named.set(&key, &v, long)).unwrap(),
            (Some(v), false) => writer
                .block_on(cache.set(&format!("n:{key}"), &v, long))
                .unwrap(),
            (None, true) => writer.block_on(named.delete(&key)).unwrap(),
            (None, false) => writer.block_on(cache.delete(&format!("n:{key}"))).unwrap(),
        }
        to_reader.send((key, value)).unwrap();
        done.recv().unwrap();
    }
    drop(to_reader);
    reader.join().unwrap();
}

#[tokio::test]
async fn the_extractor_serves_handlers() {
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&hits);
    let app = App::new("cache")
        .plugin(keel_cache::plugin)
        .routes(Router::new().route(
            "/answer",
            get(move |cache: Cache| {
                let counter = Arc::clone(&counter);
                async move {
                    cache
                        .get_or_compute("answer", Duration::from_secs(60), || async move {
                            counter.fetch_add(1, Ordering::SeqCst);
                            Ok::<_, keel_core::Error>(42u32)
                        })
                        .await
                        .map(|n| n.to_string())
                }
            }),
        ));
    let client = TestClient::new(app).await;
    for _ in 0..3 {
        client.get("/answer").await.assert_text("42");
    }
    assert_eq!(hits.load(Ordering::SeqCst), 1);
}

/// In a `per-core` worker (its start hooks run on its own thread and runtime) the
/// extractor's cache is the worker's copy: the same entries as the app's.
#[test]
fn a_worker_reads_and_writes_the_apps_cache_through_its_copy() {
    let client = rt().block_on(TestClient::new(
        App::new("cache").plugin(keel_cache::plugin),
    ));
    let state = client.state().clone();
    let app_cache = state.get::<Cache>().expect("installed").clone();
    rt().block_on(app_cache.set("from-app", &1_u32, Duration::from_secs(60)))
        .expect("set");
    let worker = std::thread::spawn(move || {
        rt().block_on(async {
            let hooks = state
                .get::<keel_core::worker::WorkerHooks>()
                .cloned()
                .expect("the plugin registers a worker hook");
            hooks
                .run(&state, keel_core::worker::WorkerInfo { index: 0, count: 1 })
                .await
                .expect("hooks");
            let mine = Cache::current(&state).expect("cache");
            let seen: Option<u32> = mine.get("from-app").await.expect("get");
            mine.set("from-worker", &2_u32, Duration::from_secs(60))
                .await
                .expect("set");
            seen
        })
    });
    assert_eq!(worker.join().expect("worker"), Some(1));
    let back: Option<u32> = rt().block_on(app_cache.get("from-worker")).expect("get");
    assert_eq!(back, Some(2));
}

#[cfg(feature = "redis")]
mod redis_backend {
    use super::*;
    use keel_cache::RedisBackend;

    fn prefix() -> String {
        let n = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        format!("keel-test-cache:{}:{n}:", std::process::id())
    }

    #[tokio::test]
    async fn against_the_local_redis() {
        let backend = RedisBackend::connect("redis://127.0.0.1:6379/", &prefix())
            .await
            .unwrap();
        let cache = Cache::new(Arc::new(backend));
        values_as_themselves_or_as_json(&cache, false).await;
        ttl_and_delete(&cache).await;
        one_computation_for_many_callers(&cache).await;
        counters_count_every_increment_within_their_window(&cache).await;
        named_caches_are_the_string_entries(&cache).await;
    }

    struct Server(std::process::Child);

    impl Server {
        fn start(port: u16) -> Self {
            let child = std::process::Command::new("redis-server")
                .args([
                    "--port",
                    &port.to_string(),
                    "--bind",
                    "127.0.0.1",
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                ])
                .stdout(std::process::Stdio::null())
                .spawn()
                .expect("redis-server on PATH");
            Server(child)
        }
    }

    impl Drop for Server {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }

    async fn wait_up(port: u16) {
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("redis on {port} did not start");
    }

    #[tokio::test]
    async fn survives_a_redis_restart() {
        let port = 16390 + u16::try_from(std::process::id() % 500).unwrap();
        let server = Server::start(port);
        wait_up(port).await;
        let url = format!("redis://127.0.0.1:{port}/");
        let backend = Arc::new(RedisBackend::connect(&url, &prefix()).await.unwrap());
        let strict = Cache::new(backend.clone());
        let lenient = Cache::new(backend).fall_through(true);
        strict
            .set("k", &1u8, Duration::from_secs(60))
            .await
            .unwrap();
        assert_eq!(strict.get::<u8>("k").await.unwrap(), Some(1));

        drop(server);
        tokio::time::sleep(Duration::from_millis(200)).await;
        // Down: a clear 503 error, or the value computed without the cache.
        let err = strict
            .get_or_compute("k2", Duration::from_secs(60), || async {
                Ok::<_, keel_core::Error>(2u8)
            })
            .await
            .unwrap_err();
        assert_eq!(err.status(), 503, "{err:?}");
        let v = lenient
            .get_or_compute("k2", Duration::from_secs(60), || async {
                Ok::<_, keel_core::Error>(2u8)
            })
            .await
            .unwrap();
        assert_eq!(v, 2);

        let _server = Server::start(port);
        wait_up(port).await;
        let mut back = false;
        for _ in 0..100 {
            if strict
                .set("k3", &3u8, Duration::from_secs(60))
                .await
                .is_ok()
            {
                back = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(back, "the cache reconnects once Redis is back");
        assert_eq!(strict.get::<u8>("k3").await.unwrap(), Some(3));
    }
}
