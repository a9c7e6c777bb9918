//! The extractors' 400/415/422 bodies and the document built from a small API, each
//! error body checked against the problem schema the document publishes.

use keel_core::App;
use keel_core::routing::Router;
use keel_http::api::{Created, ETag, NoContent, Preconditions};
use keel_http::extract::{Json, Path, Query};
use keel_openapi::utoipa::ToSchema;
use keel_openapi::{Docs, delete, get, post};
use keel_test::TestClient;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

#[derive(Debug, Deserialize, Serialize, ToSchema, garde::Validate)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct NewNote {
    /// The title, 1 to 40 characters.
    #[garde(length(chars, min = 1, max = 40))]
    title: String,
    /// From 1 to 5.
    #[garde(range(min = 1, max = 5))]
    stars: u8,
    #[garde(rename("tagList"), inner(length(min = 1)))]
    #[serde(default)]
    tag_list: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
struct Note {
    id: u32,
    title: String,
    stars: u8,
}

#[derive(Debug, Deserialize, ToSchema, garde::Validate)]
struct ListParams {
    /// Notes with at least this many stars.
    #[garde(range(min = 1, max = 5))]
    min_stars: Option<u8>,
    /// At most this many.
    #[garde(range(min = 1, max = 100))]
    limit: u32,
}

#[derive(Debug, Deserialize, ToSchema)]
struct NotePath {
    #[allow(dead_code)]
    list: String,
    id: u32,
}

async fn create(Json(n): Json<NewNote>) -> keel_core::Result<Created<Note>> {
    Ok(Created::new(
        "/notes/1",
        Note {
            id: 1,
            title: n.title,
            stars: n.stars,
        },
    ))
}

async fn list(Query(p): Query<ListParams>) -> Json<Vec<Note>> {
    let n = p.limit.min(2);
    Json(
        (1..=n)
            .map(|id| Note {
                id,
                title: format!("note {id}"),
                stars: p.min_stars.unwrap_or(1),
            })
            .collect(),
    )
}

async fn show(Path(id): Path<u32>) -> keel_core::Result<Json<Note>> {
    if id > 100 {
        return Err(keel_core::Error::not_found("No such note."));
    }
    Ok(Json(Note {
        id,
        title: "t".into(),
        stars: 3,
    }))
}

async fn remove(Path(p): Path<NotePath>) -> keel_core::Result<NoContent> {
    let _ = p.id;
    Ok(NoContent)
}

/// The note as JSON with an ETag (304 when current); a write refused with 412 when
/// the client's `If-Match` is stale.
async fn tagged(pre: Preconditions) -> axum::response::Response {
    pre.json(&Note {
        id: 7,
        title: "tagged".into(),
        stars: 5,
    })
}

async fn change(pre: Preconditions, Json(n): Json<NewNote>) -> keel_core::Result<Json<Note>> {
    let current = Note {
        id: 7,
        title: "tagged".into(),
        stars: 5,
    };
    pre.require_match(&ETag::of_json(&current)?)?;
    Ok(Json(Note {
        id: 7,
        title: n.title,
        stars: n.stars,
    }))
}

fn routes() -> Router {
    Router::new()
        .route("/tagged", get(tagged).name("tagged").put(change))
        .route(
            "/notes",
            get(list)
                .name("notes")
                .post(create)
                .summary("Create a note")
                .tag("notes"),
        )
        .route("/notes/{id}", get(show).name("note").tag("notes"))
        .route(
            "/lists/{list}/notes/{id}",
            delete(remove).name("list_note").tag("notes"),
        )
        .route(
            "/undocumented",
            keel_core::routing::get(|| async { "not in the document" }),
        )
        .route("/ping", post(|| async { "pong" }).name("ping"))
}

fn app() -> App {
    App::new("openapi-it")
        .config_dir("tests/it/no-config")
        .routes(routes())
        .plugin(Docs::new("Notes", "1.2.3").server("/").plugin())
}

