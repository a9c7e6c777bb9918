//! # keel-auth
//!
//! Authentication and authorization for Keel apps, secure by default:
//!
//! | Piece | What it gives |
//! |---|---|
//! | [`models`](mod@models) | users, groups, permissions, API tokens; migrations applied before the app's |
//! | [`password`] | argon2id PHC hashes (parameters from config, upgraded on login), the password policy |
//! | [`flows`] | sign-up, login, logout, password change and reset, email verification, remember-me, API tokens: HTML pages (overridable templates) and JSON |
//! | [`throttle`] | failed logins limited per account and per client address |
//! | [`CurrentUser`], [`RequireUser`], [`RequirePermission`], [`login_required`] | extractors and a router layer |
//! | [`perms`] | Django-style `app.add/change/delete/view_model` permissions, custom ones, groups |
//! | [`tokens`] | personal access tokens (only a hash stored), JWT (HS256, EdDSA, RS256) |
//!
//! ```no_run
//! # mod migrations { pub fn all() -> Vec<keel_db::Migration> { vec![] } }
//! let models = keel_db::Models::new().include(keel_auth::models());
//! let app = keel_core::App::new("blog")
//!     .plugin(keel_db::plugin(models, migrations::all))
//!     .plugin(keel_auth::plugin);
//! ```
//!
//! The plugin needs sessions (`keel::session::plugin`, which `keel::view::plugin`
//! installs) and the database plugin, installed before it.

pub mod commands;
pub mod flows;
pub mod models;
pub mod password;
pub mod perms;
pub mod settings;
pub mod throttle;
pub mod tokens;

mod migrations;

use std::collections::BTreeSet;
use std::marker::PhantomData;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, FromRequestParts, Request};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use http::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use http::request::Parts;
use http::{HeaderValue, Method};
use keel_core::{App, AppState, Error, layer_order};
use keel_db::Db;
use keel_db::sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use keel_http::middleware::fast::{FastOrBoxed, RouteService, boxed, fast, respond, take_ready};
use keel_http::session::Session;
use serde::Serialize;

pub use models::{migrations as auth_migrations, models};
pub use password::{Hasher, HasherSettings, PolicySettings, Verified};
pub use settings::{AuthSettings, JwtSettings, ThrottleSettings};
pub use tokens::{Jwt, NewToken, Signer, TokenRefusal};

/// The session key holding the logged-in user's id.
pub const SESSION_USER: &str = "_auth_user_id";
/// The session key holding the login's password fingerprint.
pub const SESSION_HASH: &str = "_auth_hash";

pub(crate) fn unix_now() -> u64 {
    keel_core::session::unix_now()
}

/// How the current request was authenticated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum AuthMethod {
    /// A login session (cookie).
    Session,
    /// A personal access token, with its scopes.
    Token {
        /// The token's scopes.
        scopes: Vec<String>,
    },
    /// A JWT.
    Jwt,
}

/// The authenticated user of a request, with the permissions it holds (directly and
/// through its groups). In templates it is `user`, with `user.has_perm("blog.change_post")`.
#[derive(Debug, Clone, Serialize)]
pub struct AuthUser {
    /// The user's id.
    pub id: i64,
    /// The address.
    pub email: String,
    /// Staff flag.
    pub is_staff: bool,
    /// Superuser flag (every permission).
    pub is_superuser: bool,
    /// Whether the address is verified.
    pub email_verified: bool,
    /// The permission codenames held.
    pub perms: BTreeSet<String>,
    /// How the request was authenticated.
    pub method: AuthMethod,
}

impl AuthUser {
    /// Whether the user holds `codename` (`blog.change_post`); superusers hold all.
    pub fn has_perm(&self, codename: &str) -> bool {
        self.is_superuser || self.perms.contains(codename)
    }

    /// Whether a token-authenticated request carries `scope` (sessions and JWTs carry
    /// every scope).
    pub fn has_scope(&self, scope: &str) -> bool {
        match &self.method {
            AuthMethod::Token { scopes } => scopes.iter().any(|s| s == scope || s == "*"),
            _ => true,
        }
    }
}

/// `user` in templates: the [`AuthUser`]'s fields, and `user.has_perm(codename)`.
#[derive(Debug)]
struct TemplateUser(Arc<AuthUser>);

