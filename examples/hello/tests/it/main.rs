//! The hello example, in-process and as a real process.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    missing_docs,
    unreachable_pub
)]

mod process;

use keel::routing::RouteInfo;
use keel_test::TestClient;
use serde_json::json;

/// A value for each path parameter the example uses.
fn sample(param: &str) -> &'static str {
    match param {
        "name" => "Ada Lovelace",
        "id" => "2",
        "path" => "style.css",
        other => panic!("no sample value for parameter `{other}`"),
    }
}

#[tokio::test]
async fn url_for_round_trips_every_named_route() {
    let client = TestClient::new(hello::app()).await;
    let state = client.state();
    let named: Vec<&RouteInfo> = state.routes().iter().filter(|r| r.name.is_some()).collect();
    assert!(named.len() >= 5, "the example names its routes");
    for route in named {
        let name = route.name.as_deref().unwrap();
        let params: Vec<(&str, &str)> = state
            .urls()
            .params(name)
            .unwrap()
            .into_iter()
            .map(|p| (p, sample(p)))
            .collect();
        let url = state.url_for(name, &params).unwrap();
        // Requesting the built URL with the route's method must reach that route: not
        // the 404 fallback, not a 405.
        let method = http::Method::from_bytes(route.method.as_bytes()).unwrap();
        let res = client.request(method, &url).await;
        assert_ne!(res.status(), 405, "{name} -> {url}");
        if res.status() == 404 {
            let p = res.problem();
            assert!(
                !p.detail.unwrap_or_default().starts_with("No route matches"),
                "url_for({name}) = {url} does not reach its route"
            );
        }
    }
    assert_eq!(
        state.url_for("greet", &[("name", "Ada Lovelace")]).unwrap(),
        "/hello/Ada%20Lovelace"
    );
}

#[tokio::test]
async fn unknown_route_names_and_missing_params_error_clearly() {
    let client = TestClient::new(hello::app()).await;
    let err = client
        .state()
        .url_for("gret", &[("name", "x")])
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "no route is named `gret` (did you mean `greet`?)"
    );
    let err = client
        .state()
        .url_for("item", &[] as &[(&str, &str)])
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "route `item` (/api/items/{id}) needs the parameter `id`, which was not given"
    );
}

#[tokio::test]
async fn greeting_comes_from_config() {
    let client = TestClient::new(hello::app()).await;
    client
        .get("/hello/Ada%20Lovelace")
        .await
        .assert_status(200)
        .assert_json(&json!({"message": "Hello, Ada Lovelace!"}));
    let client = TestClient::new(hello::app().set("hello.greeting", "Ahoy")).await;
    client
        .get("/hello/crew")
        .await
        .assert_json(&json!({"message": "Ahoy, crew!"}));
}

#[tokio::test]
async fn home_page_links_are_built_from_route_names() {
    let client = TestClient::new(hello::app()).await;
    let res = client.get("/").await;
    res.assert_status(200);
    let page = res.text();
    assert!(page.contains("href=\"/hello/world\""), "{page}");
    assert!(page.contains("href=\"/work?ms=250\""), "{page}");
}

#[tokio::test]
async fn api_errors_are_problems() {
    let client = TestClient::new(hello::app()).await;
    client
        .post("/api/echo")
        .json(&json!({"message": "hi", "times": 2}))
        .await
        .assert_json(&json!({"echo": "hi hi"}));
    let p = client
        .post("/api/echo")
        .json(&json!({"message": "hi", "times": 0}))
        .await
        .assert_problem(422, "validation_failed");
    assert_eq!(p.errors[0].pointer(), "/times");
    let p = client
        .get("/api/items/9")
        .await
        .assert_problem(404, "not_found");
    assert_eq!(p.detail.as_deref(), Some("There is no item 9."));
    client
        .get("/api/items/1")
        .await
        .assert_json(&json!({"id": 1, "name": "keel"}));
}

#[tokio::test]
async fn embedded_stylesheet_is_served_with_an_etag() {
    let client = TestClient::new(hello::app()).await;
    let res = client.get("/static/style.css").await;
    res.assert_status(200)
        .assert_header("content-type", "text/css; charset=utf-8");
    let etag = res.header("etag").unwrap().to_owned();
    client
        .get("/static/style.css")
        .header("if-none-match", &etag)
        .await
        .assert_status(304);
}