fn document() -> Value {
    serde_json::to_value(Docs::new("Notes", "1.2.3").document(routes().routes())).expect("JSON")
}

/// A validator for the published `Problem` schema.
fn problem_validator(doc: &Value) -> jsonschema::Validator {
    let schema = json!({
        "$ref": "#/components/schemas/Problem",
        "components": doc["components"],
    });
    jsonschema::validator_for(&schema).expect("the Problem schema is a valid JSON Schema")
}

fn check_problem(v: &jsonschema::Validator, body: &Value) {
    let errors: Vec<String> = v.iter_errors(body).map(|e| e.to_string()).collect();
    assert!(
        errors.is_empty(),
        "{body} does not fit the Problem schema: {errors:?}"
    );
}

#[tokio::test]
async fn json_body_errors_are_400_415_422_problems() {
    let client = TestClient::new(app()).await;
    let v = problem_validator(&document());

    // Malformed: 400 with line and column.
    let res = client
        .post("/notes")
        .body("{\"title\": \"x\",\n \"stars\": }", "application/json")
        .send()
        .await;
    let p = res.assert_problem(400, "invalid_json");
    assert!(p.detail.as_deref().unwrap().contains("line 2"), "{p:?}");
    check_problem(&v, &res.json());

    // Wrong content type: 415.
    let res = client
        .post("/notes")
        .body("title=x", "text/plain")
        .send()
        .await;
    res.assert_problem(415, "unsupported_media_type");
    check_problem(&v, &res.json());

    // Mistyped: 422 pointing at the field.
    let res = client
        .post("/notes")
        .json(&json!({"title": "x", "stars": "many"}))
        .send()
        .await;
    let p = res.assert_problem(422, "validation_failed");
    assert_eq!(p.errors[0].pointer(), "/stars");
    assert_eq!(p.errors[0].code(), "invalid_type");
    check_problem(&v, &res.json());

    // Well-formed but breaking the rules: 422 naming every broken rule.
    let res = client
        .post("/notes")
        .json(&json!({"title": "", "stars": 9, "tagList": ["ok", ""]}))
        .send()
        .await;
    let p = res.assert_problem(422, "validation_failed");
    let mut pointers: Vec<&str> = p.errors.iter().map(|e| e.pointer()).collect();
    pointers.sort_unstable();
    assert_eq!(pointers, ["/stars", "/tagList/1", "/title"]);
    assert!(p.errors.iter().all(|e| !e.detail().is_empty()));
    check_problem(&v, &res.json());

    // Valid: 201 with Location.
    let res = client
        .post("/notes")
        .json(&json!({"title": "hello", "stars": 4}))
        .send()
        .await;
    res.assert_status(201).assert_header("location", "/notes/1");
    assert_eq!(res.json::<Value>()["title"], "hello");
}

#[tokio::test]
async fn query_and_path_errors_are_problems() {
    let client = TestClient::new(app()).await;
    let v = problem_validator(&document());

    // Missing and mistyped query parameters: 400 naming the parameter.
    let res = client.get("/notes").send().await;
    let p = res.assert_problem(400, "invalid_query");
    assert_eq!(p.errors[0].pointer(), "/limit");
    check_problem(&v, &res.json());
    let res = client.get("/notes?limit=many").send().await;
    res.assert_problem(400, "invalid_query");
    check_problem(&v, &res.json());

    // Out of range: 422.
    let res = client.get("/notes?limit=1000&min_stars=0").send().await;
    let p = res.assert_problem(422, "validation_failed");
    let mut pointers: Vec<&str> = p.errors.iter().map(|e| e.pointer()).collect();
    pointers.sort_unstable();
    assert_eq!(pointers, ["/limit", "/min_stars"]);
    check_problem(&v, &res.json());

    client
        .get("/notes?limit=5&min_stars=2")
        .send()
        .await
        .assert_status(200);

    // Mistyped path parameters: 400 naming the parameter.
    let res = client.get("/notes/abc").send().await;
    let p = res.assert_problem(400, "invalid_path");
    assert_eq!(p.errors[0].pointer(), "/id");
    check_problem(&v, &res.json());
    let res = client.delete("/lists/a/notes/x").send().await;
    let p = res.assert_problem(400, "invalid_path");
    assert_eq!(p.errors[0].pointer(), "/id");
    check_problem(&v, &res.json());
    client
        .delete("/lists/a/notes/3")
        .send()
        .await
        .assert_status(204);

    // The handler's own errors fit too.
    let res = client.get("/notes/101").send().await;
    res.assert_problem(404, "not_found");
    check_problem(&v, &res.json());
}

