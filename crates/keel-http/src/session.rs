//! Sessions and flash messages.
//!
//! ```
//! use keel_core::{App, Router, routing::get};
//! use keel_http::session::Session;
//!
//! async fn visit(session: Session) -> String {
//!     let n: u32 = session.get("visits").unwrap_or(0) + 1;
//!     session.insert("visits", n);
//!     format!("visit {n}")
//! }
//!
//! let app = App::new("demo")
//!     .plugin(keel_http::session::plugin)
//!     .routes(Router::new().route("/", get(visit)));
//! ```
//!
//! `[session] store` picks where sessions live: `cookie` (default: the whole session,
//! signed and encrypted with the app's secret key, in the cookie), `memory` (this
//! process), or a store another plugin registers (`database` from `keel::db`).
//! The cookie is `HttpOnly`, `SameSite=Lax`, and `Secure` outside development.
//! Sessions expire after `idle_timeout` without use and `absolute_timeout` after they
//! were created. A cookie that fails to decrypt (tampered, or signed with another key)
//! starts a new, empty session and is logged.
//!
//! The CSRF protection ([`crate::csrf`]) keeps its secret in the session; the plugin
//! installs both.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use axum_core::extract::FromRequestParts;
use base64::Engine as _;
use cookie::{Cookie, CookieJar, Key, SameSite};
use http::HeaderValue;
use http::header::{COOKIE, SET_COOKIE};
use http::request::Parts;
use keel_core::config::ConfigProblem;
use keel_core::config::duration;
use keel_core::session::{
    MemoryStore, SessionRecord, SessionStore, SessionStores, register_store, unix_now,
};
use keel_core::{App, AppState, Environment, Error, layer_order};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha512};

use crate::middleware::fast::RouteService;

/// The session key under which flash messages wait for the next page.
const FLASH_KEY: &str = "_flash";

/// The session key that holds the cookie's lifetime when it is not the default.
const MAX_AGE_KEY: &str = "_keel_max_age";

/// The `[session]` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SessionSettings {
    /// `cookie`, `memory`, or the name a plugin registered (`database`).
    pub store: String,
    /// The cookie's name.
    pub cookie_name: String,
    /// A session unused for this long expires.
    #[serde(with = "duration")]
    pub idle_timeout: Duration,
    /// A session expires this long after it was created, used or not.
    #[serde(with = "duration")]
    pub absolute_timeout: Duration,
    /// The cookie's `Secure` flag. Unset: on outside development.
    pub secure: Option<bool>,
    /// `lax` (default), `strict` or `none`.
    pub same_site: String,
    /// Redis server for `store = "redis"` (feature `redis`). Unset: `REDIS_URL` / `redis.url`.
    pub redis_url: Option<String>,
    /// Key prefix of the Redis store.
    pub redis_prefix: String,
    /// How often expired server-side sessions are removed.
    #[serde(with = "duration")]
    pub cleanup_interval: Duration,
}

impl Default for SessionSettings {
    fn default() -> Self {
        Self {
            store: "cookie".into(),
            cookie_name: "keel_session".into(),
            idle_timeout: Duration::from_secs(14 * 24 * 3600),
            absolute_timeout: Duration::from_secs(30 * 24 * 3600),
            secure: None,
            same_site: "lax".into(),
            redis_url: None,
            redis_prefix: "keel:session:".into(),
            cleanup_interval: Duration::from_secs(3600),
        }
    }
}

#[derive(Clone)]
enum Backend {
    Cookie,
    Store(Arc<dyn SessionStore>),
}

/// Everything the session layer needs, built once.
#[derive(Clone)]
pub struct SessionConfig {
    backend: Backend,
    key: Key,
    cookie_name: String,
    idle: u64,
    absolute: u64,
    secure: bool,
    same_site: SameSite,
}

impl std::fmt::Debug for SessionConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionConfig")
            .field("cookie_name", &self.cookie_name)
            .field("idle", &self.idle)
            .field("absolute", &self.absolute)
            .field("secure", &self.secure)
            .finish_non_exhaustive()
    }
}

/// The cookie key derived from the app's secret key.
pub fn cookie_key(secret: &str) -> Key {
    let mut h = Sha512::new();
    h.update(b"keel.session.v1:");
    h.update(secret.as_bytes());
    Key::from(&h.finalize())
}

