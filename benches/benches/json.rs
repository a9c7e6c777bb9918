//! Writing a JSON response body: serde_json through a `BytesMut` writer (what axum's
//! `Json` and, before, Keel's did) against into a `Vec<u8>` handed to `Bytes` without
//! a copy (what Keel's `Json` does now), and Keel's `Json` response whole. The
//! bodies are TechEmpower worlds: 1 (`/db`), 20 (`/queries`) and 100
//! (`/cached-queries?count=100`).
//!
//! `cargo bench -p keel-benches --bench json`
#![allow(missing_docs, unreachable_pub, clippy::unwrap_used)]

use axum::response::IntoResponse;
use bytes::{BufMut, Bytes, BytesMut};
use serde::Serialize;

#[derive(Serialize, Clone, Copy)]
struct World {
    id: i32,
    #[serde(rename = "randomNumber")]
    random_number: i32,
}

fn main() {
    divan::main();
}

fn worlds(n: usize) -> Vec<World> {
    (0..n)
        .map(|_| World {
            id: fastrand::i32(1..=10_000),
            random_number: fastrand::i32(1..=10_000),
        })
        .collect()
}

const SIZES: [usize; 3] = [1, 20, 100];

#[divan::bench(args = SIZES)]
fn through_bytes_mut_writer(b: divan::Bencher<'_, '_>, n: usize) {
    let all = worlds(n);
    b.bench_local(|| {
        let mut buf = BytesMut::with_capacity(128).writer();
        serde_json::to_writer(&mut buf, divan::black_box(&all)).unwrap();
        buf.into_inner().freeze()
    });
}

#[divan::bench(args = SIZES)]
fn into_vec(b: divan::Bencher<'_, '_>, n: usize) {
    let all = worlds(n);
    b.bench_local(|| {
        let mut buf = Vec::with_capacity(128);
        serde_json::to_writer(&mut buf, divan::black_box(&all)).unwrap();
        Bytes::from(buf)
    });
}

#[divan::bench(args = SIZES)]
fn keel_json_response(b: divan::Bencher<'_, '_>, n: usize) {
    let all = worlds(n);
    b.bench_local(|| keel::Json(divan::black_box(&all)).into_response());
}
