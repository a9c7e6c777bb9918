//! `cargo run -p example-conduit` serves the RealWorld API on
//! http://127.0.0.1:3000/api (SQLite under `examples/conduit/data/`, migrated on
//! start in development), its OpenAPI document at `/openapi.json` and Swagger UI at
//! `/docs/`.

use keel::prelude::*;

#[tokio::main]
async fn main() -> keel::Result<()> {
    // config/ is relative to the working directory; from the workspace root, work from
    // the example's folder, as a deployed binary works from its own.
    if !std::path::Path::new("config").is_dir() {
        let here = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        if here.join("config").is_dir() {
            std::env::set_current_dir(here).map_err(keel::Error::internal)?;
        }
    }
    conduit::app().run().await
}
