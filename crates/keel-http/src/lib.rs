//! # keel-http
//!
//! Keel's HTTP pillar: the server, the default middleware stack, extractors with
//! problem+json rejections, error rendering, observability endpoints and static files.
//!
//! Install it with [`plugin`] (the facade's `run()` and the test client do this for
//! you). It reads the `[server]`, `[security]`, `[cors]`, `[log]`, `[observability]`,
//! `[static]` and `[middleware]` config sections.
//!
//! | Module | What it gives |
//! |---|---|
//! | [`serve`] | hyper server: HTTP/1.1 (pipelined), h2c, TLS, graceful shutdown, per-core mode |
//! | [`middleware`] | request id, tracing, metrics, compression, security headers, errors, panics, timeout, trusted hosts, CORS, body limit |
//! | [`extract`] | `Json`, `Form`, `Query`, `Path` with precise 400/413/415/422 problems |
//! | [`problem`] | problem+json / HTML error pages, `ErrorRenderer` strategy |
//! | [`observability`] | `/_health`, `/_ready`, `/metrics` |
//! | [`statics`] | static files from a folder or embedded, ETag / 304 |

use std::future::Future;
use std::sync::Arc;

use keel_core::check::{CheckContext, Diagnostic, Level};
use keel_core::config::ConfigProblem;
use keel_core::routing::{Router, get};
use keel_core::{App, AppState, BuiltApp, Error, Result, StartedApp};

pub mod api;
pub mod csrf;
pub mod extract;
pub mod form;

/// garde, re-exported for `#[derive(Validate)]`.
pub use garde;
pub mod logging;
pub mod middleware;
pub mod observability;
pub mod problem;
pub mod serve;
pub mod session;
#[cfg(feature = "redis")]
pub mod session_redis;
pub mod settings;
pub mod statics;

use middleware::{HttpMetrics, KeelService, SecurityHeadersLayer, StackSettings};
use settings::{
    CorsSettings, LogSettings, MiddlewareSettings, ObservabilitySettings, SecuritySettings,
    ServerSettings, StaticSettings,
};

