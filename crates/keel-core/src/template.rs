//! What the template engine needs from other plugins, as plain hooks: values every
//! rendered page gets from the current request (the CSRF token, flash messages), and
//! the URLs of static assets. The view crate reads them; the HTTP crate provides them;
//! neither depends on the other.

use std::sync::Arc;

use http::request::Parts;

use crate::app::App;

/// Computes template values from the request a page is rendered for (its method, URI
/// and extensions; the view layer does not copy headers).
pub type ContextFn =
    Arc<dyn Fn(&Parts) -> serde_json::Map<String, serde_json::Value> + Send + Sync + 'static>;

/// Every registered [`ContextFn`], in registration order.
#[derive(Clone, Default)]
pub struct TemplateContexts(pub Vec<ContextFn>);

impl std::fmt::Debug for TemplateContexts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TemplateContexts")
            .field("len", &self.0.len())
            .finish()
    }
}

/// Adds values to every rendered page (`f` runs once per render).
pub fn add_template_context(
    app: &mut App,
    f: impl Fn(&Parts) -> serde_json::Map<String, serde_json::Value> + Send + Sync + 'static,
) {
    let mut all = app
        .extensions()
        .get::<TemplateContexts>()
        .cloned()
        .unwrap_or_default();
    all.0.push(Arc::new(f));
    app.extensions().insert(all);
}

/// Finds a template's source by name: a component's built-in templates, consulted
/// when the app's own templates have no file of that name (so an app overrides one
/// by writing a file with the same name).
pub type SourceFn = Arc<dyn Fn(&str) -> Option<String> + Send + Sync + 'static>;

/// Every registered [`SourceFn`], in registration order.
#[derive(Clone, Default)]
pub struct TemplateSources(pub Vec<SourceFn>);

impl std::fmt::Debug for TemplateSources {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TemplateSources")
            .field("len", &self.0.len())
            .finish()
    }
}

/// Adds fallback templates (a component's defaults, which the app may override).
pub fn add_template_source(
    app: &mut App,
    f: impl Fn(&str) -> Option<String> + Send + Sync + 'static,
) {
    let mut all = app
        .extensions()
        .get::<TemplateSources>()
        .cloned()
        .unwrap_or_default();
    all.0.push(Arc::new(f));
    app.extensions().insert(all);
}

/// Builds the public URL of a static asset, with a content version so that it can be
/// cached for good.
pub trait AssetUrls: Send + Sync + 'static {
    /// The URL of `path` (`css/site.css` → `/static/css/site.css?v=3f2a…`).
    fn url(&self, path: &str) -> String;
}

/// The app's [`AssetUrls`], when static files are served.
#[derive(Clone)]
pub struct SharedAssetUrls(pub Arc<dyn AssetUrls>);

impl std::fmt::Debug for SharedAssetUrls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SharedAssetUrls")
    }
}

/// Renders a named template outside a request (mail bodies).
pub trait Renderer: Send + Sync + 'static {
    /// Renders `template` with `context`; `Ok(None)` when no such template exists.
    fn render(
        &self,
        template: &str,
        context: &serde_json::Value,
    ) -> Result<Option<String>, crate::Error>;
}

/// The app's [`Renderer`], once the views are set up (filled when the app starts).
#[derive(Clone, Default)]
pub struct SharedTemplates(pub Arc<std::sync::OnceLock<Arc<dyn Renderer>>>);

impl std::fmt::Debug for SharedTemplates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SharedTemplates")
    }
}

/// Renders the page a response carries (a handler's view) on the way out, from the
/// request's method and path-and-query; other responses pass through unchanged.
///
/// The page travels as a response extension, so the HTTP stack calls this only for
/// responses that carry extensions.
pub type PageFn = Arc<
    dyn Fn(
            axum::response::Response,
            &http::Method,
            Option<&http::uri::PathAndQuery>,
        ) -> axum::response::Response
        + Send
        + Sync
        + 'static,
>;

/// The app's [`PageFn`], set by the views plugin when the app starts.
///
/// The HTTP stack's fused core service calls it once per response, so that pages
/// whose templates need nothing of the request beyond its method and URI cost no
/// per-route layer. When the app has registered request-dependent context
/// ([`add_template_context`], the view crate's context values), those read the
/// request's extensions as inner layers (sessions) left them; the views plugin then
/// renders pages in a per-route layer instead, and this hook finds nothing to do.
#[derive(Clone, Default)]
pub struct PageRendering(pub Arc<std::sync::OnceLock<PageFn>>);

impl std::fmt::Debug for PageRendering {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PageRendering")
    }
}
