//! # keel-view
//!
//! Server-rendered pages with [minijinja](https://docs.rs/minijinja) (Jinja2 syntax):
//! HTML auto-escaped, inheritance and includes, templates read from disk and reloaded on
//! change in development, embedded in the binary in release builds.
//!
//! (The example needs a `templates/` folder beside `Cargo.toml`; `tests/it` builds the
//! same thing.)
//!
//! ```ignore
//! use keel_core::{App, Router, routing::get};
//! use keel_view::{View, view};
//!
//! #[derive(rust_embed::RustEmbed)]
//! #[folder = "templates/"]
//! struct Templates;
//!
//! async fn home() -> View {
//!     view("home.html", serde_json::json!({ "title": "Hello" }))
//! }
//!
//! let app = App::new("site")
//!     .plugin(keel_view::plugin::<Templates>())
//!     .routes(Router::new().route("/", get(home).name("home")));
//! ```
//!
//! Every template sees:
//!
//! | global | what |
//! |---|---|
//! | `url_for(name, **params)` | the path of a named route |
//! | `static(path)` | the URL of a static file with its content version (`?v=…`), cacheable for good |
//! | `csrf_token()`, `csrf_field()` | the session's CSRF token, and a hidden `_csrf` input |
//! | `messages` | the flash messages (taken: shown once) |
//! | `request` | `path`, `query`, `method` of the current request |
//! | `config` | the config values listed in `views.expose` |
//!
//! A handler returns [`View`]; the view layer renders it with the request at hand. A
//! template error shows the template name, line and source in development and a
//! generic error page in production (the details are logged).
//!
//! With the `compiled` feature, a page can also be compiled from its template when
//! the app is built ([`compiled`](mod@compiled), askama): checked by the compiler
//! and several times faster to render, without the request globals.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};
use keel_core::template::{
    PageRendering, Renderer, SharedAssetUrls, SharedTemplates, TemplateContexts, TemplateSources,
};
use keel_core::{App, AppState, Environment, Error, layer_order};
use minijinja::value::Kwargs;
use minijinja::{AutoEscape, Environment as Jinja, State as JinjaState, Value};
use serde::{Deserialize, Serialize};

/// minijinja, for [`add_context_value`]'s objects.
pub use minijinja;

#[cfg(feature = "compiled")]
pub mod compiled;
/// askama, for `#[derive(Template)]` on [`Compiled`] pages (feature `compiled`).
#[cfg(feature = "compiled")]
pub use askama;
#[cfg(feature = "compiled")]
pub use compiled::{Compiled, compiled};
/// rust-embed, for `#[derive(RustEmbed)]` on the templates folder.
pub use rust_embed;

/// The `[views]` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ViewSettings {
    /// The templates folder read in development (relative to the working directory).
    pub dir: String,
    /// Read templates from `dir` and reload them when they change. Unset: on in
    /// development when `dir` exists.
    pub autoreload: Option<bool>,
    /// Config keys templates may read as `config.<key>` (`["app.name", "blog.title"]`).
    pub expose: Vec<String>,
}

impl Default for ViewSettings {
    fn default() -> Self {
        Self {
            dir: "templates".into(),
            autoreload: None,
            expose: Vec::new(),
        }
    }
}

/// A page to render: a template name and its context. Return it from a handler.
#[derive(Debug, Clone)]
pub struct View {
    name: String,
    context: Value,
    status: StatusCode,
}

/// A page rendered from template `name` with `context` (anything `Serialize`).
pub fn view(name: impl Into<String>, context: impl Serialize) -> View {
    View {
        name: name.into(),
        context: Value::from(minijinja::value::Serde(&context)),
        status: StatusCode::OK,
    }
}

impl View {
    /// Answers with `status` instead of 200 (a form re-rendered with errors: 422).
    #[must_use]
    pub fn status(mut self, status: StatusCode) -> Self {
        self.status = status;
        self
    }
}

/// Marker the view layer looks for on a response.
#[derive(Clone)]
struct Pending(Arc<View>);

