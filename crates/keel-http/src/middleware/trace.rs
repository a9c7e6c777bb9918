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

use axum::extract::MatchedPath;
use http::{Request, Response};
use pin_project_lite::pin_project;
use tower_layer::Layer;
use tower_service::Service;
use tracing::Span;
use tracing::field::Empty;

use super::request_id::RequestId;

/// The label used for requests that matched no route.
pub const UNMATCHED_ROUTE: &str = "unmatched";

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
        let span = tracing::info_span!(
            "http.request",
            method = %req.method(),
            route = Empty,
            request_id = Empty,
            status = Empty,
            latency_ms = Empty,
        );
        if !span.is_disabled() {
            let route = req
                .extensions()
                .get::<MatchedPath>()
                .map_or(UNMATCHED_ROUTE, MatchedPath::as_str);
            span.record("route", route);
            if let Some(id) = req.extensions().get::<RequestId>() {
                span.record("request_id", id.as_str());
            }
        }
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
        if let Ok(res) = &result
            && !this.span.is_disabled()
        {
            let status = res.status().as_u16();
            let latency_ms = this.start.elapsed().as_secs_f64() * 1000.0;
            this.span.record("status", status);
            this.span.record("latency_ms", latency_ms);
            if *this.log_requests {
                // status and latency_ms are on the span, which every formatter prints.
                if status >= 500 {
                    tracing::warn!(target: "keel::request", "request finished");
                } else {
                    tracing::info!(target: "keel::request", "request finished");
                }
            }
        }
        Poll::Ready(result)
    }
}
