//! Keel's JSON API example: a complete [RealWorld](https://realworld-docs.netlify.app)
//! ("Conduit") backend, served under `/api` on port 3000.
//!
//! Written the way a Keel user writes an API: SeaORM entities with migrations made by
//! `db makemigrations`, Keel's users with JWTs sent as `Authorization: Token <jwt>`,
//! validated JSON (`garde` rules on the request types), errors mapped once to
//! RealWorld's `{"errors":{"body":[…]}}`, and the OpenAPI document built from the
//! routes at `/openapi.json`, with Swagger UI at `/docs/`.
//!
//! ```sh
//! cargo run -p example-conduit            # http://127.0.0.1:3000/api, SQLite under data/
//! APIURL=http://127.0.0.1:3000/api DELAY_REQUEST=0 ../shared/realworld/run-api-tests.sh
//! ```

pub mod migrations;
pub mod models;

pub mod api;

use std::sync::Arc;

use keel::App;
use keel::axum::body::Body;
use keel::axum::http::{HeaderValue, header};
use keel::axum::response::Response;
use keel::problem::{ErrorContext, ErrorRenderer, SharedRenderer};
use serde::Serialize;
use utoipa::ToSchema;

pub use api::routes;

/// The app, for `main` and for tests.
pub fn app() -> App {
    App::new("conduit")
        .plugin(keel::db::plugin(models::registry(), migrations::all))
        .plugin(keel::auth::plugin)
        .provide(SharedRenderer(Arc::new(RealWorldErrors)))
        .routes(routes())
        .plugin(
            keel::openapi::Docs::new("Conduit API", "1.1.0")
                .description(
                    "The RealWorld (Conduit) API, served by Keel. Send the token from \
                     login or registration as `Authorization: Token <jwt>`.",
                )
                .server("/")
                .without_session_auth()
                .error_body::<GenericErrorModel>("application/json")
                .plugin(),
        )
}

/// RealWorld's error body: `{"errors": {"body": ["…"]}}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct GenericErrorModel {
    /// The errors.
    pub errors: GenericErrors,
}

/// The messages of an error.
#[derive(Debug, Serialize, ToSchema)]
pub struct GenericErrors {
    /// One message per problem (`email has already been taken`).
    pub body: Vec<String>,
}

/// Every error (Keel's validation, auth and not-found errors included) in RealWorld's
/// shape, with the status Keel chose. One place, for the whole app.
#[derive(Debug)]
pub struct RealWorldErrors;

impl ErrorRenderer for RealWorldErrors {
    fn render(&self, error: &keel::Error, _cx: &ErrorContext<'_>) -> Response {
        let body = if error.fields().is_empty() {
            vec![error.message().to_owned()]
        } else {
            error
                .fields()
                .iter()
                .map(|f| match field_name(f.pointer()) {
                    name if name.is_empty() => f.detail().to_owned(),
                    name => format!("{name} {}", f.detail()),
                })
                .collect()
        };
        let json = serde_json::to_vec(&GenericErrorModel {
            errors: GenericErrors { body },
        })
        .unwrap_or_default();
        let mut res = Response::new(Body::from(json));
        *res.status_mut() = error.status();
        res.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        );
        res
    }
}

/// A field as RealWorld's messages name it: the pointer without the resource wrapper
/// (`/article/tagList/1` → `tagList[1]`, `/user/email` → `email`).
fn field_name(pointer: &str) -> String {
    let segments: Vec<String> = pointer
        .split('/')
        .skip(1)
        .map(|s| s.replace("~1", "/").replace("~0", "~"))
        .collect();
    let inner = if segments.len() > 1 {
        &segments[1..]
    } else {
        &segments[..]
    };
    let mut name = String::new();
    for s in inner {
        if s.parse::<usize>().is_ok() {
            name.push_str(&format!("[{s}]"));
        } else {
            if !name.is_empty() {
                name.push('.');
            }
            name.push_str(s);
        }
    }
    name
}

/// ISO 8601 with milliseconds, in UTC (`2026-02-18T03:22:56.637Z`), from Unix
/// milliseconds: RealWorld's clients expect the fraction.
pub fn iso8601(ms: i64) -> String {
    keel::time::iso8601_millis(ms)
}

/// Now, in Unix milliseconds.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// A URL name from a title: lower-case words joined by `-`, then a short random
/// suffix, since titles repeat and slugs must not.
pub fn slugify(title: &str) -> String {
    let mut slug = String::with_capacity(title.len() + 7);
    for word in title
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        if !slug.is_empty() {
            slug.push('-');
        }
        slug.extend(word.chars().flat_map(char::to_lowercase));
    }
    if slug.len() > 80 {
        let cut = (0..=80)
            .rev()
            .find(|i| slug.is_char_boundary(*i))
            .unwrap_or(0);
        slug.truncate(cut);
    }
    if !slug.is_empty() {
        slug.push('-');
    }
    slug.push_str(&keel::random::hex(3));
    slug
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_have_milliseconds() {
        assert_eq!(iso8601(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(iso8601(1_455_765_776_637), "2016-02-18T03:22:56.637Z");
        assert_eq!(iso8601(951_782_400_001), "2000-02-29T00:00:00.001Z");
    }

    #[test]
    fn fields_are_named_without_the_wrapper() {
        assert_eq!(field_name("/article/tagList/1"), "tagList[1]");
        assert_eq!(field_name("/user/email"), "email");
        assert_eq!(field_name("/user"), "user");
        assert_eq!(field_name(""), "");
    }

    #[test]
    fn slugs_are_words_and_a_suffix() {
        let s = slugify("How to train your dragon?");
        assert!(s.starts_with("how-to-train-your-dragon-"), "{s}");
        assert_eq!(s.len(), "how-to-train-your-dragon-".len() + 6);
        assert_ne!(slugify("x"), slugify("x"));
    }
}
