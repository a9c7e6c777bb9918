//! `cargo run -p example-todo -- db migrate && cargo run -p example-todo` serves the
//! todo API on 127.0.0.1:8000 with a SQLite file under `data/`.

use keel::prelude::*;

#[tokio::main]
async fn main() -> keel::Result<()> {
    todo::app().run().await
}
