//! For layers that call the route directly on their common path and box only the
//! rest (sessions, CSRF, keel-auth): the future type, the two ways to make it, and
//! the clone-and-swap that lets a boxed call own the ready service.

use std::convert::Infallible;
use std::future::Future;

use axum::extract::Request;
use axum::response::Response;
use futures_util::FutureExt as _;
use futures_util::future::{BoxFuture, Either, Map};
use tower_service::Service;

/// What a Keel layer wraps: a route or router that answers every request, can be
/// cloned into a boxed call, and whose future can move across threads. Implemented for
/// every such service.
pub trait RouteService:
    Service<Request, Response = Response, Error = Infallible, Future: Send + 'static>
    + Clone
    + Send
    + 'static
{
}

impl<S> RouteService for S where
    S: Service<Request, Response = Response, Error = Infallible, Future: Send + 'static>
        + Clone
        + Send
        + 'static
{
}

/// The inner service's own future, or a boxed rest of the request.
pub type FastOrBoxed<F> =
    Either<F, Map<BoxFuture<'static, Response>, fn(Response) -> Result<Response, Infallible>>>;

/// The inner service's future, unboxed.
pub fn fast<F>(fut: F) -> FastOrBoxed<F> {
    Either::Left(fut)
}

/// `fut`, boxed.
pub fn boxed<F>(fut: impl Future<Output = Response> + Send + 'static) -> FastOrBoxed<F> {
    let fut: BoxFuture<'static, Response> = Box::pin(fut);
    Either::Right(fut.map(Ok as fn(Response) -> Result<Response, Infallible>))
}

/// The ready service, with a fresh clone left in its place: what a call that
/// outlives `&mut self` takes with it.
pub fn take_ready<S: Clone>(svc: &mut S) -> S {
    let clone = svc.clone();
    std::mem::replace(svc, clone)
}

/// `svc`'s response to `req`.
pub async fn respond<S>(svc: S, req: Request) -> Response
where
    S: Service<Request, Response = Response, Error = Infallible>,
{
    match tower::ServiceExt::oneshot(svc, req).await {
        Ok(res) => res,
        Err(never) => match never {},
    }
}
