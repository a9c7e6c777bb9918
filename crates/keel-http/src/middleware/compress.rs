//! Response compression (tower-http's, gzip and br) that costs nothing for clients
//! that do not ask for it.
//!
//! tower-http's compressed body keeps the encoder state inline (about 6 KB with brotli),
//! so every layer that moves such a response copies kilobytes. Here requests without
//! a usable `Accept-Encoding` bypass the compressor, and compressed bodies are boxed
//! once, right away.

use std::convert::Infallible;
use std::task::{Context, Poll};

use axum::body::Body;
use axum::extract::Request;
use axum::response::Response;
use futures_util::FutureExt as _;
use futures_util::future::{BoxFuture, Either};
use http::header;
use tower::ServiceExt as _;
use tower_http::compression::CompressionBody;
use tower_layer::Layer;
use tower_service::Service;

use super::fast::RouteService;

/// Layer that compresses responses for clients that accept gzip or br.
#[derive(Debug, Clone, Copy)]
pub struct CompressLayer {
    enabled: bool,
}

impl CompressLayer {
    /// Compress when `enabled`; otherwise pass everything through.
    pub fn new(enabled: bool) -> Self {
        Self { enabled }
    }
}

impl<S> Layer<S> for CompressLayer {
    type Service = Compress<S>;
    fn layer(&self, inner: S) -> Self::Service {
        Compress {
            inner,
            enabled: self.enabled,
        }
    }
}

/// Service made by [`CompressLayer`].
#[derive(Debug, Clone)]
pub struct Compress<S> {
    inner: S,
    enabled: bool,
}

fn boxed<E>(r: Result<Response<CompressionBody<Body>>, E>) -> Result<Response, E> {
    r.map(|res| res.map(Body::new))
}

/// Whether `Accept-Encoding` names an encoding we produce.
fn wants_compression(req: &Request) -> bool {
    req.headers()
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .any(accepts_compressed)
}

/// Whether one `Accept-Encoding` value names an encoding we produce (gzip, br or `*`)
/// without refusing it with `q=0`.
pub(super) fn accepts_compressed(value: &http::HeaderValue) -> bool {
    let Ok(value) = value.to_str() else {
        return false;
    };
    value.split(',').any(|item| {
        let mut parts = item.split(';');
        let coding = parts.next().unwrap_or("").trim();
        let refused = parts.any(|p| {
            p.trim()
                .strip_prefix("q=")
                .is_some_and(|q| q.trim().parse::<f32>().is_ok_and(|q| q <= 0.0))
        });
        !refused
            && (coding.eq_ignore_ascii_case("gzip")
                || coding.eq_ignore_ascii_case("br")
                || coding == "*")
    })
}

/// Serves `req` through tower-http's compressor around `inner`, boxed: the compressed
/// body keeps kilobytes of encoder state inline, and only this path should pay for it.
#[inline(never)]
pub(super) fn compressed<S: RouteService>(
    inner: S,
    req: Request,
) -> BoxFuture<'static, Result<Response, Infallible>> {
    tower_http::compression::CompressionLayer::new()
        .layer(inner)
        .oneshot(req)
        .map(boxed)
        .boxed()
}

impl<S: RouteService> Service<Request> for Compress<S> {
    type Response = Response;
    type Error = Infallible;
    // The compressing branch is boxed: its future holds a request and a service copy,
    // and an unboxed `Either` would make every request's future that large.
    type Future = Either<S::Future, BoxFuture<'static, Result<Response, Infallible>>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> Self::Future {
        if self.enabled && wants_compression(&req) {
            // Only this path pays for the compressor (and a clone of the inner service).
            Either::Right(compressed(self.inner.clone(), req))
        } else {
            Either::Left(self.inner.call(req))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(accept: &str) -> Request {
        Request::builder()
            .header("accept-encoding", accept)
            .body(Body::empty())
            .unwrap()
    }

    #[test]
    fn accept_encoding() {
        assert!(wants_compression(&req("gzip, deflate, br")));
        assert!(wants_compression(&req("br;q=0.5")));
        assert!(!wants_compression(&req("identity")));
        assert!(!wants_compression(&req("gzip;q=0")));
        assert!(!wants_compression(&req("deflate")));
        assert!(!wants_compression(
            &Request::builder().body(Body::empty()).unwrap()
        ));
    }
}
