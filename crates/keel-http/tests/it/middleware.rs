//! The default middleware, through the full stack.

use keel_core::Environment;
use keel_test::TestClient;

use crate::support;

#[tokio::test]
async fn security_headers_on_every_response_and_document_headers_on_html() {
    let c = TestClient::new(support::app()).await;
    let text = c.get("/ok").await;
    text.assert_status(200)
        .assert_header("x-content-type-options", "nosniff")
        .assert_header("referrer-policy", "same-origin")
        .assert_no_header("content-security-policy")
        .assert_no_header("strict-transport-security");
    let html = c.get("/nowhere").accept_html().await;
    html.assert_header("x-frame-options", "DENY")
        .assert_header("cross-origin-opener-policy", "same-origin")
        .assert_header_present("content-security-policy");
}

#[tokio::test]
async fn hsts_in_production_only() {
    let app = support::app()
        .environment(Environment::Production)
        .set("security.allowed_hosts", ["localhost"]);
    let c = TestClient::new(app).await;
    c.get("/ok").await.assert_header(
        "strict-transport-security",
        "max-age=31536000; includeSubDomains",
    );
}

#[tokio::test]
async fn a_handler_can_override_a_security_header() {
    use keel_core::routing::{Router, get};
    let app = support::app().routes(Router::new().route(
        "/framed",
        get(|| async {
            (
                [
                    ("x-frame-options", "SAMEORIGIN"),
                    ("content-type", "text/html"),
                ],
                "<p>hi</p>",
            )
        }),
    ));
    let c = TestClient::new(app).await;
    c.get("/framed")
        .await
        .assert_header("x-frame-options", "SAMEORIGIN");
}

#[tokio::test]
async fn requests_for_other_hosts_are_refused() {
    let c = TestClient::new(support::app()).await;
    c.get("/ok")
        .header("host", "localhost:8000")
        .await
        .assert_status(200);
    c.get("/ok")
        .header("host", "127.0.0.1")
        .await
        .assert_status(200);
    let res = c.get("/ok").header("host", "evil.example").await;
    let p = res.assert_problem(400, "disallowed_host");
    // Test runs are not in debug mode: the message does not echo the host.
    assert_eq!(p.detail.as_deref(), Some("Invalid Host header."));
    // Probes arrive with an IP as host; they are exempt.
    c.get("/_health")
        .header("host", "10.1.2.3:8000")
        .await
        .assert_status(200);

    let app = support::app().set("security.allowed_hosts", [".example.org"]);
    let c = TestClient::new(app).await;
    c.get("/ok")
        .header("host", "api.example.org")
        .await
        .assert_status(200);
    c.get("/ok")
        .header("host", "localhost")
        .await
        .assert_problem(400, "disallowed_host");
}

#[tokio::test]
async fn cors_preflight_and_simple_requests() {
    let app = support::app().set("cors.allow_origins", ["https://app.example.com"]);
    let c = TestClient::new(app).await;
    let pre = c
        .options("/notes")
        .header("origin", "https://app.example.com")
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "content-type")
        .await;
    pre.assert_status(200)
        .assert_header("access-control-allow-origin", "https://app.example.com")
        .assert_header("access-control-max-age", "3600");
    let methods = pre.header("access-control-allow-methods").unwrap();
    assert!(methods.contains("POST"), "{methods}");
    let simple = c
        .get("/ok")
        .header("origin", "https://app.example.com")
        .await;
    simple.assert_header("access-control-allow-origin", "https://app.example.com");
    let other = c.get("/ok").header("origin", "https://evil.example").await;
    other.assert_no_header("access-control-allow-origin");

    // Off by default.
    let c = TestClient::new(support::app()).await;
    c.get("/ok")
        .header("origin", "https://app.example.com")
        .await
        .assert_no_header("access-control-allow-origin");
}

