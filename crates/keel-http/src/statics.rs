//! Static files, from a folder or embedded in the binary, with `ETag` /
//! `If-None-Match` (304) and `Cache-Control`.
//!
//! By default the `[static]` folder (`static/`) is served at `/static`. To ship assets
//! inside the binary, derive [`RustEmbed`](rust_embed::RustEmbed) and install
//! [`embed`]: in debug builds rust-embed reads the files from disk (edit and reload), in
//! release builds they are compiled in and the folder is not needed.
//!
//! ```no_run
//! use keel_http::statics;
//!
//! #[derive(rust_embed::RustEmbed)]
//! #[folder = "tests/it/assets/"] // your app: "static/"
//! struct Assets;
//!
//! let app = keel_core::App::new("site").plugin(statics::embed::<Assets>());
//! ```

use std::convert::Infallible;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::SystemTime;

use axum::body::Body;
use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures_util::future::BoxFuture;
use http::header::{self, HeaderValue};
use http::{Method, StatusCode};
use keel_core::{App, Error, ErrorKind};
use sha2::Digest as _;

/// One file to send.
#[derive(Debug, Clone)]
pub struct Asset {
    /// The content.
    pub body: Bytes,
    /// A strong validator, quoted (`"…"`).
    pub etag: String,
    /// The media type.
    pub content_type: String,
    /// When the file last changed, if known.
    pub last_modified: Option<SystemTime>,
}

/// Where assets come from.
pub trait AssetSource: Send + Sync + 'static {
    /// The asset at the relative, already validated `path` (`css/site.css`).
    fn get(&self, path: &str) -> BoxFuture<'_, Option<Asset>>;

    /// A short content hash of `path`, for versioned URLs (`?v=…`); `None` if the
    /// source cannot tell without reading asynchronously or the file is missing.
    fn version(&self, path: &str) -> Option<String> {
        let _ = path;
        None
    }
}

/// The version token of an ETag: its first 12 hex digits.
fn version_of_etag(etag: &str) -> String {
    etag.trim_matches('"').chars().take(12).collect()
}

fn content_type_for(path: &str) -> String {
    let mime = mime_guess::from_path(path).first_or_octet_stream();
    let essence = mime.essence_str();
    if mime.type_() == mime_guess::mime::TEXT
        || essence == "application/javascript"
        || essence == "application/json"
        || essence == "image/svg+xml"
    {
        format!("{essence}; charset=utf-8")
    } else {
        essence.to_owned()
    }
}

fn etag_of(bytes: &[u8]) -> String {
    let hash = sha2::Sha256::digest(bytes);
    let mut s = String::with_capacity(34);
    s.push('"');
    for b in &hash[..16] {
        s.push_str(&format!("{b:02x}"));
    }
    s.push('"');
    s
}

/// Assets read from a folder on each request (the content hash is the ETag).
#[derive(Debug, Clone)]
pub struct DirSource {
    root: PathBuf,
}

impl DirSource {
    /// Serve files under `root`.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }
}

impl AssetSource for DirSource {
    fn get(&self, path: &str) -> BoxFuture<'_, Option<Asset>> {
        let full = self.root.join(path);
        Box::pin(async move {
            let meta = tokio::fs::metadata(&full).await.ok()?;
            if !meta.is_file() {
                return None;
            }
            let body = Bytes::from(tokio::fs::read(&full).await.ok()?);
            Some(Asset {
                etag: etag_of(&body),
                content_type: content_type_for(&full.to_string_lossy()),
                last_modified: meta.modified().ok(),
                body,
            })
        })
    }

    fn version(&self, path: &str) -> Option<String> {
        let path = safe_path(&format!("/{path}"))?;
        let bytes = std::fs::read(self.root.join(path)).ok()?;
        Some(version_of_etag(&etag_of(&bytes)))
    }
}

/// Assets embedded with rust-embed.
pub struct EmbeddedSource<E>(std::marker::PhantomData<fn() -> E>);

