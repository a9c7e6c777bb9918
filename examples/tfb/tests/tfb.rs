//! The test types answer what TechEmpower's verifier expects (the full check is
//! `../shared/bench/verify.py`, run by `.ci/run`).
#![allow(clippy::unwrap_used, missing_docs)]

use keel_test::TestClient;

#[tokio::test]
async fn plaintext_and_json() {
    let c = TestClient::new(tfb::plain_app()).await;
    c.get("/plaintext")
        .await
        .assert_status(200)
        .assert_header("content-type", "text/plain; charset=utf-8")
        .assert_text("Hello, World!");
    c.get("/json")
        .await
        .assert_status(200)
        .assert_header("content-type", "application/json")
        .assert_text("{\"message\":\"Hello, World!\"}");
}