#[tokio::test]
async fn bad_cors_config_is_a_config_error() {
    let app = support::app()
        .set("cors.allow_origins", ["*"])
        .set("cors.allow_credentials", true);
    let err = TestClient::try_new(app).await.unwrap_err();
    assert!(format!("{err:?}").contains("allow_credentials"), "{err:?}");
}

#[tokio::test]
async fn responses_are_compressed_when_asked() {
    let c = TestClient::new(support::app()).await;
    let gz = c.get("/big").header("accept-encoding", "gzip").await;
    gz.assert_status(200)
        .assert_header("content-encoding", "gzip");
    assert!(
        gz.bytes().len() < 2000 / 4,
        "gzip shrank {} bytes",
        gz.bytes().len()
    );
    let br = c.get("/big").header("accept-encoding", "br").await;
    br.assert_header("content-encoding", "br");
    let plain = c.get("/big").await;
    plain.assert_no_header("content-encoding");
    assert_eq!(plain.bytes().len(), 2000);
    // Turned off by config.
    let c = TestClient::new(support::app().set("middleware.compression", false)).await;
    c.get("/big")
        .header("accept-encoding", "gzip")
        .await
        .assert_no_header("content-encoding");
}

#[tokio::test]
async fn compressed_responses_get_every_stack_step() {
    let c = TestClient::new(support::app().set("server.server_header", "keel")).await;
    let gz = c.get("/big").header("accept-encoding", "gzip").await;
    gz.assert_status(200)
        .assert_header("content-encoding", "gzip")
        .assert_header("server", "keel")
        .assert_header("x-content-type-options", "nosniff")
        .assert_header_present("x-request-id");
    c.get("/big")
        .header("accept-encoding", "gzip;q=0, identity")
        .await
        .assert_no_header("content-encoding")
        .assert_header("server", "keel");
    // An error is rendered before it is compressed.
    let missing = c
        .get("/nowhere")
        .header("accept-encoding", "br")
        .header("accept", "text/html")
        .await;
    missing
        .assert_status(404)
        .assert_header("content-encoding", "br")
        .assert_header("server", "keel");
    assert!(
        missing
            .header("content-type")
            .is_some_and(|t| t.starts_with("text/html")),
        "{:?}",
        missing.header("content-type")
    );

    // A long header list is looked up rather than scanned, with the same answers:
    // the first Host, Accept and a later Accept-Encoding all count.
    let long = |host: &str, encoding: &str| {
        let mut req = c.get("/big").header("host", host);
        for i in 0..20 {
            req = req.header(format!("x-filler-{i}"), "1");
        }
        req.header("accept-encoding", encoding)
    };
    long("localhost", "identity, br")
        .await
        .assert_status(200)
        .assert_header("content-encoding", "br");
    long("evil.example", "identity")
        .await
        .assert_problem(400, "disallowed_host");
}

#[tokio::test]
async fn request_ids_are_echoed_or_generated() {
    let c = TestClient::new(support::app()).await;
    c.get("/ok")
        .header("x-request-id", "abc-123")
        .await
        .assert_header("x-request-id", "abc-123");
    let generated = c.get("/ok").await;
    let id = generated.header("x-request-id").unwrap();
    assert_eq!(id.len(), 32);
    // Ids that could forge log lines are replaced.
    let replaced = c.get("/ok").header("x-request-id", "a b\"c").await;
    assert_ne!(replaced.header("x-request-id"), Some("a b\"c"));
}

#[tokio::test]
async fn layers_can_be_switched_off() {
    let app = support::app()
        .set("middleware.request_id", false)
        .set("middleware.security_headers", false)
        .set("middleware.trusted_hosts", false);
    let c = TestClient::new(app).await;
    let res = c.get("/ok").header("host", "evil.example").await;
    res.assert_status(200)
        .assert_no_header("x-request-id")
        .assert_no_header("x-content-type-options");
    // Errors are still problems, just without an id.
    let p = c.get("/nowhere").await.assert_problem(404, "not_found");
    assert_eq!(p.request_id, None);
}
