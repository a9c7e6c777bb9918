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

use std::fmt::Write as _;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::task::{Context, Poll, ready};
use std::time::Instant;

use http::{Method, Request, Response};
use pin_project_lite::pin_project;
use tower_layer::Layer;
use tower_service::Service;

use super::route::RouteMatcher;
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

impl Series {
    fn new(method: &Method, status: u16) -> Self {
        Self {
            method: method.clone(),
            status,
            count: AtomicU64::new(0),
            sum_nanos: AtomicU64::new(0),
            buckets: Default::default(),
        }
    }

    fn record(&self, seconds: f64) {
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_nanos
            .fetch_add((seconds * 1e9) as u64, Ordering::Relaxed);
        if let Some(i) = BUCKETS.iter().position(|b| seconds <= *b) {
            self.buckets[i].fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// One writer's share of the registry: each service instance (one per server worker)
/// records into its own shard, so the hot path never contends with other cores;
/// `/metrics` sums the shards.
pub struct MetricsShard {
    templates: Arc<[Arc<str>]>,
    /// One slot per route template, plus the last one for unmatched requests.
    routes: Box<[RwLock<Vec<Series>>]>,
    in_flight: AtomicI64,
}

impl std::fmt::Debug for MetricsShard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetricsShard")
            .field("routes", &self.templates.len())
            .finish_non_exhaustive()
    }
}

impl MetricsShard {
    /// Records one finished request for route number `route` (`None`: unmatched).
    #[inline(never)]
    pub fn observe(&self, route: Option<usize>, method: &Method, status: u16, seconds: f64) {
        let slot = &self.routes[route
            .unwrap_or(self.routes.len() - 1)
            .min(self.routes.len() - 1)];
        {
            let list = slot.read().unwrap_or_else(|e| e.into_inner());
            if let Some(s) = list
                .iter()
                .find(|s| s.status == status && s.method == *method)
            {
                s.record(seconds);
                return;
            }
        }
        let mut list = slot.write().unwrap_or_else(|e| e.into_inner());
        match list
            .iter()
            .find(|s| s.status == status && s.method == *method)
        {
            Some(s) => s.record(seconds),
            None => {
                let s = Series::new(method, status);
                s.record(seconds);
                list.push(s);
            }
        }
    }

    pub(crate) fn in_flight_add(&self) {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn in_flight_sub(&self) {
        self.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The registry of HTTP metrics: the shards of every service instance. Shared by the
/// layers (through their shards) and the `/metrics` endpoint.
#[derive(Default)]
pub struct HttpMetrics {
    shards: Mutex<Vec<Arc<MetricsShard>>>,
}

impl std::fmt::Debug for HttpMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpMetrics")
            .field("in_flight", &self.in_flight())
            .finish_non_exhaustive()
    }
}

/// Totals of one series across shards, for rendering.
#[derive(Default)]
struct Totals {
    count: u64,
    sum_nanos: u64,
    buckets: [u64; BUCKETS.len()],
}

impl HttpMetrics {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// A new shard recording routes by the indices of `templates` (see
    /// [`RouteMatcher`](super::RouteMatcher)).
    pub fn shard(&self, templates: &Arc<[Arc<str>]>) -> Arc<MetricsShard> {
        let shard = Arc::new(MetricsShard {
            templates: Arc::clone(templates),
            routes: (0..=templates.len()).map(|_| RwLock::default()).collect(),
            in_flight: AtomicI64::new(0),
        });
        self.shards
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(Arc::clone(&shard));
        shard
    }

    /// Requests being handled right now.
    pub fn in_flight(&self) -> i64 {
        let shards = self.shards.lock().unwrap_or_else(|e| e.into_inner());
        shards
            .iter()
            .map(|s| s.in_flight.load(Ordering::Relaxed))
            .sum()
    }

