//! Small protective layers: body limit, timeout, panic catcher, trusted hosts.
//! Each answers with a Keel [`Error`], which the error layer renders.

use std::any::Any;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use futures_util::future::{BoxFuture, Either};
use http::header::{self, HeaderValue};
use http_body_util::BodyExt as _;
use keel_core::config::ByteSize;
use keel_core::{Error, ErrorKind};
use pin_project_lite::pin_project;
use tokio::time::Sleep;
use tower_layer::Layer;
use tower_service::Service;

// ---------------------------------------------------------------------------------------
// Body limit

/// The single request body limit.
///
/// - A body that declares a larger `Content-Length` gets a 413 at once; the body is
///   read and discarded first when it is at most `drain` bytes over the limit, so the
///   connection can carry the next request (larger ones get `Connection: close`).
/// - A body that grows past the limit while streaming fails in the extractor with a
///   413. What the handler left unread is drained (within the same budget) before the
///   response goes out: closing a socket with unread data makes the kernel send a reset,
///   and the client would lose the 413.
///
/// Keel turns off axum's own 2 MB default limit (`DefaultBodyLimit`), so this is the
/// only one.
#[derive(Debug, Clone, Copy)]
pub struct BodyLimitLayer {
    limit: ByteSize,
    drain: ByteSize,
}

impl BodyLimitLayer {
    /// Limit bodies to `limit`; drain up to `drain` extra bytes of a refused body.
    pub fn new(limit: ByteSize, drain: ByteSize) -> Self {
        Self { limit, drain }
    }
}

impl<S> Layer<S> for BodyLimitLayer {
    type Service = BodyLimit<S>;
    fn layer(&self, inner: S) -> Self::Service {
        BodyLimit { inner, cfg: *self }
    }
}

/// Service made by [`BodyLimitLayer`].
#[derive(Debug, Clone)]
pub struct BodyLimit<S> {
    inner: S,
    cfg: BodyLimitLayer,
}

fn too_large(limit: ByteSize) -> Error {
    Error::new(
        ErrorKind::PayloadTooLarge,
        format!("The request body is larger than the limit of {limit}."),
    )
}

/// Reads and discards up to `budget` bytes; true if the body ended within it.
async fn drain(mut body: Body, budget: u64) -> bool {
    let mut seen = 0u64;
    while let Some(frame) = body.frame().await {
        match frame {
            Ok(frame) => {
                if let Some(data) = frame.data_ref() {
                    seen += data.len() as u64;
                    if seen > budget {
                        return false;
                    }
                }
            }
            Err(_) => return false,
        }
    }
    true
}

/// Where a request body that was dropped before its end is left for draining.
type Leftover = Arc<std::sync::Mutex<Option<Body>>>;

/// Passes frames through; when dropped before the end, leaves the rest in `slot`.
struct Tracked {
    inner: Option<Body>,
    slot: Leftover,
}

impl http_body::Body for Tracked {
    type Data = bytes::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        match self.inner.as_mut() {
            Some(body) => Pin::new(body).poll_frame(cx),
            None => Poll::Ready(None),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner
            .as_ref()
            .is_none_or(http_body::Body::is_end_stream)
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner
            .as_ref()
            .map(http_body::Body::size_hint)
            .unwrap_or_default()
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        if let Some(body) = self.inner.take()
            && !http_body::Body::is_end_stream(&body)
            && let Ok(mut slot) = self.slot.lock()
        {
            *slot = Some(body);
        }
    }
}

impl<S> Service<Request> for BodyLimit<S>
where
    S: Service<Request, Response = Response>,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
{
    type Response = Response;
    type Error = S::Error;
    type Future = Either<S::Future, BoxFuture<'static, Result<Response, S::Error>>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request) -> Self::Future {
        match self.cfg.prepare(&mut req) {
            Limited::Pass => Either::Left(self.inner.call(req)),
            Limited::Refused(fut) => Either::Right(Box::pin(async move { Ok(fut.await) })),
            Limited::Tracked(leftover) => {
                let fut = self.inner.call(req);
                Either::Right(Box::pin(async move {
                    let res = fut.await?;
                    Ok(leftover.finish(res).await)
                }))
            }
        }
    }
}

