//! The shared state every handler can reach: [`AppState`], its typed [`Extensions`],
//! and the [`Dep`] extractor.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::ops::Deref;
use std::sync::Arc;
use std::time::Duration;

use axum_core::extract::FromRequestParts;
use futures_util::future::BoxFuture;
use http::request::Parts;

use crate::config::{Config, Environment};
use crate::error::{Error, ErrorClassifier};
use crate::routing::{RouteInfo, UrlError, UrlMap};
use crate::settings::AppSettings;

/// A map from type to one shared value of that type.
#[derive(Clone, Default)]
pub struct Extensions {
    map: HashMap<TypeId, Arc<dyn Any + Send + Sync>>,
}

impl fmt::Debug for Extensions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Extensions")
            .field("len", &self.map.len())
            .finish()
    }
}

impl Extensions {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    /// Inserts `value`, replacing any previous value of the same type.
    pub fn insert<T: Send + Sync + 'static>(&mut self, value: T) {
        self.map.insert(TypeId::of::<T>(), Arc::new(value));
    }

    /// Inserts an already shared value.
    pub fn insert_arc<T: Send + Sync + 'static>(&mut self, value: Arc<T>) {
        self.map.insert(TypeId::of::<T>(), value);
    }

    /// The value of type `T`, if any.
    pub fn get<T: Send + Sync + 'static>(&self) -> Option<&T> {
        self.map
            .get(&TypeId::of::<T>())
            .and_then(|v| v.downcast_ref::<T>())
    }

    /// The value of type `T` as a shared pointer, if any.
    pub fn get_arc<T: Send + Sync + 'static>(&self) -> Option<Arc<T>> {
        self.map
            .get(&TypeId::of::<T>())
            .and_then(|v| Arc::clone(v).downcast::<T>().ok())
    }

    /// Whether a value of type `T` is present.
    pub fn contains<T: Send + Sync + 'static>(&self) -> bool {
        self.map.contains_key(&TypeId::of::<T>())
    }

    /// Moves every value of `other` into `self`.
    pub fn extend(&mut self, other: Extensions) {
        self.map.extend(other.map);
    }
}

/// A readiness probe: a cheap check that a dependency (database, cache, queue) answers.
pub type ReadinessFn =
    Arc<dyn Fn(AppState) -> BoxFuture<'static, Result<(), String>> + Send + Sync + 'static>;

/// The outcome of one readiness probe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadinessResult {
    /// The probe's name (`database`, `cache`, …).
    pub name: String,
    /// `Ok` or why it failed.
    pub outcome: Result<(), String>,
}

#[derive(Clone)]
pub(crate) struct StateInner {
    pub(crate) name: String,
    pub(crate) config: Config,
    pub(crate) settings: AppSettings,
    pub(crate) extensions: Extensions,
    pub(crate) urls: UrlMap,
    pub(crate) routes: Arc<[RouteInfo]>,
    pub(crate) readiness: Vec<(String, ReadinessFn)>,
    pub(crate) classifiers: Arc<[Arc<dyn ErrorClassifier>]>,
}

/// The app's shared state: config, named routes, and the typed values plugins and the
/// app provided. Every handler can extract it with `axum::extract::State<AppState>`, or
/// extract one provided value with [`Dep`]. Cloning is a reference-count increment.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<StateInner>,
}

impl fmt::Debug for AppState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AppState")
            .field("name", &self.inner.name)
            .field("environment", &self.inner.config.environment())
            .finish_non_exhaustive()
    }
}

impl AppState {
    pub(crate) fn from_inner(inner: StateInner) -> Self {
        Self {
            inner: Arc::new(inner),
        }
    }

    /// A copy of the state with its own reference count: the same name, config,
    /// routes and values (the values are shared, not copied). Cloning either copy
    /// touches only its own counter, which is what a server worker on its own core
    /// wants (see `StartedApp::worker_router`).
    #[must_use]
    pub fn worker_copy(&self) -> Self {
        Self {
            inner: Arc::new((*self.inner).clone()),
        }
    }