    /// The Prometheus text exposition of every series.
    pub fn render(&self) -> String {
        let shards: Vec<Arc<MetricsShard>> = self
            .shards
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let mut totals: std::collections::BTreeMap<(String, String, u16), Totals> =
            Default::default();
        for shard in &shards {
            for (i, slot) in shard.routes.iter().enumerate() {
                let route = shard
                    .templates
                    .get(i)
                    .map_or(UNMATCHED_ROUTE, |t| &**t)
                    .to_owned();
                let list = slot.read().unwrap_or_else(|e| e.into_inner());
                for s in list.iter() {
                    let t = totals
                        .entry((route.clone(), s.method.to_string(), s.status))
                        .or_default();
                    t.count += s.count.load(Ordering::Relaxed);
                    t.sum_nanos += s.sum_nanos.load(Ordering::Relaxed);
                    for (acc, b) in t.buckets.iter_mut().zip(&s.buckets) {
                        *acc += b.load(Ordering::Relaxed);
                    }
                }
            }
        }
        let in_flight: i64 = shards
            .iter()
            .map(|s| s.in_flight.load(Ordering::Relaxed))
            .sum();
        let mut out = String::with_capacity(256 + totals.len() * 1024);
        out.push_str("# HELP http_requests_total Total HTTP requests handled.\n");
        out.push_str("# TYPE http_requests_total counter\n");
        for ((route, method, status), t) in &totals {
            let _ = writeln!(
                out,
                "http_requests_total{{{}}} {}",
                labels(method, route, *status),
                t.count
            );
        }
        out.push_str("# HELP http_request_duration_seconds Time to produce the response head.\n");
        out.push_str("# TYPE http_request_duration_seconds histogram\n");
        for ((route, method, status), t) in &totals {
            let labels = labels(method, route, *status);
            let mut cumulative = 0;
            for (bound, count) in BUCKETS.iter().zip(&t.buckets) {
                cumulative += count;
                let _ = writeln!(
                    out,
                    "http_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {cumulative}"
                );
            }
            let _ = writeln!(
                out,
                "http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
                t.count
            );
            let _ = writeln!(
                out,
                "http_request_duration_seconds_sum{{{labels}}} {}",
                t.sum_nanos as f64 / 1e9
            );
            let _ = writeln!(
                out,
                "http_request_duration_seconds_count{{{labels}}} {}",
                t.count
            );
        }
        out.push_str("# HELP http_requests_in_flight HTTP requests being handled.\n");
        out.push_str("# TYPE http_requests_in_flight gauge\n");
        let _ = writeln!(out, "http_requests_in_flight {in_flight}");
        out
    }
}

fn labels(method: &str, route: &str, status: u16) -> String {
    format!(
        "method=\"{}\",route=\"{}\",status=\"{status}\"",
        escape_label(method),
        escape_label(route),
    )
}

fn escape_label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Layer that records [`HttpMetrics`], labelling requests by the route template
/// `matcher` finds for their path.
#[derive(Debug, Clone)]
pub struct MetricsLayer {
    metrics: Arc<HttpMetrics>,
    matcher: RouteMatcher,
}

impl MetricsLayer {
    /// Records into `metrics`.
    pub fn new(metrics: Arc<HttpMetrics>, matcher: RouteMatcher) -> Self {
        Self { metrics, matcher }
    }
}

impl<S> Layer<S> for MetricsLayer {
    type Service = MetricsService<S>;
    fn layer(&self, inner: S) -> Self::Service {
        MetricsService {
            inner,
            shard: self.metrics.shard(self.matcher.templates()),
            matcher: self.matcher.clone(),
        }
    }
}

/// Service made by [`MetricsLayer`].
#[derive(Debug, Clone)]
pub struct MetricsService<S> {
    inner: S,
    shard: Arc<MetricsShard>,
    matcher: RouteMatcher,
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
        let route = self.matcher.find_index(req.uri().path());
        let method = req.method().clone();
        self.shard.in_flight_add();
        MetricsFuture {
            inner: self.inner.call(req),
            guard: InFlight {
                shard: Arc::clone(&self.shard),
            },
            method,
            route,
            start: Instant::now(),
        }
    }
}

/// Decrements the in-flight gauge even when the request future is dropped.
struct InFlight {
    shard: Arc<MetricsShard>,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.shard.in_flight_sub();
    }
}

pin_project! {
    /// Future of [`MetricsService`].
    pub struct MetricsFuture<F> {
        #[pin]
        inner: F,
        guard: InFlight,
        method: Method,
        route: Option<usize>,
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
            this.guard.shard.observe(
                *this.route,
                this.method,
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
    fn renders_counters_and_cumulative_buckets_summed_over_shards() {
        let m = HttpMetrics::new();
        let templates: Arc<[Arc<str>]> = vec![Arc::<str>::from("/a/{id}")].into();
        let one = m.shard(&templates);
        let two = m.shard(&templates);
        one.observe(Some(0), &Method::GET, 200, 0.002);
        two.observe(Some(0), &Method::GET, 200, 0.2);
        two.observe(Some(0), &Method::POST, 201, 0.0001);
        one.observe(None, &Method::GET, 404, 0.0001);
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
        assert!(
            text.contains(
                "http_requests_total{method=\"GET\",route=\"unmatched\",status=\"404\"} 1"
            )
        );
        assert!(text.contains("http_requests_in_flight 0"));
        one.in_flight_add();
        assert_eq!(m.in_flight(), 1);
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape_label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
