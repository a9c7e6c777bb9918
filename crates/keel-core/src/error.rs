//! Keel's one error type.
//!
//! [`Error`] is opaque: it carries an [`ErrorKind`] (which decides the HTTP status), a
//! public message, optional per-field errors, optional response headers, and a source
//! chain that is logged but never shown to the client.
//!
//! Any `std::error::Error` converts into an [`Error`] with `?`: such errors start out as
//! [`ErrorKind::Internal`] and *unclassified*. Before the response is written, Keel asks
//! the app's [`ErrorClassifier`]s to look at the source chain (the database layer, for
//! example, turns a unique violation into a `409 Conflict`), so handlers can use `?`
//! freely without leaking driver messages.
//!
//! ```
//! use keel_core::{Error, ErrorKind, FieldError};
//!
//! let not_found = Error::not_found("no article with that slug");
//! assert_eq!(not_found.kind(), ErrorKind::NotFound);
//! assert_eq!(not_found.status().as_u16(), 404);
//!
//! let invalid = Error::validation([FieldError::new("email", "email", "is not an email address")]);
//! assert_eq!(invalid.status().as_u16(), 422);
//! assert_eq!(invalid.fields()[0].pointer(), "/email");
//! ```

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use axum_core::response::{IntoResponse, Response};
use http::header::{self, HeaderName, HeaderValue};
use http::{HeaderMap, StatusCode};
use serde::{Deserialize, Serialize};

/// `Result` with Keel's [`Error`] as the default error type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A boxed error that can cross threads; the type of an [`Error`]'s source.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// What went wrong, in terms a client can act on. Decides the HTTP status.
///
/// The enum is `#[non_exhaustive]`: new kinds may be added in minor releases.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// 400: the request is malformed (bad syntax, bad parameter).
    BadRequest,
    /// 401: authentication is required or failed.
    Unauthorized,
    /// 403: authenticated (or not) but not allowed.
    Forbidden,
    /// 404: no such resource or route.
    NotFound,
    /// 405: the route exists but not for this method (`Allow` is set).
    MethodNotAllowed,
    /// 406: no acceptable representation.
    NotAcceptable,
    /// 409: the request conflicts with the current state (e.g. a unique value taken).
    Conflict,
    /// 410: the resource existed and is gone for good.
    Gone,
    /// 412: a precondition (`If-Match`) failed.
    PreconditionFailed,
    /// 413: the request body is larger than the configured limit.
    PayloadTooLarge,
    /// 415: the request body has the wrong content type.
    UnsupportedMediaType,
    /// 422: the request is well-formed but its content is invalid (field errors).
    Validation,
    /// 429: too many requests; `Retry-After` says when to come back.
    RateLimited,
    /// 500: a bug or an unexpected failure. The message shown is generic.
    Internal,
    /// 503: a dependency (database, cache) is unavailable; `Retry-After` may be set.
    Unavailable,
    /// 503: the request took longer than the configured timeout.
    Timeout,
    /// A configuration problem found at startup (never an HTTP response in practice;
    /// rendered as 500 if it ever is).
    Config,
}

