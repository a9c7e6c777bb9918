//! Conveniences for JSON APIs: [`Created`] (201 with `Location`), [`NoContent`] (204),
//! and entity tags for caching and optimistic concurrency ([`ETag`],
//! [`Preconditions`]).
//!
//! ```
//! use keel_http::api::{Created, ETag, Preconditions};
//! use keel_http::extract::Json;
//! use axum::response::Response;
//!
//! #[derive(serde::Serialize)]
//! struct Note { id: u32, text: String }
//!
//! async fn create() -> Created<Note> {
//!     Created::new("/notes/7", Note { id: 7, text: "hi".into() })
//! }
//!
//! // 200 with an ETag, or 304 when the client's copy is current.
//! async fn show(pre: Preconditions) -> Response {
//!     pre.json(&Note { id: 7, text: "hi".into() })
//! }
//!
//! // 412 when the client edited an outdated copy.
//! async fn update(pre: Preconditions) -> keel_core::Result<Json<Note>> {
//!     let current = Note { id: 7, text: "hi".into() };
//!     pre.require_match(&ETag::of_json(&current)?)?;
//!     Ok(Json(current))
//! }
//! ```

use axum::extract::FromRequestParts;
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use http::header::{self, HeaderValue};
use http::request::Parts;
use keel_core::{Error, ErrorKind};
use serde::Serialize;
use sha2::Digest as _;

use crate::extract::Json;

/// 201 Created, with the new resource's URL in `Location` and its JSON body.
#[derive(Debug, Clone)]
pub struct Created<T> {
    /// The new resource's URL (`/articles/how-to`).
    pub location: String,
    /// The body.
    pub body: T,
}

impl<T> Created<T> {
    /// A 201 for the resource at `location`.
    pub fn new(location: impl Into<String>, body: T) -> Self {
        Self {
            location: location.into(),
            body,
        }
    }
}

impl<T: Serialize> IntoResponse for Created<T> {
    fn into_response(self) -> Response {
        let Ok(location) = HeaderValue::from_str(&self.location) else {
            return Error::internal_msg("the Location of a created resource is not a valid header")
                .into_response();
        };
        let mut res = Json(self.body).into_response();
        if res.status() == StatusCode::OK {
            *res.status_mut() = StatusCode::CREATED;
            res.headers_mut().insert(header::LOCATION, location);
        }
        res
    }
}

/// 204 No Content.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoContent;

impl IntoResponse for NoContent {
    fn into_response(self) -> Response {
        StatusCode::NO_CONTENT.into_response()
    }
}

/// A strong entity tag (`"…"`): a digest of a representation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ETag(String);

impl ETag {
    /// The tag of these bytes.
    pub fn of_bytes(bytes: &[u8]) -> Self {
        let digest = sha2::Sha256::digest(bytes);
        let mut s = String::with_capacity(34);
        s.push('"');
        for b in &digest[..16] {
            s.push_str(&format!("{b:02x}"));
        }
        s.push('"');
        Self(s)
    }

    /// The tag of `value`'s JSON.
    pub fn of_json<T: Serialize + ?Sized>(value: &T) -> Result<Self, Error> {
        Ok(Self::of_bytes(
            &serde_json::to_vec(value).map_err(Error::internal)?,
        ))
    }

    /// The tag with its quotes, as sent in `ETag`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether a list header (`If-Match`, `If-None-Match`) names this tag or `*`.
    /// Weak comparison (`W/` ignored), as RFC 9110 prescribes for `If-None-Match`.
    fn listed_in(&self, list: &str) -> bool {
        list.split(',')
            .map(str::trim)
            .any(|t| t == "*" || t.strip_prefix("W/").unwrap_or(t) == self.0)
    }
}

/// The request's `If-Match` and `If-None-Match` headers.
#[derive(Debug, Clone, Default)]
pub struct Preconditions {
    if_match: Option<String>,
    if_none_match: Option<String>,
}

impl<S: Send + Sync> FromRequestParts<S> for Preconditions {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let get = |name| {
            parts
                .headers
                .get_all(name)
                .iter()
                .filter_map(|v: &HeaderValue| v.to_str().ok())
                .collect::<Vec<_>>()
                .join(",")
        };
        let non_empty = |s: String| (!s.is_empty()).then_some(s);
        Ok(Self {
            if_match: non_empty(get(header::IF_MATCH)),
            if_none_match: non_empty(get(header::IF_NONE_MATCH)),
        })
    }
}

impl Preconditions {
    /// Whether the client's cached copy (`If-None-Match`) is `tag`.
    pub fn not_modified(&self, tag: &ETag) -> bool {
        self.if_none_match
            .as_deref()
            .is_some_and(|l| tag.listed_in(l))
    }

    /// Refuses the change (412) when the client sent `If-Match` and it does not name
    /// the current representation's tag: someone else changed it in between.
    pub fn require_match(&self, current: &ETag) -> Result<(), Error> {
        match &self.if_match {
            Some(list) if !current.listed_in(list) => Err(Error::new(
                ErrorKind::PreconditionFailed,
                "The resource changed since you read it; fetch it again and retry.",
            )
            .with_code("etag_mismatch")),
            _ => Ok(()),
        }
    }

    /// `value` as JSON with its `ETag`, or `304 Not Modified` when the client has it.
    pub fn json<T: Serialize>(&self, value: &T) -> Response {
        let body = match serde_json::to_vec(value) {
            Ok(b) => b,
            Err(e) => return Error::internal(e).into_response(),
        };
        let tag = ETag::of_bytes(&body);
        let etag = HeaderValue::from_str(tag.as_str()).expect("hex in quotes is a valid header");
        if self.not_modified(&tag) {
            return (StatusCode::NOT_MODIFIED, [(header::ETAG, etag)]).into_response();
        }
        (
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                ),
                (header::ETAG, etag),
            ],
            body,
        )
            .into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_match_lists_and_stars() {
        let t = ETag::of_bytes(b"x");
        assert!(t.listed_in(&format!("\"nope\", {}", t.as_str())));
        assert!(t.listed_in(&format!("W/{}", t.as_str())));
        assert!(t.listed_in("*"));
        assert!(!t.listed_in("\"nope\""));
        let pre = Preconditions {
            if_match: Some("\"old\"".into()),
            if_none_match: None,
        };
        assert_eq!(
            pre.require_match(&t).unwrap_err().kind(),
            ErrorKind::PreconditionFailed
        );
        assert!(Preconditions::default().require_match(&t).is_ok());
    }
}