/// What [`BodyLimitLayer::prepare`] made of a request (which it changes in place, so
/// that the request is not moved in and out).
pub(crate) enum Limited {
    /// No body: pass it on.
    Pass,
    /// The declared length is over the limit: this future makes the 413 (the request's
    /// body was taken into it).
    Refused(BoxFuture<'static, Response>),
    /// The body is limited while streaming; call [`Leftover::finish`] on the response.
    Tracked(LeftoverBody),
}

/// The part of a limited body the handler did not read, drained after the response.
pub(crate) struct LeftoverBody {
    slot: Leftover,
    budget: u64,
}

impl LeftoverBody {
    /// Whether anything was left unread.
    pub(crate) fn is_pending(&self) -> bool {
        self.slot.lock().is_ok_and(|s| s.is_some())
    }

    /// Drains what is left (within the budget) so the connection can be reused;
    /// otherwise marks the response `Connection: close`.
    pub(crate) async fn finish(self, mut res: Response) -> Response {
        let leftover = self.slot.lock().ok().and_then(|mut s| s.take());
        if let Some(rest) = leftover
            && !drain(rest, self.budget).await
        {
            res.headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        res
    }
}

impl BodyLimitLayer {
    /// Applies the limit to `req`.
    pub(crate) fn prepare(&self, req: &mut Request) -> Limited {
        let limit = self.limit;
        let budget = self.drain.0;
        if http_body::Body::is_end_stream(req.body()) {
            return Limited::Pass;
        }
        let declared = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if let Some(len) = declared
            && len > limit.0
        {
            let fits = len <= limit.0.saturating_add(budget);
            let body = std::mem::take(req.body_mut());
            return Limited::Refused(Box::pin(async move {
                let mut res = too_large(limit).into_response();
                // Read what the client is sending anyway; then the connection can carry
                // the next request.
                if !fits || !drain(body, budget.saturating_add(limit.0)).await {
                    res.headers_mut()
                        .insert(header::CONNECTION, HeaderValue::from_static("close"));
                }
                res
            }));
        }
        let slot: Leftover = Arc::default();
        let tracked = Tracked {
            inner: Some(std::mem::take(req.body_mut())),
            slot: Arc::clone(&slot),
        };
        *req.body_mut() = Body::new(http_body_util::Limited::new(tracked, limit.as_usize()));
        Limited::Tracked(LeftoverBody { slot, budget })
    }
}

// ---------------------------------------------------------------------------------------
// Timeout

/// Answers 503 (`code: timeout`) when the inner service has not produced a response
/// head within the duration. The clock starts when the handler first waits.
#[derive(Debug, Clone, Copy)]
pub struct TimeoutLayer {
    duration: Duration,
}

impl TimeoutLayer {
    /// Requests may take at most `duration`.
    pub fn new(duration: Duration) -> Self {
        Self { duration }
    }

    /// The limit.
    pub fn duration(&self) -> Duration {
        self.duration
    }
}

impl<S> Layer<S> for TimeoutLayer {
    type Service = Timeout<S>;
    fn layer(&self, inner: S) -> Self::Service {
        Timeout {
            inner,
            duration: self.duration,
        }
    }
}

/// Service made by [`TimeoutLayer`].
#[derive(Debug, Clone)]
pub struct Timeout<S> {
    inner: S,
    duration: Duration,
}

impl<S> Service<Request> for Timeout<S>
where
    S: Service<Request, Response = Response>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = TimeoutFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> Self::Future {
        TimeoutFuture {
            inner: self.inner.call(req),
            sleep: None,
            duration: self.duration,
        }
    }
}

pin_project! {
    /// Future of [`Timeout`].
    pub struct TimeoutFuture<F> {
        #[pin]
        inner: F,
        #[pin]
        sleep: Option<Sleep>,
        duration: Duration,
    }
}

impl<F, E> Future for TimeoutFuture<F>
where
    F: Future<Output = Result<Response, E>>,
{
    type Output = Result<Response, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        if let Poll::Ready(out) = this.inner.poll(cx) {
            return Poll::Ready(out);
        }
        // Only requests that actually wait pay for a timer.
        if this.sleep.is_none() {
            this.sleep.set(Some(tokio::time::sleep(*this.duration)));
        }
        let sleep = this.sleep.as_pin_mut().expect("set above");
        match sleep.poll(cx) {
            Poll::Ready(()) => Poll::Ready(Ok(timeout_response(*this.duration))),
            Poll::Pending => Poll::Pending,
        }
    }
}

