//! Sessions: the conformance suite on the cookie and memory stores, and CSRF.

use std::time::Duration;

use keel_core::{App, Router, routing::get, routing::post};
use keel_http::session::Session;
use keel_test::TestClient;

fn app(store: &str, idle: Duration) -> App {
    App::new("sessions")
        .set("session.store", store)
        .set("session.idle_timeout", format!("{}s", idle.as_secs()))
        .plugin(keel_http::session::plugin)
        .routes(keel_test::sessions::routes())
}

#[tokio::test]
async fn cookie_store_conformance() {
    keel_test::sessions::conformance(|idle| async move { app("cookie", idle) }, false).await;
}

#[tokio::test]
async fn memory_store_conformance() {
    keel_test::sessions::conformance(|idle| async move { app("memory", idle) }, true).await;
}

#[tokio::test]
async fn cookie_attributes_are_secure_by_default() {
    let client = TestClient::new(app("cookie", Duration::from_secs(60))).await;
    let res = client.get("/s/put/x").await;
    let set = res
        .header("set-cookie")
        .expect("a session cookie")
        .to_owned();
    for attr in ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age=60"] {
        assert!(set.contains(attr), "{attr} missing: {set}");
    }
    // Tests run in the test environment: not development, so Secure is on.
    assert!(set.contains("Secure"), "{set}");
    let dev = TestClient::new(
        app("cookie", Duration::from_secs(60)).environment(keel_core::Environment::Development),
    )
    .await;
    let set = dev
        .get("/s/put/x")
        .await
        .header("set-cookie")
        .expect("cookie")
        .to_owned();
    assert!(!set.contains("Secure"), "plain http in development: {set}");
}

#[tokio::test]
async fn unknown_store_is_a_config_error() {
    let err = TestClient::try_new(app("nowhere", Duration::from_secs(60)))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("session.store"), "{err}");
}

async fn form_page(session: Session) -> String {
    keel_http::csrf::token(&session)
}

async fn submit() -> &'static str {
    "accepted"
}

fn csrf_app() -> App {
    App::new("csrf").plugin(keel_http::session::plugin).routes(
        Router::new()
            .route("/form", get(form_page))
            .route("/submit", post(submit)),
    )
}

#[tokio::test]
async fn csrf_protects_cookie_carrying_unsafe_requests() {
    let client = TestClient::new(csrf_app()).await;
    let token = client.get("/form").await.assert_status(200).text();
    assert!(client.cookie("keel_session").is_some());

    // No token.
    client
        .post("/submit")
        .form(&[("title", "x")])
        .await
        .assert_problem(403, "csrf_token_missing");
    // A valid token in the form body.
    client
        .post("/submit")
        .form(&[("title", "x"), ("_csrf", token.as_str())])
        .await
        .assert_status(200)
        .assert_text("accepted");
    // The same in the header (and a freshly masked token works too).
    let again = client.get("/form").await.text();
    assert_ne!(again, token, "tokens are masked anew on every render");
    client
        .post("/submit")
        .header("x-csrf-token", &again)
        .await
        .assert_status(200);
    // A token from another session.
    let other = TestClient::new(csrf_app()).await;
    let foreign = other.get("/form").await.text();
    client
        .post("/submit")
        .form(&[("_csrf", foreign.as_str())])
        .await
        .assert_problem(403, "csrf_token_invalid");
    // A cross-site Origin, even with a valid token.
    client
        .post("/submit")
        .header("origin", "https://evil.example")
        .header("x-csrf-token", &token)
        .await
        .assert_problem(403, "csrf_origin");
    client
        .post("/submit")
        .header("sec-fetch-site", "cross-site")
        .header("x-csrf-token", &token)
        .await
        .assert_problem(403, "csrf_origin");
    // Same origin passes the origin check.
    client
        .post("/submit")
        .header("origin", "http://localhost")
        .header("x-csrf-token", &token)
        .await
        .assert_status(200);
    // HTML clients get a page that says which check failed.
    let page = client.post("/submit").accept_html().await;
    page.assert_status(403);
    assert!(page.text().contains("CSRF token"), "{}", page.text());
}

#[tokio::test]
async fn requests_without_cookies_are_not_subject_to_csrf() {
    let client = TestClient::new(csrf_app()).await;
    client
        .post("/submit")
        .header("authorization", "Bearer abc")
        .await
        .assert_status(200)
        .assert_text("accepted");
}

#[tokio::test]
async fn exempt_paths_are_explicit() {
    let client = TestClient::new(csrf_app().set("csrf.exempt_paths", ["/submit"])).await;
    client.get("/form").await;
    client.post("/submit").await.assert_status(200);
}

#[cfg(feature = "redis")]
#[tokio::test]
async fn redis_store_conformance() {
    // Each run its own prefix, so parallel runs do not see each other's sessions.
    let prefix = format!("keel-test:{}:{}:", std::process::id(), fastrand_suffix());
    keel_test::sessions::conformance(
        |idle| {
            let prefix = prefix.clone();
            async move {
                app("redis", idle)
                    .set("session.redis_url", "redis://127.0.0.1:6379/")
                    .set("session.redis_prefix", prefix)
            }
        },
        true,
    )
    .await;
}

#[cfg(feature = "redis")]
fn fastrand_suffix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}