#[tokio::test]
async fn the_document_comes_from_the_routes_and_types() {
    let doc = document();
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(doc["info"]["version"], "1.2.3");
    let paths = doc["paths"].as_object().unwrap();
    let mut listed: Vec<&String> = paths.keys().collect();
    listed.sort();
    assert_eq!(
        listed,
        [
            "/lists/{list}/notes/{id}",
            "/notes",
            "/notes/{id}",
            "/ping",
            "/tagged"
        ],
        "undocumented routes stay out"
    );

    // Operation ids from route names; a name shared by two methods gets the method.
    assert_eq!(paths["/notes"]["get"]["operationId"], "notes_get");
    assert_eq!(paths["/notes"]["post"]["operationId"], "notes_post");
    assert_eq!(paths["/notes/{id}"]["get"]["operationId"], "note");
    assert_eq!(paths["/notes"]["post"]["summary"], "Create a note");
    assert_eq!(paths["/notes"]["post"]["tags"], json!(["notes"]));

    // The request body: a component schema with the doc comments.
    let post = &paths["/notes"]["post"];
    assert_eq!(
        post["requestBody"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/NewNote"
    );
    let new_note = &doc["components"]["schemas"]["NewNote"];
    assert_eq!(new_note["properties"]["tagList"]["type"], "array");
    assert_eq!(
        new_note["properties"]["title"]["description"],
        "The title, 1 to 40 characters."
    );
    // Responses: 201 with Location, the extractor's errors, the default problem.
    assert_eq!(
        post["responses"]["201"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/Note"
    );
    assert!(post["responses"]["201"]["headers"]["Location"].is_object());
    for status in ["400", "415", "422", "default"] {
        assert_eq!(
            post["responses"][status]["content"]["application/problem+json"]["schema"]["$ref"],
            "#/components/schemas/Problem",
            "{status}"
        );
    }

    // Query parameters from the struct's fields; required follows Option.
    let params = paths["/notes"]["get"]["parameters"].as_array().unwrap();
    let find = |name: &str| params.iter().find(|p| p["name"] == name).unwrap().clone();
    assert_eq!(find("limit")["in"], "query");
    assert_eq!(find("limit")["required"], true);
    assert_eq!(find("min_stars")["required"], false);
    assert_eq!(
        paths["/notes"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]["type"],
        "array"
    );

    // Path parameters: names from the route, types from `Path<T>`.
    let p = &paths["/notes/{id}"]["get"]["parameters"][0];
    assert_eq!(
        (p["name"].as_str(), p["in"].as_str()),
        (Some("id"), Some("path"))
    );
    assert_eq!(p["schema"]["type"], "integer");
    let del = &paths["/lists/{list}/notes/{id}"]["delete"];
    let names: Vec<&str> = del["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["list", "id"]);
    assert_eq!(del["parameters"][0]["schema"]["type"], "string");
    assert!(del["responses"]["204"].is_object());
}

#[tokio::test]
async fn the_app_serves_the_document_the_ui_and_checks_snapshots() {
    let client = TestClient::new(app()).await;
    let res = client.get("/openapi.json").send().await;
    res.assert_status(200)
        .assert_header("content-type", "application/json");
    let served: Value = res.json();
    assert_eq!(served["info"]["title"], "Notes");
    assert_eq!(served["servers"][0]["url"], "/");
    assert!(served["paths"]["/notes"].is_object());

    // Swagger UI from the binary, under its own CSP.
    client
        .get("/docs")
        .send()
        .await
        .assert_status(308)
        .assert_header("location", "/docs/");
    let page = client.get("/docs/").send().await;
    page.assert_status(200);
    assert!(page.text().contains("swagger-ui"), "{}", page.text());
    let csp = page.header("content-security-policy").unwrap().to_owned();
    assert!(csp.contains("script-src 'self'"), "{csp}");
    let init = client.get("/docs/swagger-initializer.js").send().await;
    init.assert_status(200);
    assert!(init.text().contains("/openapi.json"));
    client
        .get("/docs/swagger-ui-bundle.js")
        .send()
        .await
        .assert_status(200);
    client.get("/docs/nope.js").send().await.assert_status(404);

    // The command writes the document and checks a snapshot.
    let dir = std::env::temp_dir().join(format!("keel-openapi-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("openapi.json");
    let file_s = file.to_str().unwrap().to_owned();
    app()
        .run_with_args(["it", "openapi", &file_s])
        .await
        .unwrap();
    let written: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    assert_eq!(written, served);
    app()
        .run_with_args(["it", "openapi", "--check", &file_s])
        .await
        .unwrap();
    // A changed API fails the check.
    let mut stale = written.clone();
    stale["paths"]["/gone"] = json!({});
    std::fs::write(&file, serde_json::to_vec(&stale).unwrap()).unwrap();
    let err = app()
        .run_with_args(["it", "openapi", "--check", &file_s])
        .await
        .unwrap_err();
    assert!(err.to_string().contains("differs"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test]
async fn etags_answer_304_and_412() {
    let client = TestClient::new(app()).await;
    let res = client.get("/tagged").send().await;
    res.assert_status(200);
    let tag = res.header("etag").expect("an ETag").to_owned();
    client
        .get("/tagged")
        .header("if-none-match", &tag)
        .send()
        .await
        .assert_status(304);
    let body = json!({"title": "new", "stars": 2});
    let res = client
        .put("/tagged")
        .header("if-match", "\"stale\"")
        .json(&body)
        .send()
        .await;
    res.assert_problem(412, "etag_mismatch");
    check_problem(&problem_validator(&document()), &res.json());
    client
        .put("/tagged")
        .header("if-match", &tag)
        .json(&body)
        .send()
        .await
        .assert_status(200);

    // The document lists the conditional headers and answers.
    let doc = document();
    let get = &doc["paths"]["/tagged"]["get"];
    assert!(get["responses"]["304"].is_object());
    assert!(
        get["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["name"] == "If-None-Match" && p["in"] == "header")
    );
    assert!(doc["paths"]["/tagged"]["put"]["responses"]["412"].is_object());
}

/// keel-db's page envelope has a schema named after its items.
#[cfg(feature = "db")]
#[test]
fn page_envelopes_have_schemas() {
    async fn authors(_: keel_db::PageParams) -> Json<keel_db::Page<Note>> {
        Json(keel_db::Page {
            items: Vec::new(),
            page: 1,
            per_page: 10,
            total_items: 0,
            total_pages: 0,
            links: None,
        })
    }
    let routes = Router::new().route("/notes", get(authors).name("list"));
    let doc = serde_json::to_value(Docs::new("t", "1").document(routes.routes())).expect("JSON");
    let op = &doc["paths"]["/notes"]["get"];
    assert_eq!(
        op["responses"]["200"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/Page_Note"
    );
    let page = &doc["components"]["schemas"]["Page_Note"];
    assert_eq!(
        page["properties"]["items"]["items"]["$ref"],
        "#/components/schemas/Note"
    );
    assert!(doc["components"]["schemas"]["Note"].is_object());
    let names: Vec<&str> = op["parameters"]
        .as_array()
        .expect("parameters")
        .iter()
        .map(|p| p["name"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(names, ["page", "per_page"]);
}
