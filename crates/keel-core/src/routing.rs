//! Routing: a thin, introspectable wrapper over `axum::Router`.
//!
//! [`Router`] and [`MethodRouter`] build an ordinary `axum::Router<AppState>` while
//! recording each route's method, path, handler and optional *name*. The names make
//! URL reversing possible ([`UrlMap::url_for`]), and the records feed the `routes`
//! command (and, later, the OpenAPI document).
//!
//! Everything axum offers stays reachable: any `axum::Router<AppState>` converts into a
//! [`Router`] (its routes are served, just not listed), and [`Router::into_axum`] goes
//! back down.
//!
//! ```
//! use keel_core::routing::{Router, get, post};
//!
//! async fn list() -> &'static str { "all articles" }
//! async fn show() -> &'static str { "one article" }
//! async fn create() -> &'static str { "created" }
//!
//! let router = Router::new()
//!     .route("/articles", get(list).post(create).name("articles"))
//!     .route("/articles/{slug}", get(show).name("article"));
//! let urls = router.url_map();
//! assert_eq!(urls.url_for("article", &[("slug", "hello world")]).unwrap(), "/articles/hello%20world");
//! assert_eq!(router.routes().len(), 3);
//! ```

use std::any::Any;
use std::collections::BTreeMap;
use std::convert::Infallible;
use std::fmt;
use std::sync::Arc;

use axum::extract::Request;
use axum::handler::Handler;
use axum::response::IntoResponse;
use axum::routing::Route;
use http::Method;
use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};
use tower_layer::Layer;
use tower_service::Service;

use crate::state::AppState;

/// One route as the app serves it: for the `routes` command, URL reversing and docs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteInfo {
    /// The HTTP method (`GET`, `POST`, …), or `*` for a service that takes any method.
    pub method: String,
    /// The path template in axum syntax (`/articles/{slug}`).
    pub path: String,
    /// The route name, if it was given one.
    pub name: Option<String>,
    /// The handler's type name (`my_app::articles::show`), or a description.
    pub handler: String,
    /// Documentation attached by an API layer (`keel::openapi` puts the operation's
    /// description here), if any.
    pub doc: Option<RouteDoc>,
}

/// An opaque piece of documentation attached to one method of a route, for whichever
/// subsystem knows its type (the OpenAPI builder downcasts it). Equal when it is the
/// same attachment.
#[derive(Clone)]
pub struct RouteDoc(pub Arc<dyn Any + Send + Sync>);

impl RouteDoc {
    /// The attachment as a `T`, if it is one.
    pub fn get<T: Any>(&self) -> Option<&T> {
        self.0.downcast_ref()
    }
}

impl fmt::Debug for RouteDoc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RouteDoc(..)")
    }
}

impl PartialEq for RouteDoc {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for RouteDoc {}

/// A method router that remembers its handlers and an optional route name.
///
/// Built with [`get`], [`post`] and friends, chained like axum's:
/// `get(show).put(update).name("article")`.
pub struct MethodRouter {
    inner: axum::routing::MethodRouter<AppState>,
    name: Option<String>,
    handlers: Vec<(String, String, Option<RouteDoc>)>,
}

impl fmt::Debug for MethodRouter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MethodRouter")
            .field("name", &self.name)
            .field("handlers", &self.handlers)
            .finish()
    }
}

fn handler_name<H>() -> String {
    std::any::type_name::<H>().to_owned()
}