impl IntoResponse for View {
    fn into_response(self) -> Response {
        let mut res = Response::new(axum::body::Body::empty());
        *res.status_mut() = self.status;
        res.extensions_mut().insert(Pending(Arc::new(self)));
        res
    }
}

/// The template environment and what rendering needs.
struct Views {
    env: Jinja<'static>,
    debug: bool,
    config: Value,
}

fn error_page(views: &Views, name: &str, err: &minijinja::Error) -> Response {
    tracing::error!(target: "keel::view", template = name, error = %err, detail = %err.display_debug_info(), "template failed to render");
    if !views.debug {
        return Error::internal_msg(format!("template {name} failed to render")).into_response();
    }
    let mut chain = String::new();
    let mut cause: Option<&dyn std::error::Error> = Some(err);
    while let Some(e) = cause {
        chain.push_str(&keel_core::html::escape(&e.to_string()));
        chain.push('\n');
        cause = e.source();
    }
    let at = match (err.name(), err.line()) {
        (Some(t), Some(l)) => format!("{t}, line {l}"),
        (Some(t), None) => t.to_owned(),
        _ => name.to_owned(),
    };
    let body = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Template error</title>\
         <style>body{{font:15px/1.5 system-ui,sans-serif;margin:2rem;max-width:60rem}}pre{{background:#f6f6f6;padding:1rem;overflow:auto}}</style>\
         </head><body><h1>Template error in {}</h1><pre>{}</pre><pre>{}</pre>\
         <p>This page is shown in development only.</p></body></html>",
        keel_core::html::escape(&at),
        chain,
        keel_core::html::escape(&err.display_debug_info().to_string())
    );
    let mut res = (StatusCode::INTERNAL_SERVER_ERROR, body).into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    res
}

impl Renderer for Views {
    fn render(&self, template: &str, context: &serde_json::Value) -> Result<Option<String>, Error> {
        let tpl = match self.env.get_template(template) {
            Ok(t) => t,
            Err(e) if e.kind() == minijinja::ErrorKind::TemplateNotFound => return Ok(None),
            Err(e) => return Err(Error::internal_msg(format!("template {template}: {e}"))),
        };
        let ctx = minijinja::value::merge_maps([
            Value::from(minijinja::value::Serde(context)),
            minijinja::context! { config => self.config.clone() },
        ]);
        tpl.render(ctx)
            .map(Some)
            .map_err(|e| Error::internal_msg(format!("template {template}: {e}")))
    }
}

struct Layer {
    views: Arc<Views>,
    contexts: TemplateContexts,
    values: ContextValues,
}

/// The view layer, used only when request-dependent context is registered: renders
/// the page a handler returned as [`Pending`] with the request's globals and context,
/// inside the routes, where the request's extensions are as the session and auth
/// layers left them. Without such context, pages are rendered by the HTTP stack's core
/// service instead ([`PageRendering`]), and routes carry no view layer at all.
#[derive(Clone)]
struct ViewLayer(Arc<Layer>);

impl<S> tower_layer::Layer<S> for ViewLayer {
    type Service = ViewService<S>;

    fn layer(&self, inner: S) -> ViewService<S> {
        ViewService {
            inner,
            layer: Arc::clone(&self.0),
        }
    }
}

/// [`ViewLayer`]'s service.
#[derive(Clone)]
struct ViewService<S> {
    inner: S,
    layer: Arc<Layer>,
}

impl<S> tower_service::Service<Request> for ViewService<S>
where
    S: tower_service::Service<Request, Response = Response>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = ViewFuture<S::Future>;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> Self::Future {
        // What the context functions may read: method, URI and extensions (the session).
        // Headers are not copied.
        let mut head = http::Request::new(());
        *head.method_mut() = req.method().clone();
        *head.uri_mut() = req.uri().clone();
        *head.extensions_mut() = req.extensions().clone();
        let (snapshot, ()) = head.into_parts();
        ViewFuture {
            inner: self.inner.call(req),
            snapshot: Some(snapshot),
            layer: Arc::clone(&self.layer),
        }
    }
}

