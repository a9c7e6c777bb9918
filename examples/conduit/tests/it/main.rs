//! Conduit through the full stack: the error format, the edges the RealWorld suite
//! does not test (401/403/404/422), and the OpenAPI snapshot.

use keel_test::TestClient;
use keel_test::db::TestDb;
use serde_json::{Value, json};

struct Conduit {
    client: TestClient,
    _db: TestDb,
}

async fn conduit() -> Conduit {
    let db = TestDb::migrated(keel::db::all_migrations(
        &conduit::models::registry(),
        conduit::migrations::all(),
    ))
    .await;
    let app = conduit::app()
        .config_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/config"))
        .set("database.url", db.url());
    Conduit {
        client: TestClient::new(app).await,
        _db: db,
    }
}

impl Conduit {
    async fn register(&self, name: &str) -> String {
        let res = self
            .client
            .post("/api/users")
            .json(&json!({"user": {"username": name, "email": format!("{name}@mail.com"), "password": "password"}}))
            .send()
            .await;
        res.assert_status(201);
        let body: Value = res.json();
        assert_eq!(body["user"]["username"], name);
        assert!(body["user"]["bio"].is_null() && body["user"].get("bio").is_some());
        body["user"]["token"].as_str().expect("a token").to_owned()
    }

    fn token(&self, req: keel_test::TestRequest, token: &str) -> keel_test::TestRequest {
        req.header("authorization", format!("Token {token}"))
    }
}

fn errors(res: &keel_test::TestResponse) -> Vec<String> {
    let body: Value = res.json();
    serde_json::from_value(body["errors"]["body"].clone())
        .unwrap_or_else(|_| panic!("not RealWorld's error shape: {body}"))
}

#[tokio::test]
async fn accounts_tokens_and_the_error_format() {
    let c = conduit().await;
    let token = c.register("jake").await;

    // Duplicates are 422 in RealWorld's shape.
    let res = c
        .client
        .post("/api/users")
        .json(&json!({"user": {"username": "jake", "email": "jake@mail.com", "password": "password"}}))
        .send()
        .await;
    res.assert_status(422);
    let mut e = errors(&res);
    e.sort();
    assert_eq!(
        e,
        [
            "email has already been taken",
            "username has already been taken"
        ]
    );

    // Invalid input: every broken rule, named.
    let res = c
        .client
        .post("/api/users")
        .json(&json!({"user": {"username": "", "email": "nope", "password": "password"}}))
        .send()
        .await;
    res.assert_status(422);
    assert_eq!(errors(&res).len(), 2, "{:?}", errors(&res));
    // Missing fields and malformed JSON.
    let res = c
        .client
        .post("/api/users")
        .json(&json!({"user": {}}))
        .send()
        .await;
    res.assert_status(422);
    assert!(errors(&res)[0].contains("required"), "{:?}", errors(&res));
    let res = c
        .client
        .post("/api/users")
        .body("{", "application/json")
        .send()
        .await;
    res.assert_status(400);

    // Login: wrong password is 401, right one gives a working token.
    let res = c
        .client
        .post("/api/users/login")
        .json(&json!({"user": {"email": "jake@mail.com", "password": "wrong"}}))
        .send()
        .await;
    res.assert_status(401);
    assert_eq!(errors(&res).len(), 1);
    let res = c
        .client
        .post("/api/users/login")
        .json(&json!({"user": {"email": "jake@mail.com", "password": "password"}}))
        .send()
        .await;
    res.assert_status(200);
    let login_token = res.json::<Value>()["user"]["token"]
        .as_str()
        .unwrap()
        .to_owned();

    // The token works; none, a bearer of garbage or a foreign scheme do not.
    for t in [&token, &login_token] {
        let res = c.token(c.client.get("/api/user"), t).send().await;
        res.assert_status(200);
        assert_eq!(res.json::<Value>()["user"]["email"], "jake@mail.com");
    }
    let res = c.client.get("/api/user").send().await;
    res.assert_status(401);
    assert_eq!(errors(&res).len(), 1);
    c.token(c.client.get("/api/user"), "garbage")
        .send()
        .await
        .assert_status(401);

    // Update: same email is fine, bio set, password changed; the token stays valid.
    let res = c
        .token(c.client.put("/api/user"), &token)
        .json(&json!({"user": {"email": "jake@mail.com", "bio": "I like to skateboard", "password": "new password"}}))
        .send()
        .await;
    res.assert_status(200);
    assert_eq!(res.json::<Value>()["user"]["bio"], "I like to skateboard");
    c.token(c.client.get("/api/user"), &token)
        .send()
        .await
        .assert_status(200);
    c.client
        .post("/api/users/login")
        .json(&json!({"user": {"email": "jake@mail.com", "password": "new password"}}))
        .send()
        .await
        .assert_status(200);
    // Taking someone else's name is 422.
    c.register("celeb").await;
    let res = c
        .token(c.client.put("/api/user"), &token)
        .json(&json!({"user": {"username": "celeb"}}))
        .send()
        .await;
    res.assert_status(422);
    assert_eq!(errors(&res), ["username has already been taken"]);
}