macro_rules! method_fns {
    ($($(#[$doc:meta])* $fn_name:ident => $method:ident),* $(,)?) => {
        $(
            $(#[$doc])*
            pub fn $fn_name<H, T>(handler: H) -> MethodRouter
            where
                H: Handler<T, AppState>,
                T: 'static,
            {
                MethodRouter {
                    inner: axum::routing::$fn_name(handler),
                    name: None,
                    handlers: vec![(Method::$method.to_string(), handler_name::<H>(), None)],
                }
            }
        )*

        impl MethodRouter {
            $(
                $(#[$doc])*
                pub fn $fn_name<H, T>(mut self, handler: H) -> Self
                where
                    H: Handler<T, AppState>,
                    T: 'static,
                {
                    self.inner = self.inner.$fn_name(handler);
                    self.handlers.push((Method::$method.to_string(), handler_name::<H>(), None));
                    self
                }
            )*
        }
    };
}

method_fns! {
    /// Routes `GET` (and `HEAD`) requests to `handler`.
    get => GET,
    /// Routes `POST` requests to `handler`.
    post => POST,
    /// Routes `PUT` requests to `handler`.
    put => PUT,
    /// Routes `PATCH` requests to `handler`.
    patch => PATCH,
    /// Routes `DELETE` requests to `handler`.
    delete => DELETE,
    /// Routes `HEAD` requests to `handler`.
    head => HEAD,
    /// Routes `OPTIONS` requests to `handler`.
    options => OPTIONS,
    /// Routes `TRACE` requests to `handler`.
    trace => TRACE,
}

/// Routes requests of any method to `handler`.
pub fn any<H, T>(handler: H) -> MethodRouter
where
    H: Handler<T, AppState>,
    T: 'static,
{
    MethodRouter {
        inner: axum::routing::any(handler),
        name: None,
        handlers: vec![("*".to_owned(), handler_name::<H>(), None)],
    }
}

impl MethodRouter {
    /// Names the route, for [`UrlMap::url_for`] and `url_for()` in templates.
    #[must_use]
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Attaches documentation to the handler of `method` (`"GET"`, …) added last.
    #[must_use]
    pub fn with_doc(mut self, method: &str, doc: Arc<dyn Any + Send + Sync>) -> Self {
        if let Some(h) = self.handlers.iter_mut().rev().find(|h| h.0 == method) {
            h.2 = Some(RouteDoc(doc));
        }
        self
    }

    /// The route name, if one was given.
    pub fn route_name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// The documentation attached to the handler of `method`, if any.
    pub fn doc(&self, method: &str) -> Option<&RouteDoc> {
        self.handlers
            .iter()
            .rev()
            .find(|h| h.0 == method)
            .and_then(|h| h.2.as_ref())
    }

    /// Applies a layer to this method router's handlers (axum's `MethodRouter::layer`).
    #[must_use]
    pub fn layer<L>(mut self, layer: L) -> Self
    where
        L: Layer<Route> + Clone + Send + Sync + 'static,
        L::Service: Service<Request> + Clone + Send + Sync + 'static,
        <L::Service as Service<Request>>::Response: IntoResponse + 'static,
        <L::Service as Service<Request>>::Error: Into<Infallible> + 'static,
        <L::Service as Service<Request>>::Future: Send + 'static,
    {
        self.inner = self.inner.layer(layer);
        self
    }

    /// The underlying axum method router.
    pub fn into_axum(self) -> axum::routing::MethodRouter<AppState> {
        self.inner
    }
}

/// An `axum::Router<AppState>` that records its routes. See the [module docs](self).
#[derive(Default)]
pub struct Router {
    inner: axum::Router<AppState>,
    routes: Vec<RouteInfo>,
    opaque: Vec<String>,
    has_fallback: bool,
}

impl fmt::Debug for Router {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Router")
            .field("routes", &self.routes)
            .field("opaque", &self.opaque)
            .finish_non_exhaustive()
    }
}

impl Router {
    /// An empty router.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a route (axum path syntax: `/articles/{slug}`, `/files/{*rest}`).
    ///
    /// # Panics
    ///
    /// Like axum, when the path is invalid or its methods overlap an existing route.
    #[must_use]
    pub fn route(mut self, path: &str, method_router: impl Into<MethodRouter>) -> Self {
        let method_router = method_router.into();
        for (method, handler, doc) in &method_router.handlers {
            self.routes.push(RouteInfo {
                method: method.clone(),
                path: path.to_owned(),
                name: method_router.name.clone(),
                handler: handler.clone(),
                doc: doc.clone(),
            });
        }
        self.inner = self.inner.route(path, method_router.inner);
        self
    }

    /// Routes every method on `path` to a tower service (listed as `*`).
    #[must_use]
    pub fn route_service<T>(mut self, path: &str, service: T) -> Self
    where
        T: Service<Request, Error = Infallible> + Clone + Send + Sync + 'static,
        T::Response: IntoResponse,
        T::Future: Send + 'static,
    {
        self.routes.push(RouteInfo {
            method: "*".to_owned(),
            path: path.to_owned(),
            name: None,
            handler: std::any::type_name::<T>().to_owned(),
            doc: None,
        });
        self.inner = self.inner.route_service(path, service);
        self
    }

    /// Nests `router` under `prefix`; its routes' paths are prefixed, names are kept.
    #[must_use]
    pub fn nest(mut self, prefix: &str, router: Router) -> Self {
        let prefix = prefix.trim_end_matches('/');
        for mut info in router.routes {
            info.path = join_paths(prefix, &info.path);
            self.routes.push(info);
        }
        self.opaque.extend(
            router
                .opaque
                .into_iter()
                .map(|o| format!("{o} (under {prefix})")),
        );
        self.inner = self.inner.nest(prefix, router.inner);
        self
    }

    /// Nests a tower service under `prefix` (listed as `*` at `prefix/{*rest}`).
    #[must_use]
    pub fn nest_service<T>(mut self, prefix: &str, service: T) -> Self
    where
        T: Service<Request, Error = Infallible> + Clone + Send + Sync + 'static,
        T::Response: IntoResponse,
        T::Future: Send + 'static,
    {
        self.routes.push(RouteInfo {
            method: "*".to_owned(),
            path: join_paths(prefix.trim_end_matches('/'), "/{*path}"),
            name: None,
            handler: std::any::type_name::<T>().to_owned(),
            doc: None,
        });
        self.inner = self.inner.nest_service(prefix, service);
        self
    }

    /// Merges another router (Keel or plain axum) into this one.
    #[must_use]
    pub fn merge(mut self, other: impl Into<Router>) -> Self {
        let other = other.into();
        self.routes.extend(other.routes);
        self.opaque.extend(other.opaque);
        self.has_fallback |= other.has_fallback;
        self.inner = self.inner.merge(other.inner);
        self
    }

    /// Applies a layer to every route added so far (axum's `Router::layer`).
    #[must_use]
    pub fn layer<L>(mut self, layer: L) -> Self
    where
        L: Layer<Route> + Clone + Send + Sync + 'static,
        L::Service: Service<Request> + Clone + Send + Sync + 'static,
        <L::Service as Service<Request>>::Response: IntoResponse + 'static,
        <L::Service as Service<Request>>::Error: Into<Infallible> + 'static,
        <L::Service as Service<Request>>::Future: Send + 'static,
    {
        self.inner = self.inner.layer(layer);
        self
    }

    /// Applies a layer that runs only when a route matched (axum's `Router::route_layer`).
    #[must_use]
    pub fn route_layer<L>(mut self, layer: L) -> Self
    where
        L: Layer<Route> + Clone + Send + Sync + 'static,
        L::Service: Service<Request> + Clone + Send + Sync + 'static,
        <L::Service as Service<Request>>::Response: IntoResponse + 'static,
        <L::Service as Service<Request>>::Error: Into<Infallible> + 'static,
        <L::Service as Service<Request>>::Future: Send + 'static,
    {
        self.inner = self.inner.route_layer(layer);
        self
    }

    /// Sets the handler for requests no route matches (Keel's default answers a 404
    /// problem).
    #[must_use]
    pub fn fallback<H, T>(mut self, handler: H) -> Self
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        self.has_fallback = true;
        self.inner = self.inner.fallback(handler);
        self
    }

    /// Whether a fallback has been set.
    pub fn has_fallback(&self) -> bool {
        self.has_fallback
    }

    /// Gives access to the underlying axum router, e.g. to call an axum method Keel does
    /// not wrap. Routes added this way are served but not listed.
    #[must_use]
    pub fn with_axum(
        mut self,
        f: impl FnOnce(axum::Router<AppState>) -> axum::Router<AppState>,
    ) -> Self {
        self.inner = f(self.inner);
        self
    }

    /// The recorded routes.
    pub fn routes(&self) -> &[RouteInfo] {
        &self.routes
    }

    /// Descriptions of merged plain axum routers whose routes cannot be listed.
    pub fn opaque(&self) -> &[String] {
        &self.opaque
    }

    /// The names → path templates of the named routes.
    pub fn url_map(&self) -> UrlMap {
        UrlMap::from_routes(&self.routes)
    }

    /// The plain axum router.
    pub fn into_axum(self) -> axum::Router<AppState> {
        self.inner
    }

    /// The axum router and the route records.
    pub fn into_parts(self) -> (axum::Router<AppState>, Vec<RouteInfo>, Vec<String>) {
        (self.inner, self.routes, self.opaque)
    }
}

impl From<axum::Router<AppState>> for Router {
    fn from(inner: axum::Router<AppState>) -> Self {
        Self {
            inner,
            routes: Vec::new(),
            opaque: vec!["axum::Router (routes not introspectable)".to_owned()],
            has_fallback: false,
        }
    }
}

fn join_paths(prefix: &str, path: &str) -> String {
    if path == "/" || path.is_empty() {
        if prefix.is_empty() {
            "/".to_owned()
        } else {
            prefix.to_owned()
        }
    } else {
        format!("{prefix}{path}")
    }
}

/// Why a URL could not be built.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum UrlError {
    /// No route has this name.
    UnknownName {
        /// The name asked for.
        name: String,
        /// A known name that looks close, if any.
        suggestion: Option<String>,
    },
    /// The route's path needs a parameter that was not given.
    MissingParam {
        /// The route name.
        name: String,
        /// The missing parameter.
        param: String,
        /// The route's path template.
        path: String,
    },
}

impl fmt::Display for UrlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnknownName { name, suggestion } => {
                write!(f, "no route is named `{name}`")?;
                if let Some(s) = suggestion {
                    write!(f, " (did you mean `{s}`?)")?;
                }
                Ok(())
            }
            Self::MissingParam { name, param, path } => write!(
                f,
                "route `{name}` ({path}) needs the parameter `{param}`, which was not given"
            ),
        }
    }
}

