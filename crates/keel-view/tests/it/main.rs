//! keel-view: rendering, escaping, globals, sessions in templates, autoreload, errors.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    missing_docs,
    unreachable_pub
)]

use keel_core::{App, Environment, Router, routing::get, routing::post};
use keel_http::session::Session;
use keel_test::TestClient;
use keel_view::{View, view};
use serde_json::json;

#[cfg(feature = "compiled")]
mod compiled;

#[derive(rust_embed::RustEmbed)]
#[folder = "tests/it/templates/"]
struct Templates;

async fn show(axum::extract::Path(id): axum::extract::Path<u32>) -> View {
    view(
        "posts/show.html",
        json!({ "post": { "id": id, "title": "<script>alert(1)</script>", "author": "Ada & Bob" } }),
    )
}

async fn form() -> View {
    view("form.html", json!({}))
}

async fn submit() -> &'static str {
    "saved"
}

async fn flash(session: Session) -> &'static str {
    session.flash("success", "Post saved.");
    "ok"
}

async fn broken() -> View {
    view("broken.html", json!({ "post": { "title": "x" } }))
}

async fn missing() -> View {
    view("nope.html", json!({}))
}

fn app(static_dir: &std::path::Path) -> App {
    App::new("views")
        .set("static.dir", static_dir.display().to_string())
        .set("site.name", "Keel Blog")
        .set("views.expose", ["site.name"])
        .plugin(|app: &mut App| app.known_section("site"))
        .plugin(keel_http::session::plugin)
        .plugin(keel_view::plugin::<Templates>())
        .routes(
            Router::new()
                .route("/posts/{id}", get(show).name("post"))
                .route("/form", get(form).name("form"))
                .route("/submit", post(submit).name("submit"))
                .route("/flash", get(flash))
                .route("/broken", get(broken))
                .route("/missing", get(missing)),
        )
}

fn static_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("site.css"), "body { color: #222 }").unwrap();
    dir
}

