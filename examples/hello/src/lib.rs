//! Keel's hello example: named routes and `url_for`, a typed config section, JSON with
//! precise errors, static files embedded in release builds, and the production basics
//! (`/_health`, `/_ready`, `/metrics`, graceful shutdown) that come with every app.
//!
//! Run it with `cargo run -p example-hello`, then open <http://127.0.0.1:8000>.
//! `cargo run -p example-hello -- routes` lists the routes, `-- check --deploy` runs the
//! production checks.

use std::time::Duration;

use keel::axum::extract::State;
use keel::axum::response::Html;
use keel::routing::{Router, get, post};
use keel::{App, AppState, Dep, Error, Json, Path, Query, Result};
use serde::{Deserialize, Serialize};

/// The `[hello]` config section.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct HelloSettings {
    /// How to greet.
    pub greeting: String,
}

#[derive(keel::rust_embed::RustEmbed)]
#[folder = "static/"]
#[crate_path = "keel::rust_embed"]
struct Assets;

/// The app, for `main` and for tests.
pub fn app() -> App {
    App::new("hello")
        .plugin(|app: &mut App| {
            let settings: HelloSettings = app.section("hello");
            app.extensions().insert(settings);
        })
        .plugin(keel::statics::embed::<Assets>())
        .routes(routes())
}

/// The routes, each named so that URLs are built, never hand-written.
pub fn routes() -> Router {
    Router::new()
        .route("/", get(home).name("home"))
        .route("/hello/{name}", get(greet).name("greet"))
        .route("/api/echo", post(echo).name("echo"))
        .route("/api/items/{id}", get(item).name("item"))
        .route("/work", get(work).name("work"))
}

async fn home(State(state): State<AppState>) -> Result<Html<String>> {
    let greet = state.url_for("greet", &[("name", "world")])?;
    let item = state.url_for("item", &[("id", 1)])?;
    let work = state.url_for("work", &[("ms", 250)])?;
    Ok(Html(format!(
        r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Hello from Keel</title>
<link rel="stylesheet" href="/static/style.css"></head>
<body>
<h1>Hello from Keel</h1>
<p class="muted">A batteries-included web framework on axum.</p>
<ul>
  <li><a href="{greet}">{greet}</a> — a named route with a parameter</li>
  <li><a href="{item}">{item}</a> — JSON, and <a href="/api/items/999">a 404 problem</a></li>
  <li><a href="{work}">{work}</a> — a slow request (graceful shutdown lets it finish)</li>
  <li><a href="/_health">/_health</a>, <a href="/_ready">/_ready</a>, <a href="/metrics">/metrics</a></li>
</ul>
<p>Try <code>curl -X POST localhost:8000/api/echo -H 'content-type: application/json' -d '{{"message": 5}}'</code></p>
</body></html>"#
    )))
}

#[derive(Debug, Serialize, Deserialize, PartialEq)]
/// A greeting.
pub struct Greeting {
    /// The text.
    pub message: String,
}

async fn greet(Path(name): Path<String>, Dep(settings): Dep<HelloSettings>) -> Json<Greeting> {
    Json(Greeting {
        message: format!("{}, {name}!", settings.greeting),
    })
}

/// The body of `POST /api/echo`; `Json` checks the rules (422 naming the field).
#[derive(Debug, Deserialize, garde::Validate)]
#[serde(deny_unknown_fields)]
pub struct EchoRequest {
    /// What to echo.
    #[garde(length(chars, min = 1, max = 1000))]
    pub message: String,
    /// How many times (1 if absent).
    #[garde(range(min = 1, max = 10))]
    pub times: Option<u8>,
}

async fn echo(Json(req): Json<EchoRequest>) -> Result<Json<serde_json::Value>> {
    let times = req.times.unwrap_or(1);
    Ok(Json(serde_json::json!({
        "echo": std::iter::repeat_n(req.message.as_str(), usize::from(times)).collect::<Vec<_>>().join(" "),
    })))
}

/// A catalogue item.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub struct Item {
    /// Its id.
    pub id: u32,
    /// Its name.
    pub name: String,
}

async fn item(Path(id): Path<u32>) -> Result<Json<Item>> {
    const NAMES: [&str; 3] = ["keel", "hull", "mast"];
    let name = id
        .checked_sub(1)
        .and_then(|i| NAMES.get(i as usize))
        .ok_or_else(|| Error::not_found(format!("There is no item {id}.")))?;
    Ok(Json(Item {
        id,
        name: (*name).to_owned(),
    }))
}

/// Query of `GET /work`.
#[derive(Debug, Deserialize, garde::Validate)]
pub struct WorkParams {
    /// How long to work, in milliseconds (at most 10 000).
    #[garde(range(max = 10_000))]
    pub ms: u64,
}

async fn work(Query(p): Query<WorkParams>) -> Result<Json<serde_json::Value>> {
    tokio::time::sleep(Duration::from_millis(p.ms)).await;
    Ok(Json(serde_json::json!({ "worked_ms": p.ms })))
}