impl std::error::Error for UrlError {}

/// Characters escaped in a path segment: everything but RFC 3986 unreserved and a few
/// sub-delims that are safe inside a segment.
const SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'/')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'`')
    .add(b'{')
    .add(b'}')
    .add(b'[')
    .add(b']')
    .add(b'\\')
    .add(b'^')
    .add(b'|');

/// Like [`SEGMENT`] but keeps `/`, for `{*wildcard}` parameters.
const WILDCARD: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'`')
    .add(b'{')
    .add(b'}')
    .add(b'[')
    .add(b']')
    .add(b'\\')
    .add(b'^')
    .add(b'|');

#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Literal(String),
    Param(String),
    Wildcard(String),
}

fn parse_template(path: &str) -> Vec<Piece> {
    let mut pieces = Vec::new();
    let mut literal = String::new();
    let mut chars = path.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.peek() == Some(&'{') => {
                chars.next();
                literal.push('{');
            }
            '}' if chars.peek() == Some(&'}') => {
                chars.next();
                literal.push('}');
            }
            '{' => {
                let mut name = String::new();
                for n in chars.by_ref() {
                    if n == '}' {
                        break;
                    }
                    name.push(n);
                }
                if !literal.is_empty() {
                    pieces.push(Piece::Literal(std::mem::take(&mut literal)));
                }
                match name.strip_prefix('*') {
                    Some(rest) => pieces.push(Piece::Wildcard(rest.to_owned())),
                    None => pieces.push(Piece::Param(name)),
                }
            }
            other => literal.push(other),
        }
    }
    if !literal.is_empty() {
        pieces.push(Piece::Literal(literal));
    }
    pieces
}