    /// The app's name.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// The environment.
    pub fn environment(&self) -> Environment {
        self.inner.config.environment()
    }

    /// The merged configuration (read further sections with [`Config::section`]).
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// The `[app]` section.
    pub fn settings(&self) -> &AppSettings {
        &self.inner.settings
    }

    /// Whether debug mode is on (detailed error pages, template reloading).
    pub fn is_debug(&self) -> bool {
        self.inner.settings.debug(self.inner.config.environment())
    }

    /// The value of type `T` provided to the app, if any.
    pub fn get<T: Send + Sync + 'static>(&self) -> Option<&T> {
        self.inner.extensions.get::<T>()
    }

    /// The value of type `T` as a shared pointer, if any.
    pub fn get_arc<T: Send + Sync + 'static>(&self) -> Option<Arc<T>> {
        self.inner.extensions.get_arc::<T>()
    }

    /// Named routes.
    pub fn urls(&self) -> &UrlMap {
        &self.inner.urls
    }

    /// Builds the path of a named route. See [`UrlMap::url_for`].
    pub fn url_for<'a, K, V>(
        &self,
        name: &str,
        params: impl IntoIterator<Item = &'a (K, V)>,
    ) -> Result<String, UrlError>
    where
        K: AsRef<str> + 'a,
        V: fmt::Display + 'a,
    {
        self.inner.urls.url_for(name, params)
    }

    /// Every recorded route.
    pub fn routes(&self) -> &[RouteInfo] {
        &self.inner.routes
    }

    /// The error classifiers registered by plugins.
    pub fn classifiers(&self) -> &[Arc<dyn ErrorClassifier>] {
        &self.inner.classifiers
    }

    /// The names of the registered readiness probes.
    pub fn readiness_names(&self) -> impl Iterator<Item = &str> {
        self.inner.readiness.iter().map(|(n, _)| n.as_str())
    }

    /// Runs every readiness probe concurrently, each bounded by `timeout`.
    pub async fn check_readiness(&self, timeout: Duration) -> Vec<ReadinessResult> {
        let probes = self.inner.readiness.iter().map(|(name, probe)| {
            let fut = probe(self.clone());
            async move {
                let outcome = match tokio::time::timeout(timeout, fut).await {
                    Ok(outcome) => outcome,
                    Err(_) => Err(format!("no answer within {} ms", timeout.as_millis())),
                };
                ReadinessResult {
                    name: name.clone(),
                    outcome,
                }
            }
        });
        futures_util::future::join_all(probes).await
    }
}

/// Extracts a value of type `T` that the app provided with
/// [`App::provide`](crate::App::provide) (or a plugin did).
///
/// A missing value is a wiring bug: the request gets a 500 and the log names the type.
///
/// ```
/// use keel_core::{App, Dep, routing::get};
///
/// struct Greeter { greeting: String }
///
/// async fn hello(Dep(greeter): Dep<Greeter>) -> String {
///     format!("{}, world", greeter.greeting)
/// }
///
/// let app = App::new("demo")
///     .provide(Greeter { greeting: "Hello".into() })
///     .routes(keel_core::Router::new().route("/", get(hello)));
/// ```
pub struct Dep<T>(pub Arc<T>);

impl<T> Deref for Dep<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T> Clone for Dep<T> {
    fn clone(&self) -> Self {
        Self(Arc::clone(&self.0))
    }
}

impl<T: fmt::Debug> fmt::Debug for Dep<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl<T: Send + Sync + 'static> FromRequestParts<AppState> for Dep<T> {
    type Rejection = Error;

    fn from_request_parts(
        _parts: &mut Parts,
        state: &AppState,
    ) -> impl Future<Output = Result<Self, Self::Rejection>> + Send {
        let found = state.get_arc::<T>();
        async move {
            found.map(Dep).ok_or_else(|| {
                Error::internal_msg(format!(
                    "no value of type `{}` was provided to the app (App::provide)",
                    std::any::type_name::<T>()
                ))
            })
        }
    }
}
