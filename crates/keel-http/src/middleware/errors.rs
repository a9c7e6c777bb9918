//! The one error path: every error response leaves through here.
//!
//! - Responses carrying a Keel [`Error`] (handlers, extractors, Keel's own layers) are
//!   classified (see [`ErrorClassifier`](keel_core::ErrorClassifier)), logged — the
//!   source chain for 5xx, with the request id from the span — and rendered by the
//!   app's [`ErrorRenderer`](crate::problem::ErrorRenderer) as problem+json or HTML.
//! - Error responses made by code that knows nothing of Keel (axum's built-in
//!   rejections, axum's 405, tower-http layers) have plain-text or empty bodies; they
//!   are turned into the same problem format, keeping their status and headers
//!   (`Allow`, `Retry-After`, …). For 5xx their text is logged, not shown.
//! - Error responses whose body the app chose (JSON, HTML) pass untouched.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use axum::extract::Request;
use axum::response::Response;
use futures_util::future::BoxFuture;
use http::HeaderMap;
use http::header::{self, HeaderValue};
use http::uri::PathAndQuery;
use http_body_util::BodyExt as _;
use keel_core::error::ErrorResponse;
use keel_core::{Error, ErrorClassifier, ErrorKind};
use pin_project_lite::pin_project;
use tower_layer::Layer;
use tower_service::Service;

use super::request_id::RequestId;
use crate::problem::{ErrorContext, SharedRenderer, prefers_html};

/// How much of a foreign error body is read to use as the problem's detail.
const FOREIGN_BODY_LIMIT: usize = 16 * 1024;

/// What rendering needs: the app's renderer and classifiers, and the debug flag.
pub(crate) struct ErrorRender {
    renderer: SharedRenderer,
    classifiers: Arc<[Arc<dyn ErrorClassifier>]>,
    debug: bool,
}

/// Layer that renders error responses (see the `errors` module docs).
#[derive(Clone)]
pub struct ErrorLayer {
    shared: Arc<ErrorRender>,
}

impl std::fmt::Debug for ErrorLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ErrorLayer")
            .field("debug", &self.shared.debug)
            .finish_non_exhaustive()
    }
}

impl ErrorLayer {
    /// A layer rendering with `renderer`, classifying with `classifiers`.
    pub fn new(
        renderer: SharedRenderer,
        classifiers: Arc<[Arc<dyn ErrorClassifier>]>,
        debug: bool,
    ) -> Self {
        Self {
            shared: Arc::new(ErrorRender::new(renderer, classifiers, debug)),
        }
    }
}

impl<S> Layer<S> for ErrorLayer {
    type Service = ErrorService<S>;
    fn layer(&self, inner: S) -> Self::Service {
        ErrorService {
            inner,
            shared: Arc::clone(&self.shared),
        }
    }
}

/// Service made by [`ErrorLayer`].
#[derive(Clone)]
pub struct ErrorService<S> {
    inner: S,
    shared: Arc<ErrorRender>,
}

/// What is remembered of the request to render an error for it.
pub(crate) struct RequestInfo {
    accept: Option<HeaderValue>,
    path: Option<PathAndQuery>,
    request_id: Option<RequestId>,
}

impl RequestInfo {
    /// Remembers what an error response for `req` needs (cheap reference-counted copies).
    pub(crate) fn capture<B>(req: &http::Request<B>) -> Self {
        Self::new(
            req.headers().get(header::ACCEPT).cloned(),
            req.uri().path_and_query().cloned(),
        )
    }

    /// From the `Accept` header and the path, found by the caller.
    pub(crate) fn new(accept: Option<HeaderValue>, path: Option<PathAndQuery>) -> Self {
        Self {
            accept,
            path,
            request_id: None,
        }
    }

    /// The request's path and query.
    pub(crate) fn path(&self) -> Option<&PathAndQuery> {
        self.path.as_ref()
    }

