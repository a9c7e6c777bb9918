//! The default per-request work fused into one service with one future.
//!
//! Each step here is also available as its own `tower::Layer` ([`RequestIdLayer`],
//! [`TraceLayer`], …), and both call the same functions. The default stack uses this
//! fused form because a chain of a dozen layers costs more than their work: each layer
//! nests its future in the next, moves the request and response through its own
//! `call`/`poll`, and adds a branch when it is optional. Measured on the TechEmpower
//! plaintext test, the chain cost about 35% of the throughput; fused, the same work
//! costs a fraction of that (see `benches/RESULTS.md`).
//!
//! Order, outermost first: compression → request id → route template → tracing span →
//! metrics → security and `Server` headers → page rendering → error rendering → panic
//! catcher → timeout → trusted host → body limit → inner service.
//!
//! The request headers the steps read (`Host`, `Accept`, `Accept-Encoding`) are found
//! in one pass over the header list ([`Seen`]).
//!
//! Each optional step's work is a function marked `#[inline(never)]` (host check,
//! request id, span, metrics, security headers, error rendering, compression), so a
//! step that is turned off leaves no code between the hot path's lines: instruction
//! cache misses, not instruction counts, are where Keel trails (`benches/PROFILES.md`).
//!
//! [`RequestIdLayer`]: super::RequestIdLayer
//! [`TraceLayer`]: super::TraceLayer

use std::any::Any;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::extract::Request;
use axum::response::Response;
use futures_util::future::BoxFuture;
use http::header::{ACCEPT, ACCEPT_ENCODING, HOST, SERVER};
use http::{HeaderMap, HeaderValue, Method};
use pin_project_lite::pin_project;
use tokio::time::Sleep;
use tower_layer::Layer;
use tower_service::Service;
use tracing::Span;

use super::compress::{accepts_compressed, compressed};
use super::errors::{ErrorRender, Processed, RequestInfo};
use super::fast::RouteService;
use super::guards::{
    BodyLimitLayer, LeftoverBody, Limited, TrustedHostLayer, panic_response, timeout_response,
};
use super::headers::SecurityHeadersLayer;
use super::metrics::MetricsShard;
use super::request_id::{self, RequestId, X_REQUEST_ID};
use super::route::RouteMatcher;
use super::trace;

/// What the fused service does; every step is optional except error rendering.
#[derive(Clone)]
pub(crate) struct CoreConfig {
    /// gzip / br for clients that ask.
    pub(crate) compress: bool,
    /// The `Server` response header.
    pub(crate) server_header: Option<HeaderValue>,
    pub(crate) request_id: bool,
    pub(crate) matcher: Option<RouteMatcher>,
    /// `Some(log_requests)` when tracing is on.
    pub(crate) trace: Option<bool>,
    pub(crate) metrics: Option<Arc<MetricsShard>>,
    pub(crate) security: Option<SecurityHeadersLayer>,
    pub(crate) errors: Arc<ErrorRender>,
    /// Renders pages handlers returned (the views plugin's hook), before error rendering.
    pub(crate) pages: Option<keel_core::template::PageFn>,
    pub(crate) catch_panic: bool,
    pub(crate) timeout: Option<Duration>,
    pub(crate) trusted: Option<TrustedHostLayer>,
    pub(crate) body_limit: Option<BodyLimitLayer>,
}

/// Layer applying [`CoreConfig`].
#[derive(Clone)]
pub(crate) struct CoreLayer {
    cfg: Arc<CoreConfig>,
}

impl CoreLayer {
    pub(crate) fn new(cfg: CoreConfig) -> Self {
        Self { cfg: Arc::new(cfg) }
    }
}

impl<S> Layer<S> for CoreLayer {
    type Service = CoreService<S>;
    fn layer(&self, inner: S) -> Self::Service {
        CoreService {
            inner,
            compress: self.cfg.compress,
            cfg: Arc::clone(&self.cfg),
            allowed_host: None,
        }
    }
}

