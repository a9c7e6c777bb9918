//! Extractors whose rejections are Keel [`Error`]s, so that a client always gets a
//! problem document with a precise message:
//!
//! | extractor | wrong content type | malformed | wrong shape |
//! |---|---|---|---|
//! | [`Json<T>`] | 415 | 400, with line and column | 422, with a JSON pointer per field |
//! | [`Form<T>`] | 415 | — | 422, per field |
//! | [`Query<T>`] | — | — | 400, per parameter |
//! | [`Path<T>`] | — | — | 400, per parameter |
//!
//! [`Json<T>`] and [`Query<T>`] then *validate* the value with its
//! [garde](https://docs.rs/garde) rules (`#[derive(garde::Validate)]`): a value that
//! breaks a rule is a 422 whose `errors` name each field by JSON pointer. A type with
//! no rules says so with `#[garde(allow_unvalidated)]`. garde knows fields by their
//! Rust names; for a JSON body each pointer is spelt as the client spelt the key
//! (`tag_list` is reported as `/tagList` when the body said `tagList`).
//!
//! ```
//! use keel_http::extract::Json;
//! use keel_http::garde::{self, Validate};
//! use serde::Deserialize;
//!
//! #[derive(Deserialize, Validate)]
//! struct NewNote {
//!     #[garde(length(chars, min = 1, max = 200))]
//!     title: String,
//!     #[garde(range(min = 1, max = 5))]
//!     stars: u8,
//! }
//!
//! async fn create(Json(note): Json<NewNote>) -> String {
//!     note.title
//! }
//! ```
//!
//! A body over the limit is 413 everywhere. axum's own extractors still work in Keel
//! handlers; their plain-text rejections are converted into problems by the error
//! layer, with less detail.

use std::fmt::Write as _;

use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderValue};
use http::request::Parts;
use keel_core::{Error, ErrorKind, FieldError};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// JSON request body / response body. See the [module docs](self).
#[derive(Debug, Clone, Copy, Default)]
pub struct Json<T>(pub T);

/// A URL-encoded form body (`application/x-www-form-urlencoded`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Form<T>(pub T);

/// The query string.
#[derive(Debug, Clone, Copy, Default)]
pub struct Query<T>(pub T);

/// Path parameters (`/articles/{slug}`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Path<T>(pub T);

fn has_content_type(headers: &HeaderMap, accept: impl Fn(&str) -> bool) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|essence| accept(&essence.trim().to_ascii_lowercase()))
        .unwrap_or(false)
}

fn is_json(ct: &str) -> bool {
    ct == "application/json" || (ct.starts_with("application/") && ct.ends_with("+json"))
}

fn body_error(rejection: BytesRejection) -> Error {
    if rejection.status() == http::StatusCode::PAYLOAD_TOO_LARGE {
        Error::new(
            ErrorKind::PayloadTooLarge,
            "The request body is larger than the configured limit.",
        )
    } else {
        Error::bad_request("The request body could not be read.").with_source(rejection)
    }
}

/// Serde's message without serde_json's " at line L column C" suffix.
fn strip_position(msg: &str) -> &str {
    match msg.rfind(" at line ") {
        Some(i) if msg[i..].contains(" column ") => &msg[..i],
        _ => msg,
    }
}

fn pointer_of(path: &serde_path_to_error::Path) -> String {
    let mut p = String::new();
    for seg in path.iter() {
        match seg {
            serde_path_to_error::Segment::Seq { index } => {
                let _ = write!(p, "/{index}");
            }
            serde_path_to_error::Segment::Map { key } => {
                p.push('/');
                p.push_str(&key.replace('~', "~0").replace('/', "~1"));
            }
            serde_path_to_error::Segment::Enum { variant } => {
                p.push('/');
                p.push_str(variant);
            }
            serde_path_to_error::Segment::Unknown => {}
        }
    }
    p
}

/// The field error for one serde data error at `path`.
fn field_error(path: &serde_path_to_error::Path, message: &str) -> FieldError {
    let mut pointer = pointer_of(path);
    let message = strip_position(message);
    let between_backticks = |m: &str| m.split('`').nth(1).map(str::to_owned);
    let (code, detail) = if let Some(rest) = message.strip_prefix("missing field ") {
        if let Some(name) = between_backticks(rest) {
            pointer.push('/');
            pointer.push_str(&name);
        }
        ("required", "is required".to_owned())
    } else if let Some(rest) = message.strip_prefix("unknown field ") {
        // serde_path_to_error's path already ends at the unknown key.
        if let Some(name) = between_backticks(rest)
            && !pointer.ends_with(&format!("/{name}"))
        {
            pointer.push('/');
            pointer.push_str(&name);
        }
        ("unknown_field", "is not an accepted field".to_owned())
    } else if message.starts_with("invalid type") {
        ("invalid_type", message.to_owned())
    } else if message.starts_with("invalid length") {
        ("invalid_length", message.to_owned())
    } else if message.starts_with("unknown variant") {
        ("invalid_choice", message.to_owned())
    } else {
        ("invalid", message.to_owned())
    };
    FieldError::new(pointer, code, detail)
}