impl keel_view::minijinja::value::Object for TemplateUser {
    // Not a map to iterate (an empty map would be false in `{% if user %}`).
    fn repr(self: &Arc<Self>) -> keel_view::minijinja::value::ObjectRepr {
        keel_view::minijinja::value::ObjectRepr::Plain
    }

    fn get_value(
        self: &Arc<Self>,
        key: &keel_view::minijinja::Value,
    ) -> Option<keel_view::minijinja::Value> {
        use keel_view::minijinja::Value;
        let u = &self.0;
        Some(match key.as_str()? {
            "id" => Value::from(u.id),
            "email" => Value::from(u.email.as_str()),
            "is_staff" => Value::from(u.is_staff),
            "is_superuser" => Value::from(u.is_superuser),
            "email_verified" => Value::from(u.email_verified),
            "perms" => Value::from(keel_view::minijinja::value::Serde(&u.perms)),
            "method" => Value::from(keel_view::minijinja::value::Serde(&u.method)),
            _ => return None,
        })
    }

    fn call_method(
        self: &Arc<Self>,
        _state: &mut keel_view::minijinja::State<'_, '_>,
        method: &str,
        args: &[keel_view::minijinja::Value],
    ) -> Result<keel_view::minijinja::Value, keel_view::minijinja::Error> {
        use keel_view::minijinja::{Error as JinjaError, ErrorKind, Value};
        if method != "has_perm" {
            return Err(JinjaError::from(ErrorKind::UnknownMethod));
        }
        let codename = args.first().and_then(Value::as_str).ok_or_else(|| {
            JinjaError::new(
                ErrorKind::InvalidOperation,
                "has_perm takes a permission codename such as \"blog.change_post\"",
            )
        })?;
        Ok(Value::from(self.0.has_perm(codename)))
    }
}

/// Everything the auth layer needs, built once; in the app's extensions.
#[derive(Debug, Clone)]
pub struct Auth {
    /// The `[auth]` section.
    pub settings: Arc<AuthSettings>,
    /// The password hasher.
    pub hasher: Hasher,
    /// Signs the single-use links and session fingerprints.
    pub signer: Signer,
    /// JWTs, when `auth.jwt.enabled`.
    pub jwt: Option<Jwt>,
    /// Failed-login throttling.
    pub throttle: throttle::Throttle,
    /// Custom permissions: `(codename, description)`.
    pub custom_permissions: Arc<Vec<(String, String)>>,
}

impl FromRequestParts<AppState> for Auth {
    type Rejection = Error;

    async fn from_request_parts(_: &mut Parts, state: &AppState) -> Result<Self, Error> {
        state
            .get::<Auth>()
            .cloned()
            .ok_or_else(|| Error::internal_msg("auth is not installed (keel_auth::plugin)"))
    }
}

impl Auth {
    /// The `Auth` of a started app.
    pub fn of(state: &AppState) -> Result<Self, Error> {
        state
            .get::<Auth>()
            .cloned()
            .ok_or_else(|| Error::internal_msg("auth is not installed (keel_auth::plugin)"))
    }

    /// Normalizes an address for storage and lookup (trimmed, lower-cased).
    pub fn normalize_email(email: &str) -> String {
        email.trim().to_lowercase()
    }

    /// Hashes on a blocking thread (argon2 is deliberately slow).
    pub async fn hash_password(&self, password: &str) -> Result<String, Error> {
        let hasher = self.hasher.clone();
        let password = password.to_owned();
        tokio::task::spawn_blocking(move || hasher.hash(&password))
            .await
            .map_err(Error::internal)?
    }

    async fn verify_password(&self, password: &str, stored: &str) -> Result<Verified, Error> {
        let hasher = self.hasher.clone();
        let password = password.to_owned();
        let stored = stored.to_owned();
        tokio::task::spawn_blocking(move || hasher.verify(&password, &stored))
            .await
            .map_err(Error::internal)
    }

