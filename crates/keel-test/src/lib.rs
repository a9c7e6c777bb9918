//! # keel-test
//!
//! A test client that drives a Keel app in-process — the full middleware stack, no
//! socket — with a cookie jar, JSON and form helpers, and assertions on status,
//! headers, JSON and problem documents.
//!
//! ```
//! use keel_core::{App, Router, routing::get};
//! use keel_test::TestClient;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let app = App::new("demo").routes(Router::new().route("/hi", get(|| async { "hi" })));
//! let client = TestClient::new(app).await;
//!
//! client.get("/hi").await.assert_status(200).assert_text("hi");
//! client.get("/nope").await.assert_problem(404, "not_found");
//! # }
//! ```
//!
//! The app runs in the `test` environment unless it set another one explicitly.

#[cfg(feature = "db")]
pub mod db;
pub mod sessions;

use std::fmt;
use std::future::{Future, IntoFuture};
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::ConnectInfo;
use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Method, Request, StatusCode};
use http_body_util::BodyExt as _;
use keel_core::{App, AppState, Environment, Problem};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tower::ServiceExt as _;

/// Drives an app's router in-process. Cheap to clone (clones share the cookie jar).
#[derive(Clone)]
pub struct TestClient {
    service: keel_http::middleware::KeelService,
    state: AppState,
    jar: Arc<Mutex<cookie::CookieJar>>,
    host: HeaderValue,
}

impl fmt::Debug for TestClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TestClient")
            .field("app", &self.state.name())
            .finish_non_exhaustive()
    }
}

impl TestClient {
    /// Builds and starts `app` (in the `test` environment unless it chose one).
    ///
    /// # Panics
    ///
    /// When the app does not build (invalid configuration) or a startup hook fails; the
    /// message lists the problems.
    pub async fn new(app: App) -> Self {
        match Self::try_new(app).await {
            Ok(c) => c,
            Err(e) => panic!("the app under test did not start: {e:?}"),
        }
    }

    /// Like [`TestClient::new`], returning the error instead of panicking.
    pub async fn try_new(mut app: App) -> keel_core::Result<Self> {
        if !app.has_explicit_environment() {
            app.set_environment(Environment::Test);
        }
        let http = keel_http::start(app).await?;
        Ok(Self {
            service: http.service(),
            state: http.state().clone(),
            jar: Arc::default(),
            host: HeaderValue::from_static("localhost"),
        })
    }

    /// The app's state (config, provided values, named routes).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Sends requests with this `Host` header (default `localhost`).
    #[must_use]
    pub fn with_host(mut self, host: &str) -> Self {
        self.host = HeaderValue::from_str(host).expect("a valid host header value");
        self
    }

    /// A request with any method.
    pub fn request(&self, method: Method, path: &str) -> TestRequest {
        TestRequest {
            client: self.clone(),
            method,
            path: path.to_owned(),
            headers: HeaderMap::new(),
            body: Bytes::new(),
        }
    }

    /// A GET request.
    pub fn get(&self, path: &str) -> TestRequest {
        self.request(Method::GET, path)
    }

    /// A HEAD request.
    pub fn head(&self, path: &str) -> TestRequest {
        self.request(Method::HEAD, path)
    }

    /// A POST request.
    pub fn post(&self, path: &str) -> TestRequest {
        self.request(Method::POST, path)
    }

    /// A PUT request.
    pub fn put(&self, path: &str) -> TestRequest {
        self.request(Method::PUT, path)
    }

    /// A PATCH request.
    pub fn patch(&self, path: &str) -> TestRequest {
        self.request(Method::PATCH, path)
    }

    /// A DELETE request.
    pub fn delete(&self, path: &str) -> TestRequest {
        self.request(Method::DELETE, path)
    }

    /// An OPTIONS request.
    pub fn options(&self, path: &str) -> TestRequest {
        self.request(Method::OPTIONS, path)
    }

