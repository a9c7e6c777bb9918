//! The account flows, each an HTML page (template `auth/<name>.html`, which the app
//! overrides by writing its own file of that name) and a JSON variant (send
//! `Content-Type: application/json`): sign-up, login, logout, password change,
//! password reset by emailed link, email verification, and personal access tokens.
//!
//! Responses never say whether an account exists: sign-up answers "check your inbox"
//! either way (an existing address gets a "you already have an account" mail), the
//! reset form does too, and a failed login does not say which part was wrong.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::{FromRequest, Request, State};
use axum::response::{IntoResponse, Redirect, Response};
use http::StatusCode;
use http::header::{CONTENT_TYPE, HOST};
use http::request::Parts;
use keel_core::routing::{Router, delete, get, post};
use keel_core::{AppState, Error, FieldError};
use keel_db::Db;
use keel_db::sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use keel_http::extract::{Path, Query};
use keel_http::form::{FormData, InvalidForm};
use keel_http::session::Session;
use keel_mail::Mail;
use keel_view::view;
use rust_embed::RustEmbed;
use serde::Deserialize;
use serde_json::json;

use crate::models::{api_token, user};
use crate::tokens::Purpose;
use crate::{Auth, AuthMethod, LoginRefusal, RequireUser};

#[derive(RustEmbed)]
#[folder = "templates/"]
struct Builtin;

/// The built-in templates (`auth/…`), behind the app's own.
pub fn builtin_template(name: &str) -> Option<String> {
    Builtin::get(name).map(|f| String::from_utf8_lossy(&f.data).into_owned())
}

/// The account routes (mounted at `auth.mount` by the plugin). Route names:
/// `auth_signup`, `auth_login`, `auth_logout`, `auth_password_change`,
/// `auth_password_reset`, `auth_password_reset_confirm`, `auth_verify`,
/// `auth_verify_resend`, `auth_me`, `auth_tokens`, `auth_token`.
pub fn routes() -> Router {
    Router::new()
        .route("/signup", get(signup_page).post(signup).name("auth_signup"))
        .route("/login", get(login_page).post(login).name("auth_login"))
        .route("/logout", post(logout).name("auth_logout"))
        .route(
            "/password",
            get(password_change_page)
                .post(password_change)
                .name("auth_password_change"),
        )
        .route(
            "/password/reset",
            get(reset_page).post(reset).name("auth_password_reset"),
        )
        .route(
            "/password/reset/{token}",
            get(reset_confirm_page)
                .post(reset_confirm)
                .name("auth_password_reset_confirm"),
        )
        .route("/verify/{token}", get(verify).name("auth_verify"))
        .route("/verify", post(verify_resend).name("auth_verify_resend"))
        .route("/me", get(me).name("auth_me"))
        .route(
            "/tokens",
            get(list_tokens).post(create_token).name("auth_tokens"),
        )
        .route("/tokens/{id}", delete(revoke_token).name("auth_token"))
}

/// A submitted form or JSON object, and which it was (the response follows suit).
#[derive(Debug)]
pub struct Submission {
    /// The fields.
    pub data: FormData,
    /// Whether the client sent JSON (and gets JSON back).
    pub json: bool,
    /// The client's address (for throttling).
    pub client: String,
    /// `scheme://host` of the request, for links in mails.
    pub origin: String,
}

fn origin_of(parts: &Parts, state: &AppState) -> String {
    let host = parts
        .headers
        .get(HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    let scheme = if state.environment() == keel_core::Environment::Production {
        "https"
    } else {
        "http"
    };
    format!("{scheme}://{host}")
}

impl FromRequest<AppState> for Submission {
    type Rejection = Error;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Error> {
        let json = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| ct.starts_with("application/json"));
        let (parts, body) = req.into_parts();
        let client = crate::client_of(&parts);
        let origin = origin_of(&parts, state);
        let req = Request::from_parts(parts, body);
        let data = if json {
            let bytes = Bytes::from_request(req, state)
                .await
                .map_err(|e| Error::bad_request(e.body_text()))?;
            let value: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(&bytes)
                .map_err(|e| {
                    Error::bad_request(format!("The body is not a JSON object: {e}."))
                        .with_code("invalid_json")
                })?;
            let pairs = value
                .into_iter()
                .filter_map(|(k, v)| match v {
                    serde_json::Value::Null => None,
                    serde_json::Value::String(s) => Some((k, s)),
                    other => Some((k, other.to_string())),
                })
                .collect();
            FormData::from_pairs(pairs)
        } else {
            FormData::from_request(req, state).await?
        };
        Ok(Self {
            data,
            json,
            client,
            origin,
        })
    }
}