    /// Sets the request id shown in the problem.
    pub(crate) fn with_request_id(mut self, id: Option<RequestId>) -> Self {
        self.request_id = id;
        self
    }
}

/// The outcome of [`ErrorRender::process`].
pub(crate) enum Processed {
    /// The response to send.
    Done(Response),
    /// The response needs an async step (reading a foreign error body).
    Later(BoxFuture<'static, Response>),
}

impl ErrorRender {
    pub(crate) fn new(
        renderer: SharedRenderer,
        classifiers: Arc<[Arc<dyn ErrorClassifier>]>,
        debug: bool,
    ) -> Self {
        Self {
            renderer,
            classifiers,
            debug,
        }
    }

    /// Renders `res` if it is an error response (see the module docs); success
    /// responses and app-chosen error bodies pass through.
    #[inline(never)]
    pub(crate) fn process(self: &Arc<Self>, res: Response, info: RequestInfo) -> Processed {
        if !res.status().is_client_error() && !res.status().is_server_error() {
            return Processed::Done(res);
        }
        if let Some(ErrorResponse(error)) = res.extensions().get::<ErrorResponse>().cloned() {
            return Processed::Done(render_keel_error(&error, res.headers(), &info, self));
        }
        if !is_foreign_error_body(res.headers()) {
            return Processed::Done(res);
        }
        let this = Arc::clone(self);
        Processed::Later(Box::pin(
            async move { render_foreign(res, info, this).await },
        ))
    }
}

impl<S> Service<Request> for ErrorService<S>
where
    S: Service<Request, Response = Response>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = ErrorFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> Self::Future {
        let id = req.extensions().get::<RequestId>().cloned();
        let info = RequestInfo::capture(&req).with_request_id(id);
        ErrorFuture {
            state: State::Inner {
                fut: self.inner.call(req),
                info: Some(info),
                shared: Arc::clone(&self.shared),
            },
        }
    }
}

pin_project! {
    /// Future of [`ErrorService`].
    pub struct ErrorFuture<F> {
        #[pin]
        state: State<F>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<F> {
        /// Waiting for the inner service.
        Inner {
            #[pin]
            fut: F,
            info: Option<RequestInfo>,
            shared: Arc<ErrorRender>,
        },
        /// Reading a foreign error body (error path only).
        Foreign {
            fut: BoxFuture<'static, Response>,
        },
    }
}

impl<F, E> Future for ErrorFuture<F>
where
    F: Future<Output = Result<Response, E>>,
{
    type Output = Result<Response, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut state = self.project().state;
        match state.as_mut().project() {
            StateProj::Inner { fut, info, shared } => {
                let res = ready!(fut.poll(cx))?;
                let info = info.take().expect("polled after completion");
                match shared.process(res, info) {
                    Processed::Done(res) => Poll::Ready(Ok(res)),
                    Processed::Later(fut) => {
                        state.set(State::Foreign { fut });
                        match state.project() {
                            StateProj::Foreign { fut } => fut.as_mut().poll(cx).map(Ok),
                            StateProj::Inner { .. } => unreachable!("just set"),
                        }
                    }
                }
            }
            StateProj::Foreign { fut } => fut.as_mut().poll(cx).map(Ok),
        }
    }
}

/// Plain text or no content type: written by code that does not know about problems.
fn is_foreign_error_body(headers: &HeaderMap) -> bool {
    match headers.get(header::CONTENT_TYPE) {
        None => true,
        Some(ct) => ct
            .to_str()
            .map(|ct| {
                ct.trim_start()
                    .to_ascii_lowercase()
                    .starts_with("text/plain")
            })
            .unwrap_or(false),
    }
}