    /// The value of a cookie in the jar.
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.jar
            .lock()
            .expect("cookie jar")
            .get(name)
            .map(|c| c.value().to_owned())
    }

    /// Puts a cookie in the jar.
    pub fn set_cookie(&self, name: &str, value: &str) {
        self.jar
            .lock()
            .expect("cookie jar")
            .add(cookie::Cookie::new(name.to_owned(), value.to_owned()));
    }

    /// Empties the jar.
    pub fn clear_cookies(&self) {
        *self.jar.lock().expect("cookie jar") = cookie::CookieJar::new();
    }

    async fn send(&self, req: TestRequest) -> TestResponse {
        let mut builder = Request::builder().method(req.method.clone()).uri(&req.path);
        {
            let headers = builder.headers_mut().expect("request builder");
            *headers = req.headers.clone();
            if !headers.contains_key(header::HOST) {
                headers.insert(header::HOST, self.host.clone());
            }
            if !req.body.is_empty() && !headers.contains_key(header::CONTENT_LENGTH) {
                headers.insert(header::CONTENT_LENGTH, HeaderValue::from(req.body.len()));
            }
            let jar = self.jar.lock().expect("cookie jar");
            let cookies: Vec<String> = jar
                .iter()
                .filter(|c| c.path().is_none_or(|p| req.path.starts_with(p)))
                .map(|c| format!("{}={}", c.name(), c.value()))
                .collect();
            if !cookies.is_empty() && !headers.contains_key(header::COOKIE) {
                headers.insert(
                    header::COOKIE,
                    HeaderValue::from_str(&cookies.join("; ")).expect("cookie header"),
                );
            }
        }
        let mut request = builder
            .body(Body::from(req.body.clone()))
            .expect("a valid request");
        request
            .extensions_mut()
            .insert(ConnectInfo(SocketAddr::from(([127, 0, 0, 1], 40000))));
        let response = self
            .service
            .clone()
            .oneshot(request)
            .await
            .unwrap_or_else(|never| match never {});
        let (parts, body) = response.into_parts();
        let body = body
            .collect()
            .await
            .map(|c| c.to_bytes())
            .unwrap_or_else(|e| panic!("reading the response body failed: {e}"));
        {
            let mut jar = self.jar.lock().expect("cookie jar");
            for value in parts.headers.get_all(header::SET_COOKIE) {
                let Ok(text) = value.to_str() else { continue };
                let Ok(c) = cookie::Cookie::parse(text.to_owned()) else {
                    continue;
                };
                let expired = c.max_age().is_some_and(|a| a.is_zero() || a.is_negative())
                    || c.value().is_empty();
                if expired {
                    jar.remove(cookie::Cookie::from(c.name().to_owned()));
                } else {
                    jar.add(c.into_owned());
                }
            }
        }
        TestResponse {
            method: req.method,
            path: req.path,
            status: parts.status,
            headers: parts.headers,
            body,
        }
    }
}

/// A request being built. Await it (or call [`TestRequest::send`]) to send it.
#[must_use = "a request does nothing until it is awaited"]
pub struct TestRequest {
    client: TestClient,
    method: Method,
    path: String,
    headers: HeaderMap,
    body: Bytes,
}

impl fmt::Debug for TestRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.method, self.path)
    }
}

impl TestRequest {
    /// Sets a header.
    pub fn header(mut self, name: impl AsRef<str>, value: impl AsRef<str>) -> Self {
        let name = HeaderName::from_bytes(name.as_ref().as_bytes()).expect("a valid header name");
        let value = HeaderValue::from_str(value.as_ref()).expect("a valid header value");
        self.headers.append(name, value);
        self
    }

    /// Asks for HTML, as a browser does.
    pub fn accept_html(self) -> Self {
        self.header(
            "accept",
            "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
        )
    }

    /// `Authorization: Bearer <token>`.
    pub fn bearer(self, token: &str) -> Self {
        self.header("authorization", format!("Bearer {token}"))
    }

    /// A raw body with a content type.
    pub fn body(mut self, body: impl Into<Bytes>, content_type: &str) -> Self {
        self.body = body.into();
        self.header("content-type", content_type)
    }

    /// A JSON body.
    pub fn json<T: Serialize + ?Sized>(self, value: &T) -> Self {
        let body = serde_json::to_vec(value).expect("serializable JSON");
        self.body(body, "application/json")
    }

    /// A URL-encoded form body.
    pub fn form<T: Serialize + ?Sized>(self, value: &T) -> Self {
        let body = serde_urlencoded::to_string(value).expect("serializable form");
        self.body(body, "application/x-www-form-urlencoded")
    }

    /// Sends the request.
    pub async fn send(self) -> TestResponse {
        let client = self.client.clone();
        client.send(self).await
    }
}

impl IntoFuture for TestRequest {
    type Output = TestResponse;
    type IntoFuture = Pin<Box<dyn Future<Output = TestResponse> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.send())
    }
}

/// A response, fully read.
#[derive(Clone)]
pub struct TestResponse {
    method: Method,
    path: String,
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

impl fmt::Debug for TestResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} -> {}\n{:?}\n{}",
            self.method,
            self.path,
            self.status,
            self.headers,
            String::from_utf8_lossy(&self.body)
        )
    }
}

