//! `/_health`, `/_ready`, `/metrics`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use keel_core::App;
use keel_test::TestClient;
use serde_json::json;

use crate::support;

#[tokio::test]
async fn health_is_always_ok() {
    let c = TestClient::new(support::app()).await;
    c.get("/_health")
        .await
        .assert_status(200)
        .assert_json(&json!({"status": "ok"}));
}

struct DbUp(AtomicBool);

#[tokio::test]
async fn ready_runs_every_probe_and_names_the_failure() {
    let up = Arc::new(DbUp(AtomicBool::new(true)));
    let flag = Arc::clone(&up);
    let app = support::app().plugin(move |app: &mut App| {
        app.readiness_check("database", move |_state| {
            let ok = flag.0.load(Ordering::SeqCst);
            async move {
                if ok {
                    Ok(())
                } else {
                    Err("connection refused".to_owned())
                }
            }
        });
        app.readiness_check("cache", |_state| async { Ok(()) });
    });
    let c = TestClient::new(app).await;
    c.get("/_ready")
        .await
        .assert_status(200)
        .assert_json(&json!({
            "status": "ready",
            "checks": {"database": {"status": "ok"}, "cache": {"status": "ok"}},
        }));
    up.0.store(false, Ordering::SeqCst);
    c.get("/_ready")
        .await
        .assert_status(503)
        .assert_json(&json!({
            "status": "unavailable",
            "checks": {
                "database": {"status": "failed", "error": "connection refused"},
                "cache": {"status": "ok"},
            },
        }));
}

#[tokio::test]
async fn a_probe_that_hangs_fails_after_the_timeout() {
    let app = support::app()
        .set("observability.readiness_timeout", "50ms")
        .plugin(|app: &mut App| {
            app.readiness_check("stuck", |_| std::future::pending::<Result<(), String>>());
        });
    let c = TestClient::new(app).await;
    let res = c.get("/_ready").await;
    res.assert_status(503);
    let body: serde_json::Value = res.json();
    assert_eq!(body["checks"]["stuck"]["error"], "no answer within 50 ms");
}

#[tokio::test]
async fn metrics_use_route_templates() {
    let c = TestClient::new(support::app()).await;
    for id in 1..=3 {
        c.get(&format!("/items/{id}")).await.assert_status(200);
    }
    c.get("/items/abc").await.assert_status(400);
    c.get("/no/such/page").await.assert_status(404);
    let res = c.get("/metrics").await;
    res.assert_status(200)
        .assert_header("content-type", "text/plain; version=0.0.4; charset=utf-8");
    let text = res.text();
    for line in [
        "http_requests_total{method=\"GET\",route=\"/items/{id}\",status=\"200\"} 3",
        "http_requests_total{method=\"GET\",route=\"/items/{id}\",status=\"400\"} 1",
        "http_requests_total{method=\"GET\",route=\"unmatched\",status=\"404\"} 1",
        "http_request_duration_seconds_count{method=\"GET\",route=\"/items/{id}\",status=\"200\"} 3",
        "http_request_duration_seconds_bucket{method=\"GET\",route=\"/items/{id}\",status=\"200\",le=\"+Inf\"} 3",
        "# TYPE http_request_duration_seconds histogram",
        "# TYPE http_requests_in_flight gauge",
        // The metrics request itself is in flight while it renders.
        "http_requests_in_flight 1",
    ] {
        assert!(text.contains(line), "missing `{line}` in\n{text}");
    }
    assert!(
        !text.contains("/items/1\""),
        "raw paths never become labels:\n{text}"
    );
    assert!(!text.contains("/no/such/page"), "{text}");
}

#[tokio::test]
async fn metrics_can_be_protected_or_turned_off() {
    let c = TestClient::new(support::app().set("observability.metrics_token", "s3cret")).await;
    let res = c.get("/metrics").await;
    res.assert_problem(401, "unauthorized");
    res.assert_header("www-authenticate", "Bearer");
    c.get("/metrics").bearer("wrong").await.assert_status(401);
    c.get("/metrics").bearer("s3cret").await.assert_status(200);

    let c = TestClient::new(support::app().set("observability.metrics", false)).await;
    c.get("/metrics").await.assert_problem(404, "not_found");
}

#[tokio::test]
async fn endpoint_paths_are_configurable() {
    let app = support::app()
        .set("observability.health_path", "/healthz")
        .set("observability.ready_path", "");
    let c = TestClient::new(app).await;
    c.get("/healthz").await.assert_status(200);
    c.get("/_health").await.assert_status(404);
    c.get("/_ready").await.assert_status(404);
}