#[tokio::test]
async fn articles_comments_and_their_owners() {
    let c = conduit().await;
    let jake = c.register("jake").await;
    let anne = c.register("anne").await;

    let res = c
        .token(c.client.post("/api/articles"), &jake)
        .json(&json!({"article": {"title": "How to train your dragon", "description": "Ever wonder how?", "body": "Very carefully.", "tagList": ["training", "dragons"]}}))
        .send()
        .await;
    res.assert_status(201);
    let a: Value = res.json();
    let slug = a["article"]["slug"].as_str().unwrap().to_owned();
    assert_eq!(
        res.header("location"),
        Some(format!("/api/articles/{slug}").as_str())
    );
    assert_eq!(a["article"]["tagList"], json!(["dragons", "training"]));
    let ts = a["article"]["createdAt"].as_str().unwrap();
    assert!(
        ts.len() == 24 && ts.ends_with('Z') && ts.as_bytes()[19] == b'.',
        "{ts}"
    );

    // Validation on create.
    let res = c
        .token(c.client.post("/api/articles"), &jake)
        .json(&json!({"article": {"title": "", "description": "d", "body": "b", "tagList": ["ok", ""]}}))
        .send()
        .await;
    res.assert_status(422);
    let mut e = errors(&res);
    e.sort();
    assert_eq!(e.len(), 2, "{e:?}");
    assert!(e[0].starts_with("tagList[1] "), "{e:?}");
    assert!(e[1].starts_with("title "), "{e:?}");

    // Someone else may not change or delete it.
    c.token(c.client.put(&format!("/api/articles/{slug}")), &anne)
        .json(&json!({"article": {"body": "mine now"}}))
        .send()
        .await
        .assert_status(403);
    c.token(c.client.delete(&format!("/api/articles/{slug}")), &anne)
        .send()
        .await
        .assert_status(403);
    c.client
        .get("/api/articles/no-such-slug")
        .send()
        .await
        .assert_status(404);

    // Favorites count once per user; lists leave out the body.
    for _ in 0..2 {
        let res = c
            .token(
                c.client.post(&format!("/api/articles/{slug}/favorite")),
                &anne,
            )
            .send()
            .await;
        res.assert_status(200);
        assert_eq!(res.json::<Value>()["article"]["favoritesCount"], 1);
    }
    let res = c
        .token(c.client.get("/api/articles?favorited=anne"), &anne)
        .send()
        .await;
    let list: Value = res.json();
    assert_eq!(list["articlesCount"], 1);
    assert_eq!(list["articles"][0]["favorited"], true);
    assert!(list["articles"][0].get("body").is_none());
    let res = c.client.get("/api/articles?author=nobody").send().await;
    assert_eq!(
        res.json::<Value>(),
        json!({"articles": [], "articlesCount": 0})
    );
    c.client
        .get("/api/articles?limit=0")
        .send()
        .await
        .assert_status(422);

    // The feed follows follows.
    let feed = |t: String| {
        let c = &c;
        async move {
            c.token(c.client.get("/api/articles/feed"), &t)
                .send()
                .await
                .json::<Value>()["articlesCount"]
                .clone()
        }
    };
    assert_eq!(feed(anne.clone()).await, 0);
    c.token(c.client.post("/api/profiles/jake/follow"), &anne)
        .send()
        .await
        .assert_status(200);
    assert_eq!(feed(anne.clone()).await, 1);
    c.client
        .get("/api/articles/feed")
        .send()
        .await
        .assert_status(401);

    // Comments: anyone reads, only the author deletes.
    let res = c
        .token(
            c.client.post(&format!("/api/articles/{slug}/comments")),
            &anne,
        )
        .json(&json!({"comment": {"body": "Thank you so much!"}}))
        .send()
        .await;
    res.assert_status(200);
    let id = res.json::<Value>()["comment"]["id"].as_i64().unwrap();
    let res = c
        .client
        .get(&format!("/api/articles/{slug}/comments"))
        .send()
        .await;
    assert_eq!(
        res.json::<Value>()["comments"][0]["author"]["username"],
        "anne"
    );
    c.token(
        c.client
            .delete(&format!("/api/articles/{slug}/comments/{id}")),
        &jake,
    )
    .send()
    .await
    .assert_status(403);
    c.token(
        c.client.delete(&format!("/api/articles/{slug}/comments/x")),
        &anne,
    )
    .send()
    .await
    .assert_status(400);
    c.token(
        c.client
            .delete(&format!("/api/articles/{slug}/comments/{id}")),
        &anne,
    )
    .send()
    .await
    .assert_status(204);

    // The author deletes the article, with its favorites and comments.
    c.token(c.client.delete(&format!("/api/articles/{slug}")), &jake)
        .send()
        .await
        .assert_status(204);
    let res = c.client.get("/api/tags").send().await;
    assert_eq!(res.json::<Value>(), json!({"tags": []}));
}

#[tokio::test]
async fn the_openapi_document_matches_the_snapshot() {
    let c = conduit().await;
    let served: Value = c.client.get("/openapi.json").send().await.json();
    let snapshot: Value =
        serde_json::from_str(include_str!("../../openapi.json")).expect("openapi.json is JSON");
    assert_eq!(
        served, snapshot,
        "the API changed: review it and run `cargo run -p example-conduit -- openapi openapi.json`"
    );
    // Every route of the API is documented.
    let paths = served["paths"].as_object().unwrap();
    let ops: usize = paths.values().map(|p| p.as_object().unwrap().len()).sum();
    assert_eq!(ops, 19, "{:?}", paths.keys().collect::<Vec<_>>());
    assert_eq!(
        served["components"]["securitySchemes"]["token"]["name"],
        "Authorization"
    );
    let login = &paths["/api/users/login"]["post"];
    assert_eq!(
        login["requestBody"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/LoginUserRequest"
    );
    assert_eq!(
        login["responses"]["422"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/GenericErrorModel"
    );
}
