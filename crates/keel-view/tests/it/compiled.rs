//! Compiled pages (feature `compiled`): rendered by askama into the response, with or
//! without the views plugin and sessions, errors as problem responses.

use std::fmt;

use keel_core::{App, Router, routing::get};
use keel_test::TestClient;
use keel_view::askama::Template;
use keel_view::{Compiled, compiled};

#[derive(Template)]
#[template(
    ext = "html",
    source = "<ul>{% for p in posts %}<li>{{ p }}</li>{% endfor %}</ul>",
    askama = keel_view::askama
)]
struct Posts {
    posts: Vec<String>,
}

/// A value whose `Display` fails, as a broken filter or formatter would.
struct Failing;

impl fmt::Display for Failing {
    fn fmt(&self, _: &mut fmt::Formatter<'_>) -> fmt::Result {
        Err(fmt::Error)
    }
}

#[derive(Template)]
#[template(ext = "html", source = "<p>{{ value }}</p>", askama = keel_view::askama)]
struct Broken {
    value: Failing,
}

async fn posts() -> Compiled<Posts> {
    compiled(Posts {
        posts: vec!["<script>alert(1)</script>".into(), "Ada & Bob".into()],
    })
}

async fn invalid() -> Compiled<Posts> {
    compiled(Posts { posts: Vec::new() }).status(axum::http::StatusCode::UNPROCESSABLE_ENTITY)
}

async fn broken() -> Compiled<Broken> {
    compiled(Broken { value: Failing })
}

fn routes() -> Router {
    Router::new()
        .route("/posts", get(posts))
        .route("/invalid", get(invalid))
        .route("/broken", get(broken))
}

async fn check(client: &TestClient) {
    client
        .get("/posts")
        .await
        .assert_status(200)
        .assert_header("content-type", "text/html; charset=utf-8")
        .assert_text(
            "<ul><li>&#60;script&#62;alert(1)&#60;/script&#62;</li><li>Ada &#38; Bob</li></ul>",
        );
    client
        .get("/invalid")
        .await
        .assert_status(422)
        .assert_header("content-type", "text/html; charset=utf-8")
        .assert_text("<ul></ul>");
    // A failed render is a 500 problem; what failed is logged, not sent.
    let res = client.get("/broken").await;
    res.assert_problem(500, "internal_error");
    assert!(!res.text().contains("Failing"), "{}", res.text());
}

#[derive(rust_embed::RustEmbed)]
#[folder = "tests/it/templates/"]
struct Templates;

#[tokio::test]
async fn compiled_pages_render_with_and_without_the_views_plugin() {
    // Alone: no views plugin at all.
    let alone = TestClient::new(App::new("compiled").routes(routes())).await;
    check(&alone).await;
    // Beside minijinja views in the core stack, and beside sessions (the per-route
    // view layer): a compiled page is already rendered, and both leave it alone.
    let core = App::new("compiled")
        .plugin(keel_view::plugin::<Templates>())
        .routes(routes());
    check(&TestClient::new(core).await).await;
    let layered = App::new("compiled")
        .plugin(keel_http::session::plugin)
        .plugin(keel_view::plugin::<Templates>())
        .routes(routes());
    check(&TestClient::new(layered).await).await;
}
