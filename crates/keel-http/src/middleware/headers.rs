//! Security response headers, from `[security]`. Headers the handler set itself are
//! left alone. Document-only headers (CSP, X-Frame-Options, COOP) go on HTML
//! responses only.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use http::header::{self, HeaderName, HeaderValue};
use http::{Request, Response};
use keel_core::config::Environment;
use pin_project_lite::pin_project;
use tower_layer::Layer;
use tower_service::Service;

use crate::settings::SecuritySettings;

type HeaderList = Arc<[(HeaderName, HeaderValue)]>;

/// Layer adding the security headers.
#[derive(Debug, Clone)]
pub struct SecurityHeadersLayer {
    all: HeaderList,
    html: HeaderList,
}

impl SecurityHeadersLayer {
    /// The headers `settings` ask for in `environment`. Values that are not valid
    /// header values are reported as an error.
    pub fn from_settings(
        settings: &SecuritySettings,
        environment: Environment,
    ) -> Result<Self, String> {
        fn value(key: &str, v: &str) -> Result<HeaderValue, String> {
            HeaderValue::from_str(v)
                .map_err(|_| format!("security.{key} is not a valid header value"))
        }
        let mut all = Vec::new();
        let mut html = Vec::new();
        if settings.content_type_nosniff {
            all.push((
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ));
        }
        if !settings.referrer_policy.is_empty() {
            all.push((
                header::REFERRER_POLICY,
                value("referrer_policy", &settings.referrer_policy)?,
            ));
        }
        if let Some(max_age) = settings.effective_hsts(environment) {
            let mut v = format!("max-age={}", max_age.as_secs());
            if settings.hsts_include_subdomains {
                v.push_str("; includeSubDomains");
            }
            if settings.hsts_preload {
                v.push_str("; preload");
            }
            all.push((header::STRICT_TRANSPORT_SECURITY, value("hsts", &v)?));
        }
        if !settings.content_security_policy.is_empty() {
            html.push((
                header::CONTENT_SECURITY_POLICY,
                value("content_security_policy", &settings.content_security_policy)?,
            ));
        }
        if !settings.frame_options.is_empty() {
            html.push((
                header::X_FRAME_OPTIONS,
                value("frame_options", &settings.frame_options)?,
            ));
        }
        if !settings.cross_origin_opener_policy.is_empty() {
            html.push((
                HeaderName::from_static("cross-origin-opener-policy"),
                value(
                    "cross_origin_opener_policy",
                    &settings.cross_origin_opener_policy,
                )?,
            ));
        }
        Ok(Self {
            all: all.into(),
            html: html.into(),
        })
    }
}

impl SecurityHeadersLayer {
    /// Adds the headers a response does not set itself.
    #[inline(never)]
    pub(crate) fn apply(&self, headers: &mut http::HeaderMap) {
        let is_html = headers
            .get(header::CONTENT_TYPE)
            .is_some_and(|ct| ct.as_bytes().starts_with(b"text/html"));
        for (name, value) in self.all.iter() {
            headers.entry(name).or_insert_with(|| value.clone());
        }
        if is_html {
            for (name, value) in self.html.iter() {
                headers.entry(name).or_insert_with(|| value.clone());
            }
        }
    }
}

impl<S> Layer<S> for SecurityHeadersLayer {
    type Service = SecurityHeaders<S>;
    fn layer(&self, inner: S) -> Self::Service {
        SecurityHeaders {
            inner,
            cfg: self.clone(),
        }
    }
}

/// Service made by [`SecurityHeadersLayer`].
#[derive(Debug, Clone)]
pub struct SecurityHeaders<S> {
    inner: S,
    cfg: SecurityHeadersLayer,
}

impl<S, ReqB, ResB> Service<Request<ReqB>> for SecurityHeaders<S>
where
    S: Service<Request<ReqB>, Response = Response<ResB>>,
{
    type Response = Response<ResB>;
    type Error = S::Error;
    type Future = SecurityHeadersFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqB>) -> Self::Future {
        SecurityHeadersFuture {
            inner: self.inner.call(req),
            cfg: self.cfg.clone(),
        }
    }
}

pin_project! {
    /// Future of [`SecurityHeaders`].
    pub struct SecurityHeadersFuture<F> {
        #[pin]
        inner: F,
        cfg: SecurityHeadersLayer,
    }
}

impl<F, ResB, E> Future for SecurityHeadersFuture<F>
where
    F: Future<Output = Result<Response<ResB>, E>>,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let mut res = ready!(this.inner.poll(cx))?;
        this.cfg.apply(res.headers_mut());
        Poll::Ready(Ok(res))
    }
}

/// The `Server` header for `server.server_header`: none when the setting is empty or
/// not a valid header value.
pub(crate) fn server_header(value: &str) -> Option<HeaderValue> {
    if value.is_empty() {
        None
    } else {
        static_header(value)
    }
}

/// `value` as a header value whose clones touch no reference count (a `HeaderValue`
/// made at run time shares one counter, which every response on every core would
/// bump and drop). Each distinct value is kept for the life of the process.
fn static_header(value: &str) -> Option<HeaderValue> {
    static INTERNED: std::sync::Mutex<Vec<&'static str>> = std::sync::Mutex::new(Vec::new());
    let checked = HeaderValue::from_str(value).ok()?;
    if !value.is_ascii() {
        return Some(checked);
    }
    let mut interned = INTERNED
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let kept = match interned.iter().find(|s| **s == value) {
        Some(s) => *s,
        None => {
            let s: &'static str = Box::leak(value.into());
            interned.push(s);
            s
        }
    };
    Some(HeaderValue::from_static(kept))
}