impl ErrorKind {
    /// The HTTP status this kind is answered with.
    pub fn status(self) -> StatusCode {
        match self {
            Self::BadRequest => StatusCode::BAD_REQUEST,
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::Forbidden => StatusCode::FORBIDDEN,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::NotAcceptable => StatusCode::NOT_ACCEPTABLE,
            Self::Conflict => StatusCode::CONFLICT,
            Self::Gone => StatusCode::GONE,
            Self::PreconditionFailed => StatusCode::PRECONDITION_FAILED,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::Validation => StatusCode::UNPROCESSABLE_ENTITY,
            Self::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            Self::Internal | Self::Config => StatusCode::INTERNAL_SERVER_ERROR,
            Self::Unavailable | Self::Timeout => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// The stable, machine-readable code of this kind (the `code` member of a problem).
    pub fn code(self) -> &'static str {
        match self {
            Self::BadRequest => "bad_request",
            Self::Unauthorized => "unauthorized",
            Self::Forbidden => "forbidden",
            Self::NotFound => "not_found",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::NotAcceptable => "not_acceptable",
            Self::Conflict => "conflict",
            Self::Gone => "gone",
            Self::PreconditionFailed => "precondition_failed",
            Self::PayloadTooLarge => "payload_too_large",
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::Validation => "validation_failed",
            Self::RateLimited => "rate_limited",
            Self::Internal => "internal_error",
            Self::Unavailable => "unavailable",
            Self::Timeout => "timeout",
            Self::Config => "config_error",
        }
    }

    /// The kind that best describes an HTTP status (used to wrap responses that other
    /// middleware produced without a Keel error).
    pub fn from_status(status: StatusCode) -> Self {
        match status.as_u16() {
            401 => Self::Unauthorized,
            403 => Self::Forbidden,
            404 => Self::NotFound,
            405 => Self::MethodNotAllowed,
            406 => Self::NotAcceptable,
            408 | 504 => Self::Timeout,
            409 => Self::Conflict,
            410 => Self::Gone,
            412 => Self::PreconditionFailed,
            413 => Self::PayloadTooLarge,
            415 => Self::UnsupportedMediaType,
            422 => Self::Validation,
            429 => Self::RateLimited,
            503 => Self::Unavailable,
            400..=499 => Self::BadRequest,
            _ => Self::Internal,
        }
    }

    /// Whether this kind is a server-side failure (5xx): its details are never shown.
    pub fn is_server_error(self) -> bool {
        self.status().is_server_error()
    }

    fn default_message(self) -> &'static str {
        match self {
            Self::BadRequest => "The request is malformed.",
            Self::Unauthorized => "Authentication is required.",
            Self::Forbidden => "You do not have permission to do this.",
            Self::NotFound => "The requested resource was not found.",
            Self::MethodNotAllowed => "This method is not allowed for this resource.",
            Self::NotAcceptable => "No acceptable representation is available.",
            Self::Conflict => "The request conflicts with the current state of the resource.",
            Self::Gone => "The resource is gone.",
            Self::PreconditionFailed => "A precondition of the request failed.",
            Self::PayloadTooLarge => "The request body is too large.",
            Self::UnsupportedMediaType => "The request body has an unsupported content type.",
            Self::Validation => "The submitted data is invalid.",
            Self::RateLimited => "Too many requests; try again later.",
            Self::Internal | Self::Config => "An internal error occurred.",
            Self::Unavailable => "The service is temporarily unavailable.",
            Self::Timeout => "The request took too long to process.",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// One invalid field: where (a JSON Pointer, RFC 6901), a stable code, and a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    pointer: String,
    code: String,
    detail: String,
}

impl FieldError {
    /// A field error. `field` is a field name (`email`, `address.city`) or a JSON pointer
    /// (`/items/0/name`); names are turned into pointers.
    pub fn new(field: impl AsRef<str>, code: impl Into<String>, detail: impl Into<String>) -> Self {
        let field = field.as_ref();
        let pointer = if field.starts_with('/') || field.is_empty() {
            field.to_owned()
        } else {
            let mut p = String::with_capacity(field.len() + 1);
            for part in field.split('.') {
                p.push('/');
                p.push_str(&part.replace('~', "~0").replace('/', "~1"));
            }
            p
        };
        Self {
            pointer,
            code: code.into(),
            detail: detail.into(),
        }
    }

    /// The JSON pointer of the field (`""` means the whole document).
    pub fn pointer(&self) -> &str {
        &self.pointer
    }

    /// The field name: the pointer's last segment, unescaped.
    pub fn field(&self) -> String {
        self.pointer
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .replace("~1", "/")
            .replace("~0", "~")
    }

    /// A stable, machine-readable code such as `required` or `too_long`.
    pub fn code(&self) -> &str {
        &self.code
    }

    /// The human-readable message.
    pub fn detail(&self) -> &str {
        &self.detail
    }
}

/// Keel's error type. See the [module docs](self).
pub struct Error {
    inner: Box<Inner>,
}

struct Inner {
    kind: ErrorKind,
    message: Option<Cow<'static, str>>,
    code: Option<Cow<'static, str>>,
    fields: Vec<FieldError>,
    headers: HeaderMap,
    extra: serde_json::Map<String, serde_json::Value>,
    source: Option<BoxError>,
    unclassified: bool,
}

impl Error {
    /// An error of `kind` with a public message.
    pub fn new(kind: ErrorKind, message: impl Into<Cow<'static, str>>) -> Self {
        Self::from_kind(kind).with_message(message)
    }

    /// An error of `kind` with the kind's default message.
    pub fn from_kind(kind: ErrorKind) -> Self {
        Self {
            inner: Box::new(Inner {
                kind,
                message: None,
                code: None,
                fields: Vec::new(),
                headers: HeaderMap::new(),
                extra: serde_json::Map::new(),
                source: None,
                unclassified: false,
            }),
        }
    }

    /// 400 Bad Request.
    pub fn bad_request(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorKind::BadRequest, message)
    }

    /// 401 Unauthorized.
    pub fn unauthorized(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorKind::Unauthorized, message)
    }

