//! Shared setup for Keel's micro-benchmarks: the same tiny app (TechEmpower plaintext
//! and json handlers) served through plain axum and through Keel's stack in several
//! configurations, called in-process so that only framework work is measured.

use axum::body::Body;
use axum::response::Response;
use http::{HeaderValue, Request, header};
use keel::routing::{Router, get};
use tower::{Service, ServiceExt};

/// The templates of `examples/tfb`.
#[derive(keel::view::rust_embed::RustEmbed)]
#[folder = "../examples/tfb/templates/"]
#[crate_path = "keel::view::rust_embed"]
struct Templates;

/// The `/json` body.
#[derive(serde::Serialize)]
struct Message {
    message: &'static str,
}

/// How Keel's stack is configured for a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Config {
    /// Plain axum with a `Server` header layer, like the reference peer.
    Axum,
    /// Keel with every default layer on.
    KeelDefault,
    /// Keel as `examples/tfb` runs it: request id, tracing, metrics and security
    /// headers off.
    KeelTfb,
    /// Keel with every optional layer off (error rendering stays).
    KeelFloor,
    /// `keel-tfb` plus the views plugin, as `examples/tfb` runs (for /fortunes): pages
    /// are rendered by the core stack, routes carry no view layer.
    KeelTfbViews,
    /// `keel-tfb-views` plus sessions: request-dependent template context (CSRF
    /// token, messages) is registered, so the views plugin adds its per-route layer.
    KeelSessionViews,
}

impl Config {
    /// All configurations.
    pub const ALL: [Config; 6] = [
        Config::Axum,
        Config::KeelDefault,
        Config::KeelTfb,
        Config::KeelFloor,
        Config::KeelTfbViews,
        Config::KeelSessionViews,
    ];

    /// Parses `axum`, `keel-default`, `keel-tfb`, `keel-floor`, `keel-tfb-views`,
    /// `keel-session-views`.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.name() == s)
    }

    /// The name used on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Config::Axum => "axum",
            Config::KeelDefault => "keel-default",
            Config::KeelTfb => "keel-tfb",
            Config::KeelFloor => "keel-floor",
            Config::KeelTfbViews => "keel-tfb-views",
            Config::KeelSessionViews => "keel-session-views",
        }
    }
}

async fn plaintext() -> &'static str {
    "Hello, World!"
}

async fn json_keel() -> keel::Json<Message> {
    keel::Json(Message {
        message: "Hello, World!",
    })
}

async fn json_axum() -> axum::Json<Message> {
    axum::Json(Message {
        message: "Hello, World!",
    })
}

async fn server_header(mut res: Response) -> Response {
    res.headers_mut()
        .insert(header::SERVER, HeaderValue::from_static("axum"));
    res
}

/// A service for `config`, type-erased so that every configuration runs the same loop.
pub type Svc = tower::util::BoxCloneService<Request<Body>, Response, std::convert::Infallible>;

/// Builds the service for `config`.
pub async fn service(config: Config) -> Svc {
    if config == Config::Axum {
        let router = axum::Router::new()
            .route("/plaintext", axum::routing::get(plaintext))
            .route("/json", axum::routing::get(json_axum))
            .layer(axum::middleware::map_response(server_header));
        return tower::util::BoxCloneService::new(router);
    }
    let mut app = keel::App::new("bench")
        .environment(keel::Environment::Test)
        .config_dir("does-not-exist")
        .set("log.requests", false)
        .routes(
            Router::new()
                .route("/plaintext", get(plaintext))
                .route("/json", get(json_keel)),
        );
    let off: &[&str] = match config {
        Config::KeelDefault | Config::Axum => &[],
        Config::KeelTfb | Config::KeelTfbViews | Config::KeelSessionViews => &[
            "middleware.request_id",
            "middleware.trace",
            "observability.metrics",
            "middleware.security_headers",
        ],
        Config::KeelFloor => &[
            "middleware.request_id",
            "middleware.trace",
            "observability.metrics",
            "middleware.security_headers",
            "middleware.trusted_hosts",
            "middleware.timeout",
            "middleware.catch_panic",
            "middleware.body_limit",
            "middleware.compression",
        ],
    };
    for key in off {
        app = app.set(key, false);
    }
    match config {
        Config::KeelTfbViews => app = app.plugin(keel::view::templates::<Templates>()),
        Config::KeelSessionViews => app = app.plugin(keel::view::plugin::<Templates>()),
        _ => {}
    }
    let http = keel_http::start(app).await.expect("the bench app starts");
    tower::util::BoxCloneService::new(http.make_service())
}

/// A request like the ones wrk sends in the TechEmpower run.
pub fn request(path: &'static str) -> Request<Body> {
    Request::builder()
        .uri(path)
        .header(header::HOST, "127.0.0.1:8080")
        .header(
            header::ACCEPT,
            "text/plain,text/html;q=0.9,application/xhtml+xml;q=0.9,application/xml;q=0.8,*/*;q=0.7",
        )
        .header(header::CONNECTION, "keep-alive")
        .body(Body::empty())
        .expect("a valid request")
}

/// Sends one request and drops the response.
pub async fn once(svc: &mut Svc, path: &'static str) -> u16 {
    let res = svc
        .ready()
        .await
        .unwrap_or_else(|never| match never {})
        .call(request(path))
        .await
        .unwrap_or_else(|never| match never {});
    res.status().as_u16()
}

/// TechEmpower's `world` table as a SeaORM entity, for the data benchmarks.
#[allow(missing_docs)]
pub mod world {
    use keel::db::sea_orm;
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "world")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: i32,
        pub randomnumber: i32,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