    /// Creates a user after checking the address and the password policy. Field
    /// errors come back as a 422 problem naming `/email` or `/password`.
    pub async fn create_user(
        &self,
        db: &Db,
        email: &str,
        password: &str,
    ) -> Result<models::user::Model, Error> {
        let email = Self::normalize_email(email);
        let mut problems = Vec::new();
        if !email_is_plausible(&email) {
            problems.push(keel_core::FieldError::new(
                "email",
                "invalid",
                "Enter a valid email address.",
            ));
        }
        for m in self.settings.password.check(password, &email) {
            problems.push(keel_core::FieldError::new("password", "weak", m));
        }
        if !problems.is_empty() {
            return Err(Error::validation(problems));
        }
        let hash = self.hash_password(password).await?;
        let user = models::user::ActiveModel {
            email: Set(email),
            password: Set(hash),
            is_active: Set(true),
            is_staff: Set(false),
            is_superuser: Set(false),
            email_verified: Set(false),
            date_joined: Set(tokens::unix_now_i64()),
            last_login: Set(None),
            ..Default::default()
        }
        .insert(&**db)
        .await?;
        Ok(user)
    }

    /// The user with address `email`.
    pub async fn find_by_email(
        &self,
        db: &Db,
        email: &str,
    ) -> Result<Option<models::user::Model>, Error> {
        Ok(models::user::Entity::find()
            .filter(models::user::Column::Email.eq(Self::normalize_email(email)))
            .one(&**db)
            .await?)
    }

    /// Sets a user's password (hashing it); other sessions of the user end, since their
    /// fingerprint no longer matches.
    pub async fn set_password(
        &self,
        db: &Db,
        user: models::user::Model,
        password: &str,
    ) -> Result<models::user::Model, Error> {
        let hash = self.hash_password(password).await?;
        let mut active: models::user::ActiveModel = user.into();
        active.password = Set(hash);
        Ok(active.update(&**db).await?)
    }

    /// Checks an address and password, with throttling: the user, or why not.
    pub async fn authenticate(
        &self,
        db: &Db,
        email: &str,
        password: &str,
        client: &str,
    ) -> Result<Result<models::user::Model, LoginRefusal>, Error> {
        let email = Self::normalize_email(email);
        if let Some(wait) = self.throttle.blocked(&email, client).await? {
            return Ok(Err(LoginRefusal::Throttled(wait)));
        }
        let Some(user) = self.find_by_email(db, &email).await? else {
            // Verifying against no hash costs the same time as a real check.
            self.verify_password(password, "").await?;
            self.throttle.failed(&email, client).await?;
            return Ok(Err(LoginRefusal::Invalid));
        };
        let verified = self.verify_password(password, &user.password).await?;
        let user = match verified {
            Verified::No => {
                self.throttle.failed(&email, client).await?;
                return Ok(Err(LoginRefusal::Invalid));
            }
            Verified::Yes => user,
            Verified::YesRehashed(hash) => {
                let mut active: models::user::ActiveModel = user.into();
                active.password = Set(hash);
                active.update(&**db).await?
            }
        };
        // Only someone who knows the password learns that the account is inactive.
        if !user.is_active {
            return Ok(Err(LoginRefusal::Inactive));
        }
        if self.settings.require_verified_email && !user.email_verified {
            return Ok(Err(LoginRefusal::Unverified));
        }
        self.throttle.succeeded(&email).await?;
        Ok(Ok(user))
    }

    /// Logs `user` in on `session`: a new session id (no fixation), the user's id and
    /// password fingerprint stored, the last-login time recorded. Without `remember`,
    /// the login ends when the browser closes.
    pub async fn login(
        &self,
        db: &Db,
        session: &Session,
        user: models::user::Model,
        remember: bool,
    ) -> Result<models::user::Model, Error> {
        let mut active: models::user::ActiveModel = user.into();
        active.last_login = Set(Some(tokens::unix_now_i64()));
        let user = active.update(&**db).await?;
        session.rotate();
        session.insert(SESSION_USER, user.id);
        session.insert(SESSION_HASH, self.signer.session_hash(&user));
        if remember {
            session.set_max_age(Some(self.settings.remember_me));
        } else {
            session.set_max_age(None);
        }
        Ok(user)
    }

    /// Logs out: the session is deleted from its store and its cookie removed.
    pub fn logout(session: &Session) {
        session.destroy();
    }