/// `next` if it is a path on this site (no scheme, no host, no `//` or `\`), else `None`.
pub fn safe_next(next: Option<&str>) -> Option<String> {
    let next = next?.trim();
    let safe = next.starts_with('/')
        && !next.starts_with("//")
        && !next.contains('\\')
        && !next.chars().any(char::is_control);
    safe.then(|| next.to_owned())
}

fn invalid_response(
    json: bool,
    template: &str,
    form: &InvalidForm,
    extra: serde_json::Value,
) -> Response {
    if json {
        let fields = form.errors.iter().flat_map(|(field, messages)| {
            let field = if field.is_empty() {
                "/"
            } else {
                field.as_str()
            };
            messages
                .iter()
                .map(move |m| FieldError::new(field, "invalid", m.clone()))
        });
        return Error::validation(fields.collect::<Vec<_>>()).into_response();
    }
    let mut ctx = json!({ "form": form });
    merge(&mut ctx, extra);
    view(template, ctx)
        .status(StatusCode::UNPROCESSABLE_ENTITY)
        .into_response()
}

fn merge(into: &mut serde_json::Value, extra: serde_json::Value) {
    if let (Some(a), serde_json::Value::Object(b)) = (into.as_object_mut(), extra) {
        a.extend(b);
    }
}

/// A form page with nothing filled in yet.
fn empty_form(template: &str) -> Response {
    view(template, json!({ "form": InvalidForm::default() })).into_response()
}

fn message_page(json: bool, status: StatusCode, title: &str, text: &str) -> Response {
    if json {
        return (status, axum::Json(json!({ "detail": text }))).into_response();
    }
    view("auth/message.html", json!({ "title": title, "text": text }))
        .status(status)
        .into_response()
}

fn form_errors(form: &FormData, e: &Error) -> InvalidForm {
    let mut invalid = InvalidForm {
        values: form_values(form),
        errors: BTreeMap::new(),
    };
    for f in e.fields() {
        invalid.add(&f.field(), f.detail());
    }
    if e.fields().is_empty() {
        invalid.add("", e.message());
    }
    invalid
}

fn form_values(form: &FormData) -> BTreeMap<String, String> {
    ["email", "next", "remember", "name"]
        .iter()
        .filter_map(|k| form.get(k).map(|v| ((*k).to_owned(), v.to_owned())))
        .collect()
}

fn validate<T>(form: &FormData) -> Result<T, InvalidForm>
where
    T: serde::de::DeserializeOwned + garde::Validate,
    T::Context: Default,
{
    form.validate::<T>().map_err(|mut invalid| {
        // Passwords are never sent back into the page.
        invalid.values.retain(|k, _| !k.contains("password"));
        invalid
    })
}

async fn send(
    mail: &Mail,
    to: &str,
    subject: &str,
    template: &str,
    ctx: serde_json::Value,
    fallback: String,
) {
    let email = match mail.templated(to, subject, template, &ctx) {
        Ok(e) => e,
        Err(_) => keel_core::mail::Email {
            to: vec![to.to_owned()],
            subject: subject.to_owned(),
            text: fallback,
            ..Default::default()
        },
    };
    mail.send_later(email);
}

fn url(state: &AppState, name: &str, params: &[(&str, &str)]) -> Result<String, Error> {
    Ok(state.url_for(name, params)?)
}

// ---------------------------------------------------------------------------- sign-up

#[derive(Debug, Deserialize, garde::Validate)]
struct SignupForm {
    #[garde(length(min = 1, max = 254))]
    email: String,
    #[garde(length(min = 1))]
    password: String,
    #[garde(skip)]
    password2: Option<String>,
}

async fn signup_page() -> Response {
    empty_form("auth/signup.html")
}

