//! The server over real TCP: HTTP/1.1 pipelining, connection reuse after a 413, h2c,
//! per-core mode, graceful shutdown, TLS.

use std::time::Duration;

use keel_core::routing::{Router, get};
use keel_http::settings::RuntimeMode;

use crate::support::{self, RawConn};

fn get_req(path: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n")
}

#[tokio::test]
async fn serves_http1_with_pipelining() {
    let (addr, stop, handle) =
        support::serve(support::app(), |s| s.server_header = "keel".into()).await;
    let mut conn = RawConn::connect(addr).await;
    // Three requests in one write: three responses, in order, on one connection.
    let batch = format!(
        "{}{}{}",
        get_req("/ok"),
        get_req("/items/7"),
        get_req("/nowhere")
    );
    conn.send(batch.as_bytes()).await;
    let a = conn.read_response().await.unwrap();
    let b = conn.read_response().await.unwrap();
    let c = conn.read_response().await.unwrap();
    assert_eq!((a.status, a.body.as_slice()), (200, b"ok".as_slice()));
    assert_eq!((b.status, b.body.as_slice()), (200, b"item 7".as_slice()));
    assert_eq!(c.status, 404);
    assert_eq!(c.header("content-type"), Some("application/problem+json"));
    assert_eq!(a.header("server"), Some("keel"));
    assert!(a.header("date").is_some());
    stop.send(()).unwrap();
    handle.await.unwrap();
}

#[tokio::test]
async fn connection_stays_usable_after_413() {
    let (addr, stop, handle) = support::serve(support::app(), |_| {}).await;
    let mut conn = RawConn::connect(addr).await;
    let body = vec![b'x'; 2000];
    let head = format!(
        "POST /upload HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/octet-stream\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    conn.send(head.as_bytes()).await;
    conn.send(&body).await;
    let refused = conn.read_response().await.unwrap();
    assert_eq!(refused.status, 413);
    assert_eq!(
        refused.header("content-type"),
        Some("application/problem+json")
    );
    let problem: serde_json::Value = serde_json::from_slice(&refused.body).unwrap();
    assert_eq!(problem["code"], "payload_too_large");
    assert_ne!(refused.header("connection"), Some("close"));
    // Same connection, next request.
    conn.send(get_req("/ok").as_bytes()).await;
    let next = conn
        .read_response()
        .await
        .expect("the connection is still open");
    assert_eq!((next.status, next.body.as_slice()), (200, b"ok".as_slice()));
    stop.send(()).unwrap();
    handle.await.unwrap();
}

#[tokio::test]
async fn a_huge_declared_body_is_refused_without_reading_it() {
    let (addr, stop, handle) = support::serve(support::app(), |_| {}).await;
    let mut conn = RawConn::connect(addr).await;
    conn.send(
        b"POST /upload HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1000000000\r\n\r\nxxxx",
    )
    .await;
    let refused = conn.read_response().await.unwrap();
    assert_eq!(refused.status, 413);
    assert_eq!(refused.header("connection"), Some("close"));
    stop.send(()).unwrap();
    handle.await.unwrap();
}

#[tokio::test]
async fn a_streamed_body_that_grows_too_large_is_413() {
    let (addr, stop, handle) = support::serve(support::app(), |_| {}).await;
    let mut conn = RawConn::connect(addr).await;
    let mut req = String::from(
        "POST /upload HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n",
    );
    for _ in 0..4 {
        req.push_str(&format!("200\r\n{}\r\n", "y".repeat(0x200)));
    }
    req.push_str("0\r\n\r\n");
    conn.send(req.as_bytes()).await;
    let refused = conn.read_response().await.unwrap();
    assert_eq!(refused.status, 413);
    let problem: serde_json::Value = serde_json::from_slice(&refused.body).unwrap();
    assert_eq!(problem["code"], "payload_too_large");
    // The rest of the body was drained: the connection carries the next request.
    conn.send(get_req("/ok").as_bytes()).await;
    let next = conn
        .read_response()
        .await
        .expect("the connection is still open");
    assert_eq!(next.status, 200);
    stop.send(()).unwrap();
    handle.await.unwrap();
}

#[tokio::test]
async fn speaks_h2c_with_prior_knowledge() {
    use http_body_util::{BodyExt, Empty};
    let (addr, stop, handle) = support::serve(support::app(), |_| {}).await;
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut sender, conn) = hyper::client::conn::http2::handshake(
        hyper_util::rt::TokioExecutor::new(),
        hyper_util::rt::TokioIo::new(stream),
    )
    .await
    .unwrap();
    tokio::spawn(conn);
    for path in ["/ok", "/items/3"] {
        let req = http::Request::builder()
            .uri(format!("http://localhost{path}"))
            .body(Empty::<bytes::Bytes>::new())
            .unwrap();
        let res = sender.send_request(req).await.unwrap();
        assert_eq!(res.version(), http::Version::HTTP_2);
        assert_eq!(res.status(), 200);
        assert!(res.headers().contains_key("x-request-id"));
        let body = res.into_body().collect().await.unwrap().to_bytes();
        assert!(!body.is_empty());
    }
    drop(sender);
    stop.send(()).unwrap();
    handle.await.unwrap();
}