fn render_keel_error(
    error: &Error,
    original: &HeaderMap,
    info: &RequestInfo,
    shared: &ErrorRender,
) -> Response {
    let classified = error.reclassified(&shared.classifiers);
    let shown = classified.as_ref().unwrap_or(error);
    log_error(shown, Some(error));
    let mut res = render(shown, info, shared);
    // Headers set on the response after the error became one (e.g. by a handler that
    // returned `(headers, error)`), and the error's own headers.
    for (name, value) in original {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            res.headers_mut().insert(name, value.clone());
        }
    }
    for (name, value) in shown.headers() {
        res.headers_mut().insert(name, value.clone());
    }
    res.extensions_mut()
        .insert(ErrorResponse(Arc::new(copy_error(shown))));
    res
}

/// A copy of the public parts of an error (errors are not `Clone`: their source is not).
fn copy_error(e: &Error) -> Error {
    let mut copy = Error::new(e.kind(), e.message().to_owned()).with_code(e.code().to_owned());
    for f in e.fields() {
        copy = copy.with_field(f.clone());
    }
    for (k, v) in e.extra() {
        copy = copy.with_extra(k.clone(), v.clone());
    }
    copy
}

async fn render_foreign(res: Response, info: RequestInfo, shared: Arc<ErrorRender>) -> Response {
    let (parts, body) = res.into_parts();
    let text = match http_body_util::Limited::new(body, FOREIGN_BODY_LIMIT)
        .collect()
        .await
    {
        Ok(collected) => String::from_utf8_lossy(&collected.to_bytes())
            .trim()
            .to_owned(),
        Err(_) => String::new(),
    };
    let kind = ErrorKind::from_status(parts.status);
    let mut error = Error::from_kind(kind);
    if parts.status.is_server_error() {
        if !text.is_empty() {
            error = error.with_source(text);
        }
    } else if kind == ErrorKind::PayloadTooLarge {
        // axum's "Failed to buffer the request body: length limit exceeded".
        error = error.with_message("The request body is larger than the configured limit.");
    } else if !text.is_empty() {
        error = error.with_message(first_sentence(&text));
    } else if kind == ErrorKind::MethodNotAllowed {
        // axum adds `Allow` outside the route's layers; the header lists the methods.
        error = error.with_message(
            "This resource does not support this method; see the Allow header for those it does.",
        );
    }
    log_error(&error, None);
    let mut out = render(&error, &info, &shared);
    for (name, value) in &parts.headers {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            out.headers_mut().insert(name, value.clone());
        }
    }
    *out.status_mut() = parts.status;
    out.extensions_mut().insert(ErrorResponse(Arc::new(error)));
    out
}

/// axum's rejection texts are one or two sentences; keep them short and single-line.
fn first_sentence(text: &str) -> String {
    let line = text.lines().next().unwrap_or("");
    let mut s: String = line.chars().take(300).collect();
    if line.chars().count() > 300 {
        s.push('…');
    }
    s
}

fn render(error: &Error, info: &RequestInfo, shared: &ErrorRender) -> Response {
    let cx = ErrorContext {
        wants_html: prefers_html(info.accept.as_ref()),
        path: info.path.as_ref().map_or("/", PathAndQuery::path),
        request_id: info.request_id.as_ref().map(RequestId::as_str),
        debug: shared.debug,
    };
    let mut res = shared.renderer.0.render(error, &cx);
    *res.status_mut() = error.status();
    res
}

fn log_error(shown: &Error, original: Option<&Error>) {
    let chain = original
        .map(Error::chain_string)
        .unwrap_or_else(|| shown.chain_string());
    if shown.status().is_server_error() {
        tracing::error!(
            target: "keel::error",
            status = shown.status().as_u16(),
            code = shown.code(),
            message = original.and_then(Error::internal_message).unwrap_or(shown.message()),
            error.chain = %chain,
            "request failed"
        );
    } else {
        tracing::debug!(
            target: "keel::error",
            status = shown.status().as_u16(),
            code = shown.code(),
            message = shown.message(),
            error.chain = %chain,
            "request rejected"
        );
    }
}