async fn signup(
    State(state): State<AppState>,
    auth: Auth,
    db: Db,
    mail: Mail,
    sub: Submission,
) -> Result<Response, Error> {
    const PAGE: &str = "auth/signup.html";
    let form = match validate::<SignupForm>(&sub.data) {
        Ok(f) => f,
        Err(invalid) => return Ok(invalid_response(sub.json, PAGE, &invalid, json!({}))),
    };
    let email = Auth::normalize_email(&form.email);
    let mut invalid = InvalidForm {
        values: form_values(&sub.data),
        errors: BTreeMap::new(),
    };
    if !crate::email_is_plausible(&email) {
        invalid.add("email", "Enter a valid email address.");
    }
    if form.password2.as_ref().is_some_and(|p| *p != form.password) {
        invalid.add("password2", "The two passwords differ.");
    }
    // The policy is checked before the address is looked up, so that its answer
    // cannot tell whether the account exists.
    for m in auth.settings.password.check(&form.password, &email) {
        invalid.add("password", m);
    }
    if !invalid.errors.is_empty() {
        return Ok(invalid_response(sub.json, PAGE, &invalid, json!({})));
    }
    let login_url = format!("{}{}", sub.origin, url(&state, "auth_login", &[])?);
    match auth.find_by_email(&db, &email).await? {
        Some(_) => {
            let reset_url = format!("{}{}", sub.origin, url(&state, "auth_password_reset", &[])?);
            send(
                &mail,
                &email,
                "You already have an account",
                "auth/mail/exists",
                json!({ "login_url": login_url, "reset_url": reset_url }),
                format!("Someone (perhaps you) tried to sign up with this address, which already has an account.\n\nLog in: {login_url}\nForgot your password? {reset_url}\n"),
            )
            .await;
            // The same time cost as a new account's hashing.
            let _ = auth.hash_password(&form.password).await;
        }
        None => match auth.create_user(&db, &email, &form.password).await {
            Ok(u) => send_verification(&state, &auth, &mail, &sub.origin, &u).await?,
            Err(e) if e.kind() == keel_core::ErrorKind::Validation => {
                return Ok(invalid_response(
                    sub.json,
                    PAGE,
                    &form_errors(&sub.data, &e),
                    json!({}),
                ));
            }
            // A concurrent sign-up with the same address: the same answer as above.
            Err(e) if e.status() == StatusCode::CONFLICT => {}
            Err(e) => return Err(e),
        },
    }
    Ok(message_page(
        sub.json,
        StatusCode::ACCEPTED,
        "Check your inbox",
        "We sent a message to that address. Follow its link to confirm your account, then log in.",
    ))
}

async fn send_verification(
    state: &AppState,
    auth: &Auth,
    mail: &Mail,
    origin: &str,
    u: &user::Model,
) -> Result<(), Error> {
    let token = auth.signer.link_token(Purpose::Verify, u);
    let link = format!(
        "{origin}{}",
        url(state, "auth_verify", &[("token", token.as_str())])?
    );
    send(
        mail,
        &u.email,
        "Confirm your email address",
        "auth/mail/verify",
        json!({ "verify_url": link }),
        format!("Confirm your email address by opening this link:\n\n{link}\n"),
    )
    .await;
    Ok(())
}

// ---------------------------------------------------------------------------- login

#[derive(Debug, Deserialize, garde::Validate)]
struct LoginForm {
    #[garde(length(min = 1, max = 254))]
    email: String,
    #[garde(length(min = 1, max = 4096))]
    password: String,
    #[garde(skip)]
    remember: Option<String>,
    #[garde(skip)]
    next: Option<String>,
}

#[derive(Debug, Deserialize, garde::Validate)]
#[garde(allow_unvalidated)]
struct NextQuery {
    next: Option<String>,
}

async fn login_page(Query(q): Query<NextQuery>) -> Response {
    let mut form = InvalidForm::default();
    if let Some(next) = safe_next(q.next.as_deref()) {
        form.values.insert("next".into(), next);
    }
    view("auth/login.html", json!({ "form": form })).into_response()
}