pin_project_lite::pin_project! {
    /// [`ViewService`]'s future: the route's, then the rendering.
    struct ViewFuture<F> {
        #[pin]
        inner: F,
        // Taken when the response is rendered.
        snapshot: Option<http::request::Parts>,
        layer: Arc<Layer>,
    }
}

impl<F, E> std::future::Future for ViewFuture<F>
where
    F: std::future::Future<Output = Result<Response, E>>,
{
    type Output = Result<Response, E>;

    fn poll(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        let this = self.project();
        let response = std::task::ready!(this.inner.poll(cx))?;
        let Some(snapshot) = this.snapshot.take() else {
            return std::task::Poll::Ready(Ok(response));
        };
        let page = PageRequest {
            method: &snapshot.method,
            path: snapshot.uri.path_and_query(),
            parts: Some(&snapshot),
        };
        std::task::Poll::Ready(Ok(render_pending(this.layer, &page, response)))
    }
}

/// What rendering a page reads of its request.
struct PageRequest<'a> {
    method: &'a http::Method,
    path: Option<&'a http::uri::PathAndQuery>,
    /// The request head with its extensions, for the context functions (present when
    /// any are registered).
    parts: Option<&'a http::request::Parts>,
}

/// Renders the page `response` carries, if it carries one ([`Pending`]).
fn render_pending(layer: &Layer, req: &PageRequest<'_>, mut response: Response) -> Response {
    let Some(Pending(page)) = response.extensions_mut().remove::<Pending>() else {
        return response;
    };
    // The handler's values win over the request globals of the same name. Maps that
    // would be empty are left out, and `request` is read only if a template asks.
    let mut maps = Vec::with_capacity(4);
    maps.push(page.context.clone());
    if let Some(parts) = req.parts {
        if !layer.contexts.0.is_empty() {
            let mut extra = serde_json::Map::new();
            for f in &layer.contexts.0 {
                extra.extend(f(parts));
            }
            maps.push(Value::from(minijinja::value::Serde(&extra)));
        }
        if !layer.values.0.is_empty() {
            // Values that are template objects (with methods), such as keel-auth's `user`.
            maps.push(Value::from(
                layer
                    .values
                    .0
                    .iter()
                    .filter_map(|(name, f)| f(parts).map(|v| (name.clone(), v)))
                    .collect::<BTreeMap<String, Value>>(),
            ));
        }
    }
    let request = Value::from_object(RequestGlobals {
        method: req.method.clone(),
        path: req.path.cloned(),
    });
    maps.push(minijinja::context! { request => request, config => layer.views.config.clone() });
    let ctx = minijinja::value::merge_maps(maps);
    let rendered = layer
        .views
        .env
        .get_template(&page.name)
        .and_then(|t| t.render(ctx));
    match rendered {
        Ok(html) => {
            let (mut head, _) = response.into_parts();
            head.headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            );
            head.headers.remove(header::CONTENT_LENGTH);
            Response::from_parts(head, axum::body::Body::from(html))
        }
        Err(e) => error_page(&layer.views, &page.name, &e),
    }
}

/// The `request` global: `request.path`, `request.query`, `request.method`, made into
/// template values only when a template reads them.
#[derive(Debug)]
struct RequestGlobals {
    method: http::Method,
    path: Option<http::uri::PathAndQuery>,
}

impl minijinja::value::Object for RequestGlobals {
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        Some(match key.as_str()? {
            "path" => Value::from(self.path.as_ref().map_or("/", |p| p.path())),
            "query" => Value::from(
                self.path
                    .as_ref()
                    .and_then(|p| p.query())
                    .unwrap_or_default(),
            ),
            "method" => Value::from(self.method.as_str()),
            _ => return None,
        })
    }

    fn enumerate(self: &Arc<Self>) -> minijinja::value::Enumerator {
        minijinja::value::Enumerator::Str(&["path", "query", "method"])
    }
}

