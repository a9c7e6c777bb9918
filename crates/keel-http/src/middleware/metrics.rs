//! HTTP metrics in the Prometheus text format.
//!
//! Series (stable names):
//!
//! - `http_requests_total{method, route, status}` — counter;
//! - `http_request_duration_seconds{method, route, status}` — histogram;
//! - `http_requests_in_flight` — gauge.
//!
//! `route` is the route template (`/articles/{slug}`), never the raw path, so the number
//! of series stays bounded; requests that match no route are labelled `unmatched`.
//!
//! The registry is explicit (it lives in the app state, not in a global), uses fixed
//! buckets and atomics only, and costs a read-locked map lookup per request.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::task::{Context, Poll, ready};
use std::time::Instant;

use axum::extract::MatchedPath;
use http::{Method, Request, Response};
use pin_project_lite::pin_project;
use tower_layer::Layer;
use tower_service::Service;

use super::trace::UNMATCHED_ROUTE;

/// Histogram bucket upper bounds, in seconds.
pub const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

struct Series {
    method: Method,
    status: u16,
    count: AtomicU64,
    sum_nanos: AtomicU64,
    buckets: [AtomicU64; BUCKETS.len()],
}

/// The registry of HTTP metrics. Shared by the layer and the `/metrics` endpoint.
#[derive(Default)]
pub struct HttpMetrics {
    series: RwLock<HashMap<Box<str>, Vec<Arc<Series>>>>,
    in_flight: AtomicI64,
}

