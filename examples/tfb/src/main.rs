//! `cargo run --profile bench-release -p example-tfb` serves on 127.0.0.1:8080 (`PORT`
//! overrides).

use keel::prelude::*;

// As the Rust peers in ../shared/bench do.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> keel::Result<()> {
    tfb::app().run().await
}