/// Parses JSON into `T`: 400 (with position) for syntax errors, 422 (with a JSON
/// pointer) for data that does not fit `T`.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Error> {
    fn syntax(e: &serde_json::Error) -> Error {
        Error::bad_request(format!(
            "The body is not valid JSON: {} (line {}, column {}).",
            strip_position(&e.to_string()),
            e.line(),
            e.column()
        ))
        .with_code("invalid_json")
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    match serde_path_to_error::deserialize::<_, T>(&mut de) {
        Ok(v) => {
            de.end().map_err(|e| syntax(&e))?;
            Ok(v)
        }
        Err(err) => {
            let path = err.path().clone();
            let inner = err.into_inner();
            match inner.classify() {
                serde_json::error::Category::Data => {
                    let field = field_error(&path, &inner.to_string());
                    Err(Error::validation([field])
                        .with_message("The JSON body does not have the expected shape."))
                }
                _ => Err(syntax(&inner)),
            }
        }
    }
}

/// Runs `value`'s garde rules: a 422 naming every broken rule by JSON pointer.
pub fn validate<T>(value: &T) -> Result<(), Error>
where
    T: garde::Validate + ?Sized,
    T::Context: Default,
{
    match value.validate() {
        Ok(()) => Ok(()),
        Err(report) => Err(Error::validation(report_fields(&report, None))),
    }
}

/// `tagList`, `tag_list` and `TagList` compare equal.
fn loose_key(k: &str) -> String {
    k.chars()
        .filter(|c| *c != '_' && *c != '-')
        .flat_map(char::to_lowercase)
        .collect()
}

/// The field errors of a garde report, with JSON pointers (`/article/tagList/0`).
/// With the client's `input`, keys are spelt as the client spelt them.
pub fn report_fields(report: &garde::Report, input: Option<&serde_json::Value>) -> Vec<FieldError> {
    report
        .iter()
        .map(|(path, error)| {
            let mut pointer = String::new();
            let mut at = input;
            for (kind, component) in path.__iter().rev() {
                let segment: String = match (kind, at) {
                    (garde::error::Kind::None, _) => continue,
                    (garde::error::Kind::Key, Some(serde_json::Value::Object(map))) => {
                        let wanted = loose_key(component);
                        let key = map
                            .keys()
                            .find(|k| k.as_str() == component.as_str())
                            .or_else(|| map.keys().find(|k| loose_key(k) == wanted))
                            .cloned()
                            .unwrap_or_else(|| component.to_string());
                        at = map.get(&key);
                        key
                    }
                    (garde::error::Kind::Index, Some(serde_json::Value::Array(items))) => {
                        at = component.parse::<usize>().ok().and_then(|i| items.get(i));
                        component.to_string()
                    }
                    _ => {
                        at = None;
                        component.to_string()
                    }
                };
                pointer.push('/');
                pointer.push_str(&segment.replace('~', "~0").replace('/', "~1"));
            }
            FieldError::new(pointer, "invalid", error.message())
        })
        .collect()
}

impl<T, S> FromRequest<S> for Json<T>
where
    T: DeserializeOwned + garde::Validate,
    T::Context: Default,
    S: Send + Sync,
{
    type Rejection = Error;

    async fn from_request(req: Request, state: &S) -> Result<Self, Error> {
        if !has_content_type(req.headers(), is_json) {
            return Err(Error::new(
                ErrorKind::UnsupportedMediaType,
                "Expected a JSON body (Content-Type: application/json).",
            ));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(body_error)?;
        let value: T = parse_json(&bytes)?;
        if let Err(report) = value.validate() {
            // Spell the pointers as the client did: re-read the body as a tree.
            let input: Option<serde_json::Value> = serde_json::from_slice(&bytes).ok();
            return Err(Error::validation(report_fields(&report, input.as_ref())));
        }
        Ok(Json(value))
    }
}

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        // Into a `Vec` (serde_json's writes are plain appends there; through a
        // `BytesMut` writer each one is a `BufMut` call), then into `Bytes` without a
        // copy (measured in docs/api.md, `--bench json`).
        let mut buf = Vec::with_capacity(128);
        match serde_json::to_writer(&mut buf, &self.0) {
            Ok(()) => (
                [(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                )],
                Bytes::from(buf),
            )
                .into_response(),
            Err(e) => Error::internal(e).into_response(),
        }
    }
}

fn urlencoded<T: DeserializeOwned>(input: &[u8]) -> Result<T, FieldError> {
    let de = serde_urlencoded::Deserializer::new(form_urlencoded_parse(input));
    serde_path_to_error::deserialize(de).map_err(|err| {
        let path = err.path().clone();
        field_error(&path, &err.into_inner().to_string())
    })
}

fn form_urlencoded_parse(input: &[u8]) -> form_urlencoded::Parse<'_> {
    form_urlencoded::parse(input)
}

