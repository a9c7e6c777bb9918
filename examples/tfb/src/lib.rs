//! TechEmpower Framework Benchmark test types through Keel's ordinary APIs:
//! plaintext and JSON. (The database test types come with Keel's data layer.)
//!
//! Run: `cargo run --profile bench-release -p example-tfb`, then
//! `python3 ../shared/bench/verify.py http://127.0.0.1:8080 --tests plaintext,json`.

use keel::routing::{Router, get};
use keel::{App, Json};
use serde::Serialize;

/// The `/json` body.
#[derive(Serialize)]
pub struct Message {
    /// Always "Hello, World!".
    pub message: &'static str,
}

async fn plaintext() -> &'static str {
    "Hello, World!"
}

async fn json() -> Json<Message> {
    Json(Message {
        message: "Hello, World!",
    })
}

/// The app.
pub fn app() -> App {
    App::new("tfb").routes(
        Router::new()
            .route("/plaintext", get(plaintext).name("plaintext"))
            .route("/json", get(json).name("json")),
    )
}