/// A URL for an attribute or text: HTML-escaped, but `/` left readable.
fn safe_url(url: &str) -> Value {
    Value::from_safe_string(keel_core::html::escape(url))
}

fn url_for(
    state: &AppState,
) -> impl Fn(String, Kwargs) -> Result<Value, minijinja::Error> + Send + Sync + 'static {
    let urls = state.urls().clone();
    move |name: String, params: Kwargs| {
        let pairs: Vec<(String, String)> = params
            .args()
            .map(|k| {
                let v: Value = params.get(k).unwrap_or_default();
                (k.to_owned(), v.to_string())
            })
            .collect();
        urls.url_for(
            &name,
            pairs
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect::<Vec<_>>()
                .iter(),
        )
        .map(|u| safe_url(&u))
        .map_err(|e| minijinja::Error::new(minijinja::ErrorKind::InvalidOperation, e.to_string()))
    }
}

fn csrf_token(state: &JinjaState<'_, '_>) -> Result<String, minijinja::Error> {
    state
        .lookup("__keel_csrf")
        .and_then(|v| v.as_str().map(str::to_owned))
        .ok_or_else(|| {
            minijinja::Error::new(
                minijinja::ErrorKind::InvalidOperation,
                "csrf_token() needs sessions (keel::session::plugin) and a request",
            )
        })
}

fn exposed_config(state: &AppState, keys: &[String]) -> Value {
    let mut out: BTreeMap<String, serde_json::Value> = BTreeMap::new();
    for key in keys {
        if let Ok(Some(v)) = state.config().get::<serde_json::Value>(key) {
            // `app.name` becomes config.app.name.
            let mut parts = key.split('.').rev();
            let mut value = v;
            let Some(last) = parts.next() else { continue };
            let mut nested = serde_json::Map::new();
            nested.insert(last.to_owned(), value);
            value = serde_json::Value::Object(nested);
            for p in parts {
                let mut m = serde_json::Map::new();
                m.insert(p.to_owned(), value);
                value = serde_json::Value::Object(m);
            }
            if let serde_json::Value::Object(m) = value {
                for (k, v) in m {
                    merge(out.entry(k).or_insert(serde_json::Value::Null), v);
                }
            }
        }
    }
    Value::from(minijinja::value::Serde(&out))
}

fn merge(into: &mut serde_json::Value, from: serde_json::Value) {
    match (into, from) {
        (serde_json::Value::Object(a), serde_json::Value::Object(b)) => {
            for (k, v) in b {
                merge(a.entry(k).or_insert(serde_json::Value::Null), v);
            }
        }
        (slot, v) => *slot = v,
    }
}

/// Computes a page value from the request it is rendered for: any minijinja value,
/// objects with methods included (`None`: the name stays undefined).
pub type ValueFn = Arc<dyn Fn(&http::request::Parts) -> Option<Value> + Send + Sync + 'static>;

/// Every registered [`ValueFn`] with the name it fills.
#[derive(Clone, Default)]
pub struct ContextValues(pub Vec<(String, ValueFn)>);

impl std::fmt::Debug for ContextValues {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.0.iter().map(|(n, _)| n))
            .finish()
    }
}

/// Gives every rendered page the value `name`, computed from its request. Unlike
/// `keel_core::template::add_template_context` (plain data), the value may be a
/// template object with methods: keel-auth's `user.has_perm("blog.change_post")`.
pub fn add_context_value(
    app: &mut App,
    name: &str,
    f: impl Fn(&http::request::Parts) -> Option<Value> + Send + Sync + 'static,
) {
    let mut all = app
        .extensions()
        .get::<ContextValues>()
        .cloned()
        .unwrap_or_default();
    all.0.push((name.to_owned(), Arc::new(f)));
    app.extensions().insert(all);
}