impl<T, S> FromRequest<S> for Form<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Error;

    async fn from_request(req: Request, state: &S) -> Result<Self, Error> {
        if !has_content_type(req.headers(), |ct| {
            ct == "application/x-www-form-urlencoded"
        }) {
            return Err(Error::new(
                ErrorKind::UnsupportedMediaType,
                "Expected a form body (Content-Type: application/x-www-form-urlencoded).",
            ));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(body_error)?;
        urlencoded(&bytes)
            .map(Form)
            .map_err(|f| Error::validation([f]).with_message("The form data is invalid."))
    }
}

impl<T, S> FromRequestParts<S> for Query<T>
where
    T: DeserializeOwned + garde::Validate,
    T::Context: Default,
    S: Send + Sync,
{
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Error> {
        let query = parts.uri.query().unwrap_or("");
        let value: T = urlencoded(query.as_bytes()).map_err(|f| {
            let name = f.field();
            Error::bad_request(format!("Invalid query parameter `{name}`: {}", f.detail()))
                .with_code("invalid_query")
                .with_field(f)
        })?;
        validate(&value).map_err(|e| e.with_message("The query parameters are invalid."))?;
        Ok(Query(value))
    }
}

impl<T, S> FromRequestParts<S> for Path<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Error> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(v)) => Ok(Path(v)),
            Err(PathRejection::FailedToDeserializePathParams(e)) => {
                use axum::extract::path::ErrorKind as K;
                let (field, detail) = match e.kind() {
                    K::ParseErrorAtKey {
                        key,
                        value,
                        expected_type,
                    } => (
                        Some(key.clone()),
                        format!("`{value}` is not a valid {expected_type}"),
                    ),
                    K::ParseErrorAtIndex {
                        index,
                        value,
                        expected_type,
                    } => (
                        Some(index.to_string()),
                        format!("`{value}` is not a valid {expected_type}"),
                    ),
                    K::ParseError {
                        value,
                        expected_type,
                    } => {
                        // A single value (`Path<u32>`): name it after the route's parameter.
                        let key = axum::extract::RawPathParams::from_request_parts(parts, state)
                            .await
                            .ok()
                            .and_then(|raw| {
                                raw.iter()
                                    .find(|(_, v)| *v == value)
                                    .map(|(k, _)| k.to_owned())
                            });
                        (key, format!("`{value}` is not a valid {expected_type}"))
                    }
                    K::InvalidUtf8InPathParam { key } => {
                        (Some(key.clone()), "is not valid UTF-8".to_owned())
                    }
                    K::DeserializeError { key, message, .. } => {
                        (Some(key.clone()), message.clone())
                    }
                    other => (None, other.to_string()),
                };
                let mut err = Error::bad_request(match &field {
                    Some(f) => format!("Invalid URL parameter `{f}`: {detail}."),
                    None => format!("Invalid URL parameter: {detail}."),
                })
                .with_code("invalid_path");
                if let Some(f) = field {
                    err = err.with_field(FieldError::new(f, "invalid_type", detail));
                }
                Err(err)
            }
            Err(other) => Err(Error::internal(other)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Article {
        title: String,
        tags: Vec<String>,
        author: Author,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Author {
        id: u32,
    }

    #[test]
    fn syntax_errors_are_400_with_position() {
        let e = parse_json::<Article>(b"{\"title\": }").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::BadRequest);
        assert_eq!(e.code(), "invalid_json");
        assert!(e.message().contains("line 1, column 11"), "{}", e.message());
        let e = parse_json::<Article>(b"{\"title\": \"x\"").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::BadRequest);
    }

    #[test]
    fn shape_errors_are_422_with_pointers() {
        let e = parse_json::<Article>(br#"{"title":"t","tags":["a",3],"author":{"id":1}}"#)
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Validation);
        assert_eq!(e.fields()[0].pointer(), "/tags/1");
        assert_eq!(e.fields()[0].code(), "invalid_type");
        assert!(!e.fields()[0].detail().contains("line"));

        let e = parse_json::<Article>(br#"{"title":"t","tags":[],"author":{}}"#).unwrap_err();
        assert_eq!(e.fields()[0].pointer(), "/author/id");
        assert_eq!(e.fields()[0].code(), "required");

        let e = parse_json::<Article>(br#"{"title":"t","tags":[],"author":{"id":1},"x":1}"#)
            .unwrap_err();
        assert_eq!(e.fields()[0].pointer(), "/x");
        assert_eq!(e.fields()[0].code(), "unknown_field");
    }

    #[test]
    fn trailing_garbage_is_a_syntax_error() {
        let e = parse_json::<u32>(b"1 2").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::BadRequest);
    }

    #[test]
    fn urlencoded_errors_name_the_field() {
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct Page {
            page: u32,
        }
        let f = urlencoded::<Page>(b"page=abc").unwrap_err();
        assert_eq!(f.pointer(), "/page");
        let f = urlencoded::<Page>(b"").unwrap_err();
        assert_eq!(f.pointer(), "/page");
        assert_eq!(f.code(), "required");
    }
}
