//! A test app with one route per behaviour under test, and a raw HTTP/1.1 client for
//! what only a real socket shows (pipelining, connection reuse after 413).

use std::net::SocketAddr;
use std::time::Duration;

use axum::body::Bytes;
use keel_core::App;
use keel_core::routing::{Router, get, post};
use keel_http::extract::{Form, Json, Path, Query};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

#[derive(serde::Deserialize, serde::Serialize, garde::Validate)]
#[garde(allow_unvalidated)]
pub struct Note {
    pub title: String,
    pub stars: u8,
}

#[derive(serde::Deserialize, garde::Validate)]
#[garde(allow_unvalidated)]
pub struct Page {
    pub page: u32,
}

async fn json_note(Json(n): Json<Note>) -> Json<Note> {
    Json(n)
}

async fn form_note(Form(n): Form<Note>) -> String {
    format!("{} ({} stars)", n.title, n.stars)
}

async fn page(Query(p): Query<Page>) -> String {
    format!("page {}", p.page)
}

async fn item(Path(id): Path<u32>) -> String {
    format!("item {id}")
}

async fn panics() -> &'static str {
    panic!("the handler exploded with secret details")
}

async fn slow() -> &'static str {
    tokio::time::sleep(Duration::from_secs(2)).await;
    "finally"
}

async fn length(body: Bytes) -> String {
    body.len().to_string()
}

async fn axum_json(axum::Json(n): axum::Json<Note>) -> String {
    n.title
}

async fn big() -> String {
    "keel ".repeat(400)
}

pub fn routes() -> Router {
    Router::new()
        .route("/ok", get(|| async { "ok" }).name("ok"))
        .route("/big", get(big))
        .route("/notes", post(json_note).name("notes"))
        .route("/form", post(form_note))
        .route("/page", get(page))
        .route("/items/{id}", get(item).name("item"))
        .route("/panic", get(panics))
        .route("/slow", get(slow))
        .route("/upload", post(length))
        .route("/axum-json", post(axum_json))
}

/// The test app: defaults, plus a short timeout and a small body limit.
pub fn app() -> App {
    App::new("it")
        .config_dir("tests/it/no-config")
        .set("server.request_timeout", "300ms")
        .set("server.body_limit", "1KiB")
        .set("server.body_drain_limit", "64KiB")
        .routes(routes())
}

/// Starts `app` on a free port; returns its address and a shutdown trigger.
/// Starts `app` and binds a server for it on a free port, with `tweak`ed settings.
pub async fn bind(
    app: App,
    mut tweak: impl FnMut(&mut keel_http::settings::ServerSettings),
) -> keel_http::serve::Server {
    let started = keel_http::start(app.environment(keel_core::Environment::Test))
        .await
        .unwrap();
    let mut settings: keel_http::settings::ServerSettings =
        started.state().config().section("server").unwrap();
    settings.port = 0;
    tweak(&mut settings);
    keel_http::serve::Server::bind(&started, &settings).unwrap()
}

pub async fn serve(
    app: App,
    mut tweak: impl FnMut(&mut keel_http::settings::ServerSettings),
) -> (
    SocketAddr,
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<()>,
) {
    let server = bind(app, &mut tweak).await;
    let addr = server.local_addr();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let handle = tokio::spawn(async move {
        server
            .run(async {
                let _ = rx.await;
            })
            .await
            .unwrap();
    });
    (addr, tx, handle)
}

/// One parsed HTTP/1.1 response.
#[derive(Debug)]
pub struct RawResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl RawResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Reads responses from a raw connection (Content-Length framed only).
pub struct RawConn {
    pub stream: TcpStream,
    buf: Vec<u8>,
}

impl RawConn {
    pub async fn connect(addr: SocketAddr) -> Self {
        Self {
            stream: TcpStream::connect(addr).await.unwrap(),
            buf: Vec::new(),
        }
    }

    pub async fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).await.unwrap();
    }

    /// Reads one response; `None` if the server closed the connection first.
    pub async fn read_response(&mut self) -> Option<RawResponse> {
        loop {
            if let Some(end) = find(&self.buf, b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&self.buf[..end]).to_string();
                let mut lines = head.split("\r\n");
                let status: u16 = lines.next()?.split(' ').nth(1)?.parse().ok()?;
                let headers: Vec<(String, String)> = lines
                    .filter_map(|l| l.split_once(':'))
                    .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
                    .collect();
                let len: usize = headers
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
                    .map(|(_, v)| v.parse().unwrap())
                    .unwrap_or(0);
                while self.buf.len() < end + 4 + len {
                    if !self.fill().await {
                        return None;
                    }
                }
                let body = self.buf[end + 4..end + 4 + len].to_vec();
                self.buf.drain(..end + 4 + len);
                return Some(RawResponse {
                    status,
                    headers,
                    body,
                });
            }
            if !self.fill().await {
                return None;
            }
        }
    }

    async fn fill(&mut self) -> bool {
        let mut chunk = [0u8; 8192];
        match tokio::time::timeout(Duration::from_secs(5), self.stream.read(&mut chunk)).await {
            Ok(Ok(0)) | Ok(Err(_)) => false,
            Ok(Ok(n)) => {
                self.buf.extend_from_slice(&chunk[..n]);
                true
            }
            Err(_) => panic!("no response within 5 s"),
        }
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}