    /// The [`AuthUser`] of `user`, with its permissions.
    pub async fn auth_user(
        &self,
        db: &Db,
        user: &models::user::Model,
        method: AuthMethod,
    ) -> Result<AuthUser, Error> {
        let perms = if user.is_superuser {
            BTreeSet::new()
        } else {
            perms::codenames_of(db, user.id).await?
        };
        Ok(AuthUser {
            id: user.id,
            email: user.email.clone(),
            is_staff: user.is_staff,
            is_superuser: user.is_superuser,
            email_verified: user.email_verified,
            perms,
            method,
        })
    }
}

/// Whether `email` is an address (garde's email rule, as forms use).
pub(crate) fn email_is_plausible(email: &str) -> bool {
    garde::rules::email::parse_email(email).is_ok()
}

/// Why a login was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginRefusal {
    /// Unknown address or wrong password (which one is not said).
    Invalid,
    /// The right password for an inactive account.
    Inactive,
    /// The right password, but the address is not verified and the app requires it.
    Unverified,
    /// Too many failures: try again after this many seconds.
    Throttled(u64),
}

impl LoginRefusal {
    /// The message for the user.
    pub fn message(self) -> String {
        match self {
            LoginRefusal::Invalid => {
                "Please enter a correct email address and password.".to_owned()
            }
            LoginRefusal::Inactive => "This account is inactive.".to_owned(),
            LoginRefusal::Unverified => {
                "Please verify your email address first: follow the link we sent you.".to_owned()
            }
            LoginRefusal::Throttled(wait) => {
                format!("Too many failed login attempts. Try again in {wait} s.")
            }
        }
    }

    /// As an error (401, 403 or 429 with `Retry-After`).
    pub fn into_error(self) -> Error {
        match self {
            LoginRefusal::Invalid => {
                Error::unauthorized(self.message()).with_code("invalid_credentials")
            }
            LoginRefusal::Inactive => {
                Error::forbidden(self.message()).with_code("inactive_account")
            }
            LoginRefusal::Unverified => {
                Error::forbidden(self.message()).with_code("unverified_email")
            }
            LoginRefusal::Throttled(wait) => Error::from_kind(keel_core::ErrorKind::RateLimited)
                .with_message(self.message())
                .with_code("login_throttled")
                .with_header(
                    http::header::RETRY_AFTER,
                    HeaderValue::from_str(&wait.to_string())
                        .unwrap_or(HeaderValue::from_static("1")),
                ),
        }
    }
}

/// The plugin: `[auth]`, the auth layer (session logins, API tokens, JWTs), the
/// account pages at `auth.mount`, `user` in templates, permissions for every
/// registered model, and the `createsuperuser` command.
pub fn plugin(app: &mut App) {
    with_permissions(&[])(app);
}

