//! Keel's default middleware. Each piece is an ordinary `tower::Layer` that can be used
//! on its own; [`default_stack`] puts them together around the app's router as one
//! service ([`KeelService`]), in this order (outermost first):
//!
//! | # | layer | switch |
//! |---|---|---|
//! | 1 | [`CompressLayer`] — gzip / br (tower-http) for clients that ask | `middleware.compression` |
//! | 2 | [`RequestIdLayer`] — accept or make `x-request-id`, echo it | `middleware.request_id` |
//! | 3 | [`RouteLayer`] — which route template the path matches | on with 4 or 5 |
//! | 4 | [`TraceLayer`] — span `http.request`, request log line | `middleware.trace` |
//! | 5 | [`MetricsLayer`] — Prometheus series by route template | `observability.metrics` |
//! | 6 | [`SecurityHeadersLayer`] — nosniff, CSP, frame options, HSTS… | `middleware.security_headers` |
//! | 7 | [`ErrorLayer`] — every error becomes problem+json or an HTML page | always |
//! | 8 | [`CatchPanicLayer`] — a panic becomes a 500 problem | `middleware.catch_panic` |
//! | 9 | [`TimeoutLayer`] — 503 after `server.request_timeout` | `middleware.timeout` |
//! | 10 | [`TrustedHostLayer`] — `Host` must be in `security.allowed_hosts` | `middleware.trusted_hosts` |
//! | 11 | [`BodyLimitLayer`] — the one body limit, 413 | `middleware.body_limit` |
//! | 12 | CORS (tower-http) from `[cors]` | on when `cors.allow_origins` is set |
//!
//! Steps 1–11 run fused in one service ([`CoreService`]), because a chain of a dozen
//! layers costs more than their work; the switches and the behaviour are the same.
//! The fused service also sets the `Server` header (`server.server_header`).
//! The stack wraps the router from outside rather than through `Router::layer`, which
//! would clone and box it for every request. Session, CSRF and authentication layers
//! (added by their plugins with `App::wrap_router`) sit inside, on the router itself.

mod compress;
mod core;
mod errors;
pub mod fast;
mod guards;
mod headers;
mod metrics;
mod request_id;
mod route;
mod trace;

use std::sync::Arc;

pub use self::core::{CoreFuture, CoreService};
pub use compress::{Compress, CompressLayer};
pub use errors::{ErrorFuture, ErrorLayer, ErrorService};
pub use guards::{
    BodyLimit, BodyLimitLayer, CatchPanic, CatchPanicFuture, CatchPanicLayer, Timeout,
    TimeoutFuture, TimeoutLayer, TrustedHost, TrustedHostLayer,
};
pub use headers::{SecurityHeaders, SecurityHeadersFuture, SecurityHeadersLayer};
pub use metrics::{
    BUCKETS, HttpMetrics, MetricsFuture, MetricsLayer, MetricsService, MetricsShard,
};
pub use request_id::{RequestId, RequestIdFuture, RequestIdLayer, RequestIdService, X_REQUEST_ID};
pub use route::{RouteLayer, RouteMatcher, RouteService, RouteTemplate};
pub use trace::{TraceFuture, TraceLayer, TraceService, UNMATCHED_ROUTE};

use std::convert::Infallible;
use std::task::{Context, Poll};

use axum::extract::{DefaultBodyLimit, Request};
use axum::response::Response;
use futures_util::future::Either;
use http::{HeaderName, HeaderValue, Method};
use keel_core::AppState;
use tower_http::cors::{AllowOrigin, Cors, CorsLayer};
use tower_layer::Layer;
use tower_service::Service;

use crate::problem::SharedRenderer;
use crate::settings::{
    CorsSettings, LogSettings, MiddlewareSettings, ObservabilitySettings, SecuritySettings,
    ServerSettings,
};