/// Route names → path templates; builds URLs. Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct UrlMap {
    routes: BTreeMap<String, (String, Vec<Piece>)>,
}

impl UrlMap {
    /// Collects the named routes (the first route wins when a name repeats; the system
    /// check `keel.E002` reports the repetition).
    pub fn from_routes(routes: &[RouteInfo]) -> Self {
        let mut map = BTreeMap::new();
        for r in routes {
            if let Some(name) = &r.name {
                map.entry(name.clone())
                    .or_insert_with(|| (r.path.clone(), parse_template(&r.path)));
            }
        }
        Self { routes: map }
    }

    /// The route names, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.routes.keys().map(String::as_str)
    }

    /// The path template of a named route.
    pub fn template(&self, name: &str) -> Option<&str> {
        self.routes.get(name).map(|(p, _)| p.as_str())
    }

    /// The template's parameter names, in order.
    pub fn params(&self, name: &str) -> Option<Vec<&str>> {
        self.routes.get(name).map(|(_, pieces)| {
            pieces
                .iter()
                .filter_map(|p| match p {
                    Piece::Param(n) | Piece::Wildcard(n) => Some(n.as_str()),
                    Piece::Literal(_) => None,
                })
                .collect()
        })
    }

    /// Builds the path of route `name`, percent-encoding each parameter. Parameters the
    /// path does not use are appended as a query string (as Rails and Flask do).
    ///
    /// ```
    /// # use keel_core::routing::{Router, get};
    /// # async fn h() {}
    /// let urls = Router::new().route("/files/{*path}", get(h).name("file")).url_map();
    /// assert_eq!(urls.url_for("file", &[("path", "a/b c.txt"), ("v", "2")]).unwrap(), "/files/a/b%20c.txt?v=2");
    /// assert!(urls.url_for("fiel", &[] as &[(&str, &str)]).unwrap_err().to_string().contains("did you mean `file`"));
    /// ```
    pub fn url_for<'a, K, V>(
        &self,
        name: &str,
        params: impl IntoIterator<Item = &'a (K, V)>,
    ) -> Result<String, UrlError>
    where
        K: AsRef<str> + 'a,
        V: fmt::Display + 'a,
    {
        let Some((path, pieces)) = self.routes.get(name) else {
            return Err(UrlError::UnknownName {
                name: name.to_owned(),
                suggestion: closest(name, self.routes.keys().map(String::as_str)),
            });
        };
        let params: Vec<(&str, String)> = params
            .into_iter()
            .map(|(k, v)| (k.as_ref(), v.to_string()))
            .collect();
        let mut used = vec![false; params.len()];
        let mut out = String::with_capacity(path.len() + 16);
        for piece in pieces {
            match piece {
                Piece::Literal(l) => out.push_str(l),
                Piece::Param(p) | Piece::Wildcard(p) => {
                    let Some(i) = params.iter().position(|(k, _)| k == p) else {
                        return Err(UrlError::MissingParam {
                            name: name.to_owned(),
                            param: p.clone(),
                            path: path.clone(),
                        });
                    };
                    used[i] = true;
                    let set = if matches!(piece, Piece::Wildcard(_)) {
                        WILDCARD
                    } else {
                        SEGMENT
                    };
                    out.extend(utf8_percent_encode(&params[i].1, set));
                }
            }
        }
        let mut query = params
            .iter()
            .zip(&used)
            .filter(|(_, used)| !**used)
            .map(|((k, v), _)| (*k, v.as_str()))
            .peekable();
        if query.peek().is_some() {
            out.push('?');
            let mut ser = form_urlencoded_serializer();
            for (k, v) in query {
                ser.append_pair(k, v);
            }
            out.push_str(&ser.finish());
        }
        Ok(out)
    }
}