#[derive(Debug, Default)]
struct Inner {
    /// The id the request came with (store-backed sessions).
    loaded_id: Option<String>,
    /// The id to answer with.
    id: Option<String>,
    data: serde_json::Map<String, serde_json::Value>,
    created: u64,
    expires: u64,
    modified: bool,
    destroyed: bool,
}

/// The current request's session. Cheap to clone; changes are saved when the response
/// goes out.
#[derive(Clone, Debug)]
pub struct Session(Arc<Mutex<Inner>>);

/// A flash message: shown on the next page, then gone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    /// `info`, `success`, `warning` or `error` (free text; templates style by it).
    pub level: String,
    /// The text.
    pub text: String,
}

fn new_id() -> String {
    let mut bytes = [0u8; 32];
    keel_core::random::fill(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

impl Session {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The value under `key`, if present and of type `T`.
    pub fn get<T: DeserializeOwned>(&self, key: &str) -> Option<T> {
        let inner = self.lock();
        inner
            .data
            .get(key)
            .and_then(|v| serde_json::from_value(v.clone()).ok())
    }

    /// Stores `value` under `key`.
    pub fn insert(&self, key: &str, value: impl Serialize) {
        if let Ok(v) = serde_json::to_value(value) {
            let mut inner = self.lock();
            inner.data.insert(key.to_owned(), v);
            inner.modified = true;
        }
    }

    /// Removes `key`, returning its value.
    pub fn remove(&self, key: &str) -> Option<serde_json::Value> {
        let mut inner = self.lock();
        let v = inner.data.remove(key);
        inner.modified |= v.is_some();
        v
    }

    /// Whether the session holds nothing.
    pub fn is_empty(&self) -> bool {
        self.lock().data.is_empty()
    }

    /// The session id (store-backed sessions and cookie sessions alike have one).
    pub fn id(&self) -> Option<String> {
        self.lock().id.clone()
    }

    /// Gives the session a new id and keeps its values: call it on login and on any
    /// change of privilege, so that an id planted before cannot ride along.
    pub fn rotate(&self) {
        let mut inner = self.lock();
        inner.id = Some(new_id());
        inner.modified = true;
    }

    /// How long the browser keeps the session cookie: `None` until the browser closes
    /// ("remember me" unticked), `Some(d)` for `d` (capped by the idle timeout, after
    /// which the session expires anyway). The default is the idle timeout.
    pub fn set_max_age(&self, max_age: Option<std::time::Duration>) {
        self.insert(MAX_AGE_KEY, max_age.map(|d| d.as_secs()));
    }

    /// Ends the session: its values are dropped, the stored copy deleted and the
    /// cookie removed (logout).
    pub fn destroy(&self) {
        let mut inner = self.lock();
        inner.data.clear();
        inner.destroyed = true;
        inner.modified = true;
    }

    /// Queues a flash message for the next page.
    pub fn flash(&self, level: &str, text: impl Into<String>) {
        let mut messages: Vec<Message> = self.get(FLASH_KEY).unwrap_or_default();
        messages.push(Message {
            level: level.to_owned(),
            text: text.into(),
        });
        self.insert(FLASH_KEY, messages);
    }

    /// Takes the queued flash messages (they are shown once).
    pub fn take_messages(&self) -> Vec<Message> {
        self.remove(FLASH_KEY)
            .and_then(|v| serde_json::from_value(v).ok())
            .unwrap_or_default()
    }

    /// A session not tied to any request (for tests and background work).
    pub fn detached() -> Self {
        Session(Arc::new(Mutex::new(Inner {
            id: Some(new_id()),
            created: unix_now(),
            ..Inner::default()
        })))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Session {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Error> {
        parts.extensions.get::<Session>().cloned().ok_or_else(|| {
            Error::internal_msg("sessions are not installed (keel::session::plugin)")
        })
    }
}

#[derive(Serialize, Deserialize)]
struct CookiePayload {
    id: String,
    created: u64,
    expires: u64,
    data: serde_json::Map<String, serde_json::Value>,
}

fn request_cookie(req: &Request, name: &str) -> Option<String> {
    req.headers()
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| Cookie::parse(c.trim().to_owned()).ok())
        .find(|c| c.name() == name)
        .map(|c| c.value().to_owned())
}

impl SessionConfig {
    /// Builds the config from the section, the environment and the secret key.
    fn new(
        settings: &SessionSettings,
        environment: Environment,
        secret: &str,
        backend: Backend,
    ) -> Self {
        Self {
            backend,
            key: cookie_key(secret),
            cookie_name: settings.cookie_name.clone(),
            idle: settings.idle_timeout.as_secs().max(1),
            absolute: settings.absolute_timeout.as_secs().max(1),
            secure: settings
                .secure
                .unwrap_or(environment != Environment::Development),
            same_site: match settings.same_site.as_str() {
                "strict" => SameSite::Strict,
                "none" => SameSite::None,
                _ => SameSite::Lax,
            },
        }
    }

    /// The session the request's cookie names, when that needs no store lookup: no
    /// cookie, or the session in the cookie itself. `Err` gives back the cookie value
    /// to look up in the store ([`load`](Self::load)).
    fn load_now(&self, cookie: Option<String>) -> Result<Inner, String> {
        let now = unix_now();
        let Some(raw) = cookie else {
            return Ok(self.fresh(now));
        };
        if matches!(self.backend, Backend::Store(_)) {
            return Err(raw);
        }
        let mut jar = CookieJar::new();
        jar.add_original(Cookie::new(self.cookie_name.clone(), raw));
        let Some(plain) = jar.private(&self.key).get(&self.cookie_name) else {
            tracing::warn!(target: "keel::session", "session cookie failed to decrypt (tampered or another key); starting a new session");
            return Ok(self.fresh(now));
        };
        Ok(match serde_json::from_str::<CookiePayload>(plain.value()) {
            Ok(p) => {
                let record = SessionRecord {
                    data: p.data,
                    created: p.created,
                    expires: p.expires,
                };
                if record.expired(now, self.absolute) {
                    return Ok(self.fresh(now));
                }
                Inner {
                    loaded_id: Some(p.id.clone()),
                    id: Some(p.id),
                    data: record.data,
                    created: record.created,
                    expires: record.expires,
                    ..Inner::default()
                }
            }
            Err(_) => self.fresh(now),
        })
    }

    fn fresh(&self, now: u64) -> Inner {
        Inner {
            created: now,
            expires: now + self.idle,
            ..Inner::default()
        }
    }

    async fn load(&self, cookie: Option<String>) -> Inner {
        let raw = match self.load_now(cookie) {
            Ok(inner) => return inner,
            Err(raw) => raw,
        };
        let Backend::Store(store) = &self.backend else {
            return self.fresh(unix_now());
        };
        let now = unix_now();
        match store.load(&raw).await {
            Ok(Some(record)) if !record.expired(now, self.absolute) => Inner {
                loaded_id: Some(raw.clone()),
                id: Some(raw),
                data: record.data,
                created: record.created,
                expires: record.expires,
                ..Inner::default()
            },
            Ok(Some(_)) => {
                let _ = store.delete(&raw).await;
                self.fresh(now)
            }
            Ok(None) => self.fresh(now),
            Err(e) => {
                tracing::error!(target: "keel::session", error = %e, "session store failed to load; starting a new session");
                self.fresh(now)
            }
        }
    }

    fn cookie(&self, value: String, max_age: Option<i64>) -> HeaderValue {
        let mut c = Cookie::build((self.cookie_name.clone(), value))
            .path("/")
            .http_only(true)
            .secure(self.secure)
            .same_site(self.same_site);
        if let Some(max_age) = max_age {
            c = c.max_age(cookie::time::Duration::seconds(max_age));
        }
        let c = c.build();
        HeaderValue::from_str(&c.to_string()).unwrap_or(HeaderValue::from_static(""))
    }

    /// What saving `inner` takes: nothing, clearing the cookie (and deleting the
    /// stored session), or writing the session under an id with a cookie lifetime.
    fn plan(&self, inner: &mut Inner) -> Plan {
        let now = unix_now();
        // Refresh the idle expiry when a tenth of it has passed, not on every request.
        let refresh = inner.loaded_id.is_some()
            && inner.expires.saturating_sub(now) < self.idle - self.idle / 10;
        if inner.destroyed {
            return Plan::Clear;
        }
        if (!inner.modified && !refresh) || (inner.data.is_empty() && inner.loaded_id.is_none()) {
            return Plan::Nothing;
        }
        let id = inner.id.get_or_insert_with(new_id).clone();
        inner.expires = now + self.idle;
        let idle = i64::try_from(self.idle).unwrap_or(i64::MAX);
        let max_age = match inner.data.get(MAX_AGE_KEY) {
            // Until the browser closes.
            Some(serde_json::Value::Null) => None,
            Some(v) => Some(v.as_i64().unwrap_or(idle).min(idle)),
            None => Some(idle),
        };
        Plan::Write { id, max_age }
    }

    /// Whether saving `inner` needs no store I/O (the cookie backend always; a store
    /// only when there is nothing to save).
    fn store_is_now(&self, inner: &Inner) -> bool {
        matches!(self.backend, Backend::Cookie)
            || (!inner.destroyed && !inner.modified && inner.loaded_id.is_none())
    }

    /// Saves the session without store I/O: the cookie backend, or a session with
    /// nothing to save ([`store_is_now`](Self::store_is_now)).
    fn store_now(&self, inner: &mut Inner, response: &mut Response) {
        match self.plan(inner) {
            Plan::Nothing => {}
            Plan::Clear => {
                if inner.loaded_id.is_some() {
                    response
                        .headers_mut()
                        .append(SET_COOKIE, self.cookie(String::new(), Some(0)));
                }
            }
            Plan::Write { id, max_age } => {
                let payload = CookiePayload {
                    id,
                    created: inner.created,
                    expires: inner.expires,
                    data: std::mem::take(&mut inner.data),
                };
                let json = serde_json::to_string(&payload).unwrap_or_default();
                let mut jar = CookieJar::new();
                jar.private_mut(&self.key)
                    .add(Cookie::new(self.cookie_name.clone(), json));
                let value = jar
                    .get(&self.cookie_name)
                    .map(|c| c.value().to_owned())
                    .unwrap_or_default();
                response
                    .headers_mut()
                    .append(SET_COOKIE, self.cookie(value, max_age));
            }
        }
    }

    async fn store(&self, inner: &mut Inner, response: &mut Response) {
        let Backend::Store(store) = &self.backend else {
            self.store_now(inner, response);
            return;
        };
        match self.plan(inner) {
            Plan::Nothing => {}
            Plan::Clear => {
                if let Some(id) = &inner.loaded_id {
                    if let Err(e) = store.delete(id).await {
                        tracing::error!(target: "keel::session", error = %e, "session store failed to delete");
                    }
                    response
                        .headers_mut()
                        .append(SET_COOKIE, self.cookie(String::new(), Some(0)));
                }
            }
            Plan::Write { id, max_age } => {
                if let Some(old) = inner.loaded_id.as_ref().filter(|old| **old != id)
                    && let Err(e) = store.delete(old).await
                {
                    tracing::error!(target: "keel::session", error = %e, "session store failed to delete the rotated session");
                }
                let record = SessionRecord {
                    data: std::mem::take(&mut inner.data),
                    created: inner.created,
                    expires: inner.expires,
                };
                if let Err(e) = store.save(&id, &record).await {
                    tracing::error!(target: "keel::session", error = %e, "session store failed to save");
                    return;
                }
                response
                    .headers_mut()
                    .append(SET_COOKIE, self.cookie(id, max_age));
            }
        }
    }
}

/// What [`SessionConfig::plan`] found to do.
enum Plan {
    Nothing,
    Clear,
    Write { id: String, max_age: Option<i64> },
}

/// The session layer the plugin installs: [`SessionService`] around each route.
#[derive(Clone, Debug)]
pub struct SessionLayer(Arc<SessionConfig>);

impl SessionLayer {
    /// Sessions as `config` says.
    pub fn new(config: Arc<SessionConfig>) -> Self {
        Self(config)
    }
}

impl<S> tower_layer::Layer<S> for SessionLayer {
    type Service = SessionService<S>;

    fn layer(&self, inner: S) -> SessionService<S> {
        SessionService {
            inner,
            config: Arc::clone(&self.0),
        }
    }
}

/// Loads the request's session before the inner service and saves it after. When
/// neither step needs the store (the cookie backend, or a request without a session
/// cookie), the inner service is called directly and its future is not boxed; a
/// store's I/O runs in a boxed future.
#[derive(Clone, Debug)]
pub struct SessionService<S> {
    inner: S,
    config: Arc<SessionConfig>,
}

impl<S: RouteService> tower_service::Service<Request> for SessionService<S> {
    type Response = Response;
    type Error = std::convert::Infallible;
    type Future = SessionFuture<S::Future>;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request) -> Self::Future {
        let cookie = request_cookie(&req, &self.config.cookie_name);
        match self.config.load_now(cookie) {
            Ok(inner) => {
                let session = Session(Arc::new(Mutex::new(inner)));
                req.extensions_mut().insert(session.clone());
                SessionFuture {
                    state: SessionState::Inner {
                        fut: self.inner.call(req),
                        session: Some((session, Arc::clone(&self.config))),
                    },
                }
            }
            Err(raw) => {
                // The store is asked: the whole request runs in one boxed future, with
                // the ready service and a fresh clone left in its place.
                let inner = crate::middleware::fast::take_ready(&mut self.inner);
                let config = Arc::clone(&self.config);
                let fut: futures_util::future::BoxFuture<'static, Response> =
                    Box::pin(async move {
                        let session = Session(Arc::new(Mutex::new(config.load(Some(raw)).await)));
                        req.extensions_mut().insert(session.clone());
                        let mut response = crate::middleware::fast::respond(inner, req).await;
                        let mut inner = std::mem::take(&mut *session.lock());
                        config.store(&mut inner, &mut response).await;
                        response
                    });
                SessionFuture {
                    state: SessionState::Boxed { fut },
                }
            }
        }
    }
}

pin_project_lite::pin_project! {
    /// The future of [`SessionService`].
    pub struct SessionFuture<F> {
        #[pin]
        state: SessionState<F>,
    }
}

pin_project_lite::pin_project! {
    #[project = SessionStateProj]
    enum SessionState<F> {
        // The inner service's future; the session is saved (and taken) when it is ready.
        Inner {
            #[pin]
            fut: F,
            session: Option<(Session, Arc<SessionConfig>)>,
        },
        // Store I/O: the whole request, or its saving step.
        Boxed {
            fut: futures_util::future::BoxFuture<'static, Response>,
        },
    }
}

impl<F> std::future::Future for SessionFuture<F>
where
    F: std::future::Future<Output = Result<Response, std::convert::Infallible>>,
{
    type Output = Result<Response, std::convert::Infallible>;

    fn poll(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        use std::task::Poll;
        let mut state = self.project().state;
        let (mut response, session, config) = match state.as_mut().project() {
            SessionStateProj::Inner { fut, session } => {
                let response = match std::task::ready!(fut.poll(cx)) {
                    Ok(res) => res,
                    Err(never) => match never {},
                };
                let Some((session, config)) = session.take() else {
                    // Polled again after completion: nothing left to save.
                    return Poll::Ready(Ok(response));
                };
                (response, session, config)
            }
            SessionStateProj::Boxed { fut } => return fut.as_mut().poll(cx).map(Ok),
        };
        let mut inner = std::mem::take(&mut *session.lock());
        if config.store_is_now(&inner) {
            config.store_now(&mut inner, &mut response);
            return Poll::Ready(Ok(response));
        }
        let mut fut: futures_util::future::BoxFuture<'static, Response> = Box::pin(async move {
            config.store(&mut inner, &mut response).await;
            response
        });
        match fut.as_mut().poll(cx) {
            Poll::Ready(response) => Poll::Ready(Ok(response)),
            Poll::Pending => {
                state.set(SessionState::Boxed { fut });
                Poll::Pending
            }
        }
    }
}