async fn login(auth: Auth, db: Db, session: Session, sub: Submission) -> Result<Response, Error> {
    const PAGE: &str = "auth/login.html";
    let form = match validate::<LoginForm>(&sub.data) {
        Ok(f) => f,
        Err(invalid) => return Ok(invalid_response(sub.json, PAGE, &invalid, json!({}))),
    };
    let user = match auth
        .authenticate(&db, &form.email, &form.password, &sub.client)
        .await?
    {
        Ok(u) => u,
        Err(refusal) => {
            if sub.json {
                return Ok(refusal.into_error().into_response());
            }
            let mut invalid = InvalidForm {
                values: form_values(&sub.data),
                errors: BTreeMap::new(),
            };
            invalid.add("", refusal.message());
            let status = match refusal {
                LoginRefusal::Throttled(_) => StatusCode::TOO_MANY_REQUESTS,
                _ => StatusCode::UNPROCESSABLE_ENTITY,
            };
            let mut res = invalid_response(false, PAGE, &invalid, json!({}));
            *res.status_mut() = status;
            return Ok(res);
        }
    };
    let remember = form
        .remember
        .as_deref()
        .is_some_and(|r| matches!(r, "on" | "true" | "1" | "yes"));
    let user = auth.login(&db, &session, user, remember).await?;
    if sub.json {
        let me = auth.auth_user(&db, &user, AuthMethod::Session).await?;
        let token = auth.jwt.as_ref().map(|j| j.issue(user.id)).transpose()?;
        return Ok(axum::Json(json!({ "user": me, "token": token })).into_response());
    }
    let to =
        safe_next(form.next.as_deref()).unwrap_or_else(|| auth.settings.login_redirect.clone());
    Ok(Redirect::to(&to).into_response())
}

async fn logout(auth: Auth, session: Session, sub: Submission) -> Response {
    Auth::logout(&session);
    if sub.json {
        return StatusCode::NO_CONTENT.into_response();
    }
    Redirect::to(&auth.settings.logout_redirect).into_response()
}

// ---------------------------------------------------------------------------- password change

#[derive(Debug, Deserialize, garde::Validate)]
struct PasswordChangeForm {
    #[garde(length(min = 1))]
    old_password: String,
    #[garde(length(min = 1))]
    new_password: String,
    #[garde(skip)]
    new_password2: Option<String>,
}

async fn password_change_page(_user: RequireUser) -> Response {
    empty_form("auth/password_change.html")
}

