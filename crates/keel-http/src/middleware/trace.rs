//! One tracing span per request, and one log line when it finishes.
//!
//! Contract (stable names, see `docs/observability.md`):
//!
//! - span `http.request` with fields `method`, `route` (the route template, or
//!   `unmatched`), `request_id`, `status` and `latency_ms` (recorded at the end);
//! - event target `keel::request`, message `request finished`, at INFO (WARN for 5xx),
//!   unless `[log] requests = false`.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Instant;

use http::{Method, Request, Response};
use pin_project_lite::pin_project;
use tower_layer::Layer;
use tower_service::Service;
use tracing::Span;
use tracing::field::Empty;

use super::request_id::RequestId;
use super::route::RouteTemplate;

/// The label used for requests that matched no route.
pub const UNMATCHED_ROUTE: &str = "unmatched";

/// The `http.request` span for a request (disabled, and free, when INFO is off for
/// `keel_http`).
#[inline(never)]
pub(crate) fn request_span(method: &Method, route: Option<&str>, id: Option<&RequestId>) -> Span {
    let span = tracing::info_span!(
        "http.request",
        method = %method,
        route = route.unwrap_or(UNMATCHED_ROUTE),
        request_id = Empty,
        status = Empty,
        latency_ms = Empty,
    );
    if let Some(id) = id
        && !span.is_disabled()
    {
        span.record("request_id", id.as_str());
    }
    span
}

/// Records status and latency on the span and logs `request finished`.
#[inline(never)]
pub(crate) fn finish(span: &Span, status: u16, start: Instant, log_requests: bool) {
    if span.is_disabled() {
        return;
    }
    let latency_ms = start.elapsed().as_secs_f64() * 1000.0;
    span.record("status", status);
    span.record("latency_ms", latency_ms);
    if log_requests {
        let _entered = span.enter();
        // status and latency_ms are on the span, which every formatter prints.
        if status >= 500 {
            tracing::warn!(target: "keel::request", "request finished");
        } else {
            tracing::info!(target: "keel::request", "request finished");
        }
    }
}

/// Layer that opens the `http.request` span.
#[derive(Debug, Clone, Copy)]
pub struct TraceLayer {
    log_requests: bool,
}

impl TraceLayer {
    /// A trace layer; `log_requests` adds the `request finished` event.
    pub fn new(log_requests: bool) -> Self {
        Self { log_requests }
    }
}

impl<S> Layer<S> for TraceLayer {
    type Service = TraceService<S>;
    fn layer(&self, inner: S) -> Self::Service {
        TraceService {
            inner,
            log_requests: self.log_requests,
        }
    }
}

/// Service made by [`TraceLayer`].
#[derive(Debug, Clone)]
pub struct TraceService<S> {
    inner: S,
    log_requests: bool,
}

impl<S, ReqB, ResB> Service<Request<ReqB>> for TraceService<S>
where
    S: Service<Request<ReqB>, Response = Response<ResB>>,
{
    type Response = Response<ResB>;
    type Error = S::Error;
    type Future = TraceFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqB>) -> Self::Future {
        let route = req
            .extensions()
            .get::<RouteTemplate>()
            .map(RouteTemplate::as_str);
        let id = req.extensions().get::<RequestId>();
        let span = request_span(req.method(), route, id);
        let inner = {
            let _entered = span.enter();
            self.inner.call(req)
        };
        TraceFuture {
            inner,
            span,
            start: Instant::now(),
            log_requests: self.log_requests,
        }
    }
}

pin_project! {
    /// Future of [`TraceService`].
    pub struct TraceFuture<F> {
        #[pin]
        inner: F,
        span: Span,
        start: Instant,
        log_requests: bool,
    }
}

impl<F, ResB, E> Future for TraceFuture<F>
where
    F: Future<Output = Result<Response<ResB>, E>>,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let _entered = this.span.enter();
        let result = ready!(this.inner.poll(cx));
        if let Ok(res) = &result {
            finish(
                this.span,
                res.status().as_u16(),
                *this.start,
                *this.log_requests,
            );
        }
        Poll::Ready(result)
    }
}