impl std::fmt::Debug for HttpMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpMetrics")
            .field("in_flight", &self.in_flight.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl HttpMetrics {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    fn series(&self, method: &Method, route: &str, status: u16) -> Arc<Series> {
        {
            let map = self.series.read().unwrap_or_else(|e| e.into_inner());
            if let Some(s) = map
                .get(route)
                .and_then(|v| v.iter().find(|s| s.status == status && s.method == *method))
            {
                return Arc::clone(s);
            }
        }
        let mut map = self.series.write().unwrap_or_else(|e| e.into_inner());
        let list = map.entry(route.into()).or_default();
        if let Some(s) = list
            .iter()
            .find(|s| s.status == status && s.method == *method)
        {
            return Arc::clone(s);
        }
        let s = Arc::new(Series {
            method: method.clone(),
            status,
            count: AtomicU64::new(0),
            sum_nanos: AtomicU64::new(0),
            buckets: Default::default(),
        });
        list.push(Arc::clone(&s));
        s
    }

    /// Records one finished request.
    pub fn observe(&self, method: &Method, route: &str, status: u16, seconds: f64) {
        let s = self.series(method, route, status);
        s.count.fetch_add(1, Ordering::Relaxed);
        s.sum_nanos
            .fetch_add((seconds * 1e9) as u64, Ordering::Relaxed);
        if let Some(i) = BUCKETS.iter().position(|b| seconds <= *b) {
            s.buckets[i].fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Requests being handled right now.
    pub fn in_flight(&self) -> i64 {
        self.in_flight.load(Ordering::Relaxed)
    }

    /// The Prometheus text exposition of every series.
    pub fn render(&self) -> String {
        let map = self.series.read().unwrap_or_else(|e| e.into_inner());
        let mut rows: Vec<(&str, &Series)> = map
            .iter()
            .flat_map(|(route, list)| list.iter().map(move |s| (&**route, &**s)))
            .collect();
        rows.sort_by(|a, b| {
            (a.0, a.1.method.as_str(), a.1.status).cmp(&(b.0, b.1.method.as_str(), b.1.status))
        });
        let mut out = String::with_capacity(256 + rows.len() * 1024);
        out.push_str("# HELP http_requests_total Total HTTP requests handled.\n");
        out.push_str("# TYPE http_requests_total counter\n");
        for (route, s) in &rows {
            let _ = writeln!(
                out,
                "http_requests_total{{{}}} {}",
                labels(s, route),
                s.count.load(Ordering::Relaxed)
            );
        }
        out.push_str("# HELP http_request_duration_seconds Time to produce the response head.\n");
        out.push_str("# TYPE http_request_duration_seconds histogram\n");
        for (route, s) in &rows {
            let labels = labels(s, route);
            let mut cumulative = 0;
            for (bound, count) in BUCKETS.iter().zip(&s.buckets) {
                cumulative += count.load(Ordering::Relaxed);
                let _ = writeln!(
                    out,
                    "http_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {cumulative}"
                );
            }
            let count = s.count.load(Ordering::Relaxed);
            let _ = writeln!(
                out,
                "http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {count}"
            );
            let _ = writeln!(
                out,
                "http_request_duration_seconds_sum{{{labels}}} {}",
                s.sum_nanos.load(Ordering::Relaxed) as f64 / 1e9
            );
            let _ = writeln!(
                out,
                "http_request_duration_seconds_count{{{labels}}} {count}"
            );
        }
        out.push_str("# HELP http_requests_in_flight HTTP requests being handled.\n");
        out.push_str("# TYPE http_requests_in_flight gauge\n");
        let _ = writeln!(out, "http_requests_in_flight {}", self.in_flight());
        out
    }
}

fn labels(s: &Series, route: &str) -> String {
    format!(
        "method=\"{}\",route=\"{}\",status=\"{}\"",
        escape_label(s.method.as_str()),
        escape_label(route),
        s.status
    )
}

fn escape_label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Layer that records [`HttpMetrics`].
#[derive(Debug, Clone)]
pub struct MetricsLayer {
    metrics: Arc<HttpMetrics>,
}

impl MetricsLayer {
    /// Records into `metrics`.
    pub fn new(metrics: Arc<HttpMetrics>) -> Self {
        Self { metrics }
    }
}

impl<S> Layer<S> for MetricsLayer {
    type Service = MetricsService<S>;
    fn layer(&self, inner: S) -> Self::Service {
        MetricsService {
            inner,
            metrics: Arc::clone(&self.metrics),
        }
    }
}

/// Service made by [`MetricsLayer`].
#[derive(Debug, Clone)]
pub struct MetricsService<S> {
    inner: S,
    metrics: Arc<HttpMetrics>,
}

impl<S, ReqB, ResB> Service<Request<ReqB>> for MetricsService<S>
where
    S: Service<Request<ReqB>, Response = Response<ResB>>,
{
    type Response = Response<ResB>;
    type Error = S::Error;
    type Future = MetricsFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqB>) -> Self::Future {
        let route = req.extensions().get::<MatchedPath>().cloned();
        let method = req.method().clone();
        self.metrics.in_flight.fetch_add(1, Ordering::Relaxed);
        MetricsFuture {
            inner: self.inner.call(req),
            guard: InFlight {
                metrics: Arc::clone(&self.metrics),
            },
            method,
            route,
            start: Instant::now(),
        }
    }
}

/// Decrements the in-flight gauge even when the request future is dropped.
struct InFlight {
    metrics: Arc<HttpMetrics>,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.metrics.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

pin_project! {
    /// Future of [`MetricsService`].
    pub struct MetricsFuture<F> {
        #[pin]
        inner: F,
        guard: InFlight,
        method: Method,
        route: Option<MatchedPath>,
        start: Instant,
    }
}

impl<F, ResB, E> Future for MetricsFuture<F>
where
    F: Future<Output = Result<Response<ResB>, E>>,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let result = ready!(this.inner.poll(cx));
        if let Ok(res) = &result {
            let route = this
                .route
                .as_ref()
                .map_or(UNMATCHED_ROUTE, MatchedPath::as_str);
            this.guard.metrics.observe(
                this.method,
                route,
                res.status().as_u16(),
                this.start.elapsed().as_secs_f64(),
            );
        }
        Poll::Ready(result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_cumulative_buckets() {
        let m = HttpMetrics::new();
        m.observe(&Method::GET, "/a/{id}", 200, 0.002);
        m.observe(&Method::GET, "/a/{id}", 200, 0.2);
        m.observe(&Method::POST, "/a/{id}", 201, 0.0001);
        let text = m.render();
        assert!(
            text.contains("http_requests_total{method=\"GET\",route=\"/a/{id}\",status=\"200\"} 2"),
            "{text}"
        );
        assert!(text.contains("http_request_duration_seconds_bucket{method=\"GET\",route=\"/a/{id}\",status=\"200\",le=\"0.001\"} 0"));
        assert!(text.contains("http_request_duration_seconds_bucket{method=\"GET\",route=\"/a/{id}\",status=\"200\",le=\"0.0025\"} 1"));
        assert!(text.contains("http_request_duration_seconds_bucket{method=\"GET\",route=\"/a/{id}\",status=\"200\",le=\"+Inf\"} 2"));
        assert!(
            text.contains(
                "http_requests_total{method=\"POST\",route=\"/a/{id}\",status=\"201\"} 1"
            )
        );
        assert!(text.contains("http_requests_in_flight 0"));
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape_label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
