//! Static files: folder and embedded sources, ETag / 304, Cache-Control.

use keel_core::Environment;
use keel_test::TestClient;

use crate::support;

fn static_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("css")).unwrap();
    std::fs::write(dir.path().join("css/site.css"), "body { color: navy; }\n").unwrap();
    std::fs::write(dir.path().join(".env"), "SECRET=1").unwrap();
    dir
}

#[tokio::test]
async fn files_have_etags_and_answer_304() {
    let dir = static_dir();
    let app = support::app().set("static.dir", dir.path());
    let c = TestClient::new(app).await;
    let res = c.get("/static/css/site.css").await;
    res.assert_status(200)
        .assert_header("content-type", "text/css; charset=utf-8")
        .assert_header("cache-control", "public, max-age=3600")
        .assert_text("body { color: navy; }\n");
    let etag = res.header("etag").unwrap().to_owned();
    assert!(etag.starts_with('"') && etag.ends_with('"'), "{etag}");
    res.assert_header_present("last-modified");

    let cached = c
        .get("/static/css/site.css")
        .header("if-none-match", &etag)
        .await;
    cached.assert_status(304).assert_header("etag", &etag);
    assert!(cached.bytes().is_empty());
    c.get("/static/css/site.css")
        .header("if-none-match", "\"other\", W/".to_owned() + &etag)
        .await
        .assert_status(304);
    c.get("/static/css/site.css")
        .header("if-none-match", "\"stale\"")
        .await
        .assert_status(200);

    // A changed file has a new ETag.
    std::fs::write(dir.path().join("css/site.css"), "body { color: teal; }\n").unwrap();
    let changed = c
        .get("/static/css/site.css")
        .header("if-none-match", &etag)
        .await;
    changed.assert_status(200);
    assert_ne!(changed.header("etag"), Some(etag.as_str()));
}

#[tokio::test]
async fn head_and_methods() {
    let dir = static_dir();
    let c = TestClient::new(support::app().set("static.dir", dir.path())).await;
    let head = c.head("/static/css/site.css").await;
    head.assert_status(200)
        .assert_header("content-length", "22");
    c.post("/static/css/site.css")
        .await
        .assert_problem(405, "method_not_allowed");
}

#[tokio::test]
async fn nothing_outside_the_folder_or_hidden_is_served() {
    let dir = static_dir();
    let c = TestClient::new(support::app().set("static.dir", dir.path())).await;
    for path in [
        "/static/.env",
        "/static/../Cargo.toml",
        "/static/%2e%2e/Cargo.toml",
        "/static/css//site.css",
        "/static/missing.css",
    ] {
        c.get(path).await.assert_problem(404, "not_found");
    }
}

#[tokio::test]
async fn development_does_not_cache() {
    let dir = static_dir();
    let app = support::app()
        .environment(Environment::Development)
        .set("static.dir", dir.path());
    let c = TestClient::new(app).await;
    c.get("/static/css/site.css")
        .await
        .assert_header("cache-control", "no-cache");
}

#[derive(rust_embed::RustEmbed)]
#[folder = "tests/it/assets/"]
struct Assets;

#[tokio::test]
async fn embedded_assets() {
    let app = support::app().plugin(keel_http::statics::embed::<Assets>());
    let c = TestClient::new(app).await;
    let res = c.get("/static/app.js").await;
    res.assert_status(200)
        .assert_header("content-type", "text/javascript; charset=utf-8");
    assert!(res.text().contains("keel"));
    let etag = res.header("etag").unwrap().to_owned();
    c.get("/static/app.js")
        .header("if-none-match", &etag)
        .await
        .assert_status(304);
}