/// Service made by the fused core layer.
#[derive(Clone)]
pub struct CoreService<S> {
    inner: S,
    /// Whether this instance compresses; the copy it serves through the compressor
    /// does not.
    compress: bool,
    cfg: Arc<CoreConfig>,
    /// The last `Host` value this instance allowed. The server clones the service for
    /// each connection, and clients send the same host on every request of a
    /// connection, so the check usually becomes one comparison.
    allowed_host: Option<http::HeaderValue>,
}

impl<S> CoreService<S> {
    /// Replaces the `Server` header this instance (and its clones) send.
    pub(crate) fn set_server_header(&mut self, value: Option<HeaderValue>) {
        if self.cfg.server_header != value {
            let mut cfg = CoreConfig::clone(&self.cfg);
            cfg.server_header = value;
            self.cfg = Arc::new(cfg);
        }
    }
}

impl<S> std::fmt::Debug for CoreService<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CoreService")
    }
}

/// Per-request state kept for the response side.
struct Ctx {
    id: Option<RequestId>,
    route: Option<usize>,
    span: Span,
    start: Option<Instant>,
    method: Method,
    info: Option<RequestInfo>,
    leftover: Option<LeftoverBody>,
    counted: bool,
}

pin_project! {
    #[project = PhaseProj]
    enum Phase<F> {
        // The timer is boxed: most requests never wait, and an inline `Sleep` (112
        // bytes) made every request's future larger, costing copies as it moves.
        Inner { #[pin] fut: F, sleep: Option<Pin<Box<Sleep>>> },
        Ready { res: Option<Response> },
        Boxed { fut: BoxFuture<'static, Response> },
        // A whole request served by another core service (under the compressor): its
        // response is final.
        Whole { fut: BoxFuture<'static, Result<Response, std::convert::Infallible>> },
    }
}

/// The most header values scanned in one pass before [`Seen::of`] looks names up.
const SCAN_LIMIT: usize = 16;

/// The request headers the core reads.
struct Seen<'a> {
    host: Option<&'a HeaderValue>,
    accept: Option<&'a HeaderValue>,
    /// `Accept-Encoding` asks for an encoding we produce (looked at only when
    /// compressing).
    compress: bool,
}

impl<'a> Seen<'a> {
    /// Requests carry a handful of headers, and standard names compare as small
    /// integers: one pass over the list costs less than three hashed lookups. A long
    /// list is looked up instead. The first value of a name counts, as with `get`.
    fn of(headers: &'a HeaderMap, compressing: bool) -> Self {
        if headers.len() > SCAN_LIMIT {
            return Self {
                host: headers.get(HOST),
                accept: headers.get(ACCEPT),
                compress: compressing
                    && headers
                        .get_all(ACCEPT_ENCODING)
                        .iter()
                        .any(accepts_compressed),
            };
        }
        let mut seen = Self {
            host: None,
            accept: None,
            compress: false,
        };
        for (name, value) in headers {
            if *name == HOST {
                seen.host.get_or_insert(value);
            } else if *name == ACCEPT {
                seen.accept.get_or_insert(value);
            } else if compressing && !seen.compress && *name == ACCEPT_ENCODING {
                seen.compress = accepts_compressed(value);
            }
        }
        seen
    }
}

pin_project! {
    /// Future of the fused core service.
    pub struct CoreFuture<F> {
        #[pin]
        phase: Phase<F>,
        cfg: Arc<CoreConfig>,
        ctx: Ctx,
    }

    impl<F> PinnedDrop for CoreFuture<F> {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            // A request dropped midway (client gone) leaves the in-flight gauge too.
            if this.ctx.counted
                && let Some(m) = &this.cfg.metrics
            {
                m.in_flight_sub();
            }
        }
    }
}

fn call_guarded<S>(
    inner: &mut S,
    req: Request,
    catch: bool,
) -> Result<S::Future, Box<dyn Any + Send>>
where
    S: Service<Request>,
{
    if catch {
        std::panic::catch_unwind(AssertUnwindSafe(|| inner.call(req)))
    } else {
        Ok(inner.call(req))
    }
}

impl<S: RouteService> CoreService<S> {
    /// A request served under the compressor (kept out of line: the usual request
    /// does not run this code, and its `call` stays smaller).
    #[inline(never)]
    fn call_compressed(&mut self, req: Request) -> CoreFuture<S::Future> {
        let cfg = &self.cfg;
        // Only this path pays for the compressor and a copy of the service; the
        // copy does every other step, so the compressed response is final.
        let plain = CoreService {
            inner: self.inner.clone(),
            compress: false,
            cfg: Arc::clone(cfg),
            allowed_host: self.allowed_host.clone(),
        };
        CoreFuture {
            phase: Phase::Whole {
                fut: compressed(plain, req),
            },
            cfg: Arc::clone(cfg),
            ctx: Ctx {
                id: None,
                route: None,
                span: Span::none(),
                start: None,
                counted: false,
                method: Method::GET,
                info: None,
                leftover: None,
            },
        }
    }
}

impl<S: RouteService> Service<Request> for CoreService<S> {
    type Response = Response;
    type Error = std::convert::Infallible;
    type Future = CoreFuture<S::Future>;

    #[inline]
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request) -> Self::Future {
        let cfg = &self.cfg;
        let seen = Seen::of(req.headers(), self.compress);
        if seen.compress {
            return self.call_compressed(req);
        }
        let accept = seen.accept.cloned();
        let refusal = match &cfg.trusted {
            Some(trusted) => {
                let host = seen.host;
                let cached = host.is_some() && host == self.allowed_host.as_ref();
                if cached || trusted.is_exempt(req.uri().path()) {
                    None
                } else {
                    let refusal = trusted.check_host(&req);
                    if refusal.is_none() {
                        self.allowed_host = host.cloned();
                    }
                    refusal
                }
            }
            None => None,
        };
        let id = cfg.request_id.then(|| request_id::assign(&mut req));
        let route = cfg
            .matcher
            .as_ref()
            .and_then(|m| m.find_index(req.uri().path()));
        let span = match (cfg.trace, &cfg.matcher) {
            (Some(_), Some(m)) => {
                trace::request_span(req.method(), route.map(|i| &*m.templates()[i]), id.as_ref())
            }
            _ => Span::none(),
        };
        let start = (cfg.trace.is_some() || cfg.metrics.is_some()).then(Instant::now);
        let counted = cfg.metrics.as_ref().is_some_and(|m| {
            m.in_flight_add();
            true
        });
        let method = req.method().clone();
        let info = RequestInfo::new(accept, req.uri().path_and_query().cloned());
        let mut leftover = None;
        let phase = if let Some(refusal) = refusal {
            Phase::Ready { res: Some(refusal) }
        } else {
            let limited = match &cfg.body_limit {
                Some(limit) => limit.prepare(&mut req),
                None => Limited::Pass,
            };
            let refused = match limited {
                Limited::Pass => None,
                Limited::Tracked(rest) => {
                    leftover = Some(rest);
                    None
                }
                Limited::Refused(fut) => Some(fut),
            };
            match refused {
                // The 413 future only reads the body; no handler runs.
                Some(fut) => Phase::Boxed { fut },
                None => {
                    let called = {
                        let _entered = span.enter();
                        call_guarded(&mut self.inner, req, cfg.catch_panic)
                    };
                    match called {
                        Ok(fut) => Phase::Inner { fut, sleep: None },
                        Err(payload) => Phase::Ready {
                            res: Some(panic_response(&*payload)),
                        },
                    }
                }
            }
        };
        CoreFuture {
            phase,
            cfg: Arc::clone(cfg),
            ctx: Ctx {
                id,
                route,
                span,
                start,
                counted,
                method,
                info: Some(info),
                leftover,
            },
        }
    }
}