#[tokio::test]
async fn per_core_mode_serves_on_every_worker() {
    let (addr, stop, handle) = support::serve(support::app(), |s| {
        s.runtime = RuntimeMode::PerCore;
        s.workers = 2;
    })
    .await;
    // Many connections: the kernel spreads them over both listeners.
    for _ in 0..20 {
        let mut conn = RawConn::connect(addr).await;
        conn.send(get_req("/ok").as_bytes()).await;
        assert_eq!(conn.read_response().await.unwrap().status, 200);
    }
    stop.send(()).unwrap();
    handle.await.unwrap();
}

/// Counts requests across workers: a value every worker's state copy shares.
struct Hits(std::sync::atomic::AtomicUsize);

#[tokio::test]
async fn per_core_workers_have_their_own_routers_over_shared_values() {
    use std::collections::BTreeSet;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use axum::extract::State;
    use axum::response::Response;
    use keel_core::{App, AppState};

    let built = Arc::new(AtomicUsize::new(0));
    let wraps = Arc::clone(&built);
    let app = support::app()
        .plugin(move |app: &mut App| {
            app.extensions().insert(Hits(AtomicUsize::new(0)));
            let wraps = Arc::clone(&wraps);
            // Each router built gets its own number, echoed in `x-router`.
            app.wrap_router(0, move |router, _state: &AppState| {
                let n = wraps.fetch_add(1, Ordering::SeqCst);
                router.layer(axum::middleware::map_response(
                    move |mut res: Response| async move {
                        res.headers_mut().insert("x-router", n.into());
                        res
                    },
                ))
            });
        })
        .routes(Router::new().route(
            "/hit",
            get(|State(state): State<AppState>| async move {
                let hits = &state.get::<Hits>().expect("installed").0;
                (hits.fetch_add(1, Ordering::SeqCst) + 1).to_string()
            }),
        ));
    let (addr, stop, handle) = support::serve(app, |s| {
        s.runtime = RuntimeMode::PerCore;
        s.workers = 2;
    })
    .await;
    let mut routers = BTreeSet::new();
    let mut counts = Vec::new();
    for _ in 0..24 {
        let mut conn = RawConn::connect(addr).await;
        conn.send(get_req("/hit").as_bytes()).await;
        let res = conn.read_response().await.unwrap();
        assert_eq!(res.status, 200);
        routers.insert(res.header("x-router").unwrap().to_owned());
        counts.push(String::from_utf8(res.body).unwrap());
    }
    // Both workers served, each through its own router (not the shared one, 0)...
    assert_eq!(routers, BTreeSet::from(["1".to_owned(), "2".to_owned()]));
    // ...and their state copies share the app's values: one count, not two.
    let expected: Vec<String> = (1..=24).map(|n| n.to_string()).collect();
    assert_eq!(counts, expected);
    // The shared router (for the test client) and one per worker.
    assert_eq!(built.load(Ordering::SeqCst), 3);
    stop.send(()).unwrap();
    handle.await.unwrap();
}

fn slow_app() -> keel_core::App {
    support::app()
        .set("server.request_timeout", "10s")
        .set("server.shutdown_timeout", "5s")
        .routes(Router::new().route(
            "/work",
            get(|| async {
                tokio::time::sleep(Duration::from_millis(700)).await;
                "done"
            }),
        ))
}

async fn graceful(mode: RuntimeMode) {
    let (addr, stop, handle) = support::serve(slow_app(), |s| s.runtime = mode).await;
    let mut busy = RawConn::connect(addr).await;
    busy.send(get_req("/work").as_bytes()).await;
    // An idle keep-alive connection, which shutdown closes at once.
    let mut idle = RawConn::connect(addr).await;
    idle.send(get_req("/ok").as_bytes()).await;
    assert_eq!(idle.read_response().await.unwrap().status, 200);
    tokio::time::sleep(Duration::from_millis(150)).await;
    let started = std::time::Instant::now();
    stop.send(()).unwrap();
    // New connections are refused once the listener is gone.
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "the listener must be closed after shutdown starts"
    );
    assert!(
        idle.read_response().await.is_none(),
        "idle connection closed"
    );
    // The request in flight still gets its answer.
    let res = busy
        .read_response()
        .await
        .expect("in-flight request answered");
    assert_eq!((res.status, res.body.as_slice()), (200, b"done".as_slice()));
    handle.await.unwrap();
    assert!(started.elapsed() < Duration::from_secs(4));
}

#[tokio::test]
async fn graceful_shutdown_finishes_in_flight_requests() {
    graceful(RuntimeMode::MultiThread).await;
}

#[tokio::test]
async fn graceful_shutdown_in_per_core_mode() {
    graceful(RuntimeMode::PerCore).await;
}

#[tokio::test]
async fn shutdown_deadline_is_enforced() {
    let app = slow_app().set("server.shutdown_timeout", "100ms");
    let (addr, stop, handle) = support::serve(app, |_| {}).await;
    let mut busy = RawConn::connect(addr).await;
    busy.send(get_req("/work").as_bytes()).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = std::time::Instant::now();
    stop.send(()).unwrap();
    handle.await.unwrap();
    assert!(
        started.elapsed() < Duration::from_millis(600),
        "run() returns at the deadline, not when the 700 ms request ends"
    );
}

