//! `keel dev`: the development loop. `keel dev` owns the port the browser talks to and
//! forwards to the app, which it builds and runs on a private port. When a source file
//! changes it rebuilds and restarts the app; requests that arrive meanwhile wait for the
//! new process instead of meeting a refused connection. Template and static-file
//! changes need no rebuild (the app reads them per request in development): the browser
//! is just told to reload. A failed build is shown in the terminal and, to every page
//! request, as an error page that reloads itself once a build succeeds.
//!
//! HTML responses get one `<script src="/__keel/reload.js">` (same origin, so the app's
//! Content-Security-Policy allows it) that listens on `/__keel/events`.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use clap::ArgMatches;
use http::{HeaderValue, Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Full, StreamBody, combinators::BoxBody};
use hyper::body::{Frame, Incoming};
use hyper_util::rt::TokioIo;
use tokio::io::AsyncBufReadExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::process::{Child, Command};
use tokio::sync::{broadcast, watch};

use crate::out;

type Body = BoxBody<Bytes, hyper::Error>;

/// Where the app is in the loop.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Phase {
    /// Building (or starting): requests wait.
    Building,
    /// Serving on this private port.
    Running(u16),
    /// The build failed with this compiler output.
    Failed(String),
}

struct Shared {
    phase: watch::Sender<Phase>,
    reload: broadcast::Sender<()>,
}

const RELOAD_JS: &str = "(() => {\n  const events = new EventSource('/__keel/events');\n  events.onmessage = () => location.reload();\n})();\n";

fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into())
        .map_err(|never| match never {})
        .boxed()
}

fn text_response(status: StatusCode, content_type: &'static str, body: String) -> Response<Body> {
    let mut res = Response::new(full(body));
    *res.status_mut() = status;
    res.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn build_error_page(output: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Build failed</title>\
         <style>body{{font:15px/1.5 system-ui,sans-serif;margin:2rem;color:#1d2430}}\
         pre{{background:#1d2430;color:#f6f7f9;padding:1rem;overflow:auto;border-radius:6px}}</style>\
         </head><body><h1>The build failed</h1><p>Fix the error below; this page reloads when \
         the build succeeds.</p><pre>{}</pre><script src=\"/__keel/reload.js\"></script></body></html>\n",
        escape(output)
    )
}

/// Waits until the app runs or its build failed (at most `limit`).
async fn settled(mut phase: watch::Receiver<Phase>, limit: Duration) -> Phase {
    let wait = phase.wait_for(|p| *p != Phase::Building);
    match tokio::time::timeout(limit, wait).await {
        Ok(Ok(p)) => p.clone(),
        _ => Phase::Building,
    }
}

async fn forward(port: u16, mut req: Request<Body>) -> Result<Response<Incoming>, String> {
    let stream = TcpStream::connect(("127.0.0.1", port))
        .await
        .map_err(|e| e.to_string())?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(conn);
    // Uncompressed answers, so that the reload script can go into HTML.
    req.headers_mut().remove(header::ACCEPT_ENCODING);
    sender.send_request(req).await.map_err(|e| e.to_string())
}

async fn inject(res: Response<Incoming>) -> Response<Body> {
    let is_html = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("text/html"));
    if !is_html {
        return res.map(BodyExt::boxed);
    }
    let (mut parts, body) = res.into_parts();
    let Ok(collected) = body.collect().await else {
        return text_response(
            StatusCode::BAD_GATEWAY,
            "text/plain",
            "the app's body broke off".into(),
        );
    };
    let mut html = String::from_utf8_lossy(&collected.to_bytes()).into_owned();
    let tag = "<script src=\"/__keel/reload.js\"></script>";
    match html.rfind("</body>") {
        Some(i) => html.insert_str(i, tag),
        None => html.push_str(tag),
    }
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, full(html))
}

async fn handle(shared: Arc<Shared>, req: Request<Incoming>) -> Result<Response<Body>, Infallible> {
    match req.uri().path() {
        "/__keel/reload.js" => {
            return Ok(text_response(
                StatusCode::OK,
                "text/javascript; charset=utf-8",
                RELOAD_JS.into(),
            ));
        }
        "/__keel/events" => {
            let rx = shared.reload.subscribe();
            let stream = futures_util::stream::unfold(rx, |mut rx| async move {
                match rx.recv().await {
                    Ok(()) | Err(broadcast::error::RecvError::Lagged(_)) => Some((
                        Ok::<_, hyper::Error>(Frame::data(Bytes::from_static(b"data: reload\n\n"))),
                        rx,
                    )),
                    Err(broadcast::error::RecvError::Closed) => None,
                }
            });
            let mut res = Response::new(StreamBody::new(stream).boxed());
            res.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/event-stream"),
            );
            res.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            return Ok(res);
        }
        _ => {}
    }
    // Keep the request, so that it can be sent again if the app restarts under it.
    let (parts, body) = req.into_parts();
    let Ok(body) = body.collect().await.map(|c| c.to_bytes()) else {
        return Ok(text_response(
            StatusCode::BAD_REQUEST,
            "text/plain; charset=utf-8",
            "keel dev: the request body broke off\n".into(),
        ));
    };
    // A request during a restart waits for the new process (or the build's failure).
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match settled(shared.phase.subscribe(), left).await {
            Phase::Failed(output) => {
                return Ok(text_response(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "text/html; charset=utf-8",
                    build_error_page(&output),
                ));
            }
            Phase::Building => {
                return Ok(text_response(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "text/plain; charset=utf-8",
                    "keel dev: the app is still building\n".into(),
                ));
            }
            Phase::Running(port) => {
                let mut again = Request::from_parts(parts.clone(), full(body.clone()));
                *again.version_mut() = http::Version::HTTP_11;
                match forward(port, again).await {
                    Ok(res) => return Ok(inject(res).await),
                    // Stopped for a rebuild a moment ago: wait for the next one.
                    Err(_) if Instant::now() < deadline => {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                    Err(e) => {
                        return Ok(text_response(
                            StatusCode::BAD_GATEWAY,
                            "text/plain; charset=utf-8",
                            format!("keel dev: the app did not answer ({e})\n"),
                        ));
                    }
                }
            }
        }
    }
}

/// Modification times of the watched files.
fn snapshot(dirs: &[PathBuf]) -> BTreeMap<PathBuf, SystemTime> {
    fn walk(dir: &Path, out: &mut BTreeMap<PathBuf, SystemTime>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            if let Ok(m) = std::fs::metadata(dir).and_then(|m| m.modified()) {
                out.insert(dir.to_path_buf(), m);
            }
            return;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else if let Ok(m) = e.metadata().and_then(|m| m.modified()) {
                out.insert(p, m);
            }
        }
    }
    let mut out = BTreeMap::new();
    for d in dirs {
        walk(d, &mut out);
    }
    out
}