/// The plugin, with custom permissions `(codename, description)` besides the
/// per-model ones: `keel_auth::with_permissions(&[("blog.publish_post", "Can publish posts")])`.
pub fn with_permissions(
    custom: &'static [(&'static str, &'static str)],
) -> impl FnOnce(&mut App) + Send + 'static {
    move |app: &mut App| {
        if !app.mark_installed("keel-auth") {
            return;
        }
        let mut settings: AuthSettings = app.section("auth");
        let environment = app.config().environment();
        let hasher_settings =
            settings
                .hasher
                .unwrap_or(if environment == keel_core::Environment::Test {
                    HasherSettings::cheap()
                } else {
                    HasherSettings::default()
                });
        settings.hasher = Some(hasher_settings);
        let secret = app.app_settings().secret_key().to_owned();
        let hasher = match Hasher::new(hasher_settings) {
            Ok(h) => h,
            Err(e) => {
                app.config_problem(keel_core::config::ConfigProblem {
                    key: "auth.hasher".into(),
                    source: "config".into(),
                    message: e.message().to_owned(),
                });
                return;
            }
        };
        let jwt = if settings.jwt.enabled {
            match Jwt::new(&settings.jwt, &secret) {
                Ok(j) => Some(j),
                Err(e) => {
                    app.config_problem(keel_core::config::ConfigProblem {
                        key: "auth.jwt".into(),
                        source: "config".into(),
                        message: e.message().to_owned(),
                    });
                    return;
                }
            }
        } else {
            None
        };
        let throttle = throttle::Throttle::new(settings.throttle.clone());
        let auth = Auth {
            settings: Arc::new(settings.clone()),
            hasher,
            signer: Signer::new(&secret),
            jwt,
            throttle: throttle.clone(),
            custom_permissions: Arc::new(
                custom
                    .iter()
                    .map(|(c, n)| ((*c).to_owned(), (*n).to_owned()))
                    .collect(),
            ),
        };
        app.extensions().insert(auth);
        if !settings.mount.is_empty() {
            let mount = settings.mount.trim_end_matches('/').to_owned();
            app.add_routes(keel_core::routing::Router::new().nest(&mount, flows::routes()));
        }
        keel_core::template::add_template_source(app, flows::builtin_template);
        keel_view::add_context_value(app, "user", |parts| {
            parts
                .extensions
                .get::<Arc<AuthUser>>()
                .map(|u| keel_view::minijinja::Value::from_object(TemplateUser(Arc::clone(u))))
        });
        // Permissions for the app's models and the custom ones, created on start.
        let app_name = app.name().to_owned();
        let tables: Vec<String> = app
            .extensions()
            .get::<keel_db::DataConfig>()
            .map(|d| {
                d.models
                    .names()
                    .filter(|n| !n.starts_with("keel_"))
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        app.on_started(move |state: AppState| async move {
            let auth = Auth::of(&state)?;
            throttle.use_cache(state.get::<keel_cache::Cache>().cloned());
            let Some(db) = state.get::<Db>().cloned() else {
                return Err(Error::config(
                    "keel_auth::plugin needs the database plugin (keel::db::plugin) installed before it",
                ));
            };
            perms::sync(&db, &app_name, &tables, &auth.custom_permissions).await
        });
        let scheme = settings.token_scheme;
        app.wrap_router(layer_order::AUTH, move |router, state: &AppState| {
            let info = Arc::new(LoginInfo {
                login_url: state.url_for("auth_login", &[] as &[(&str, &str)]).ok(),
                scheme: scheme.clone(),
            });
            router.layer(AuthLayer(Arc::new((state.clone(), info))))
        });
        commands::register(app);
    }
}

/// Why the credentials of a request were refused (kept in its extensions, for the
/// 401 message).
#[derive(Debug, Clone, Copy)]
pub struct CredentialsRefused(pub TokenRefusal);

// The auth layer: resolves the request's user from `Authorization: <scheme> <token>`
// (a personal access token, or a JWT in JWT mode) or from the login session.
#[derive(Clone)]
struct AuthLayer(Arc<(AppState, Arc<LoginInfo>)>);

impl<S> tower_layer::Layer<S> for AuthLayer {
    type Service = AuthService<S>;

    fn layer(&self, inner: S) -> AuthService<S> {
        AuthService {
            inner,
            shared: Arc::clone(&self.0),
        }
    }
}

/// Calls the route directly for anonymous requests (no credentials to look up); a
/// token or a logged-in session is resolved against the database in a boxed future.
#[derive(Clone)]
struct AuthService<S> {
    inner: S,
    shared: Arc<(AppState, Arc<LoginInfo>)>,
}

impl<S: RouteService> tower_service::Service<Request> for AuthService<S> {
    type Response = Response;
    type Error = std::convert::Infallible;
    type Future = FastOrBoxed<S::Future>;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request) -> Self::Future {
        let (state, info) = &*self.shared;
        req.extensions_mut().insert(Arc::clone(info));
        let lookup = lookup_of(state, &req);
        if let Lookup::Nothing = lookup {
            return fast(self.inner.call(req));
        }
        let inner = take_ready(&mut self.inner);
        let shared = Arc::clone(&self.shared);
        boxed(async move {
            match resolve(&shared.0, &mut req, lookup).await {
                Ok(()) => respond(inner, req).await,
                Err(e) => e.into_response(),
            }
        })
    }
}

/// What identifies a request's user, found without I/O.
enum Lookup {
    /// Anonymous (or no auth in this app): nothing to look up.
    Nothing,
    /// `Authorization: <scheme> <token>`.
    Token(String),
    /// A login session with this user id.
    Session(Session, i64),
}