async fn password_change(
    RequireUser(me): RequireUser,
    auth: Auth,
    db: Db,
    session: Session,
    sub: Submission,
) -> Result<Response, Error> {
    const PAGE: &str = "auth/password_change.html";
    let form = match validate::<PasswordChangeForm>(&sub.data) {
        Ok(f) => f,
        Err(invalid) => return Ok(invalid_response(sub.json, PAGE, &invalid, json!({}))),
    };
    let u = user::Entity::find_by_id(me.id)
        .one(&*db)
        .await?
        .ok_or_else(|| Error::unauthorized("You need to log in to do this."))?;
    let mut invalid = InvalidForm::default();
    if auth
        .verify_password(&form.old_password, &u.password)
        .await?
        == crate::Verified::No
    {
        invalid.add("old_password", "Your old password was entered incorrectly.");
    }
    if form
        .new_password2
        .as_ref()
        .is_some_and(|p| *p != form.new_password)
    {
        invalid.add("new_password2", "The two passwords differ.");
    }
    for m in auth.settings.password.check(&form.new_password, &u.email) {
        invalid.add("new_password", m);
    }
    if !invalid.errors.is_empty() {
        return Ok(invalid_response(sub.json, PAGE, &invalid, json!({})));
    }
    let u = auth.set_password(&db, u, &form.new_password).await?;
    // This session stays logged in (with a new id); the others end.
    let remember = session
        .get::<Option<u64>>("_keel_max_age")
        .flatten()
        .is_some();
    auth.login(&db, &session, u, remember).await?;
    if sub.json {
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    session.flash("success", "Your password was changed.");
    Ok(Redirect::to(&auth.settings.login_redirect).into_response())
}

// ---------------------------------------------------------------------------- password reset

#[derive(Debug, Deserialize, garde::Validate)]
struct ResetForm {
    #[garde(length(min = 1, max = 254))]
    email: String,
}

async fn reset_page() -> Response {
    empty_form("auth/password_reset.html")
}

async fn reset(
    State(state): State<AppState>,
    auth: Auth,
    db: Db,
    mail: Mail,
    sub: Submission,
) -> Result<Response, Error> {
    let form = match validate::<ResetForm>(&sub.data) {
        Ok(f) => f,
        Err(invalid) => {
            return Ok(invalid_response(
                sub.json,
                "auth/password_reset.html",
                &invalid,
                json!({}),
            ));
        }
    };
    if let Some(u) = auth.find_by_email(&db, &form.email).await?
        && u.is_active
    {
        let token = auth.signer.link_token(Purpose::Reset, &u);
        let link = format!(
            "{}{}",
            sub.origin,
            url(
                &state,
                "auth_password_reset_confirm",
                &[("token", token.as_str())]
            )?
        );
        send(
            &mail,
            &u.email,
            "Reset your password",
            "auth/mail/reset",
            json!({ "reset_url": link, "minutes": auth.settings.reset_token_ttl.as_secs() / 60 }),
            format!("Choose a new password by opening this link:\n\n{link}\n\nIf you did not ask for this, ignore this message.\n"),
        )
        .await;
    }
    Ok(message_page(
        sub.json,
        StatusCode::ACCEPTED,
        "Check your inbox",
        "If an account uses that address, we sent it a link to choose a new password.",
    ))
}

async fn user_of_link(
    auth: &Auth,
    db: &Db,
    purpose: Purpose,
    token: &str,
) -> Result<Option<user::Model>, Error> {
    let Some(id) = crate::Signer::link_user(token) else {
        return Ok(None);
    };
    let Some(u) = user::Entity::find_by_id(id).one(&**db).await? else {
        return Ok(None);
    };
    let ttl = match purpose {
        Purpose::Verify => auth.settings.verify_token_ttl,
        _ => auth.settings.reset_token_ttl,
    };
    Ok(auth.signer.check_link(purpose, &u, token, ttl).then_some(u))
}

const BAD_LINK: &str =
    "This link is invalid or has expired (each link works once). Ask for a new one.";

async fn reset_confirm_page(
    auth: Auth,
    db: Db,
    Path(token): Path<String>,
) -> Result<Response, Error> {
    if user_of_link(&auth, &db, Purpose::Reset, &token)
        .await?
        .is_none()
    {
        return Ok(message_page(
            false,
            StatusCode::BAD_REQUEST,
            "Invalid link",
            BAD_LINK,
        ));
    }
    Ok(empty_form("auth/password_reset_confirm.html"))
}

#[derive(Debug, Deserialize, garde::Validate)]
struct NewPasswordForm {
    #[garde(length(min = 1))]
    password: String,
    #[garde(skip)]
    password2: Option<String>,
}

async fn reset_confirm(
    State(state): State<AppState>,
    auth: Auth,
    db: Db,
    session: Session,
    Path(token): Path<String>,
    sub: Submission,
) -> Result<Response, Error> {
    const PAGE: &str = "auth/password_reset_confirm.html";
    let Some(u) = user_of_link(&auth, &db, Purpose::Reset, &token).await? else {
        if sub.json {
            return Err(Error::bad_request(BAD_LINK).with_code("invalid_link"));
        }
        return Ok(message_page(
            false,
            StatusCode::BAD_REQUEST,
            "Invalid link",
            BAD_LINK,
        ));
    };
    let form = match validate::<NewPasswordForm>(&sub.data) {
        Ok(f) => f,
        Err(invalid) => return Ok(invalid_response(sub.json, PAGE, &invalid, json!({}))),
    };
    let mut invalid = InvalidForm::default();
    if form.password2.as_ref().is_some_and(|p| *p != form.password) {
        invalid.add("password2", "The two passwords differ.");
    }
    for m in auth.settings.password.check(&form.password, &u.email) {
        invalid.add("password", m);
    }
    if !invalid.errors.is_empty() {
        return Ok(invalid_response(sub.json, PAGE, &invalid, json!({})));
    }
    let email = u.email.clone();
    // The new hash invalidates the link (and every session of the user).
    auth.set_password(&db, u, &form.password).await?;
    auth.throttle.succeeded(&email).await?;
    if sub.json {
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    session.flash("success", "Your password was set. You can log in now.");
    Ok(Redirect::to(&url(&state, "auth_login", &[])?).into_response())
}

// ---------------------------------------------------------------------------- verification

async fn verify(
    auth: Auth,
    db: Db,
    parts: Parts,
    Path(token): Path<String>,
) -> Result<Response, Error> {
    let json = !keel_http::problem::prefers_html(parts.headers.get(http::header::ACCEPT));
    let Some(u) = user_of_link(&auth, &db, Purpose::Verify, &token).await? else {
        return Ok(message_page(
            json,
            StatusCode::BAD_REQUEST,
            "Invalid link",
            BAD_LINK,
        ));
    };
    let mut active: user::ActiveModel = u.into();
    active.email_verified = Set(true);
    active.update(&*db).await?;
    Ok(message_page(
        json,
        StatusCode::OK,
        "Address confirmed",
        "Thank you: your email address is confirmed.",
    ))
}

async fn verify_resend(
    State(state): State<AppState>,
    RequireUser(me): RequireUser,
    auth: Auth,
    db: Db,
    mail: Mail,
    sub: Submission,
) -> Result<Response, Error> {
    let u = user::Entity::find_by_id(me.id)
        .one(&*db)
        .await?
        .ok_or_else(|| Error::unauthorized("You need to log in to do this."))?;
    if !u.email_verified {
        send_verification(&state, &auth, &mail, &sub.origin, &u).await?;
    }
    Ok(message_page(
        sub.json,
        StatusCode::ACCEPTED,
        "Check your inbox",
        "We sent you a new confirmation link.",
    ))
}

// ---------------------------------------------------------------------------- the API side

async fn me(RequireUser(me): RequireUser) -> axum::Json<crate::AuthUser> {
    axum::Json((*me).clone())
}

async fn list_tokens(
    RequireUser(me): RequireUser,
    db: Db,
) -> Result<axum::Json<Vec<api_token::Model>>, Error> {
    Ok(axum::Json(
        api_token::Entity::find()
            .filter(api_token::Column::UserId.eq(me.id))
            .order_by_desc(api_token::Column::Id)
            .all(&*db)
            .await?,
    ))
}

#[derive(Debug, Deserialize, garde::Validate)]
struct NewTokenForm {
    #[garde(length(min = 1, max = 100))]
    name: String,
    /// Space-separated.
    #[garde(skip)]
    scopes: Option<String>,
    #[garde(range(min = 1, max = 3650))]
    expires_in_days: Option<u32>,
}

async fn create_token(
    RequireUser(me): RequireUser,
    auth: Auth,
    db: Db,
    sub: Submission,
) -> Result<Response, Error> {
    let form = match validate::<NewTokenForm>(&sub.data) {
        Ok(f) => f,
        Err(invalid) => return Ok(invalid_response(true, "", &invalid, json!({}))),
    };
    // A token cannot mint a token with more scopes than it has.
    let scopes: Vec<String> = form
        .scopes
        .as_deref()
        .unwrap_or("*")
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    if let Some(missing) = scopes.iter().find(|s| !me.has_scope(s)) {
        return Err(Error::forbidden(format!(
            "This token lacks the scope `{missing}`."
        )));
    }
    let scopes: Vec<&str> = scopes.iter().map(String::as_str).collect();
    let new = crate::tokens::create_token(
        &*db,
        &auth.settings.token_prefix,
        me.id,
        &form.name,
        &scopes,
        form.expires_in_days
            .map(|d| std::time::Duration::from_secs(u64::from(d) * 24 * 3600)),
    )
    .await?;
    Ok((StatusCode::CREATED, axum::Json(new)).into_response())
}

async fn revoke_token(
    RequireUser(me): RequireUser,
    db: Db,
    Path(id): Path<i64>,
) -> Result<StatusCode, Error> {
    if crate::tokens::revoke_token(&*db, me.id, id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(Error::not_found(format!("You have no token {id}.")))
    }
}