/// Everything the default stack is configured from.
#[derive(Debug, Clone, Default)]
pub struct StackSettings {
    /// `[server]`.
    pub server: ServerSettings,
    /// `[security]`.
    pub security: SecuritySettings,
    /// `[cors]`.
    pub cors: CorsSettings,
    /// `[log]`.
    pub log: LogSettings,
    /// `[observability]`.
    pub observability: ObservabilitySettings,
    /// `[middleware]`.
    pub middleware: MiddlewareSettings,
}

/// Builds the CORS layer from `[cors]`, or `None` when no origin is allowed.
pub fn cors_layer(cors: &CorsSettings) -> Result<Option<CorsLayer>, String> {
    if cors.allow_origins.is_empty() {
        return Ok(None);
    }
    let origin = if cors.allow_origins.iter().any(|o| o == "*") {
        if cors.allow_credentials {
            return Err(
                "cors.allow_credentials cannot be used with allow_origins = [\"*\"]".into(),
            );
        }
        AllowOrigin::any()
    } else {
        let list = cors
            .allow_origins
            .iter()
            .map(|o| {
                HeaderValue::from_str(o.trim_end_matches('/'))
                    .map_err(|_| format!("cors.allow_origins: `{o}` is not a valid origin"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        AllowOrigin::list(list)
    };
    let methods = cors
        .allow_methods
        .iter()
        .map(|m| {
            Method::from_bytes(m.as_bytes())
                .map_err(|_| format!("cors.allow_methods: `{m}` is not a method"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let headers = |key: &str, list: &[String]| {
        list.iter()
            .map(|h| {
                HeaderName::from_bytes(h.as_bytes())
                    .map_err(|_| format!("cors.{key}: `{h}` is not a header name"))
            })
            .collect::<Result<Vec<_>, _>>()
    };
    Ok(Some(
        CorsLayer::new()
            .allow_origin(origin)
            .allow_methods(methods)
            .allow_headers(headers("allow_headers", &cors.allow_headers)?)
            .expose_headers(headers("expose_headers", &cors.expose_headers)?)
            .allow_credentials(cors.allow_credentials)
            .max_age(cors.max_age),
    ))
}

type Unlimited<S> = <DefaultBodyLimit as Layer<S>>::Service;

/// The router, behind CORS and with axum's own body limit off when configured. One
/// enum rather than two nested `Either`s: a request is matched and moved once.
#[derive(Clone)]
enum Routed {
    Plain(axum::Router),
    Cors(Cors<axum::Router>),
    Unlimited(Unlimited<axum::Router>),
    UnlimitedCors(Unlimited<Cors<axum::Router>>),
}

type RouterFuture = <axum::Router as Service<Request>>::Future;
type CorsFuture = <Cors<axum::Router> as Service<Request>>::Future;

impl Service<Request> for Routed {
    type Response = Response;
    type Error = Infallible;
    type Future = Either<RouterFuture, CorsFuture>;

    #[inline]
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        match self {
            Self::Plain(s) => Service::<Request>::poll_ready(s, cx),
            Self::Cors(s) => Service::<Request>::poll_ready(s, cx),
            Self::Unlimited(s) => Service::<Request>::poll_ready(s, cx),
            Self::UnlimitedCors(s) => Service::<Request>::poll_ready(s, cx),
        }
    }

    // Always: the request is then moved once, straight into the router.
    #[inline(always)]
    fn call(&mut self, req: Request) -> Self::Future {
        match self {
            Self::Plain(s) => Either::Left(s.call(req)),
            Self::Cors(s) => Either::Right(s.call(req)),
            Self::Unlimited(s) => Either::Left(s.call(req)),
            Self::UnlimitedCors(s) => Either::Right(s.call(req)),
        }
    }
}

type S4 = CoreService<Routed>;

/// The app's router inside Keel's default stack: what the server and the test client
/// call. Cheap to clone.
#[derive(Clone)]
pub struct KeelService {
    inner: S4,
}

impl std::fmt::Debug for KeelService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeelService")
    }
}

impl KeelService {
    /// Sends `value` as the `Server` response header (none when empty or not a valid
    /// header value). The stack starts with `server.server_header` from the app's
    /// configuration; [`Server`](crate::serve::Server) sets its own settings' value.
    #[must_use]
    pub fn with_server_header(mut self, value: &str) -> Self {
        self.inner.set_server_header(headers::server_header(value));
        self
    }
}

impl Service<Request> for KeelService {
    type Response = Response;
    type Error = Infallible;
    type Future = CoreFuture<Either<RouterFuture, CorsFuture>>;

    #[inline]
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    #[inline]
    fn call(&mut self, req: Request) -> Self::Future {
        self.inner.call(req)
    }
}

/// Wraps a finished router in the default stack. Configuration errors were reported
/// at build time (see the HTTP plugin), so values here are valid.
pub fn default_stack(
    router: axum::Router,
    state: &AppState,
    settings: &StackSettings,
    http_metrics: Option<&Arc<HttpMetrics>>,
) -> KeelService {
    let mw = &settings.middleware;
    let environment = state.environment();
    let renderer = state.get::<SharedRenderer>().cloned().unwrap_or_default();
    let obs = &settings.observability;
    let exempt: Vec<String> = [&obs.health_path, &obs.ready_path, &obs.metrics_path]
        .into_iter()
        .filter(|p| !p.is_empty())
        .cloned()
        .collect();
    let security = if mw.security_headers {
        SecurityHeadersLayer::from_settings(&settings.security, environment).ok()
    } else {
        None
    };
    let timeout = (mw.timeout && !settings.server.request_timeout.is_zero())
        .then(|| TimeoutLayer::new(settings.server.request_timeout));
    let trusted = mw.trusted_hosts.then(|| {
        TrustedHostLayer::new(
            &settings.security.effective_allowed_hosts(environment),
            exempt,
            state.is_debug(),
        )
    });
    let cors = cors_layer(&settings.cors).ok().flatten();
    let body_limit = mw
        .body_limit
        .then(|| BodyLimitLayer::new(settings.server.body_limit, settings.server.body_drain_limit));
    let matcher = (mw.trace || http_metrics.is_some()).then(|| RouteMatcher::new(state.routes()));
    // Each service instance records into its own shard (see `MetricsShard`).
    let shard = match (&http_metrics, &matcher) {
        (Some(m), Some(matcher)) => Some(m.shard(matcher.templates())),
        _ => None,
    };
    let core = self::core::CoreConfig {
        compress: mw.compression,
        server_header: headers::server_header(&settings.server.server_header),
        request_id: mw.request_id,
        matcher,
        trace: mw.trace.then_some(settings.log.requests),
        metrics: shard,
        security,
        errors: Arc::new(errors::ErrorRender::new(
            renderer,
            state.classifiers().to_vec().into(),
            state.is_debug(),
        )),
        pages: state
            .get::<keel_core::template::PageRendering>()
            .and_then(|p| p.0.get().cloned()),
        catch_panic: mw.catch_panic,
        timeout: timeout.map(|t| t.duration()),
        trusted,
        body_limit,
    };
    // axum's extractors have their own 2 MB default limit. When Keel's limit is lower it
    // always fires first, so axum's is left alone (turning it off costs an extension
    // insert per request); when Keel's is higher, or off, axum's is turned off so that
    // there is never a second, hidden limit.
    let axum_default = 2 * 1024 * 1024;
    let disable_axum_limit = body_limit.is_none() || settings.server.body_limit.0 > axum_default;
    let routed = match (disable_axum_limit, cors) {
        (false, None) => Routed::Plain(router),
        (false, Some(cors)) => Routed::Cors(cors.layer(router)),
        (true, None) => Routed::Unlimited(DefaultBodyLimit::disable().layer(router)),
        (true, Some(cors)) => {
            Routed::UnlimitedCors(DefaultBodyLimit::disable().layer(cors.layer(router)))
        }
    };
    KeelService {
        inner: self::core::CoreLayer::new(core).layer(routed),
    }
}