    /// 403 Forbidden.
    pub fn forbidden(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorKind::Forbidden, message)
    }

    /// 404 Not Found.
    pub fn not_found(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorKind::NotFound, message)
    }

    /// 409 Conflict.
    pub fn conflict(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorKind::Conflict, message)
    }

    /// 422 with per-field errors.
    pub fn validation(fields: impl IntoIterator<Item = FieldError>) -> Self {
        let mut e = Self::from_kind(ErrorKind::Validation);
        e.inner.fields = fields.into_iter().collect();
        e
    }

    /// 503 Service Unavailable, with a `Retry-After` in seconds when given.
    pub fn unavailable(message: impl Into<Cow<'static, str>>, retry_after: Option<u64>) -> Self {
        let e = Self::new(ErrorKind::Unavailable, message);
        match retry_after {
            Some(secs) => e.with_header(header::RETRY_AFTER, HeaderValue::from(secs)),
            None => e,
        }
    }

    /// 500 Internal Server Error caused by `source` (logged, never shown).
    pub fn internal(source: impl Into<BoxError>) -> Self {
        Self::from_kind(ErrorKind::Internal).with_source(source)
    }

    /// 500 with a message that is logged (not shown): for "cannot happen" states.
    pub fn internal_msg(message: impl Into<Cow<'static, str>>) -> Self {
        let message: Cow<'static, str> = message.into();
        Self::from_kind(ErrorKind::Internal).with_source(message.into_owned())
    }

    /// A configuration error (startup only).
    pub fn config(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorKind::Config, message)
    }

    /// Replaces the public message.
    #[must_use]
    pub fn with_message(mut self, message: impl Into<Cow<'static, str>>) -> Self {
        self.inner.message = Some(message.into());
        self
    }

    /// Sets a machine-readable code more specific than the kind's (e.g. `csrf_token_missing`).
    #[must_use]
    pub fn with_code(mut self, code: impl Into<Cow<'static, str>>) -> Self {
        self.inner.code = Some(code.into());
        self
    }

    /// Adds a field error (and makes sense mostly for [`ErrorKind::Validation`]).
    #[must_use]
    pub fn with_field(mut self, field: FieldError) -> Self {
        self.inner.fields.push(field);
        self
    }

    /// Sets the source (the cause), which is logged and never shown.
    #[must_use]
    pub fn with_source(mut self, source: impl Into<BoxError>) -> Self {
        self.inner.source = Some(source.into());
        self
    }

    /// Adds a header to the error response (e.g. `Allow`, `Retry-After`, `WWW-Authenticate`).
    #[must_use]
    pub fn with_header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.inner.headers.append(name, value);
        self
    }

    /// Adds an extension member to the problem document (RFC 9457 §3.2).
    ///
    /// The standard members (`type`, `title`, `status`, `detail`, `instance`) and Keel's
    /// own (`code`, `errors`, `request_id`) cannot be overridden this way.
    #[must_use]
    pub fn with_extra(mut self, key: impl Into<String>, value: serde_json::Value) -> Self {
        self.inner.extra.insert(key.into(), value);
        self
    }

    /// The kind.
    pub fn kind(&self) -> ErrorKind {
        self.inner.kind
    }

    /// The HTTP status of the response this error becomes.
    pub fn status(&self) -> StatusCode {
        self.inner.kind.status()
    }

    /// The message a client sees. For server errors this is always the generic message.
    pub fn message(&self) -> &str {
        match self.inner.kind {
            // Internal failures only ever show the generic text; the detail is logged.
            ErrorKind::Internal | ErrorKind::Config => self.inner.kind.default_message(),
            kind => self
                .inner
                .message
                .as_deref()
                .unwrap_or(kind.default_message()),
        }
    }

    /// The message as given by the code that made the error, even for server errors
    /// (for logs and tests; never sent to a client).
    pub fn internal_message(&self) -> Option<&str> {
        self.inner.message.as_deref()
    }

    /// The machine-readable code: the specific one if set, else the kind's.
    pub fn code(&self) -> &str {
        self.inner.code.as_deref().unwrap_or(self.inner.kind.code())
    }

    /// Per-field errors.
    pub fn fields(&self) -> &[FieldError] {
        &self.inner.fields
    }

    /// Headers added to the response.
    pub fn headers(&self) -> &HeaderMap {
        &self.inner.headers
    }

    /// Extension members added with [`Error::with_extra`].
    pub fn extra(&self) -> &serde_json::Map<String, serde_json::Value> {
        &self.inner.extra
    }

    /// The source, if any.
    pub fn source(&self) -> Option<&(dyn std::error::Error + Send + Sync + 'static)> {
        self.inner.source.as_deref()
    }

    /// The source chain, outermost first.
    pub fn chain(&self) -> impl Iterator<Item = &(dyn std::error::Error + 'static)> {
        let mut next: Option<&(dyn std::error::Error + 'static)> = self
            .inner
            .source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static));
        std::iter::from_fn(move || {
            let cur = next?;
            next = cur.source();
            Some(cur)
        })
    }

    /// The source chain as one line, `a: b: c` (for logs).
    pub fn chain_string(&self) -> String {
        let mut out = String::new();
        for (i, e) in self.chain().enumerate() {
            if i > 0 {
                out.push_str(": ");
            }
            out.push_str(&e.to_string());
        }
        out
    }

    /// True for errors converted from an arbitrary `std::error::Error` with `?` that no
    /// [`ErrorClassifier`] has looked at yet.
    pub fn is_unclassified(&self) -> bool {
        self.inner.unclassified
    }

    /// Finds the first error of type `E` in the source chain.
    pub fn find_source<E: std::error::Error + 'static>(&self) -> Option<&E> {
        self.chain().find_map(|e| e.downcast_ref::<E>())
    }

    /// Runs `classifiers` over the source chain of an unclassified error; the first
    /// answer replaces kind, message, code, fields and headers (the source is kept).
    pub fn classify(mut self, classifiers: &[Arc<dyn ErrorClassifier>]) -> Self {
        if !self.inner.unclassified || classifiers.is_empty() {
            return self;
        }
        if let Some(found) = self.reclassified(classifiers) {
            let source = self.inner.source.take();
            self = found;
            self.inner.source = source;
        }
        self.inner.unclassified = false;
        self
    }

    /// Like [`Error::classify`] but by reference: the classified copy (without the
    /// source), or `None` when no classifier recognised the chain.
    pub fn reclassified(&self, classifiers: &[Arc<dyn ErrorClassifier>]) -> Option<Error> {
        if !self.inner.unclassified {
            return None;
        }
        self.chain()
            .find_map(|cause| classifiers.iter().find_map(|c| c.classify(cause)))
    }

    /// The RFC 9457 problem document for this error (without `instance` and
    /// `request_id`, which the HTTP layer fills in).
    pub fn to_problem(&self) -> Problem {
        let status = self.status();
        Problem {
            r#type: "about:blank".to_owned(),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail: Some(self.message().to_owned()),
            instance: None,
            code: self.code().to_owned(),
            request_id: None,
            errors: self.inner.fields.clone(),
            extra: self.inner.extra.clone(),
        }
    }
}