/// The 503 answered when a request runs past `duration`.
pub(crate) fn timeout_response(duration: Duration) -> Response {
    let secs = duration.as_secs_f64();
    tracing::warn!(target: "keel::error", timeout_s = secs, "request timed out");
    Error::new(
        ErrorKind::Timeout,
        format!("The request took longer than the {secs}s limit."),
    )
    .into_response()
}

// ---------------------------------------------------------------------------------------
// Panic catcher

/// Turns a panicking handler into a 500 problem (logged with its message), instead of
/// a dropped connection.
#[derive(Debug, Clone, Copy, Default)]
pub struct CatchPanicLayer;

impl<S> Layer<S> for CatchPanicLayer {
    type Service = CatchPanic<S>;
    fn layer(&self, inner: S) -> Self::Service {
        CatchPanic { inner }
    }
}

/// Service made by [`CatchPanicLayer`].
#[derive(Debug, Clone)]
pub struct CatchPanic<S> {
    inner: S,
}

pub(crate) fn panic_response(payload: &(dyn Any + Send)) -> Response {
    let message = payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic with a non-string payload".to_owned());
    tracing::error!(target: "keel::error", panic = %message, "handler panicked");
    Error::internal_msg(format!("handler panicked: {message}")).into_response()
}

impl<S> Service<Request> for CatchPanic<S>
where
    S: Service<Request, Response = Response>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = CatchPanicFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> Self::Future {
        match std::panic::catch_unwind(AssertUnwindSafe(|| self.inner.call(req))) {
            Ok(fut) => CatchPanicFuture {
                state: PanicState::Running { fut },
            },
            Err(payload) => CatchPanicFuture {
                state: PanicState::Panicked {
                    payload: Some(payload),
                },
            },
        }
    }
}

pin_project! {
    /// Future of [`CatchPanic`].
    pub struct CatchPanicFuture<F> {
        #[pin]
        state: PanicState<F>,
    }
}

pin_project! {
    #[project = CatchPanicProj]
    enum PanicState<F> {
        Running { #[pin] fut: F },
        Panicked { payload: Option<Box<dyn Any + Send>> },
    }
}

impl<F, E> Future for CatchPanicFuture<F>
where
    F: Future<Output = Result<Response, E>>,
{
    type Output = Result<Response, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().state.project() {
            CatchPanicProj::Running { fut } => {
                match std::panic::catch_unwind(AssertUnwindSafe(|| fut.poll(cx))) {
                    Ok(poll) => poll,
                    Err(payload) => Poll::Ready(Ok(panic_response(&*payload))),
                }
            }
            CatchPanicProj::Panicked { payload } => Poll::Ready(Ok(panic_response(
                &*payload.take().expect("polled after completion"),
            ))),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Trusted hosts

/// One allowed-host pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
enum HostPattern {
    Any,
    Exact(String),
    /// `.example.com`: the domain and every subdomain.
    Domain(String),
}

impl HostPattern {
    fn parse(s: &str) -> Self {
        let s = s.trim().to_ascii_lowercase();
        if s == "*" {
            Self::Any
        } else if let Some(domain) = s.strip_prefix('.') {
            Self::Domain(domain.to_owned())
        } else {
            Self::Exact(s)
        }
    }

    fn matches(&self, host: &str) -> bool {
        match self {
            Self::Any => true,
            Self::Exact(h) => h.eq_ignore_ascii_case(host),
            Self::Domain(d) => {
                host.eq_ignore_ascii_case(d)
                    || (host.len() > d.len()
                        && host.as_bytes()[host.len() - d.len() - 1] == b'.'
                        && host[host.len() - d.len()..].eq_ignore_ascii_case(d))
            }
        }
    }
}

/// Splits the port off a `Host` value and checks its syntax (case is kept; matching
/// ignores it).
fn host_name(value: &str) -> Option<&str> {
    let value = value.trim();
    let name = if value.starts_with('[') {
        let end = value.find(']')?;
        let rest = &value[end + 1..];
        let port_ok = rest.is_empty()
            || rest
                .strip_prefix(':')
                .is_some_and(|p| p.bytes().all(|b| b.is_ascii_digit()));
        if !port_ok {
            return None;
        }
        &value[..=end]
    } else {
        match value.rsplit_once(':') {
            Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
            Some(_) => return None,
            None => value,
        }
    };
    let ok = !name.is_empty()
        && name.len() <= 255
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'[' | b']' | b':'));
    ok.then_some(name)
}

/// Rejects requests whose `Host` is not allowed (Django's `ALLOWED_HOSTS`): protects
/// password-reset links and caches from host-header poisoning. Some paths (health
/// probes, which arrive with an IP as host) can be exempt.
#[derive(Debug, Clone)]
pub struct TrustedHostLayer {
    patterns: Arc<[HostPattern]>,
    exempt: Arc<[String]>,
    debug: bool,
}

impl TrustedHostLayer {
    /// Allow `hosts` (see [`SecuritySettings::allowed_hosts`](crate::settings::SecuritySettings));
    /// never check the paths in `exempt`. In `debug`, the refusal names the host.
    pub fn new(hosts: &[String], exempt: Vec<String>, debug: bool) -> Self {
        Self {
            patterns: hosts.iter().map(|h| HostPattern::parse(h)).collect(),
            exempt: exempt.into(),
            debug,
        }
    }

    fn allows(&self, host: &str) -> bool {
        self.patterns.iter().any(|p| p.matches(host))
    }
}

impl<S> Layer<S> for TrustedHostLayer {
    type Service = TrustedHost<S>;
    fn layer(&self, inner: S) -> Self::Service {
        TrustedHost {
            inner,
            cfg: self.clone(),
        }
    }
}

/// Service made by [`TrustedHostLayer`].
#[derive(Debug, Clone)]
pub struct TrustedHost<S> {
    inner: S,
    cfg: TrustedHostLayer,
}

impl<S> Service<Request> for TrustedHost<S>
where
    S: Service<Request, Response = Response>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = Either<S::Future, std::future::Ready<Result<Response, S::Error>>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> Self::Future {
        match self.cfg.check(&req) {
            None => Either::Left(self.inner.call(req)),
            Some(refusal) => Either::Right(std::future::ready(Ok(refusal))),
        }
    }
}

