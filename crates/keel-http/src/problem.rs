//! Turning an [`Error`] into what the client sees: RFC 9457 `application/problem+json`
//! for API clients, an HTML page for browsers (chosen from `Accept`).
//!
//! The format is a strategy: provide an `Arc<dyn ErrorRenderer>` to the app
//! (`App::provide`) to answer errors in another shape, e.g. RealWorld's
//! `{"errors":{"body":[…]}}`, in one place.

use std::fmt::Write as _;
use std::sync::{Arc, LazyLock};

use axum::body::Body;
use axum::response::Response;
use base64::Engine as _;
use http::header::{self, HeaderValue};
use keel_core::error::PROBLEM_JSON;
use keel_core::{Error, Problem};
use sha2::Digest as _;

/// What the renderer knows about the request.
#[derive(Debug, Clone, Copy)]
pub struct ErrorContext<'a> {
    /// The client prefers HTML (a browser).
    pub wants_html: bool,
    /// The request path (the problem's `instance`).
    pub path: &'a str,
    /// The request id.
    pub request_id: Option<&'a str>,
    /// Debug mode is on.
    pub debug: bool,
}

/// Renders errors into responses. The default is [`DefaultErrorRenderer`].
pub trait ErrorRenderer: Send + Sync + 'static {
    /// The response for `error`. Status and the error's headers are set by the caller
    /// afterwards if the renderer leaves them out.
    fn render(&self, error: &Error, cx: &ErrorContext<'_>) -> Response;
}

/// Problem+json for API clients, an HTML page for browsers.
#[derive(Debug, Clone, Copy, Default)]
pub struct DefaultErrorRenderer;

impl ErrorRenderer for DefaultErrorRenderer {
    fn render(&self, error: &Error, cx: &ErrorContext<'_>) -> Response {
        if cx.wants_html {
            html_response(error, cx)
        } else {
            problem_response(error, cx)
        }
    }
}

/// The app-wide renderer, as provided to the app (or the default).
#[derive(Clone)]
pub struct SharedRenderer(pub Arc<dyn ErrorRenderer>);

impl std::fmt::Debug for SharedRenderer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SharedRenderer")
    }
}

impl Default for SharedRenderer {
    fn default() -> Self {
        Self(Arc::new(DefaultErrorRenderer))
    }
}

/// The problem document for `error` in the context of a request.
pub fn problem_for(error: &Error, cx: &ErrorContext<'_>) -> Problem {
    let mut p = error.to_problem();
    p.instance = Some(cx.path.to_owned());
    p.request_id = cx.request_id.map(str::to_owned);
    p
}

/// `application/problem+json` response.
pub fn problem_response(error: &Error, cx: &ErrorContext<'_>) -> Response {
    let body = serde_json::to_vec(&problem_for(error, cx)).unwrap_or_default();
    let mut res = Response::new(Body::from(body));
    *res.status_mut() = error.status();
    res.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
    res
}

const PAGE_STYLE: &str = "body{font:16px/1.5 system-ui,sans-serif;margin:0;background:#f6f7f9;color:#1d2430}\
main{max-width:40rem;margin:10vh auto;padding:2rem;background:#fff;border-radius:8px;\
box-shadow:0 1px 3px rgba(0,0,0,.12)}h1{margin:0 0 .5rem;font-size:1.6rem}\
.status{color:#8a94a6;font-weight:600}ul{padding-left:1.2rem}\
.meta{margin-top:2rem;color:#8a94a6;font-size:.85rem}code{font-size:.9em}";

/// The error page's own CSP: nothing but its inline style (allowed by hash), so the
/// page is safe whatever it displays.
static PAGE_CSP: LazyLock<HeaderValue> = LazyLock::new(|| {
    let hash = sha2::Sha256::digest(PAGE_STYLE.as_bytes());
    let b64 = base64::engine::general_purpose::STANDARD.encode(hash);
    HeaderValue::from_str(&format!(
        "default-src 'none'; style-src 'sha256-{b64}'; frame-ancestors 'none'; base-uri 'none'"
    ))
    .expect("a CSP made of ASCII is a valid header value")
});