impl Ctx {
    /// The response-side steps that may need to wait: draining an unread body, then
    /// rendering an error. `Err` carries the future to wait for; its output comes back
    /// here.
    fn advance(
        &mut self,
        mut res: Response,
        cfg: &CoreConfig,
    ) -> Result<Response, BoxFuture<'static, Response>> {
        if let Some(rest) = self.leftover.take()
            && rest.is_pending()
        {
            return Err(Box::pin(rest.finish(res)));
        }
        // A page to render travels as a response extension: no extensions, no page.
        if let (Some(pages), Some(info)) = (&cfg.pages, &self.info)
            && !res.extensions().is_empty()
        {
            res = pages(res, &self.method, info.path());
        }
        let errors = &cfg.errors;
        let failed = res.status().is_client_error() || res.status().is_server_error();
        match self.info.take() {
            Some(info) if failed => {
                match errors.process(res, info.with_request_id(self.id.clone())) {
                    Processed::Done(res) => Ok(res),
                    Processed::Later(fut) => Err(fut),
                }
            }
            _ => Ok(res),
        }
    }

    /// The synchronous last steps.
    fn finalize(&mut self, cfg: &CoreConfig, mut res: Response) -> Response {
        if let Some(security) = &cfg.security {
            security.apply(res.headers_mut());
        }
        if let Some(server) = &cfg.server_header {
            res.headers_mut().insert(SERVER, server.clone());
        }
        if let Some(id) = self.id.take() {
            res.headers_mut()
                .insert(X_REQUEST_ID.clone(), id.header_value().clone());
        }
        let status = res.status().as_u16();
        if let (Some(metrics), Some(start)) = (&cfg.metrics, self.start) {
            metrics.observe(
                self.route,
                &self.method,
                status,
                start.elapsed().as_secs_f64(),
            );
            metrics.in_flight_sub();
            self.counted = false;
        }
        if let (Some(log_requests), Some(start)) = (cfg.trace, self.start) {
            trace::finish(&self.span, status, start, log_requests);
        }
        res
    }
}

