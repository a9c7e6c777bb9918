//! Which route template a request is for, found once per request by matching its path
//! against the app's recorded routes (the same matcher axum uses), so that tracing and
//! metrics can label by template without wrapping every route.

use std::future::Future;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::Request;
use keel_core::routing::RouteInfo;
use tower_layer::Layer;
use tower_service::Service;

/// The route template of the current request (`/articles/{slug}`), when it matched a
/// route Keel recorded. Routes of merged plain axum routers are not recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteTemplate(pub Arc<str>);

impl RouteTemplate {
    /// The template.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Matches paths to the recorded route templates, each with a stable index.
#[derive(Clone)]
pub struct RouteMatcher {
    router: Arc<matchit::Router<usize>>,
    templates: Arc<[Arc<str>]>,
}

impl std::fmt::Debug for RouteMatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RouteMatcher")
    }
}

impl RouteMatcher {
    /// A matcher for `routes`.
    pub fn new(routes: &[RouteInfo]) -> Self {
        let mut router = matchit::Router::new();
        let mut templates: Vec<Arc<str>> = Vec::new();
        for r in routes {
            if templates.iter().any(|t| **t == *r.path) {
                continue;
            }
            // A conflicting path makes axum refuse the route too; skip it here.
            if router.insert(r.path.clone(), templates.len()).is_ok() {
                templates.push(Arc::from(r.path.as_str()));
            }
        }
        Self {
            router: Arc::new(router),
            templates: templates.into(),
        }
    }

    /// The index of the template `path` matches.
    pub fn find_index(&self, path: &str) -> Option<usize> {
        self.router.at(path).ok().map(|m| *m.value)
    }

    /// The template `path` matches.
    pub fn find(&self, path: &str) -> Option<&Arc<str>> {
        self.find_index(path).map(|i| &self.templates[i])
    }

    /// All templates, by index.
    pub fn templates(&self) -> &Arc<[Arc<str>]> {
        &self.templates
    }
}

/// Layer that inserts [`RouteTemplate`] into the request's extensions.
#[derive(Debug, Clone)]
pub struct RouteLayer {
    matcher: RouteMatcher,
}

impl RouteLayer {
    /// Uses `matcher`.
    pub fn new(matcher: RouteMatcher) -> Self {
        Self { matcher }
    }
}

impl<S> Layer<S> for RouteLayer {
    type Service = RouteService<S>;
    fn layer(&self, inner: S) -> Self::Service {
        RouteService {
            inner,
            matcher: self.matcher.clone(),
        }
    }
}

/// Service made by [`RouteLayer`].
#[derive(Debug, Clone)]
pub struct RouteService<S> {
    inner: S,
    matcher: RouteMatcher,
}

impl<S, B> Service<Request<B>> for RouteService<S>
where
    S: Service<Request<B>>,
    S::Future: Future,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<B>) -> Self::Future {
        if let Some(template) = self.matcher.find(req.uri().path()) {
            let template = RouteTemplate(Arc::clone(template));
            req.extensions_mut().insert(template);
        }
        self.inner.call(req)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(path: &str) -> RouteInfo {
        RouteInfo {
            method: "GET".into(),
            path: path.into(),
            name: None,
            handler: "h".into(),
            doc: None,
        }
    }

    #[test]
    fn finds_templates() {
        let m = RouteMatcher::new(&[info("/"), info("/a/{id}"), info("/a/{id}"), info("/s/{*p}")]);
        assert_eq!(m.find("/a/42").map(|t| &**t), Some("/a/{id}"));
        assert_eq!(m.find("/s/x/y.css").map(|t| &**t), Some("/s/{*p}"));
        assert_eq!(m.find("/").map(|t| &**t), Some("/"));
        assert_eq!(m.find("/nope"), None);
    }
}