/// Escapes text for HTML element content and attribute values.
pub use keel_core::html::escape_into as escape_html;

/// The HTML error page.
pub fn html_page(error: &Error, cx: &ErrorContext<'_>) -> String {
    let status = error.status();
    let title = status.canonical_reason().unwrap_or("Error");
    let mut h = String::with_capacity(1024);
    h.push_str("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">");
    h.push_str("<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">");
    let _ = write!(h, "<title>{} {}</title>", status.as_u16(), title);
    let _ = write!(h, "<style>{PAGE_STYLE}</style></head><body><main>");
    let _ = write!(
        h,
        "<p class=\"status\">{}</p><h1>{}</h1><p>",
        status.as_u16(),
        title
    );
    escape_html(&mut h, error.message());
    h.push_str("</p>");
    if !error.fields().is_empty() {
        h.push_str("<ul>");
        for f in error.fields() {
            h.push_str("<li><code>");
            escape_html(&mut h, &f.field());
            h.push_str("</code>: ");
            escape_html(&mut h, f.detail());
            h.push_str("</li>");
        }
        h.push_str("</ul>");
    }
    if let Some(id) = cx.request_id {
        h.push_str("<p class=\"meta\">Request ID: <code>");
        escape_html(&mut h, id);
        h.push_str("</code></p>");
    }
    h.push_str("</main></body></html>\n");
    h
}

/// `text/html` response with [`html_page`].
pub fn html_response(error: &Error, cx: &ErrorContext<'_>) -> Response {
    let mut res = Response::new(Body::from(html_page(error, cx)));
    *res.status_mut() = error.status();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    res.headers_mut()
        .insert(header::CONTENT_SECURITY_POLICY, PAGE_CSP.clone());
    res
}

/// Whether an `Accept` header prefers HTML over JSON (browsers do; `curl`, `fetch` and
/// API clients do not).
pub fn prefers_html(accept: Option<&HeaderValue>) -> bool {
    let Some(accept) = accept.and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let mut html = 0.0f32;
    let mut json = 0.0f32;
    for item in accept.split(',') {
        let mut parts = item.split(';');
        let media = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let q = parts
            .find_map(|p| {
                p.trim()
                    .strip_prefix("q=")
                    .and_then(|q| q.parse::<f32>().ok())
            })
            .unwrap_or(1.0);
        match media.as_str() {
            "text/html" | "application/xhtml+xml" => html = html.max(q),
            "application/json" | "application/problem+json" => json = json.max(q),
            m if m.ends_with("+json") => json = json.max(q),
            _ => {}
        }
    }
    html > 0.0 && html >= json
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiation() {
        let browser = HeaderValue::from_static(
            "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
        );
        assert!(prefers_html(Some(&browser)));
        assert!(!prefers_html(None));
        assert!(!prefers_html(Some(&HeaderValue::from_static("*/*"))));
        assert!(!prefers_html(Some(&HeaderValue::from_static(
            "application/json"
        ))));
        assert!(!prefers_html(Some(&HeaderValue::from_static(
            "application/json, text/html;q=0.5"
        ))));
        assert!(prefers_html(Some(&HeaderValue::from_static("text/html"))));
    }

    #[test]
    fn html_page_escapes_everything_dynamic() {
        let e = Error::not_found("<script>alert(1)</script>")
            .with_field(keel_core::FieldError::new("a<b", "x", "\"quoted\" & more"));
        let cx = ErrorContext {
            wants_html: true,
            path: "/x",
            request_id: Some("id<1>"),
            debug: false,
        };
        let page = html_page(&e, &cx);
        assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(!page.contains("<script>"));
        assert!(page.contains("a&lt;b"));
        assert!(page.contains("&quot;quoted&quot; &amp; more"));
        assert!(page.contains("id&lt;1&gt;"));
    }

    #[test]
    fn page_csp_allows_exactly_its_style() {
        let csp = PAGE_CSP.to_str().unwrap();
        assert!(csp.starts_with("default-src 'none'; style-src 'sha256-"));
    }
}