impl<E> Default for EmbeddedSource<E> {
    fn default() -> Self {
        Self(std::marker::PhantomData)
    }
}

impl<E: rust_embed::RustEmbed + 'static> AssetSource for EmbeddedSource<E> {
    fn get(&self, path: &str) -> BoxFuture<'_, Option<Asset>> {
        let asset = E::get(path).map(|file| {
            let hash = file.metadata.sha256_hash();
            let mut etag = String::with_capacity(34);
            etag.push('"');
            for b in &hash[..16] {
                etag.push_str(&format!("{b:02x}"));
            }
            etag.push('"');
            let body = match file.data {
                std::borrow::Cow::Borrowed(b) => Bytes::from_static(b),
                std::borrow::Cow::Owned(v) => Bytes::from(v),
            };
            Asset {
                body,
                etag,
                content_type: content_type_for(path),
                last_modified: file
                    .metadata
                    .last_modified()
                    .map(|s| SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(s)),
            }
        });
        Box::pin(std::future::ready(asset))
    }

    fn version(&self, path: &str) -> Option<String> {
        let file = E::get(path)?;
        let hash = file.metadata.sha256_hash();
        Some(hash[..6].iter().map(|b| format!("{b:02x}")).collect())
    }
}

/// Versioned asset URLs for templates (`static("site.css")`).
pub(crate) struct VersionedUrls {
    pub(crate) prefix: String,
    pub(crate) source: Arc<dyn AssetSource>,
}

impl keel_core::template::AssetUrls for VersionedUrls {
    fn url(&self, path: &str) -> String {
        let path = path.trim_start_matches('/');
        let base = format!("{}/{path}", self.prefix.trim_end_matches('/'));
        match self.source.version(path) {
            Some(v) => format!("{base}?v={v}"),
            None => base,
        }
    }
}

/// The source chosen by [`embed`], picked up by the HTTP plugin.
#[derive(Clone)]
pub struct StaticSource(pub Arc<dyn AssetSource>);

impl std::fmt::Debug for StaticSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StaticSource")
    }
}

/// A plugin that serves the embedded assets `E` at `static.url` instead of the folder.
pub fn embed<E: rust_embed::RustEmbed + 'static>() -> impl FnOnce(&mut App) + Send + 'static {
    |app: &mut App| {
        app.extensions()
            .insert(StaticSource(Arc::new(EmbeddedSource::<E>::default())));
    }
}

/// A tower service serving assets from a source.
#[derive(Clone)]
pub struct StaticFiles {
    source: Arc<dyn AssetSource>,
    cache_control: HeaderValue,
    immutable: bool,
}

impl std::fmt::Debug for StaticFiles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StaticFiles")
            .field("cache_control", &self.cache_control)
            .finish_non_exhaustive()
    }
}

impl StaticFiles {
    /// Serves `source` with the given `Cache-Control` value.
    pub fn new(source: Arc<dyn AssetSource>, cache_control: HeaderValue) -> Self {
        Self {
            source,
            cache_control,
            immutable: false,
        }
    }

    /// Answers URLs that carry the content's version (`?v=…`, as templates'
    /// `static()` builds them) with `Cache-Control: immutable` for a year.
    #[must_use]
    pub fn immutable_when_versioned(mut self, on: bool) -> Self {
        self.immutable = on;
        self
    }
}

/// Checks and normalises a request path: percent-decoded, relative, no `..`, no
/// hidden files, no backslashes.
fn safe_path(uri_path: &str) -> Option<String> {
    let decoded = percent_encoding::percent_decode_str(uri_path)
        .decode_utf8()
        .ok()?;
    let rel = decoded.strip_prefix('/').unwrap_or(&decoded);
    if rel.is_empty() || rel.contains('\\') || rel.contains('\0') {
        return None;
    }
    // Every segment must be a plain name: no `.`/`..`, no hidden files, no `//`.
    if rel
        .split('/')
        .any(|seg| seg.is_empty() || seg.starts_with('.'))
    {
        return None;
    }
    Some(rel.to_owned())
}