#[tokio::test]
async fn pages_render_with_inheritance_includes_and_escaping() {
    let dir = static_dir();
    let client = TestClient::new(app(dir.path())).await;
    let res = client.get("/posts/7").await;
    res.assert_status(200)
        .assert_header("content-type", "text/html; charset=utf-8");
    let html = res.text();
    assert!(
        html.contains("<h1>&lt;script&gt;alert(1)&lt;&#x2f;script&gt;</h1>"),
        "{html}"
    );
    assert!(
        !html.contains("<script>alert(1)"),
        "a title never renders as markup: {html}"
    );
    assert!(
        html.contains("by Ada &amp; Bob"),
        "included template, escaped: {html}"
    );
    assert!(
        html.contains(r#"<a href="/posts/7">permalink</a>"#),
        "url_for: {html}"
    );
    // minijinja escapes `/` in text too (OWASP style).
    assert!(
        html.contains("Keel Blog · &#x2f;posts&#x2f;7"),
        "config and request globals: {html}"
    );
}

#[tokio::test]
async fn static_urls_carry_the_content_version_and_are_cached_for_good() {
    let dir = static_dir();
    let client = TestClient::new(app(dir.path())).await;
    let html = client.get("/posts/1").await.text();
    let start = html
        .find("/static/site.css?v=")
        .expect("versioned static url");
    let url: String = html[start..].chars().take_while(|c| *c != '"').collect();
    let res = client.get(&url).await;
    res.assert_status(200)
        .assert_header("cache-control", "public, max-age=31536000, immutable");
    // An outdated version is served, but not as immutable.
    let stale = client.get("/static/site.css?v=000000000000").await;
    stale.assert_status(200);
    assert_ne!(
        stale.header("cache-control"),
        Some("public, max-age=31536000, immutable")
    );
}

#[tokio::test]
async fn csrf_field_round_trips_and_flash_messages_show_once() {
    let dir = static_dir();
    let client = TestClient::new(app(dir.path())).await;
    let html = client.get("/form").await.assert_status(200).text();
    let marker = r#"name="_csrf" value=""#;
    let at = html.find(marker).expect("hidden csrf input") + marker.len();
    let token: String = html[at..].chars().take_while(|c| *c != '"').collect();
    client
        .post("/submit")
        .form(&[("title", "x")])
        .await
        .assert_problem(403, "csrf_token_missing");
    client
        .post("/submit")
        .form(&[("title", "x"), ("_csrf", token.as_str())])
        .await
        .assert_status(200)
        .assert_text("saved");

    client.get("/flash").await.assert_text("ok");
    let first = client.get("/posts/1").await.text();
    assert!(
        first.contains(r#"<p class="flash success">Post saved.</p>"#),
        "{first}"
    );
    let second = client.get("/posts/1").await.text();
    assert!(!second.contains("Post saved."), "shown once: {second}");
}

#[tokio::test]
async fn template_errors_show_details_in_development_only() {
    let dir = static_dir();
    let dev = TestClient::new(app(dir.path()).environment(Environment::Development)).await;
    let res = dev.get("/broken").accept_html().await;
    res.assert_status(500);
    let page = res.text();
    assert!(page.contains("broken.html, line 2"), "{page}");
    assert!(page.contains("no_such_filter"), "{page}");

    let prod = TestClient::new(
        app(dir.path())
            .environment(Environment::Production)
            .set(
                "app.secret_key",
                "a-production-secret-key-that-is-long-enough-0123456789",
            )
            .set("security.allowed_hosts", ["localhost"]),
    )
    .await;
    let res = prod.get("/broken").accept_html().await;
    res.assert_status(500);
    let page = res.text();
    assert!(
        !page.contains("no_such_filter") && !page.contains("broken.html"),
        "{page}"
    );
    let missing = prod.get("/missing").await;
    missing.assert_problem(500, "internal_error");
}

#[tokio::test]
async fn templates_reload_from_disk_in_development() {
    let templates = tempfile::tempdir().unwrap();
    std::fs::write(templates.path().join("hello.html"), "<p>first</p>").unwrap();
    async fn hello() -> View {
        view("hello.html", json!({}))
    }
    let app = App::new("reload")
        .environment(Environment::Development)
        .set("views.dir", templates.path().display().to_string())
        .plugin(keel_http::session::plugin)
        .plugin(keel_view::plugin::<Templates>())
        .routes(Router::new().route("/", get(hello)));
    let client = TestClient::new(app).await;
    client.get("/").await.assert_text("<p>first</p>");
    // Make sure the modification time moves even on coarse clocks.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    std::fs::write(templates.path().join("hello.html"), "<p>second</p>").unwrap();
    client.get("/").await.assert_text("<p>second</p>");
}

/// Without sessions or other request-dependent context, pages are rendered by the
/// HTTP stack's core service on the way out (no per-route view layer): the same
/// globals, status, escaping and error handling as inside the routes.
#[tokio::test]
async fn pages_render_in_the_core_stack_when_no_request_context_is_registered() {
    async fn globals() -> View {
        view("globals.html", json!({ "n": "<b>7</b>" }))
            .status(axum::http::StatusCode::UNPROCESSABLE_ENTITY)
    }
    async fn plain() -> &'static str {
        "plain"
    }
    let app = || {
        App::new("core-pages")
            .set("site.name", "Keel Blog")
            .set("views.expose", ["site.name"])
            .plugin(|app: &mut App| app.known_section("site"))
            .plugin(keel_view::plugin::<Templates>())
            .routes(
                Router::new()
                    .route("/globals", get(globals).post(globals))
                    .route("/plain", get(plain))
                    .route("/broken", get(broken))
                    .route("/missing", get(missing)),
            )
    };
    let client = TestClient::new(app()).await;
    let res = client.get("/globals?q=1&r=2").await;
    res.assert_status(422)
        .assert_header("content-type", "text/html; charset=utf-8")
        .assert_text(
            "<p>GET &#x2f;globals q=1&amp;r=2 · Keel Blog · &lt;b&gt;7&lt;&#x2f;b&gt;</p>",
        );
    client
        .post("/globals")
        .await
        .assert_status(422)
        .assert_text("<p>POST &#x2f;globals  · Keel Blog · &lt;b&gt;7&lt;&#x2f;b&gt;</p>");
    client
        .get("/plain")
        .await
        .assert_status(200)
        .assert_text("plain");
    // A template that fails, and one that does not exist: problem responses, as in
    // the per-route layer.
    client
        .get("/broken")
        .await
        .assert_problem(500, "internal_error");
    client
        .get("/missing")
        .await
        .assert_problem(500, "internal_error");

    // The router alone carries no view layer: the page is rendered by the stack.
    let http = keel_http::start(app()).await.unwrap();
    let mut router = http.router();
    let bare = tower_service::Service::call(
        &mut router,
        axum::http::Request::get("/globals")
            .body(axum::body::Body::empty())
            .unwrap(),
    )
    .await
    .unwrap();
    let body = axum::body::to_bytes(bare.into_body(), 1 << 16)
        .await
        .unwrap();
    assert!(body.is_empty(), "rendered outside the stack: {body:?}");
}
