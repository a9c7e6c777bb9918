//! TechEmpower Framework Benchmark test types through Keel's ordinary APIs: plaintext,
//! json, db, queries, fortunes, updates and cached-queries.
//!
//! Run: `cargo run --profile bench-release -p example-tfb` (the database types need
//! the `hello_world` database of `../shared/bench/db/setup.sh`), then
//! `python3 ../shared/bench/verify.py http://127.0.0.1:8080`.

pub mod models;

use std::time::Duration;

use keel::axum::extract::FromRequestParts;
use keel::axum::http::request::Parts;
use keel::cache::{Cache, Named};
use keel::db::Db;
use keel::db::sea_orm::{EntityTrait, QueryOrder};
use keel::routing::{Router, get};
use keel::view::askama::Template;
use keel::view::{Compiled, View, compiled, view};
use keel::{App, AppState, Error, Json, Result};
use serde::Serialize;

use models::{fortune, world};

#[derive(keel::view::rust_embed::RustEmbed)]
#[folder = "templates/"]
#[crate_path = "keel::view::rust_embed"]
struct Templates;

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

/// How many rows a request asks for: TechEmpower's lenient rule (absent, not a number or
/// below 1: 1; above 500: 500), read from `queries` or `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Count(pub usize);

impl<S: Send + Sync> FromRequestParts<S> for Count {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let n = parts
            .uri
            .query()
            .unwrap_or_default()
            .split('&')
            .find_map(|pair| {
                let (k, v) = pair.split_once('=')?;
                matches!(k, "queries" | "count").then(|| v.parse::<i64>().unwrap_or(1))
            })
            .unwrap_or(1);
        Ok(Count(usize::try_from(n.clamp(1, 500)).unwrap_or(1)))
    }
}

fn random_id() -> i32 {
    fastrand::i32(1..=10_000)
}

/// One world by id: `keel::db::find_by_id` is SeaORM's `find_by_id(id).one(db)` with
/// the statement written once (Rails' `find`), not per read.
async fn world_by_id(db: &Db, id: i32) -> Result<world::Model> {
    keel::db::find_by_id::<world::Entity>(&**db, id)
        .await?
        .ok_or_else(|| Error::not_found(format!("There is no world {id}.")))
}

async fn db(db: Db) -> Result<Json<world::Model>> {
    Ok(Json(world_by_id(&db, random_id()).await?))
}

/// `n` random worlds, read concurrently (each query on its own pooled connection).
async fn random_worlds(db: &Db, n: usize) -> Result<Vec<world::Model>> {
    futures_util::future::try_join_all((0..n).map(|_| world_by_id(db, random_id()))).await
}

async fn queries(db: Db, Count(n): Count) -> Result<Json<Vec<world::Model>>> {
    Ok(Json(random_worlds(&db, n).await?))
}

/// The fortunes, with the one added at request time, sorted by message.
async fn fortunes_page(db: &Db) -> Result<FortunesPage> {
    let mut all = fortune::Entity::find()
        .order_by_asc(fortune::Column::Id)
        .all(&**db)
        .await?;
    all.push(fortune::Model {
        id: 0,
        message: "Additional fortune added at request time.".into(),
    });
    all.sort_unstable_by(|a, b| a.message.cmp(&b.message));
    Ok(FortunesPage { fortunes: all })
}

/// The test's page, compiled from `templates/fortunes.html` when this crate is built.
async fn fortunes(db: Db) -> Result<Compiled<FortunesPage>> {
    Ok(compiled(fortunes_page(&db).await?))
}

/// The same page from the same template, interpreted by minijinja as a `View` (the
/// views' default, which reloads templates in development and sees the request
/// globals), to compare the two.
async fn fortunes_view(db: Db) -> Result<View> {
    Ok(view("fortunes.html", fortunes_page(&db).await?))
}

/// What `fortunes.html` is rendered with: as a compiled page (`Template`) and as a
/// view's context (`Serialize`).
#[derive(Serialize, Template)]
#[template(path = "fortunes.html", askama = keel::view::askama)]
struct FortunesPage {
    fortunes: Vec<fortune::Model>,
}

async fn updates(db: Db, Count(n): Count) -> Result<Json<Vec<world::Model>>> {
    let mut worlds = random_worlds(&db, n).await?;
    for w in &mut worlds {
        w.random_number = random_id();
    }
    // One statement for all rows (keel::db::update_column).
    let rows: Vec<(i32, i32)> = worlds.iter().map(|w| (w.id, w.random_number)).collect();
    keel::db::update_column::<world::Entity, _, _>(
        &*db,
        world::Column::Id,
        world::Column::RandomNumber,
        &rows,
    )
    .await?;
    Ok(Json(worlds))
}

/// How long cached worlds live.
const CACHE_TTL: Duration = Duration::from_secs(24 * 3600);

/// The cached worlds: entries `world:{id}` of the cache, read by id.
fn cached_worlds(cache: &Cache) -> Named<i32, world::Model> {
    cache.named("world")
}

async fn cached_queries(cache: Cache, db: Db, Count(n): Count) -> Result<Json<Vec<world::Model>>> {
    let worlds = cached_worlds(&cache);
    let ids: Vec<i32> = (0..n).map(|_| random_id()).collect();
    // All ids in one call (Rails' fetch_multi): hits read together, misses computed.
    let found = worlds
        .get_many_or_compute(&ids, CACHE_TTL, |&id| world_by_id(&db, id))
        .await?;
    Ok(Json(found))
}

fn cache_of(state: &AppState) -> Result<Cache> {
    state
        .get::<Cache>()
        .cloned()
        .ok_or_else(|| Error::internal_msg("the cache plugin is not installed"))
}

/// The plaintext and json routes alone (no database needed; its config section is
/// left unread).
pub fn plain_app() -> App {
    App::new("tfb")
        .plugin(|app: &mut App| app.known_section("database"))
        .routes(
            Router::new()
                .route("/plaintext", get(plaintext).name("plaintext"))
                .route("/json", get(json).name("json")),
        )
}

/// The app: all seven test types.
pub fn app() -> App {
    App::new("tfb")
        .plugin(keel::db::plugin(models::registry(), Vec::new))
        .plugin(keel::cache::plugin)
        .plugin(keel::view::templates::<Templates>())
        .plugin(|app: &mut App| {
            // Fill the cache from the table once at start, as the TechEmpower entries do.
            app.on_started(|state: AppState| async move {
                let (worlds, db) = (cached_worlds(&cache_of(&state)?), Db::current(&state)?);
                for w in world::Entity::find().all(&*db).await? {
                    worlds.set(&w.id, &w, CACHE_TTL).await?;
                }
                Ok(())
            });
        })
        .routes(
            Router::new()
                .route("/plaintext", get(plaintext).name("plaintext"))
                .route("/json", get(json).name("json"))
                .route("/db", get(db).name("db"))
                .route("/queries", get(queries).name("queries"))
                .route("/fortunes", get(fortunes).name("fortunes"))
                .route("/fortunes/view", get(fortunes_view).name("fortunes_view"))
                .route("/updates", get(updates).name("updates"))
                .route(
                    "/cached-queries",
                    get(cached_queries).name("cached_queries"),
                ),
        )
}
