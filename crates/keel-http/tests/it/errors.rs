//! Every kind of failure leaves as the documented problem+json (or an HTML page for
//! browsers), with the request id, and never with internals.

use keel_test::{TestClient, TestResponse};
use serde_json::{Value, json};

use crate::support;

/// The body with the request id checked against the header and then removed, so the
/// rest can be compared exactly.
fn problem_body(res: &TestResponse) -> Value {
    let id = res
        .header("x-request-id")
        .expect("x-request-id header")
        .to_owned();
    assert_eq!(res.header("content-type"), Some("application/problem+json"));
    let mut v: Value = res.json();
    assert_eq!(
        v["request_id"],
        json!(id),
        "request_id member equals the header"
    );
    v.as_object_mut().unwrap().remove("request_id");
    v
}

fn assert_html_page(res: &TestResponse, status: u16, needle: &str) {
    res.assert_status(status);
    assert_eq!(res.header("content-type"), Some("text/html; charset=utf-8"));
    let id = res.header("x-request-id").unwrap();
    let page = res.text();
    assert!(page.starts_with("<!DOCTYPE html>"), "{page}");
    assert!(
        page.contains(&format!("<p class=\"status\">{status}</p>")),
        "{page}"
    );
    assert!(page.contains(needle), "{needle:?} not in {page}");
    assert!(page.contains(id), "the page shows the request id");
    let csp = res.header("content-security-policy").unwrap();
    assert!(
        csp.starts_with("default-src 'none'"),
        "error pages lock themselves down: {csp}"
    );
}

#[tokio::test]
async fn unknown_route_is_404() {
    let c = TestClient::new(support::app()).await;
    let res = c.get("/nowhere").await;
    res.assert_status(404);
    assert_eq!(
        problem_body(&res),
        json!({
            "type": "about:blank",
            "title": "Not Found",
            "status": 404,
            "detail": "No route matches GET /nowhere.",
            "instance": "/nowhere",
            "code": "not_found",
        })
    );
    assert_html_page(
        &c.get("/nowhere").accept_html().await,
        404,
        "No route matches GET /nowhere.",
    );
}

#[tokio::test]
async fn wrong_method_is_405_with_allow() {
    let c = TestClient::new(support::app()).await;
    let res = c.delete("/ok").await;
    res.assert_status(405);
    let allow = res.header("allow").expect("Allow header");
    assert!(allow.contains("GET"), "{allow}");
    assert_eq!(
        problem_body(&res),
        json!({
            "type": "about:blank",
            "title": "Method Not Allowed",
            "status": 405,
            "detail": "This resource does not support this method; see the Allow header for those it does.",
            "instance": "/ok",
            "code": "method_not_allowed",
        })
    );
    assert_html_page(
        &c.delete("/ok").accept_html().await,
        405,
        "Method Not Allowed",
    );
}

#[tokio::test]
async fn malformed_json_is_400_with_position() {
    let c = TestClient::new(support::app()).await;
    let res = c
        .post("/notes")
        .body("{\"title\": \"x\",", "application/json")
        .await;
    res.assert_status(400);
    assert_eq!(
        problem_body(&res),
        json!({
            "type": "about:blank",
            "title": "Bad Request",
            "status": 400,
            "detail": "The body is not valid JSON: EOF while parsing a value (line 1, column 14).",
            "instance": "/notes",
            "code": "invalid_json",
        })
    );
}

#[tokio::test]
async fn json_of_the_wrong_shape_is_422_with_a_pointer() {
    let c = TestClient::new(support::app()).await;
    let res = c
        .post("/notes")
        .json(&json!({"title": "x", "stars": "many"}))
        .await;
    res.assert_status(422);
    assert_eq!(
        problem_body(&res),
        json!({
            "type": "about:blank",
            "title": "Unprocessable Entity",
            "status": 422,
            "detail": "The JSON body does not have the expected shape.",
            "instance": "/notes",
            "code": "validation_failed",
            "errors": [{
                "pointer": "/stars",
                "code": "invalid_type",
                "detail": "invalid type: string \"many\", expected u8",
            }],
        })
    );
    let res = c.post("/notes").json(&json!({"title": "x"})).await;
    let p = res.assert_problem(422, "validation_failed");
    assert_eq!(p.errors[0].pointer(), "/stars");
    assert_eq!(p.errors[0].code(), "required");
    assert_html_page(
        &c.post("/notes")
            .json(&json!({"title": "x"}))
            .accept_html()
            .await,
        422,
        "<code>stars</code>: is required",
    );
}