impl TestResponse {
    /// The status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// All headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// A header as text (`None` if absent or not text).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The body.
    pub fn bytes(&self) -> &Bytes {
        &self.body
    }

    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body parsed as JSON.
    ///
    /// # Panics
    ///
    /// When the body is not JSON of that shape.
    pub fn json<T: DeserializeOwned>(&self) -> T {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("response body is not the expected JSON ({e}):\n{self:?}"))
    }

    /// The body as a problem document.
    ///
    /// # Panics
    ///
    /// When the response is not `application/problem+json` or not a valid problem.
    pub fn problem(&self) -> Problem {
        let ct = self.header("content-type").unwrap_or("");
        assert!(
            ct.starts_with(keel_core::error::PROBLEM_JSON),
            "expected a problem+json response, got content-type {ct:?}:\n{self:?}"
        );
        self.json::<Problem>()
    }

    /// Asserts the status.
    #[track_caller]
    pub fn assert_status(&self, status: u16) -> &Self {
        assert_eq!(
            self.status.as_u16(),
            status,
            "unexpected status for {} {}:\n{self:?}",
            self.method,
            self.path
        );
        self
    }

    /// Asserts a header's value.
    #[track_caller]
    pub fn assert_header(&self, name: &str, value: &str) -> &Self {
        assert_eq!(
            self.header(name),
            Some(value),
            "header {name} of {} {}:\n{self:?}",
            self.method,
            self.path
        );
        self
    }

    /// Asserts that a header is present.
    #[track_caller]
    pub fn assert_header_present(&self, name: &str) -> &Self {
        assert!(
            self.headers.contains_key(name),
            "header {name} is missing from {} {}:\n{self:?}",
            self.method,
            self.path
        );
        self
    }

    /// Asserts that a header is absent.
    #[track_caller]
    pub fn assert_no_header(&self, name: &str) -> &Self {
        assert!(
            !self.headers.contains_key(name),
            "header {name} should not be in {} {}:\n{self:?}",
            self.method,
            self.path
        );
        self
    }

    /// Asserts the body text.
    #[track_caller]
    pub fn assert_text(&self, text: &str) -> &Self {
        assert_eq!(self.text(), text, "body of {} {}", self.method, self.path);
        self
    }

    /// Asserts the body equals `expected` as JSON.
    #[track_caller]
    pub fn assert_json(&self, expected: &serde_json::Value) -> &Self {
        let got: serde_json::Value = self.json();
        assert_eq!(&got, expected, "JSON body of {} {}", self.method, self.path);
        self
    }

    /// Asserts a problem response with this status and code, and returns the problem.
    /// Also checks the problem's own `status` member and that a `request_id` is present
    /// and equal to the `x-request-id` header when the header is set.
    #[track_caller]
    pub fn assert_problem(&self, status: u16, code: &str) -> Problem {
        self.assert_status(status);
        let p = self.problem();
        assert_eq!(p.status, status, "problem status member:\n{self:?}");
        assert_eq!(p.code, code, "problem code:\n{self:?}");
        if let Some(id) = self.header("x-request-id") {
            assert_eq!(
                p.request_id.as_deref(),
                Some(id),
                "problem request_id:\n{self:?}"
            );
        }
        p
    }
}

/// One part of a multipart form: a field name, `(file name, content type)` when it is
/// a file, and the content.
pub type Part<'a> = (&'a str, Option<(&'a str, &'a str)>, &'a [u8]);

/// A `multipart/form-data` body and its content type, for
/// `client.post(url).body(body, &content_type)`.
///
/// ```
/// let (body, content_type) = keel_test::multipart(&[
///     ("title", None, b"Hello"),
///     ("image", Some(("a.png", "image/png")), b"\x89PNG"),
/// ]);
/// assert!(content_type.starts_with("multipart/form-data; boundary="));
/// assert!(!body.is_empty());
/// ```
pub fn multipart(parts: &[Part<'_>]) -> (Vec<u8>, String) {
    let boundary = "keel-test-boundary-7MA4YWxk";
    let mut body = Vec::new();
    for (name, file, data) in parts {
        body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        let disposition = match file {
            Some((filename, ct)) => format!(
                "Content-Disposition: form-data; name=\"{name}\"; filename=\"{filename}\"\r\nContent-Type: {ct}\r\n\r\n"
            ),
            None => format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n"),
        };
        body.extend_from_slice(disposition.as_bytes());
        body.extend_from_slice(data);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (body, format!("multipart/form-data; boundary={boundary}"))
}