fn lookup_of(state: &AppState, req: &Request) -> Lookup {
    let (Some(auth), Some(_)) = (state.get::<Auth>(), state.get::<Db>()) else {
        return Lookup::Nothing;
    };
    let scheme = &auth.settings.token_scheme;
    let bearer = req
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (s, t) = v.split_once(' ')?;
            s.eq_ignore_ascii_case(scheme).then(|| t.trim().to_owned())
        });
    if let Some(token) = bearer {
        return Lookup::Token(token);
    }
    let Some(session) = req.extensions().get::<Session>().cloned() else {
        return Lookup::Nothing;
    };
    match session.get::<i64>(SESSION_USER) {
        Some(id) => Lookup::Session(session, id),
        None => Lookup::Nothing,
    }
}

async fn resolve(state: &AppState, req: &mut Request, lookup: Lookup) -> Result<(), Error> {
    let (Some(auth), Some(db)) = (state.get::<Auth>(), state.get::<Db>()) else {
        return Ok(());
    };
    match lookup {
        Lookup::Nothing => Ok(()),
        Lookup::Token(token) => {
            let found = if token.starts_with(&auth.settings.token_prefix) {
                match tokens::check_token(&**db, &auth.settings.token_prefix, &token).await? {
                    Ok(record) => Ok((
                        record.user_id,
                        AuthMethod::Token {
                            scopes: record
                                .scopes
                                .split_whitespace()
                                .map(str::to_owned)
                                .collect(),
                        },
                    )),
                    Err(r) => Err(r),
                }
            } else if let Some(jwt) = &auth.jwt {
                jwt.check(&token).map(|id| (id, AuthMethod::Jwt))
            } else {
                Err(TokenRefusal::Invalid)
            };
            match found {
                Ok((id, method)) => match models::user::Entity::find_by_id(id).one(&**db).await? {
                    Some(u) if u.is_active => {
                        let user = auth.auth_user(db, &u, method).await?;
                        req.extensions_mut().insert(Arc::new(user));
                    }
                    _ => {
                        req.extensions_mut()
                            .insert(CredentialsRefused(TokenRefusal::Invalid));
                    }
                },
                Err(r) => {
                    req.extensions_mut().insert(CredentialsRefused(r));
                }
            }
            Ok(())
        }
        Lookup::Session(session, id) => {
            let user = models::user::Entity::find_by_id(id).one(&**db).await?;
            let fingerprint = session.get::<String>(SESSION_HASH).unwrap_or_default();
            match user {
                Some(u)
                    if u.is_active
                        && tokens::same(
                            fingerprint.as_bytes(),
                            auth.signer.session_hash(&u).as_bytes(),
                        ) =>
                {
                    let user = auth.auth_user(db, &u, AuthMethod::Session).await?;
                    req.extensions_mut().insert(Arc::new(user));
                }
                // Deleted, deactivated, or the password changed since: the login is over.
                _ => Auth::logout(&session),
            }
            Ok(())
        }
    }
}

/// The request's user, if any: `CurrentUser(Some(user))`.
#[derive(Debug, Clone)]
pub struct CurrentUser(pub Option<Arc<AuthUser>>);

impl<S: Send + Sync> FromRequestParts<S> for CurrentUser {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(CurrentUser(
            parts.extensions.get::<Arc<AuthUser>>().cloned(),
        ))
    }
}

/// A logged-in user, or the request is refused: browsers asking for a page are sent
/// to the login page with `next=`, API clients get a 401 problem.
#[derive(Debug, Clone)]
pub struct RequireUser(pub Arc<AuthUser>);

impl std::ops::Deref for RequireUser {
    type Target = AuthUser;

    fn deref(&self) -> &AuthUser {
        &self.0
    }
}

/// The rejection of [`RequireUser`] and [`RequirePermission`].
#[derive(Debug)]
pub enum AuthRejection {
    /// Send the browser to this login URL.
    Login(String),
    /// A problem (401 or 403).
    Problem(Error),
}

impl IntoResponse for AuthRejection {
    fn into_response(self) -> Response {
        match self {
            AuthRejection::Login(url) => Redirect::to(&url).into_response(),
            AuthRejection::Problem(e) => e.into_response(),
        }
    }
}