/// Installs the HTTP layer into an app: config sections, observability routes, static
/// files, the default middleware stack, the `serve` command (the default) and the HTTP
/// deploy checks. Installing twice is harmless.
pub fn plugin(app: &mut App) {
    if !app.mark_installed("keel-http") {
        return;
    }
    let server: ServerSettings = app.section("server");
    let security: SecuritySettings = app.section("security");
    let cors: CorsSettings = app.section("cors");
    let log: LogSettings = app.section("log");
    let observability: ObservabilitySettings = app.section("observability");
    let statics: StaticSettings = app.section("static");
    let mw: MiddlewareSettings = app.section("middleware");
    let environment = app.config().environment();

    // Values that parse but cannot work are reported now, with the key.
    let mut problems = Vec::new();
    if let Err(msg) = middleware::cors_layer(&cors) {
        problems.push(("cors", msg));
    }
    if let Err(msg) = SecurityHeadersLayer::from_settings(&security, environment) {
        problems.push(("security", msg));
    }
    if server.host.parse::<std::net::IpAddr>().is_err() {
        problems.push((
            "server.host",
            format!(
                "`{}` is not an IP address (use 0.0.0.0 or 127.0.0.1)",
                server.host
            ),
        ));
    }
    if let Some(tls) = &server.tls {
        for (key, path) in [("server.tls.cert", &tls.cert), ("server.tls.key", &tls.key)] {
            if !path.exists() {
                problems.push((key, format!("file {} does not exist", path.display())));
            }
        }
    }
    for (key, message) in problems {
        app.config_problem(ConfigProblem {
            key: key.to_owned(),
            source: "config".to_owned(),
            message,
        });
    }

    let http_metrics = observability.metrics.then(|| Arc::new(HttpMetrics::new()));
    if let Some(m) = &http_metrics {
        app.extensions().insert(Arc::clone(m));
    }
    app.extensions().insert(observability.clone());
    if !app.extensions().contains::<problem::SharedRenderer>() {
        app.extensions().insert(problem::SharedRenderer::default());
    }

    let mut routes = Router::new();
    if !observability.health_path.is_empty() {
        routes = routes.route(
            &observability.health_path,
            get(observability::health).name("keel.health"),
        );
    }
    if !observability.ready_path.is_empty() {
        routes = routes.route(
            &observability.ready_path,
            get(observability::ready).name("keel.ready"),
        );
    }
    if observability.metrics && !observability.metrics_path.is_empty() {
        routes = routes.route(
            &observability.metrics_path,
            get(observability::metrics).name("keel.metrics"),
        );
    }
    app.add_routes(routes);

    // Static files are wired after every other plugin ran, so that a plugin added later
    // (`statics::embed`) still decides the source.
    app.add_plugin(move |app: &mut App| {
        if !statics.enabled {
            return;
        }
        let source = match app.extensions().get::<statics::StaticSource>() {
            Some(s) => Some(Arc::clone(&s.0)),
            None if statics.dir.is_dir() => {
                Some(Arc::new(statics::DirSource::new(statics.dir.clone()))
                    as Arc<dyn statics::AssetSource>)
            }
            None => None,
        };
        if let Some(source) = source {
            let cache = if environment == keel_core::Environment::Development {
                http::HeaderValue::from_static("no-cache")
            } else {
                http::HeaderValue::from_str(&format!(
                    "public, max-age={}",
                    statics.max_age.as_secs()
                ))
                .unwrap_or(http::HeaderValue::from_static("no-cache"))
            };
            app.extensions()
                .insert(keel_core::template::SharedAssetUrls(Arc::new(
                    statics::VersionedUrls {
                        prefix: statics.url.clone(),
                        source: Arc::clone(&source),
                    },
                )));
            let files = statics::StaticFiles::new(source, cache)
                .immutable_when_versioned(environment != keel_core::Environment::Development);
            app.add_routes(Router::new().nest_service(&statics.url, files));
        }
    });

    // Uploaded files (keel::form::UploadForm) are served back from `uploads.dir`.
    let uploads: form::UploadSettings = app.section("uploads");
    if !uploads.url.is_empty() {
        let media = statics::StaticFiles::new(
            Arc::new(statics::DirSource::new(uploads.dir.clone())),
            http::HeaderValue::from_static("public, max-age=3600"),
        );
        app.add_routes(Router::new().nest_service(&uploads.url, media));
    }
    app.extensions().insert(uploads);

    let stack = StackSettings {
        server,
        security,
        cors,
        log,
        observability,
        middleware: mw,
    };
    let deploy_stack = stack.clone();
    app.deploy_check("keel.http", move |cx| http_deploy_checks(cx, &deploy_stack));
    app.extensions().insert(HttpStack {
        settings: stack,
        metrics: http_metrics,
    });

    app.default_command("serve");
    app.command(
        clap::Command::new("serve")
            .about("Serve the app over HTTP (the default command)")
            .arg(
                clap::Arg::new("host")
                    .long("host")
                    .value_name("IP")
                    .help("Address to bind (overrides server.host)"),
            )
            .arg(
                clap::Arg::new("port")
                    .long("port")
                    .short('p')
                    .value_name("PORT")
                    .value_parser(clap::value_parser!(u16))
                    .help("Port to bind (overrides server.port / PORT)"),
            )
            .after_help("Examples:\n  cargo run -- serve\n  cargo run -- serve --port 3000"),
        serve_command,
    );
}

fn http_deploy_checks(cx: &CheckContext<'_>, s: &StackSettings) -> Vec<Diagnostic> {
    let environment = keel_core::Environment::Production;
    let mut out = Vec::new();
    let hosts = s.security.effective_allowed_hosts(environment);
    if s.middleware.trusted_hosts && hosts.is_empty() {
        out.push(
            Diagnostic::error(
                "keel.D101",
                "security.allowed_hosts is empty: every request would be refused",
            )
            .hint("list the host names the app serves, e.g. allowed_hosts = [\"example.com\"]"),
        );
    }
    if hosts.iter().any(|h| h == "*") || !s.middleware.trusted_hosts {
        out.push(
            Diagnostic::warning("keel.D102", "any Host header is accepted")
                .hint("restrict security.allowed_hosts to protect reset links and caches from host-header poisoning"),
        );
    }
    if s.security.effective_hsts(environment).is_none() || !s.middleware.security_headers {
        out.push(
            Diagnostic::warning("keel.D103", "HTTP Strict Transport Security is off")
                .hint("unset security.hsts_max_age to use one year"),
        );
    }
    if s.observability.metrics
        && s.observability
            .metrics_token
            .as_deref()
            .unwrap_or("")
            .is_empty()
    {
        out.push(
            Diagnostic::warning("keel.D104", "/metrics is public")
                .hint("set observability.metrics_token, or keep the port private"),
        );
    }
    let _ = cx;
    out
}

