//! Time per request of the TechEmpower handlers through plain axum and through Keel's
//! stack in each configuration (see `keel_benches::Config`), in-process.
#![allow(missing_docs, clippy::unwrap_used)]

use keel_benches::{Config, Svc, once, service};

fn main() {
    divan::main();
}

fn setup(config: Config) -> (tokio::runtime::Runtime, Svc) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let svc = rt.block_on(service(config));
    (rt, svc)
}

#[divan::bench(args = Config::ALL.map(Config::name))]
fn plaintext(bencher: divan::Bencher<'_, '_>, config: &str) {
    let (rt, mut svc) = setup(Config::parse(config).unwrap());
    bencher.bench_local(|| rt.block_on(once(&mut svc, "/plaintext")));
}

#[divan::bench(args = Config::ALL.map(Config::name))]
fn json(bencher: divan::Bencher<'_, '_>, config: &str) {
    let (rt, mut svc) = setup(Config::parse(config).unwrap());
    bencher.bench_local(|| rt.block_on(once(&mut svc, "/json")));
}
