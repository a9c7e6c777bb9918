//! Compiled pages (feature `compiled`): a template turned into Rust when the app is
//! built, with [askama](https://docs.rs/askama).
//!
//! A [`View`](crate::View) is interpreted by minijinja on every request: templates reload
//! in development, and every page sees the request globals (`url_for`, `csrf_field()`,
//! `messages`, `request`, `config`). A compiled page trades those for speed and
//! build-time checks: the template is read from `templates/` beside the crate's
//! `Cargo.toml` when the crate is compiled, a misspelt field is a compile error, and
//! rendering is plain Rust writing into one buffer (several times faster than the
//! interpreter on a loop of rows). The syntax is Jinja's, so a simple page template
//! reads the same in both; what a compiled page shows comes only from its own fields.
//!
//! ```
//! use keel_view::askama::Template;
//! use keel_view::compiled::{Compiled, compiled};
//!
//! #[derive(Template)]
//! #[template(
//!     ext = "html",
//!     source = "<ul>{% for n in names %}<li>{{ n }}</li>{% endfor %}</ul>",
//!     askama = keel_view::askama
//! )]
//! struct Names {
//!     names: Vec<String>,
//! }
//!
//! async fn names() -> Compiled<Names> {
//!     compiled(Names { names: vec!["<Ada>".into(), "Grace".into()] })
//! }
//! # let _ = names;
//! let page = Names { names: vec!["<Ada>".into()] }.render().unwrap();
//! assert_eq!(page, "<ul><li>&#60;Ada&#62;</li></ul>");
//! ```
//!
//! With the template in a file: `#[template(path = "page.html", askama =
//! keel::view::askama)]` (the `askama` argument names the crate through Keel's
//! re-export, so an app needs no direct dependency on it). Values are HTML-escaped
//! by the file's extension (`.html`), as in views.

use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};
use keel_core::Error;

/// A page compiled from its template: return it from a handler. See the
/// [module](self).
#[derive(Debug, Clone)]
pub struct Compiled<T> {
    page: T,
    status: StatusCode,
}

/// The page `page` renders, answered with 200.
pub fn compiled<T: askama::Template>(page: T) -> Compiled<T> {
    Compiled {
        page,
        status: StatusCode::OK,
    }
}

impl<T> Compiled<T> {
    /// Answers with `status` instead of 200 (a form re-rendered with errors: 422).
    #[must_use]
    pub fn status(mut self, status: StatusCode) -> Self {
        self.status = status;
        self
    }
}

impl<T: askama::Template> IntoResponse for Compiled<T> {
    fn into_response(self) -> Response {
        match self.page.render() {
            Ok(html) => {
                let mut res = Response::new(axum::body::Body::from(html));
                *res.status_mut() = self.status;
                res.headers_mut().insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("text/html; charset=utf-8"),
                );
                res
            }
            Err(e) => {
                // A value's Display or a filter failed: log it, answer with a plain 500.
                let page = std::any::type_name::<T>();
                tracing::error!(target: "keel::view", page, error = %e, "compiled page failed to render");
                Error::internal_msg(format!("page {page} failed to render")).into_response()
            }
        }
    }
}