async fn serve_command(app: BuiltApp, args: clap::ArgMatches) -> Result<()> {
    let mut settings: ServerSettings =
        app.config().section("server").map_err(|e| e.into_error())?;
    if let Some(host) = args.get_one::<String>("host") {
        settings.host = host.clone();
    }
    if let Some(port) = args.get_one::<u16>("port") {
        settings.port = *port;
    }
    let production = app.environment().is_production();
    let diagnostics = app.run_checks(production);
    let mut errors = 0;
    for d in &diagnostics {
        match d.level {
            Level::Error => {
                errors += 1;
                tracing::error!(target: "keel::check", id = %d.id, hint = d.hint.as_deref().unwrap_or(""), "{}", d.message);
            }
            Level::Warning => {
                tracing::warn!(target: "keel::check", id = %d.id, hint = d.hint.as_deref().unwrap_or(""), "{}", d.message);
            }
            Level::Info => {}
        }
    }
    if errors > 0 {
        return Err(Error::config(format!(
            "refusing to start: the system checks found {errors} error(s) (run `check{}` for details)",
            if production { " --deploy" } else { "" }
        )));
    }
    let environment = app.environment();
    let http = HttpApp::start(app).await?;
    let server = serve::Server::bind(&http, &settings).map_err(|e| {
        Error::config(format!(
            "cannot listen on {}:{}: {e}",
            settings.host, settings.port
        ))
    })?;
    tracing::info!(
        target: "keel::server",
        app = http.state().name(),
        environment = %environment,
        runtime = ?settings.runtime,
        "listening on {}",
        server.url()
    );
    server
        .run(serve::shutdown_signal())
        .await
        .map_err(Error::internal)?;
    http.shutdown().await;
    Ok(())
}

/// What the plugin prepared for the stack, kept in the app's extensions.
#[derive(Debug, Clone)]
struct HttpStack {
    settings: StackSettings,
    metrics: Option<Arc<HttpMetrics>>,
}

/// A started app inside Keel's HTTP stack: what the server (and the test client) call.
#[derive(Debug)]
pub struct HttpApp {
    started: StartedApp,
    stack: Arc<HttpStack>,
    service: KeelService,
}

impl HttpApp {
    /// Starts a built app (startup hooks run) and wraps its router in the default stack.
    pub async fn start(app: BuiltApp) -> Result<Self> {
        let started = app.start().await?;
        let stack =
            started.state().get::<HttpStack>().cloned().ok_or_else(|| {
                Error::config("the HTTP plugin (keel_http::plugin) is not installed")
            })?;
        let service = middleware::default_stack(
            started.router(),
            started.state(),
            &stack.settings,
            stack.metrics.as_ref(),
        );
        Ok(Self {
            started,
            stack: Arc::new(stack),
            service,
        })
    }

    /// Makes a fresh copy of the stack (shares the router, the state and the metrics
    /// registry; owns its configuration), e.g. one per server worker.
    pub fn make_service(&self) -> KeelService {
        middleware::default_stack(
            self.started.router(),
            self.started.state(),
            &self.stack.settings,
            self.stack.metrics.as_ref(),
        )
    }

    /// A factory for [`serve::Server::bind_with`].
    ///
    /// Each service it makes (one per server worker) has a router of its own around
    /// its own copy of the state ([`keel_core::StartedApp::worker_router`]), so that
    /// workers on different cores share no per-request reference counts.
    pub fn service_factory(&self) -> serve::ServiceFactory {
        let routers = self.started.worker_routers();
        let state = self.started.state().clone();
        let stack = Arc::clone(&self.stack);
        Arc::new(move || {
            middleware::default_stack(
                routers.router(),
                &state,
                &stack.settings,
                stack.metrics.as_ref(),
            )
        })
    }

    /// The app's state.
    pub fn state(&self) -> &AppState {
        self.started.state()
    }

    /// The service to call (cheap to clone).
    pub fn service(&self) -> KeelService {
        self.service.clone()
    }

    /// The app's router without the default stack.
    pub fn router(&self) -> axum::Router {
        self.started.router()
    }

    /// Runs the app's shutdown hooks.
    pub async fn shutdown(self) {
        self.started.shutdown().await;
    }
}

/// Installs the HTTP plugin, builds and starts `app`: for tests, or to serve it yourself
/// with [`serve::Server`].
pub async fn start(mut app: App) -> Result<HttpApp> {
    app.add_plugin(plugin);
    HttpApp::start(app.build().map_err(|e| e.into_error())?).await
}

/// Running an app from `main`.
pub trait AppRunExt: Sized {
    /// Installs the HTTP plugin, sets up logging and the metrics recorder (process-wide,
    /// once), and runs the command named on the command line (`serve` by default).
    fn run(self) -> impl Future<Output = Result<()>> + Send;
}

impl AppRunExt for App {
    fn run(mut self) -> impl Future<Output = Result<()>> + Send {
        self.add_plugin(plugin);
        let environment = self.config().environment();
        let log: LogSettings = self.config().section("log").unwrap_or_default();
        logging::init(&log, environment);
        observability::install_global_recorder();
        let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
        self.run_with_args(args)
    }
}