/// The session middleware as an `axum::middleware::from_fn_with_state` function:
/// loads the session before the handler, saves it after. The plugin installs the
/// equivalent [`SessionLayer`], which skips the boxing where no store is asked.
pub async fn session_middleware(
    State(config): State<Arc<SessionConfig>>,
    mut req: Request,
    next: Next,
) -> Response {
    let cookie = request_cookie(&req, &config.cookie_name);
    let session = Session(Arc::new(Mutex::new(config.load(cookie).await)));
    req.extensions_mut().insert(session.clone());
    let mut response = next.run(req).await;
    let mut inner = std::mem::take(&mut *session.lock());
    config.store(&mut inner, &mut response).await;
    response
}

/// The sessions plugin: reads `[session]`, installs the session layer and the CSRF
/// protection, and cleans up expired server-side sessions periodically.
pub fn plugin(app: &mut App) {
    if !app.mark_installed("keel-session") {
        return;
    }
    let settings: SessionSettings = app.section("session");
    let environment = app.config().environment();
    let secret = app.app_settings().secret_key().to_owned();
    if !["lax", "strict", "none"].contains(&settings.same_site.as_str()) {
        app.config_problem(ConfigProblem {
            key: "session.same_site".into(),
            source: "config".into(),
            message: format!("`{}` is not one of lax, strict, none", settings.same_site),
        });
    }
    if settings.store == "memory" {
        register_store(app, "memory", Arc::new(MemoryStore::new()));
    }
    #[cfg(feature = "redis")]
    if settings.store == "redis" {
        app.known_section("redis");
        let url = settings
            .redis_url
            .clone()
            .or_else(|| app.config().get::<String>("redis.url").ok().flatten())
            .unwrap_or_else(|| "redis://127.0.0.1:6379/".into());
        let store = crate::session_redis::RedisStore::new(settings.redis_prefix.clone());
        register_store(app, "redis", Arc::new(store.clone()));
        app.provide_with(move |_| async move {
            store.connect(&url).await?;
            Ok(RedisConnected)
        });
    }
    crate::csrf::install(app);
    // Pages rendered by templates get the CSRF token and the flash messages.
    keel_core::template::add_template_context(app, |parts| {
        let mut values = serde_json::Map::new();
        if let Some(session) = parts.extensions.get::<Session>() {
            values.insert(
                "__keel_csrf".into(),
                serde_json::Value::String(crate::csrf::token(session)),
            );
            values.insert(
                "messages".into(),
                serde_json::to_value(session.take_messages()).unwrap_or_default(),
            );
        }
        values
    });
    // Other plugins may register their store after this one: resolve it at the end.
    app.add_plugin(move |app: &mut App| {
        let backend = if settings.store == "cookie" {
            Backend::Cookie
        } else {
            match app
                .extensions()
                .get::<SessionStores>()
                .and_then(|s| s.0.get(&settings.store).cloned())
            {
                Some(store) => Backend::Store(store),
                None => {
                    app.config_problem(ConfigProblem {
                        key: "session.store".into(),
                        source: "config".into(),
                        message: format!(
                            "no session store `{}`: use cookie or memory, or install the plugin that provides it (database: keel::db::plugin)",
                            settings.store
                        ),
                    });
                    Backend::Cookie
                }
            }
        };
        if let Backend::Store(store) = &backend {
            let store = Arc::clone(store);
            let every = settings.cleanup_interval;
            app.provide_with(move |_| async move {
                Ok(SessionCleanup(spawn_cleanup(store, every)))
            });
        }
        let config = Arc::new(SessionConfig::new(&settings, environment, &secret, backend));
        app.extensions().insert(Arc::clone(&config));
        app.wrap_router(layer_order::SESSION, move |router, _state: &AppState| {
            router.layer(SessionLayer::new(Arc::clone(&config)))
        });
    });
}

/// Marks that the Redis session store connected at startup.
#[derive(Debug, Clone, Copy)]
pub struct RedisConnected;

/// The periodic cleanup task of a server-side store (stops with the app).
#[derive(Debug)]
pub struct SessionCleanup(tokio::task::JoinHandle<()>);

impl Drop for SessionCleanup {
    fn drop(&mut self) {
        self.0.abort();
    }
}

fn spawn_cleanup(store: Arc<dyn SessionStore>, every: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every.max(Duration::from_secs(1)));
        tick.tick().await;
        loop {
            tick.tick().await;
            match store.cleanup().await {
                Ok(n) if n > 0 => {
                    tracing::info!(target: "keel::session", removed = n, "expired sessions removed");
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(target: "keel::session", error = %e, "session cleanup failed");
                }
            }
        }
    })
}