#[tokio::test]
async fn wrong_content_type_is_415() {
    let c = TestClient::new(support::app()).await;
    let res = c.post("/notes").body("title=x", "text/plain").await;
    res.assert_status(415);
    assert_eq!(
        problem_body(&res),
        json!({
            "type": "about:blank",
            "title": "Unsupported Media Type",
            "status": 415,
            "detail": "Expected a JSON body (Content-Type: application/json).",
            "instance": "/notes",
            "code": "unsupported_media_type",
        })
    );
    // No content type at all.
    c.post("/notes")
        .await
        .assert_problem(415, "unsupported_media_type");
    c.post("/form")
        .json(&json!({"title": "x", "stars": 1}))
        .await
        .assert_problem(415, "unsupported_media_type");
}

#[tokio::test]
async fn query_path_and_form_rejections_name_the_field() {
    let c = TestClient::new(support::app()).await;
    let p = c
        .get("/page?page=abc")
        .await
        .assert_problem(400, "invalid_query");
    assert_eq!(p.errors[0].pointer(), "/page");
    assert_eq!(
        p.detail.as_deref(),
        Some("Invalid query parameter `page`: invalid digit found in string")
    );

    let p = c
        .get("/items/abc")
        .await
        .assert_problem(400, "invalid_path");
    assert_eq!(
        p.detail.as_deref(),
        Some("Invalid URL parameter `id`: `abc` is not a valid u32.")
    );
    assert_eq!(p.errors[0].pointer(), "/id");

    let p = c
        .post("/form")
        .form(&[("title", "x"), ("stars", "lots")])
        .await
        .assert_problem(422, "validation_failed");
    assert_eq!(p.errors[0].pointer(), "/stars");
    c.post("/form")
        .form(&[("title", "x"), ("stars", "3")])
        .await
        .assert_status(200)
        .assert_text("x (3 stars)");
}

#[tokio::test]
async fn axums_own_extractors_are_converted_too() {
    let c = TestClient::new(support::app()).await;
    let res = c.post("/axum-json").body("{", "application/json").await;
    res.assert_status(400);
    let body = problem_body(&res);
    assert_eq!(body["code"], "bad_request");
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .starts_with("Failed to parse the request body as JSON"),
        "{body}"
    );
    let res = c.post("/axum-json").body("{}", "text/plain").await;
    assert_eq!(problem_body(&res)["code"], "unsupported_media_type");
}

#[tokio::test]
async fn oversize_body_is_413() {
    let c = TestClient::new(support::app()).await;
    let res = c
        .post("/upload")
        .body(vec![b'x'; 2048], "application/octet-stream")
        .await;
    res.assert_status(413);
    assert_eq!(
        problem_body(&res),
        json!({
            "type": "about:blank",
            "title": "Payload Too Large",
            "status": 413,
            "detail": "The request body is larger than the limit of 1KiB.",
            "instance": "/upload",
            "code": "payload_too_large",
        })
    );
    c.post("/upload")
        .body(vec![b'x'; 1024], "application/octet-stream")
        .await
        .assert_status(200)
        .assert_text("1024");
}

#[tokio::test]
async fn slow_handler_times_out_with_503() {
    let c = TestClient::new(support::app()).await;
    let res = c.get("/slow").await;
    res.assert_status(503);
    assert_eq!(
        problem_body(&res),
        json!({
            "type": "about:blank",
            "title": "Service Unavailable",
            "status": 503,
            "detail": "The request took longer than the 0.3s limit.",
            "instance": "/slow",
            "code": "timeout",
        })
    );
    assert_html_page(&c.get("/slow").accept_html().await, 503, "took longer");
}

#[tokio::test]
async fn panicking_handler_is_a_500_without_details() {
    let c = TestClient::new(support::app()).await;
    let res = c.get("/panic").await;
    res.assert_status(500);
    assert!(
        !res.text().contains("secret"),
        "the panic message stays in the log"
    );
    assert_eq!(
        problem_body(&res),
        json!({
            "type": "about:blank",
            "title": "Internal Server Error",
            "status": 500,
            "detail": "An internal error occurred.",
            "instance": "/panic",
            "code": "internal_error",
        })
    );
    let html = c.get("/panic").accept_html().await;
    assert_html_page(&html, 500, "An internal error occurred.");
    assert!(!html.text().contains("secret"));
    // The app keeps serving.
    c.get("/ok").await.assert_status(200);
}

#[tokio::test]
async fn a_client_request_id_is_kept_in_the_problem() {
    let c = TestClient::new(support::app()).await;
    let res = c
        .get("/nowhere")
        .header("x-request-id", "trace-abc.123")
        .await;
    res.assert_header("x-request-id", "trace-abc.123");
    assert_eq!(res.problem().request_id.as_deref(), Some("trace-abc.123"));
}

#[tokio::test]
async fn error_page_snapshot() {
    let c = TestClient::new(support::app()).await;
    let res = c
        .get("/items/abc")
        .header("x-request-id", "fixed-id")
        .accept_html()
        .await;
    insta::assert_snapshot!("html_error_page_400", res.text());
}