/// What a refusal needs to know, put on every request by the auth layer.
#[derive(Debug, Clone)]
struct LoginInfo {
    login_url: Option<String>,
    scheme: String,
}

fn unauthenticated(parts: &Parts) -> AuthRejection {
    let info = parts.extensions.get::<Arc<LoginInfo>>();
    let scheme = info.map_or("Bearer", |i| i.scheme.as_str());
    if let Some(CredentialsRefused(r)) = parts.extensions.get::<CredentialsRefused>() {
        return AuthRejection::Problem(
            Error::unauthorized(r.message())
                .with_code("invalid_token")
                .with_header(
                    WWW_AUTHENTICATE,
                    HeaderValue::from_str(&format!("{scheme} error=\"invalid_token\""))
                        .unwrap_or(HeaderValue::from_static("Bearer")),
                ),
        );
    }
    let browser = parts.method == Method::GET
        && keel_http::problem::prefers_html(parts.headers.get(http::header::ACCEPT));
    if browser && let Some(login) = info.and_then(|i| i.login_url.as_deref()) {
        let next = parts
            .uri
            .path_and_query()
            .map_or("/", |p| p.as_str())
            .to_owned();
        let next: String =
            percent_encoding::utf8_percent_encode(&next, percent_encoding::NON_ALPHANUMERIC)
                .collect();
        return AuthRejection::Login(format!("{login}?next={next}"));
    }
    AuthRejection::Problem(
        Error::unauthorized("You need to log in to do this.")
            .with_code("login_required")
            .with_header(
                WWW_AUTHENTICATE,
                HeaderValue::from_str(scheme).unwrap_or(HeaderValue::from_static("Bearer")),
            ),
    )
}

impl<S: Send + Sync> FromRequestParts<S> for RequireUser {
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, AuthRejection> {
        match parts.extensions.get::<Arc<AuthUser>>() {
            Some(u) => Ok(RequireUser(Arc::clone(u))),
            None => Err(unauthenticated(parts)),
        }
    }
}

/// A permission that a handler can require: see [`permission!`].
pub trait Permission: Send + Sync + 'static {
    /// `app.codename`, such as `blog.change_post`.
    const CODENAME: &'static str;
}

/// Declares a permission type for [`RequirePermission`]:
///
/// ```
/// keel_auth::permission!(
///     /// May edit anyone's posts.
///     pub ChangePost = "blog.change_post"
/// );
/// ```
#[macro_export]
macro_rules! permission {
    ($(#[$meta:meta])* $vis:vis $name:ident = $codename:literal) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy)]
        $vis struct $name;
        impl $crate::Permission for $name {
            const CODENAME: &'static str = $codename;
        }
    };
}

/// A logged-in user holding permission `P`; otherwise the login page / 401, or 403.
#[derive(Debug, Clone)]
pub struct RequirePermission<P>(pub Arc<AuthUser>, PhantomData<P>);

impl<P> std::ops::Deref for RequirePermission<P> {
    type Target = AuthUser;

    fn deref(&self) -> &AuthUser {
        &self.0
    }
}

impl<P: Permission, S: Send + Sync> FromRequestParts<S> for RequirePermission<P> {
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, AuthRejection> {
        let Some(user) = parts.extensions.get::<Arc<AuthUser>>() else {
            return Err(unauthenticated(parts));
        };
        if user.has_perm(P::CODENAME) {
            Ok(RequirePermission(Arc::clone(user), PhantomData))
        } else {
            Err(AuthRejection::Problem(
                Error::forbidden("You do not have permission to do this.")
                    .with_code("permission_denied"),
            ))
        }
    }
}

/// Requires a login for every route of `router` (use it on a router before merging
/// it into the app's).
pub fn login_required(router: keel_core::routing::Router) -> keel_core::routing::Router {
    router.route_layer(axum::middleware::from_fn(
        |req: Request, next: Next| async move {
            if req.extensions().get::<Arc<AuthUser>>().is_some() {
                return next.run(req).await;
            }
            let (parts, _) = req.into_parts();
            unauthenticated(&parts).into_response()
        },
    ))
}

/// The client address (the TCP peer), as the login throttle counts it.
pub fn client_of(parts: &Parts) -> String {
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map_or_else(|| "unknown".to_owned(), |c| c.0.ip().to_string())
}