impl fmt::Debug for Error {
    /// Readable on purpose: `main` returning `Err` prints this.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} ({})",
            self.internal_message().unwrap_or(self.message()),
            self.code()
        )?;
        for field in &self.inner.fields {
            write!(f, "\n  {}: {}", field.pointer, field.detail)?;
        }
        for cause in self.chain() {
            write!(f, "\n  caused by: {cause}")?;
        }
        Ok(())
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.internal_message().unwrap_or(self.message()))
    }
}

impl<E> From<E> for Error
where
    E: std::error::Error + Send + Sync + 'static,
{
    fn from(source: E) -> Self {
        let mut e = Self::internal(source);
        e.inner.unclassified = true;
        e
    }
}

/// Looks at one error of a source chain and, if it recognises it, says what it means
/// for the client. Registered on the app by the subsystems that own the error types.
///
/// ```
/// use keel_core::{Error, ErrorClassifier};
///
/// struct IoNotFound;
/// impl ErrorClassifier for IoNotFound {
///     fn classify(&self, cause: &(dyn std::error::Error + 'static)) -> Option<Error> {
///         let io = cause.downcast_ref::<std::io::Error>()?;
///         (io.kind() == std::io::ErrorKind::NotFound).then(|| Error::not_found("no such file"))
///     }
/// }
/// ```
pub trait ErrorClassifier: Send + Sync + 'static {
    /// The public error for `cause`, or `None` if this classifier does not know it.
    fn classify(&self, cause: &(dyn std::error::Error + 'static)) -> Option<Error>;
}

/// An RFC 9457 problem document, with Keel's extension members `code`, `request_id`
/// and `errors`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Problem {
    /// A URI for the problem type; `about:blank` when the status says it all.
    #[serde(rename = "type")]
    pub r#type: String,
    /// Short summary: the status' reason phrase.
    pub title: String,
    /// The HTTP status.
    pub status: u16,
    /// Human-readable explanation of this occurrence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// The request path this occurrence is about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    /// Stable, machine-readable error code.
    pub code: String,
    /// The request id (also in the `x-request-id` header), to find the logs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// Per-field errors.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// Further extension members.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// The media type of problem documents.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// The error that produced a response, attached to the response's extensions so that
/// the HTTP layer can render it for the client (JSON or HTML), add the request id and
/// log the source chain.
#[derive(Clone)]
pub struct ErrorResponse(pub Arc<Error>);

impl fmt::Debug for ErrorResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let status = self.status();
        let body = serde_json::to_vec(&self.to_problem()).unwrap_or_default();
        let mut res = (status, body).into_response();
        res.headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        for (name, value) in &self.inner.headers {
            res.headers_mut().append(name, value.clone());
        }
        res.extensions_mut().insert(ErrorResponse(Arc::new(self)));
        res
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Outer(std::io::Error);
    impl fmt::Display for Outer {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("reading the thing")
        }
    }
    impl std::error::Error for Outer {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }

    #[test]
    fn server_errors_never_show_their_message_or_source() {
        let e = Error::internal_msg("db password is hunter2");
        assert_eq!(e.message(), "An internal error occurred.");
        assert_eq!(
            e.to_problem().detail.as_deref(),
            Some("An internal error occurred.")
        );
        assert!(
            format!("{e:?}").contains("hunter2"),
            "but the log side keeps it"
        );
    }

    #[test]
    fn question_mark_makes_an_unclassified_internal_error_with_its_chain() {
        fn fails() -> Result<()> {
            Err(Outer(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "gone",
            )))?;
            Ok(())
        }
        let e = fails().unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Internal);
        assert!(e.is_unclassified());
        assert_eq!(e.chain_string(), "reading the thing: gone");
        assert!(e.find_source::<std::io::Error>().is_some());
    }

    #[test]
    fn classifiers_look_through_the_chain() {
        struct IoNotFound;
        impl ErrorClassifier for IoNotFound {
            fn classify(&self, cause: &(dyn std::error::Error + 'static)) -> Option<Error> {
                let io = cause.downcast_ref::<std::io::Error>()?;
                (io.kind() == std::io::ErrorKind::NotFound).then(|| Error::not_found("no file"))
            }
        }
        let e: Error = Outer(std::io::Error::new(std::io::ErrorKind::NotFound, "gone")).into();
        let classifiers: Vec<Arc<dyn ErrorClassifier>> = vec![Arc::new(IoNotFound)];
        let e = e.classify(&classifiers);
        assert_eq!(e.kind(), ErrorKind::NotFound);
        assert_eq!(e.message(), "no file");
        assert!(!e.is_unclassified());
        assert_eq!(
            e.chain_string(),
            "reading the thing: gone",
            "source kept for the log"
        );
    }

    #[test]
    fn field_names_become_json_pointers() {
        assert_eq!(
            FieldError::new("address.city", "required", "x").pointer(),
            "/address/city"
        );
        assert_eq!(
            FieldError::new("/items/0", "required", "x").pointer(),
            "/items/0"
        );
        assert_eq!(FieldError::new("a/b", "required", "x").pointer(), "/a~1b");
        assert_eq!(FieldError::new("a/b", "required", "x").field(), "a/b");
    }

    #[test]
    fn problem_document_shape() {
        let e = Error::validation([FieldError::new("title", "required", "is required")])
            .with_extra("hint", serde_json::json!("check the title"));
        let json = serde_json::to_value(e.to_problem()).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "type": "about:blank",
                "title": "Unprocessable Entity",
                "status": 422,
                "detail": "The submitted data is invalid.",
                "code": "validation_failed",
                "errors": [{"pointer": "/title", "code": "required", "detail": "is required"}],
                "hint": "check the title",
            })
        );
    }

    #[test]
    fn into_response_is_problem_json_with_headers() {
        let res = Error::unavailable("database down", Some(5)).into_response();
        assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(res.headers()[header::CONTENT_TYPE], PROBLEM_JSON);
        assert_eq!(res.headers()[header::RETRY_AFTER], "5");
        assert!(res.extensions().get::<ErrorResponse>().is_some());
    }
}