fn not_found() -> Response {
    Error::not_found("No such file.").into_response()
}

impl tower_service::Service<Request> for StaticFiles {
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request) -> Self::Future {
        let this = self.clone();
        Box::pin(async move {
            if req.method() != Method::GET && req.method() != Method::HEAD {
                return Ok(Error::from_kind(ErrorKind::MethodNotAllowed)
                    .with_message("Static files can only be read (GET, HEAD).")
                    .with_header(header::ALLOW, HeaderValue::from_static("GET, HEAD"))
                    .into_response());
            }
            let Some(path) = safe_path(req.uri().path()) else {
                return Ok(not_found());
            };
            let Some(asset) = this.source.get(&path).await else {
                return Ok(not_found());
            };
            let etag = HeaderValue::from_str(&asset.etag).ok();
            let matches = req
                .headers()
                .get_all(header::IF_NONE_MATCH)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(','))
                .map(|t| t.trim().trim_start_matches("W/"))
                .any(|t| t == "*" || t == asset.etag);
            let mut res = if matches {
                let mut r = Response::new(Body::empty());
                *r.status_mut() = StatusCode::NOT_MODIFIED;
                r
            } else {
                let len = asset.body.len();
                let body = if req.method() == Method::HEAD {
                    Body::empty()
                } else {
                    Body::from(asset.body)
                };
                let mut r = Response::new(body);
                if let Ok(ct) = HeaderValue::from_str(&asset.content_type) {
                    r.headers_mut().insert(header::CONTENT_TYPE, ct);
                }
                r.headers_mut()
                    .insert(header::CONTENT_LENGTH, HeaderValue::from(len));
                if let Some(modified) = asset.last_modified
                    && let Ok(v) = HeaderValue::from_str(&httpdate(modified))
                {
                    r.headers_mut().insert(header::LAST_MODIFIED, v);
                }
                r
            };
            if let Some(etag) = etag {
                res.headers_mut().insert(header::ETAG, etag);
            }
            // A URL that names the content's version never changes meaning: cache it
            // for good (outside development, where `immutable` would hide edits).
            let versioned = this.immutable
                && req.uri().query().is_some_and(|q| {
                    form_urlencoded::parse(q.as_bytes())
                        .any(|(k, v)| k == "v" && v == version_of_etag(&asset.etag))
                });
            let cache = if versioned {
                HeaderValue::from_static("public, max-age=31536000, immutable")
            } else {
                this.cache_control.clone()
            };
            res.headers_mut().insert(header::CACHE_CONTROL, cache);
            Ok(res)
        })
    }
}

/// IMF-fixdate (RFC 9110 §5.6.7), e.g. `Sun, 06 Nov 1994 08:49:37 GMT`.
fn httpdate(t: SystemTime) -> String {
    let secs = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    keel_core::time::http_date(secs)
}

/// The rust-embed crate, so apps can derive `RustEmbed` through Keel.
pub use rust_embed as rust_embed_reexport;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_confined() {
        assert_eq!(safe_path("/css/site.css").as_deref(), Some("css/site.css"));
        assert_eq!(safe_path("/a%20b.txt").as_deref(), Some("a b.txt"));
        for bad in [
            "/",
            "/../etc/passwd",
            "/a/../../b",
            "/%2e%2e/x",
            "/.env",
            "/a\\b",
            "/a/./b",
        ] {
            assert_eq!(safe_path(bad), None, "{bad}");
        }
    }

    #[test]
    fn http_dates() {
        let t = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(784_111_777);
        assert_eq!(httpdate(t), "Sun, 06 Nov 1994 08:49:37 GMT");
        assert_eq!(
            httpdate(SystemTime::UNIX_EPOCH),
            "Thu, 01 Jan 1970 00:00:00 GMT"
        );
    }

    #[test]
    fn text_types_get_a_charset() {
        assert_eq!(content_type_for("a.css"), "text/css; charset=utf-8");
        assert_eq!(content_type_for("a.png"), "image/png");
    }
}
