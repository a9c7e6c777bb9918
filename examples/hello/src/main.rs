//! `cargo run -p example-hello` serves on http://127.0.0.1:8000.

use keel::prelude::*;

#[tokio::main]
async fn main() -> keel::Result<()> {
    hello::app().run().await
}