impl<F> Future for CoreFuture<F>
where
    F: Future<Output = Result<Response, std::convert::Infallible>>,
{
    type Output = Result<Response, std::convert::Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        loop {
            let res = match this.phase.as_mut().project() {
                PhaseProj::Inner { fut, sleep } => {
                    let polled = {
                        let _entered = this.ctx.span.enter();
                        if this.cfg.catch_panic {
                            std::panic::catch_unwind(AssertUnwindSafe(|| fut.poll(cx)))
                        } else {
                            Ok(fut.poll(cx))
                        }
                    };
                    match polled {
                        Ok(Poll::Ready(Ok(res))) => res,
                        Ok(Poll::Ready(Err(never))) => match never {},
                        Err(payload) => panic_response(&*payload),
                        Ok(Poll::Pending) => {
                            let Some(limit) = this.cfg.timeout else {
                                return Poll::Pending;
                            };
                            // Only requests that actually wait pay for a timer.
                            let sleep =
                                sleep.get_or_insert_with(|| Box::pin(tokio::time::sleep(limit)));
                            match sleep.as_mut().poll(cx) {
                                Poll::Ready(()) => timeout_response(limit),
                                Poll::Pending => return Poll::Pending,
                            }
                        }
                    }
                }
                PhaseProj::Ready { res } => res.take().expect("polled after completion"),
                PhaseProj::Boxed { fut } => match fut.as_mut().poll(cx) {
                    Poll::Ready(res) => res,
                    Poll::Pending => return Poll::Pending,
                },
                PhaseProj::Whole { fut } => return fut.as_mut().poll(cx),
            };
            match this.ctx.advance(res, this.cfg) {
                Ok(res) => return Poll::Ready(Ok(this.ctx.finalize(this.cfg, res))),
                Err(fut) => this.phase.set(Phase::Boxed { fut }),
            }
        }
    }
}