/// Builds; the executable, or the compiler's output.
async fn build(root: &Path) -> Result<PathBuf, String> {
    let mut child = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(["build", "--message-format=json-diagnostic-rendered-ansi"])
        .env("CARGO_TERM_COLOR", "never")
        .current_dir(root)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("could not run cargo: {e}"))?;
    let stdout = child.stdout.take().ok_or("no cargo output")?;
    let stderr = child.stderr.take().ok_or("no cargo output")?;
    let progress = indicatif::ProgressBar::new_spinner();
    progress.enable_steady_tick(Duration::from_millis(120));
    progress.set_message("building");
    let errors = tokio::spawn(async move {
        let mut lines = tokio::io::BufReader::new(stderr).lines();
        let mut tail = Vec::new();
        while let Ok(Some(l)) = lines.next_line().await {
            tail.push(l);
        }
        tail
    });
    let mut lines = tokio::io::BufReader::new(stdout).lines();
    let mut executable = None;
    let mut diagnostics = String::new();
    while let Ok(Some(line)) = lines.next_line().await {
        let Ok(msg) = serde_json::from_str::<serde_json::Value>(&line) else {
            continue;
        };
        match msg["reason"].as_str() {
            Some("compiler-artifact") => {
                if let Some(name) = msg["target"]["name"].as_str() {
                    progress.set_message(format!("building {name}"));
                }
                if let Some(exe) = msg["executable"].as_str() {
                    executable = Some(PathBuf::from(exe));
                }
            }
            Some("compiler-message") => {
                if let Some(rendered) = msg["message"]["rendered"].as_str() {
                    diagnostics.push_str(&strip_ansi(rendered));
                }
            }
            _ => {}
        }
    }
    let status = child.wait().await.map_err(|e| e.to_string())?;
    progress.finish_and_clear();
    let stderr_tail = errors.await.unwrap_or_default();
    if status.success() {
        return executable.ok_or_else(|| "the build made no executable".to_owned());
    }
    if diagnostics.is_empty() {
        diagnostics = stderr_tail.join("\n");
    }
    Err(diagnostics)
}

fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // CSI: ESC [ … final byte in @–~.
            if chars.peek() == Some(&'[') {
                chars.next();
                for c in chars.by_ref() {
                    if ('@'..='~').contains(&c) {
                        break;
                    }
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Starts the app on a free private port and waits until `/_health` answers.
async fn start(exe: &Path, root: &Path) -> Result<(Child, u16), String> {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
        l.local_addr().map_err(|e| e.to_string())?.port()
    };
    let mut child = Command::new(exe)
        .arg("serve")
        .env("PORT", port.to_string())
        .env("KEEL__SERVER__PORT", port.to_string())
        .env("KEEL__SERVER__HOST", "127.0.0.1")
        .current_dir(root)
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("could not start {}: {e}", exe.display()))?;
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!("the app exited at start ({status})"));
        }
        if let Ok(stream) = TcpStream::connect(("127.0.0.1", port)).await {
            drop(stream);
            return Ok((child, port));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Err("the app did not listen within 60 s".into())
}

async fn dev_loop(root: PathBuf, shared: Arc<Shared>) {
    let code_dirs: Vec<PathBuf> = ["src", "Cargo.toml", "config", "build.rs"]
        .iter()
        .map(|p| root.join(p))
        .collect();
    let asset_dirs: Vec<PathBuf> = ["templates", "static"]
        .iter()
        .map(|p| root.join(p))
        .collect();
    let mut child: Option<Child> = None;
    let mut builds = 0u32;
    loop {
        let code = snapshot(&code_dirs);
        shared.phase.send_replace(Phase::Building);
        if let Some(mut c) = child.take() {
            let _ = c.kill().await;
        }
        let started = Instant::now();
        builds += 1;
        match build(&root).await {
            Ok(exe) => match start(&exe, &root).await {
                Ok((c, port)) => {
                    child = Some(c);
                    shared.phase.send_replace(Phase::Running(port));
                    out::status(
                        if builds == 1 { "ready" } else { "restarted" },
                        &format!("in {:.1} s", started.elapsed().as_secs_f64()),
                    );
                    let _ = shared.reload.send(());
                }
                Err(e) => {
                    out::error(&e);
                    shared.phase.send_replace(Phase::Failed(e));
                    let _ = shared.reload.send(());
                }
            },
            Err(output) => {
                out::error("the build failed:");
                let _ = std::io::Write::write_all(&mut std::io::stderr(), output.as_bytes());
                shared.phase.send_replace(Phase::Failed(output));
                let _ = shared.reload.send(());
            }
        }
        // Watch until the code changes (since the build started); assets only reload
        // the browser.
        let mut assets = snapshot(&asset_dirs);
        loop {
            tokio::time::sleep(Duration::from_millis(250)).await;
            let now_assets = snapshot(&asset_dirs);
            if now_assets != assets {
                assets = now_assets;
                out::status("reloaded", "templates or static files changed (no rebuild)");
                let _ = shared.reload.send(());
            }
            if snapshot(&code_dirs) != code {
                // Let an editor finish writing (several files, atomic renames).
                tokio::time::sleep(Duration::from_millis(150)).await;
                out::status("changed", "rebuilding");
                break;
            }
        }
    }
}

pub(crate) fn run(m: &ArgMatches) -> Result<(), String> {
    let port: u16 = m.get_one::<u16>("port").copied().unwrap_or(8000);
    let mut root = std::env::current_dir().map_err(|e| e.to_string())?;
    while !root.join("Cargo.toml").is_file() {
        if !root.pop() {
            return Err("not inside a Rust project (no Cargo.toml above here)".into());
        }
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(async move {
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
        out::status(
            "listening",
            &format!("http://{addr} (the app restarts behind it)"),
        );
        let (phase, _) = watch::channel(Phase::Building);
        let (reload, _) = broadcast::channel(16);
        let shared = Arc::new(Shared { phase, reload });
        tokio::spawn(dev_loop(root, shared.clone()));
        loop {
            let (stream, _) = tokio::select! {
                accepted = listener.accept() => accepted.map_err(|e| e.to_string())?,
                _ = tokio::signal::ctrl_c() => return Ok(()),
            };
            let shared = shared.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req| handle(shared.clone(), req));
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ansi_colours_are_stripped_for_the_page() {
        assert_eq!(
            strip_ansi("\u{1b}[1m\u{1b}[31merror\u{1b}[0m: x"),
            "error: x"
        );
        assert!(build_error_page("a < b").contains("a &lt; b"));
    }

    #[test]
    fn snapshots_see_changes() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let f = dir.path().join("a.rs");
        std::fs::write(&f, "1").expect("write");
        let before = snapshot(&[dir.path().to_path_buf()]);
        std::thread::sleep(Duration::from_millis(20));
        std::fs::write(dir.path().join("b.rs"), "2").expect("write");
        assert_ne!(before, snapshot(&[dir.path().to_path_buf()]));
    }
}
