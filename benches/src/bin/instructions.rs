//! Runs N requests through one configuration, for `valgrind --tool=callgrind`:
//! instruction counts do not depend on what else the machine is doing.
//!
//! `benches/instructions.sh` runs every configuration twice (N and 2N requests) and
//! reports the difference per request.

use keel_benches::{Config, once, service};

fn main() {
    let mut args = std::env::args().skip(1);
    let usage = "usage: instructions <axum|keel-default|keel-tfb|keel-floor|keel-tfb-views|keel-session-views> <plaintext|json> <requests>";
    let config = args
        .next()
        .and_then(|c| Config::parse(&c))
        .unwrap_or_else(|| panic!("{usage}"));
    let path = match args.next().as_deref() {
        Some("plaintext") => "/plaintext",
        Some("json") => "/json",
        _ => panic!("{usage}"),
    };
    let n: u64 = args
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{usage}"));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let mut svc = service(config).await;
        for _ in 0..n {
            assert_eq!(once(&mut svc, path).await, 200);
        }
    });
}
