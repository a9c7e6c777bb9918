//! CSRF protection for cookie-authenticated requests.
//!
//! Every unsafe request (`POST`, `PUT`, `PATCH`, `DELETE`) that carries a cookie must
//! 1. come from the app's own origin: a cross-site `Origin`, `Origin: null`, or
//!    `Sec-Fetch-Site: cross-site` is refused; and
//! 2. carry the session's CSRF token, in the `x-csrf-token` header or the `_csrf` form
//!    field (urlencoded bodies) or query parameter (multipart forms, whose bodies are
//!    streamed to disk and not read here).
//!
//! Requests without cookies are not subject to it: a browser cannot be tricked into
//! sending credentials it does not have, and API clients that authenticate with an
//! `Authorization` header carry no ambient authority. A refusal is a 403 problem (or
//! page) whose code says which check failed: `csrf_origin`, `csrf_token_missing`,
//! `csrf_token_invalid`.
//!
//! Opting a path out is explicit: `[csrf] exempt_paths = ["/hooks/"]` (prefixes), or
//! `enabled = false` for the whole app.
//!
//! Tokens are masked with a fresh random pad each time they are rendered, so a page
//! never shows the same bytes twice (BREACH), and compared in constant time.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use http::{Method, header};
use http_body_util::BodyExt as _;
use keel_core::{App, AppState, Error, layer_order};
use serde::{Deserialize, Serialize};

use crate::middleware::fast::{FastOrBoxed, RouteService, boxed, fast, respond, take_ready};
use crate::session::Session;

/// The header that carries the token.
pub const HEADER: &str = "x-csrf-token";
/// The form field (and query parameter) that carries the token.
pub const FIELD: &str = "_csrf";
const SECRET_KEY: &str = "_csrf";
const SECRET_LEN: usize = 32;

/// The `[csrf]` section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CsrfSettings {
    /// Check unsafe cookie-carrying requests (default on).
    pub enabled: bool,
    /// Other origins allowed to post here (`https://admin.example.com`).
    pub trusted_origins: Vec<String>,
    /// Path prefixes that are not checked (webhooks).
    pub exempt_paths: Vec<String>,
}

impl Default for CsrfSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            trusted_origins: Vec::new(),
            exempt_paths: Vec::new(),
        }
    }
}

fn b64() -> base64::engine::GeneralPurpose {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
}

fn secret(session: &Session, create: bool) -> Option<Vec<u8>> {
    if let Some(s) = session
        .get::<String>(SECRET_KEY)
        .and_then(|s| b64().decode(s).ok())
        .filter(|s| s.len() == SECRET_LEN)
    {
        return Some(s);
    }
    if !create {
        return None;
    }
    let s = keel_core::random::bytes(SECRET_LEN);
    session.insert(SECRET_KEY, b64().encode(&s));
    Some(s)
}

/// A token for `session` to put in a form or header (masked anew on every call).
pub fn token(session: &Session) -> String {
    let secret = secret(session, true).unwrap_or_default();
    let pad = keel_core::random::bytes(SECRET_LEN);
    let mut out = pad.clone();
    out.extend(secret.iter().zip(&pad).map(|(s, p)| s ^ p));
    b64().encode(out)
}

/// Whether `token` was made for `session`.
pub fn verify(session: &Session, token: &str) -> bool {
    let Some(secret) = secret(session, false) else {
        return false;
    };
    let Ok(raw) = b64().decode(token.trim()) else {
        return false;
    };
    if raw.len() != 2 * SECRET_LEN {
        return false;
    }
    let (pad, masked) = raw.split_at(SECRET_LEN);
    let diff = masked
        .iter()
        .zip(pad)
        .map(|(m, p)| m ^ p)
        .zip(&secret)
        .fold(0u8, |acc, (a, b)| acc | (a ^ b));
    diff == 0
}

#[derive(Debug)]
struct CsrfConfig {
    trusted: Vec<String>,
    exempt: Vec<String>,
}

fn refuse(code: &'static str, detail: &'static str) -> Response {
    Error::forbidden(detail).with_code(code).into_response()
}

fn same_origin(origin: &str, req: &Request, trusted: &[String]) -> bool {
    if trusted.iter().any(|t| t.eq_ignore_ascii_case(origin)) {
        return true;
    }
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| req.uri().authority().map(http::uri::Authority::as_str));
    let Some(host) = host else { return false };
    let Some(rest) = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"))
    else {
        return false;
    };
    rest.eq_ignore_ascii_case(host)
}

