//! Keel's default middleware. Each piece is an ordinary `tower::Layer` that can be used
//! on its own; [`default_stack`] puts them together in this order (outermost first):
//!
//! | # | layer | switch (`[middleware]`) |
//! |---|---|---|
//! | 1 | [`RequestIdLayer`] — accept or make `x-request-id`, echo it | `request_id` |
//! | 2 | [`TraceLayer`] — span `http.request`, request log line | `trace` |
//! | 3 | [`MetricsLayer`] — Prometheus series by route template | `[observability] metrics` |
//! | 4 | compression (tower-http; gzip, br) | `compression` |
//! | 5 | [`SecurityHeadersLayer`] — nosniff, CSP, frame options, HSTS… | `security_headers` |
//! | 6 | [`ErrorLayer`] — every error becomes problem+json or an HTML page | always |
//! | 7 | [`CatchPanicLayer`] — a panic becomes a 500 problem | `catch_panic` |
//! | 8 | [`TimeoutLayer`] — 503 after `server.request_timeout` | `timeout` |
//! | 9 | [`TrustedHostLayer`] — `Host` must be in `security.allowed_hosts` | `trusted_hosts` |
//! | 10 | CORS (tower-http) from `[cors]` | on when `cors.allow_origins` is set |
//! | 11 | [`BodyLimitLayer`] — the one body limit, 413 | `body_limit` |
//!
//! Session, CSRF and authentication layers (added by their plugins) sit inside these.

mod errors;
mod guards;
mod headers;
mod metrics;
mod request_id;
mod trace;

use std::sync::Arc;

pub use errors::{ErrorFuture, ErrorLayer, ErrorService};
pub use guards::{
    BodyLimit, BodyLimitLayer, CatchPanic, CatchPanicFuture, CatchPanicLayer, Timeout,
    TimeoutFuture, TimeoutLayer, TrustedHost, TrustedHostLayer,
};
pub use headers::{SecurityHeaders, SecurityHeadersFuture, SecurityHeadersLayer};
pub use metrics::{BUCKETS, HttpMetrics, MetricsFuture, MetricsLayer, MetricsService};
pub use request_id::{RequestId, RequestIdFuture, RequestIdLayer, RequestIdService, X_REQUEST_ID};
pub use trace::{TraceFuture, TraceLayer, TraceService, UNMATCHED_ROUTE};

use axum::extract::DefaultBodyLimit;
use http::{HeaderName, HeaderValue, Method};
use keel_core::AppState;
use tower::ServiceBuilder;
use tower_http::compression::CompressionLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};

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

/// Applies the default stack to a finished router. Configuration errors were reported
/// at build time (see the HTTP plugin), so values here are valid.
pub fn default_stack(
    router: axum::Router,
    state: &AppState,
    settings: &StackSettings,
    http_metrics: Option<Arc<HttpMetrics>>,
) -> axum::Router {
    let mw = &settings.middleware;
    let environment = state.environment();
    let renderer = state.get::<SharedRenderer>().cloned().unwrap_or_default();
    let obs = &settings.observability;
    let exempt: Vec<String> = [&obs.health_path, &obs.ready_path, &obs.metrics_path]
        .into_iter()
        .filter(|p| !p.is_empty())
        .cloned()
        .collect();
    let compression = if mw.compression {
        CompressionLayer::new()
    } else {
        CompressionLayer::new().no_gzip().no_br()
    };
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
    let stack = ServiceBuilder::new()
        .option_layer(mw.request_id.then_some(RequestIdLayer))
        .option_layer(mw.trace.then(|| TraceLayer::new(settings.log.requests)))
        .option_layer(http_metrics.map(MetricsLayer::new))
        .layer(compression)
        .option_layer(security)
        .layer(ErrorLayer::new(
            renderer,
            state.classifiers().to_vec().into(),
            state.is_debug(),
        ))
        .option_layer(mw.catch_panic.then_some(CatchPanicLayer))
        .option_layer(timeout)
        .option_layer(trusted)
        .option_layer(cors)
        .layer(DefaultBodyLimit::disable())
        .option_layer(body_limit);
    router.layer(stack)
}