#[cfg(feature = "tls")]
#[tokio::test]
async fn serves_https_with_alpn() {
    use std::sync::Arc;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let key = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cert_path = dir.path().join("cert.pem");
    let key_path = dir.path().join("key.pem");
    std::fs::write(&cert_path, key.cert.pem()).unwrap();
    std::fs::write(&key_path, key.signing_key.serialize_pem()).unwrap();
    let app = support::app()
        .set("server.tls.cert", &cert_path)
        .set("server.tls.key", &key_path);
    let (addr, stop, handle) = support::serve(app, |_| {}).await;

    let mut roots = rustls::RootCertStore::empty();
    roots.add(key.cert.der().clone()).unwrap();
    let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let mut tls = connector.connect(name, tcp).await.unwrap();
    tls.write_all(b"GET /ok HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut out = Vec::new();
    tls.read_to_end(&mut out).await.unwrap();
    let text = String::from_utf8_lossy(&out);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(text.ends_with("ok"), "{text}");
    stop.send(()).unwrap();
    handle.await.unwrap();
}

#[tokio::test]
async fn host_checks_hold_for_every_request_on_a_connection() {
    let (addr, stop, handle) = support::serve(support::app(), |_| {}).await;
    let mut conn = RawConn::connect(addr).await;
    let req = |path: &str, host: &str| format!("GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n");
    // An exempt path with a foreign host must not make that host trusted...
    conn.send(req("/_health", "evil.example").as_bytes()).await;
    assert_eq!(conn.read_response().await.unwrap().status, 200);
    conn.send(req("/ok", "evil.example").as_bytes()).await;
    assert_eq!(conn.read_response().await.unwrap().status, 400);
    // ...and an allowed host does not stay allowed for a different one.
    conn.send(req("/ok", "localhost").as_bytes()).await;
    assert_eq!(conn.read_response().await.unwrap().status, 200);
    conn.send(req("/ok", "evil.example").as_bytes()).await;
    assert_eq!(conn.read_response().await.unwrap().status, 400);
    conn.send(req("/ok", "localhost").as_bytes()).await;
    assert_eq!(conn.read_response().await.unwrap().status, 200);
    stop.send(()).unwrap();
    handle.await.unwrap();
}

/// What a worker hook kept for its worker.
#[derive(Clone)]
struct WorkerTag(String);

#[tokio::test]
async fn worker_hooks_run_in_each_worker_and_their_values_stay_there() {
    let mut app = support::app().routes(Router::new().route(
        "/tag",
        get(|| async {
            let tag = keel_core::worker::get::<WorkerTag>().map(|t| t.0);
            let thread = std::thread::current().name().unwrap_or("").to_owned();
            format!("{}|{thread}", tag.unwrap_or_default())
        }),
    ));
    app.on_worker_start(|_state, info| async move {
        assert_eq!(info.count, 2);
        let thread = std::thread::current().name().unwrap_or("").to_owned();
        keel_core::worker::provide(WorkerTag(format!("worker {} on {thread}", info.index)));
        Ok(())
    });
    let (addr, stop, handle) = support::serve(app, |s| {
        s.runtime = RuntimeMode::PerCore;
        s.workers = 2;
    })
    .await;
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..40 {
        let mut conn = RawConn::connect(addr).await;
        conn.send(get_req("/tag").as_bytes()).await;
        let r = conn.read_response().await.unwrap();
        assert_eq!(r.status, 200);
        let body = String::from_utf8(r.body).unwrap();
        let (tag, thread) = body.split_once('|').unwrap();
        // The hook ran on the thread that serves the request, and its value is there.
        assert!(tag.ends_with(&format!("on {thread}")), "{body}");
        assert!(thread.starts_with("keel-worker-"), "{body}");
        seen.insert(tag.to_owned());
    }
    assert!(!seen.is_empty() && seen.len() <= 2, "{seen:?}");
    // Outside the workers (this test's runtime) there is no worker value.
    assert!(keel_core::worker::get::<WorkerTag>().is_none());
    stop.send(()).unwrap();
    handle.await.unwrap();
}

#[tokio::test]
async fn a_failing_worker_hook_stops_the_server_from_starting() {
    let mut app = support::app();
    app.on_worker_start(|_state, info| async move {
        if info.index == 1 {
            return Err(keel_core::Error::unavailable(
                "no connection for worker 1",
                None,
            ));
        }
        Ok(())
    });
    let server = support::bind(app, |s| {
        s.runtime = RuntimeMode::PerCore;
        s.workers = 2;
    })
    .await;
    let result = tokio::time::timeout(Duration::from_secs(10), server.run(std::future::pending()))
        .await
        .expect("run returns instead of serving");
    let err = result.unwrap_err().to_string();
    assert!(err.contains("server worker 1 could not start"), "{err}");
    assert!(err.contains("no connection for worker 1"), "{err}");
}