fn query_token(req: &Request) -> Option<String> {
    form_urlencoded::parse(req.uri().query()?.as_bytes())
        .find(|(k, _)| k == FIELD)
        .map(|(_, v)| v.into_owned())
}

/// Whether `req` is left alone: a safe method, no cookie (so no session to ride on),
/// or an exempt path.
fn passes(config: &CsrfConfig, req: &Request) -> bool {
    let unsafe_method = !matches!(
        *req.method(),
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
    );
    if !unsafe_method || !req.headers().contains_key(header::COOKIE) {
        return true;
    }
    let path = req.uri().path();
    config.exempt.iter().any(|p| path.starts_with(p.as_str()))
}

/// The CSRF layer (installed by the sessions plugin, inside the session layer):
/// [`CsrfService`] around each route.
#[derive(Clone)]
struct CsrfLayer(Arc<CsrfConfig>);

impl<S> tower_layer::Layer<S> for CsrfLayer {
    type Service = CsrfService<S>;

    fn layer(&self, inner: S) -> CsrfService<S> {
        CsrfService {
            inner,
            config: Arc::clone(&self.0),
        }
    }
}

/// Checks unsafe requests that carry a cookie; everything else goes straight to the
/// inner service, with its future unboxed.
#[derive(Clone)]
struct CsrfService<S> {
    inner: S,
    config: Arc<CsrfConfig>,
}

impl<S: RouteService> tower_service::Service<Request> for CsrfService<S> {
    type Response = Response;
    type Error = std::convert::Infallible;
    type Future = FastOrBoxed<S::Future>;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> Self::Future {
        if passes(&self.config, &req) {
            return fast(self.inner.call(req));
        }
        let inner = take_ready(&mut self.inner);
        boxed(check(Arc::clone(&self.config), req, inner))
    }
}

/// The check of an unsafe request with a cookie: Origin / Sec-Fetch-Site, then the
/// token (header, query, or urlencoded form field) against the session's.
async fn check<S>(config: Arc<CsrfConfig>, req: Request, inner: S) -> Response
where
    S: tower_service::Service<Request, Response = Response, Error = std::convert::Infallible>,
{
    if let Some(origin) = req.headers().get(header::ORIGIN) {
        let origin = origin.to_str().unwrap_or("null");
        if origin == "null" || !same_origin(origin, &req, &config.trusted) {
            return refuse(
                "csrf_origin",
                "Refused: the request comes from another site (Origin check failed).",
            );
        }
    } else if req
        .headers()
        .get("sec-fetch-site")
        .is_some_and(|v| v.as_bytes() == b"cross-site")
    {
        return refuse(
            "csrf_origin",
            "Refused: the browser says this is a cross-site request (Sec-Fetch-Site).",
        );
    }
    let Some(session) = req.extensions().get::<Session>().cloned() else {
        return refuse(
            "csrf_token_missing",
            "Refused: no session to check the CSRF token against.",
        );
    };
    let mut candidate = req
        .headers()
        .get(HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or_else(|| query_token(&req));
    let is_urlencoded = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"));
    let req = if candidate.is_none() && is_urlencoded {
        // The body is bounded by the outer body limit; read it, find the field, and
        // hand the same bytes on.
        let (parts, body) = req.into_parts();
        let bytes = match body.collect().await {
            Ok(b) => b.to_bytes(),
            Err(e) => {
                return Error::bad_request("Could not read the request body.")
                    .with_source(e)
                    .into_response();
            }
        };
        candidate = form_urlencoded::parse(&bytes)
            .find(|(k, _)| k == FIELD)
            .map(|(_, v)| v.into_owned());
        Request::from_parts(parts, Body::from(bytes))
    } else {
        req
    };
    match candidate {
        None => refuse(
            "csrf_token_missing",
            "Refused: the form or request has no CSRF token (field `_csrf` or header `x-csrf-token`).",
        ),
        Some(t) if verify(&session, &t) => respond(inner, req).await,
        Some(_) => refuse(
            "csrf_token_invalid",
            "Refused: the CSRF token does not belong to this session (reload the page and try again).",
        ),
    }
}

/// Installs the CSRF layer (called by the sessions plugin).
pub(crate) fn install(app: &mut App) {
    let settings: CsrfSettings = app.section("csrf");
    if !settings.enabled {
        tracing::warn!(target: "keel::csrf", "CSRF protection is off (csrf.enabled = false)");
        return;
    }
    let config = Arc::new(CsrfConfig {
        trusted: settings.trusted_origins,
        exempt: settings.exempt_paths,
    });
    app.wrap_router(layer_order::CSRF, move |router, _state: &AppState| {
        router.layer(CsrfLayer(Arc::clone(&config)))
    });
}
