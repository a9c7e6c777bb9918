//! # Keel
//!
//! A batteries-included backend web framework on plain axum/tower/hyper.
//!
//! ```no_run
//! use keel::prelude::*;
//! use keel::routing::{Router, get};
//!
//! async fn hello() -> &'static str {
//!     "Hello, world!"
//! }
//!
//! #[tokio::main]
//! async fn main() -> keel::Result<()> {
//!     keel::App::new("hello")
//!         .routes(Router::new().route("/", get(hello).name("home")))
//!         .run() // parses argv: serve (default) | routes | check [--deploy]
//!         .await
//! }
//! ```
//!
//! | Feature | Where |
//! |---|---|
//! | App builder, plugins, commands | [`App`], [`app`] |
//! | Layered typed config | [`config`] |
//! | One error type, RFC 9457 problems | [`Error`], [`ErrorKind`] |
//! | Named routes, `url_for` | [`routing`] |
//! | Extractors with problem rejections | [`extract`], [`Json`] |
//! | Default middleware | [`middleware`] |
//! | Server: HTTP/1.1 pipelining, h2c, TLS (`tls` feature), graceful shutdown | [`serve`] |
//! | `/_health`, `/_ready`, `/metrics` | [`observability`] |
//! | Static files | [`statics`] |
//! | Sessions (cookie, memory, database stores), flash messages, CSRF protection | [`session`], [`csrf`] |
//! | Forms validated with garde, re-rendered with values and errors; uploads streamed to disk | [`form`] |
//! | Mail: SMTP (`smtp` feature), console, file, memory; sent off the request path | [`mail`] |
//! | Cache: in-process (moka) or Redis, TTL, single-flight get-or-compute | [`cache`] |
//! | Templates (minijinja): autoreload in development, embedded in release | [`view`] |
//! | Data: SeaORM models, pool, `Db`, pagination, migrations, makemigrations (features `sqlite` (default), `postgres`, `mysql`) | `db` |
//! | Auth: users (argon2id), login/sign-up/reset/verify flows, throttling, permissions and groups, API tokens, JWT | `auth` |
//!
//! Everything is axum underneath: `keel::routing::Router` builds an `axum::Router`,
//! any axum extractor works in a handler, any tower layer works in the stack.

pub use keel_core::{
    App, AppSettings, AppState, BuiltApp, Config, ConfigError, Dep, Environment, Error,
    ErrorClassifier, ErrorKind, Extensions, FieldError, Problem, Result, StartedApp, app, check,
    config, error, layer_order, random, settings, state, time,
};
pub use keel_http::extract::{Form, Json, Path, Query};
pub use keel_http::middleware::RequestId;
pub use keel_http::{
    csrf, extract, form, logging, middleware, observability, plugin as http_plugin, problem, serve,
    session, start, statics,
};

/// Routing: Keel's introspectable router over axum, and the method functions.
pub mod routing {
    pub use keel_core::routing::*;
}

/// The rust-embed crate, for `#[derive(RustEmbed)] #[crate_path = "keel::rust_embed"]`.
pub use keel_http::statics::rust_embed_reexport as rust_embed;

/// The data layer: SeaORM 2 models, the pool and [`db::Db`] extractor, pagination,
/// database errors as problems, versioned migrations and `db makemigrations`.
#[cfg(any(feature = "sqlite", feature = "postgres", feature = "mysql"))]
pub mod db {
    pub use keel_db::*;
}

/// Authentication and authorization (with the data layer): users with argon2id
/// passwords, login / sign-up / reset / verification flows, throttling, the
/// `CurrentUser`, `RequireUser` and `RequirePermission` extractors, permissions and
/// groups, personal access tokens and JWTs.
#[cfg(any(feature = "sqlite", feature = "postgres", feature = "mysql"))]
pub mod auth {
    pub use keel_auth::*;
}

/// Server-rendered pages: minijinja templates, the [`view::View`] response, and the
/// `url_for` / `static` / `csrf_field` / `messages` globals.
pub mod view {
    /// Compiled pages (feature `compiled`): see [`mod@keel_view::compiled`].
    #[cfg(feature = "compiled")]
    pub use keel_view::{Compiled, askama, compiled};
    pub use keel_view::{View, ViewSettings, rust_embed, view};

    /// The views plugin for the templates embedded as `T`, with sessions and CSRF
    /// protection (templates' `csrf_field()` and `messages` need them). The example needs
    /// a `templates/` folder beside `Cargo.toml`, so it is not compiled here; the
    /// keel-view tests build the same thing.
    ///
    /// ```ignore
    /// #[derive(keel::view::rust_embed::RustEmbed)]
    /// #[folder = "templates/"]
    /// #[crate_path = "keel::view::rust_embed"]
    /// struct Templates;
    ///
    /// let app = keel::App::new("site").plugin(keel::view::plugin::<Templates>());
    /// ```
    pub fn plugin<T: rust_embed::RustEmbed + 'static>()
    -> impl FnOnce(&mut keel_core::App) + Send + 'static {
        |app: &mut keel_core::App| {
            keel_http::session::plugin(app);
            keel_view::plugin::<T>()(app);
        }
    }

    /// The views plugin alone, without sessions and CSRF protection: for apps that
    /// render pages but keep no per-visitor state (`csrf_field()` and `messages` are
    /// then unavailable).
    pub fn templates<T: rust_embed::RustEmbed + 'static>()
    -> impl FnOnce(&mut keel_core::App) + Send + 'static {
        keel_view::plugin::<T>()
    }
}

/// Email: the `Mail` extractor, console / file / memory backends, SMTP with the
/// `smtp` feature, templated messages.
pub mod mail {
    pub use keel_core::mail::{Email, Mailer};
    pub use keel_mail::*;
}

/// The cache battery: typed get/set/delete/get-or-compute with TTL and stampede
/// protection, in-process (moka) or Redis (`redis` feature).
pub mod cache {
    pub use keel_cache::*;
}

/// JSON API conveniences: `Created` (201 + `Location`), `NoContent`, ETags and
/// `If-Match` / `If-None-Match`.
pub use keel_http::api;

/// The OpenAPI 3.1 document built from the routes and handler types, `/openapi.json`,
/// Swagger UI at `/docs/` (offline), and the `openapi` command (`--check` for
/// snapshots). Register API routes with `keel::openapi::{get, post, …}`.
#[cfg(feature = "openapi")]
pub mod openapi {
    pub use keel_openapi::*;
}

/// garde, for `#[derive(garde::Validate)]` on form and JSON types.
pub use keel_http::garde;

/// axum, re-exported so that apps use the same version as Keel.
pub use axum;

// The README's examples compile as doctests, so they stay true.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
mod readme {}

/// Traits that add methods to Keel's types. `use keel::prelude::*;`
pub mod prelude {
    pub use keel_http::AppRunExt as _;
}