fn form_urlencoded_serializer() -> FormSerializer {
    FormSerializer(String::new())
}

/// A minimal `application/x-www-form-urlencoded` writer for query strings.
struct FormSerializer(String);

impl FormSerializer {
    fn append_pair(&mut self, k: &str, v: &str) {
        const QUERY: &AsciiSet = &CONTROLS
            .add(b' ')
            .add(b'"')
            .add(b'#')
            .add(b'%')
            .add(b'&')
            .add(b'+')
            .add(b'=')
            .add(b'<')
            .add(b'>')
            .add(b'?')
            .add(b'`')
            .add(b'{')
            .add(b'}');
        if !self.0.is_empty() {
            self.0.push('&');
        }
        self.0.extend(utf8_percent_encode(k, QUERY));
        self.0.push('=');
        self.0.extend(utf8_percent_encode(v, QUERY));
    }
    fn finish(self) -> String {
        self.0
    }
}

/// The known name closest to `name` by edit distance, if it is close enough to be a typo.
fn closest<'a>(name: &str, known: impl Iterator<Item = &'a str>) -> Option<String> {
    known
        .map(|k| (levenshtein(name, k), k))
        .filter(|(d, k)| *d <= 2.max(k.len() / 4))
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k.to_owned())
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn h() {}

    fn urls() -> UrlMap {
        Router::new()
            .route("/", get(h).name("home"))
            .route("/articles/{slug}", get(h).name("article"))
            .route("/a/{x}/b/{y}", get(h).name("two"))
            .route("/literal/{{braces}}", get(h).name("braces"))
            .nest(
                "/api",
                Router::new().route("/users/{id}", get(h).post(h).name("api_user")),
            )
            .url_map()
    }

    #[test]
    fn builds_paths_with_encoding() {
        let u = urls();
        assert_eq!(u.url_for("home", &[] as &[(&str, &str)]).unwrap(), "/");
        assert_eq!(
            u.url_for("article", &[("slug", "a/b?c")]).unwrap(),
            "/articles/a%2Fb%3Fc"
        );
        assert_eq!(u.url_for("two", &[("y", 2), ("x", 1)]).unwrap(), "/a/1/b/2");
        assert_eq!(
            u.url_for("braces", &[] as &[(&str, &str)]).unwrap(),
            "/literal/{braces}"
        );
        assert_eq!(u.url_for("api_user", &[("id", 7)]).unwrap(), "/api/users/7");
    }

    #[test]
    fn extra_params_become_the_query_string() {
        let u = urls();
        assert_eq!(
            u.url_for("article", &[("slug", "x"), ("page", "2"), ("q", "a&b")])
                .unwrap(),
            "/articles/x?page=2&q=a%26b"
        );
    }

    #[test]
    fn errors_are_clear() {
        let u = urls();
        let e = u.url_for("articel", &[("slug", "x")]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "no route is named `articel` (did you mean `article`?)"
        );
        let e = u.url_for("zzzzzzzz", &[("slug", "x")]).unwrap_err();
        assert_eq!(e.to_string(), "no route is named `zzzzzzzz`");
        let e = u.url_for("two", &[("x", "1")]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "route `two` (/a/{x}/b/{y}) needs the parameter `y`, which was not given"
        );
    }

    #[test]
    fn records_methods_handlers_and_nesting() {
        let r = Router::new().nest("/api", Router::new().route("/", get(h).delete(h)));
        let infos = r.routes();
        assert_eq!(infos.len(), 2);
        assert_eq!(infos[0].path, "/api");
        assert_eq!(infos[0].method, "GET");
        assert_eq!(infos[1].method, "DELETE");
        assert!(infos[0].handler.ends_with("::h"), "{}", infos[0].handler);
    }

    #[test]
    fn plain_axum_routers_are_served_but_marked_opaque() {
        let plain: axum::Router<AppState> = axum::Router::new();
        let r = Router::new().merge(plain);
        assert_eq!(r.opaque().len(), 1);
    }
}
