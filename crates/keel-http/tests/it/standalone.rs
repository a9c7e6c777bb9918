//! The default layers used one by one, as tower layers on a plain axum router.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::routing::get;
use http::{Request, StatusCode};
use http_body_util::BodyExt;
use keel_core::config::ByteSize;
use keel_core::routing::RouteInfo;
use keel_http::middleware::{
    BodyLimitLayer, CatchPanicLayer, ErrorLayer, HttpMetrics, MetricsLayer, RequestIdLayer,
    RouteMatcher, SecurityHeadersLayer, TimeoutLayer, TraceLayer, TrustedHostLayer,
};
use keel_http::problem::SharedRenderer;
use keel_http::settings::SecuritySettings;
use tower::{ServiceBuilder, ServiceExt};

fn routes() -> Vec<RouteInfo> {
    ["/ok", "/panic", "/slow", "/echo"]
        .map(|p| RouteInfo {
            method: "GET".into(),
            path: p.into(),
            name: None,
            handler: "test".into(),
            doc: None,
        })
        .to_vec()
}

async fn call(app: &axum::Router, req: Request<Body>) -> (StatusCode, http::HeaderMap, String) {
    let res = app.clone().oneshot(req).await.unwrap();
    let (parts, body) = res.into_parts();
    let body = body.collect().await.unwrap().to_bytes();
    (
        parts.status,
        parts.headers,
        String::from_utf8_lossy(&body).into_owned(),
    )
}

fn get_req(path: &str, host: &str) -> Request<Body> {
    Request::builder()
        .uri(path)
        .header("host", host)
        .body(Body::empty())
        .unwrap()
}

#[tokio::test]
async fn each_layer_works_on_a_plain_axum_router() {
    let metrics = Arc::new(HttpMetrics::new());
    let matcher = RouteMatcher::new(&routes());
    let stack = ServiceBuilder::new()
        .layer(RequestIdLayer)
        .layer(TraceLayer::new(false))
        .layer(MetricsLayer::new(Arc::clone(&metrics), matcher))
        .layer(
            SecurityHeadersLayer::from_settings(
                &SecuritySettings::default(),
                keel_core::Environment::Test,
            )
            .unwrap(),
        )
        .layer(ErrorLayer::new(
            SharedRenderer::default(),
            Arc::new([]),
            false,
        ))
        .layer(CatchPanicLayer)
        .layer(TimeoutLayer::new(Duration::from_millis(100)))
        .layer(TrustedHostLayer::new(
            &["example.com".into()],
            vec![],
            false,
        ))
        .layer(BodyLimitLayer::new(ByteSize(8), ByteSize(64)));
    let app = axum::Router::new()
        .route("/ok", get(|| async { "ok" }))
        .route(
            "/panic",
            get(|| async {
                panic!("boom");
                #[allow(unreachable_code)]
                ""
            }),
        )
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(5)).await;
                "late"
            }),
        )
        .route(
            "/echo",
            axum::routing::post(|body: String| async move { body }),
        )
        .layer(stack);

    let (status, headers, body) = call(&app, get_req("/ok", "example.com")).await;
    assert_eq!((status.as_u16(), body.as_str()), (200, "ok"));
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["x-request-id"].len(), 32);

    let (status, headers, body) = call(&app, get_req("/panic", "example.com")).await;
    assert_eq!(status, 500);
    assert_eq!(headers["content-type"], "application/problem+json");
    assert!(body.contains("\"code\":\"internal_error\""), "{body}");
    assert!(
        body.contains(headers["x-request-id"].to_str().unwrap()),
        "{body}"
    );

    let (status, _, body) = call(&app, get_req("/slow", "example.com")).await;
    assert_eq!(status, 503);
    assert!(body.contains("\"code\":\"timeout\""), "{body}");

    let (status, _, body) = call(&app, get_req("/ok", "evil.example")).await;
    assert_eq!(status, 400);
    assert!(body.contains("disallowed_host"), "{body}");

    let big = Request::builder()
        .method("POST")
        .uri("/echo")
        .header("host", "example.com")
        .header("content-length", "20")
        .body(Body::from("x".repeat(20)))
        .unwrap();
    let (status, _, body) = call(&app, big).await;
    assert_eq!(status, 413);
    assert!(body.contains("payload_too_large"), "{body}");

    let text = metrics.render();
    assert!(
        text.contains("http_requests_total{method=\"GET\",route=\"/ok\",status=\"200\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("http_requests_total{method=\"GET\",route=\"/panic\",status=\"500\"} 1"),
        "{text}"
    );
}
