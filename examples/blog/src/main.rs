//! `cargo run -p example-blog` serves the blog on http://127.0.0.1:8000 (SQLite under
//! `examples/blog/data/`, migrated and seeded on start in development).

use keel::prelude::*;

#[tokio::main]
async fn main() -> keel::Result<()> {
    // The app reads config/, templates/ and data/ relative to its working directory.
    // Started from the workspace root by `cargo run -p example-blog`, work from the
    // example's folder, as a deployed binary works from its own.
    if !std::path::Path::new("config").is_dir() {
        let here = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        if here.join("config").is_dir() {
            std::env::set_current_dir(here).map_err(keel::Error::internal)?;
        }
    }
    blog::app().run().await
}