/// The views plugin for templates embedded as `T` (a `RustEmbed` of the templates
/// folder). `csrf_token()` and `messages` need sessions: `keel::view::plugin` installs
/// both.
pub fn plugin<T: rust_embed::RustEmbed + 'static>() -> impl FnOnce(&mut App) + Send + 'static {
    |app: &mut App| {
        if !app.mark_installed("keel-view") {
            return;
        }
        let settings: ViewSettings = app.section("views");
        let environment = app.config().environment();
        let debug = app.app_settings().debug(environment);
        let shared = SharedTemplates::default();
        app.extensions().insert(shared.clone());
        let pages = PageRendering::default();
        app.extensions().insert(pages.clone());
        let from_disk = settings
            .autoreload
            .unwrap_or(environment == Environment::Development)
            && std::path::Path::new(&settings.dir).is_dir();
        app.wrap_router(
            layer_order::SESSION - 50,
            move |router, state: &AppState| {
                let contexts = state.get::<TemplateContexts>().cloned().unwrap_or_default();
                let values = state.get::<ContextValues>().cloned().unwrap_or_default();
                let in_core = contexts.0.is_empty() && values.0.is_empty();
                if in_core && pages.0.get().is_some() {
                    // A later router (a per-core worker's): the core stack already
                    // renders with the first router's environment.
                    return router;
                }
                let mut env = Jinja::new();
                // The app's templates first, then the components' defaults.
                let fallbacks = state.get::<TemplateSources>().cloned().unwrap_or_default();
                let fallback = move |name: &str| fallbacks.0.iter().find_map(|f| f(name));
                if from_disk {
                    let disk = minijinja::path_loader(settings.dir.clone());
                    env.set_loader(move |name: &str| match disk(name)? {
                        Some(source) => Ok(Some(source)),
                        None => Ok(fallback(name).map(Into::into)),
                    });
                    env.set_auto_reload(true);
                } else {
                    env.set_loader(move |name: &str| {
                        Ok(T::get(name)
                            .map(|f| String::from_utf8_lossy(&f.data).into_owned())
                            .or_else(|| fallback(name)))
                    });
                    env.set_auto_reload(false);
                }
                env.set_auto_escape_callback(|name| {
                    if [".html", ".htm", ".xml", ".svg"]
                        .iter()
                        .any(|e| name.ends_with(e))
                    {
                        AutoEscape::Html
                    } else {
                        AutoEscape::None
                    }
                });
                env.set_debug(debug);
                env.add_function("url_for", url_for(state));
                let assets = state.get::<SharedAssetUrls>().cloned();
                env.add_function("static", move |path: String| -> Value {
                    safe_url(&match &assets {
                        Some(a) => a.0.url(&path),
                        None => format!("/static/{}", path.trim_start_matches('/')),
                    })
                });
                env.add_function("csrf_token", csrf_token);
                env.add_function("csrf_field", |state: &JinjaState<'_, '_>| {
                    csrf_token(state).map(|t| {
                        Value::from_safe_string(format!(
                            "<input type=\"hidden\" name=\"_csrf\" value=\"{}\">",
                            keel_core::html::escape(&t)
                        ))
                    })
                });
                let views = Arc::new(Views {
                    env,
                    debug,
                    config: exposed_config(state, &settings.expose),
                });
                let _ = shared.0.set(Arc::clone(&views) as Arc<dyn Renderer>);
                let layer = Arc::new(Layer {
                    views: Arc::clone(&views),
                    contexts,
                    values,
                });
                if in_core {
                    // Pages need only the request's method and URI: the HTTP stack's core
                    // service renders them on the way out, with no per-route layer (a
                    // layer re-boxes every route and costs each request about 10% of
                    // the plaintext test's work). The first router built sets it.
                    let _ = pages.0.set(Arc::new(move |res, method, path| {
                        let req = PageRequest {
                            method,
                            path,
                            parts: None,
                        };
                        render_pending(&layer, &req, res)
                    }));
                    router
                } else {
                    // Context functions read the request's extensions as the inner
                    // layers (sessions) left them: render inside the routes.
                    router.layer(ViewLayer(layer))
                }
            },
        );
    }
}