impl TrustedHostLayer {
    /// `None` when `req` may go on; otherwise the 400 to answer.
    pub(crate) fn check<B>(&self, req: &http::Request<B>) -> Option<Response> {
        if self.is_exempt(req.uri().path()) {
            return None;
        }
        self.check_host(req)
    }

    /// Whether `path` is never checked (health probes).
    pub(crate) fn is_exempt(&self, path: &str) -> bool {
        self.exempt.iter().any(|p| p == path)
    }

    /// Like [`TrustedHostLayer::check`], without the path exemptions.
    #[inline(never)]
    pub(crate) fn check_host<B>(&self, req: &http::Request<B>) -> Option<Response> {
        let header_host = req.headers().get(header::HOST).map(|v| v.to_str());
        let raw = match header_host {
            Some(Ok(v)) => Some(v),
            Some(Err(_)) => None,
            None => req.uri().authority().map(|a| a.as_str()),
        };
        if raw.and_then(host_name).is_some_and(|h| self.allows(h)) {
            return None;
        }
        let shown = raw.unwrap_or("(none or not text)").to_owned();
        tracing::warn!(target: "keel::security", host = %shown, "request for a host that is not allowed");
        let message = if self.debug {
            format!("Invalid Host header `{shown}`. Add it to security.allowed_hosts to serve it.")
        } else {
            "Invalid Host header.".to_owned()
        };
        Some(
            Error::bad_request(message)
                .with_code("disallowed_host")
                .into_response(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_names_are_normalised_and_checked() {
        assert_eq!(host_name("Example.COM:8080"), Some("Example.COM"));
        assert_eq!(host_name("[::1]:8000"), Some("[::1]"));
        assert_eq!(host_name("127.0.0.1"), Some("127.0.0.1"));
        assert_eq!(host_name("evil.com/x"), None);
        assert_eq!(host_name("a b"), None);
        assert_eq!(host_name(""), None);
        assert_eq!(host_name("x:port"), None);
    }

    #[test]
    fn patterns() {
        let l = TrustedHostLayer::new(
            &["example.com".into(), ".example.org".into()],
            vec![],
            false,
        );
        assert!(l.allows("example.com"));
        assert!(l.allows("EXAMPLE.com"));
        assert!(l.allows("API.Example.org"));
        assert!(!l.allows("www.example.com"));
        assert!(l.allows("example.org"));
        assert!(l.allows("api.example.org"));
        assert!(!l.allows("badexample.org"));
        assert!(TrustedHostLayer::new(&["*".into()], vec![], false).allows("anything"));
    }
}
