//! keel-auth through the full stack: every flow, throttling, permissions and groups,
//! API tokens and JWTs. Runs on SQLite, and on PostgreSQL / MariaDB with
//! `KEEL_TEST_DATABASE_URL`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    missing_docs,
    unreachable_pub
)]

use std::time::Duration;

use keel_auth::models::user;
use keel_auth::{Auth, CurrentUser, RequirePermission, RequireUser};
use keel_core::routing::{Router, get};
use keel_core::{App, AppState};
use keel_db::sea_orm::{ActiveModelTrait, EntityTrait, Set};
use keel_db::{Db, Models};
use keel_test::TestClient;
use keel_test::db::TestDb;
use serde_json::{Value, json};

mod note {
    use keel_db::sea_orm;
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "note")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i32,
        pub text: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

#[derive(rust_embed::RustEmbed)]
#[folder = "tests/templates/"]
struct Templates;

keel_auth::permission!(ChangeNote = "shop.change_note");

fn models() -> Models {
    Models::new()
        .include(keel_auth::models())
        .register::<note::Entity>()
}

fn migrations() -> Vec<keel_db::Migration> {
    use keel_db::migrate::{Migration, Op, entities::table_of};
    vec![Migration::new("0001_note").up([Op::create_table(table_of::<note::Entity>().unwrap())])]
}

async fn edit_note(user: RequirePermission<ChangeNote>) -> String {
    format!("{} may edit", user.email)
}

async fn private(user: RequireUser) -> String {
    format!("private to {}", user.email)
}

async fn whoami(CurrentUser(user): CurrentUser) -> String {
    user.map_or_else(|| "nobody".to_owned(), |u| u.email.clone())
}

async fn home() -> keel_view::View {
    keel_view::view("home.html", json!({}))
}

struct Shop {
    client: TestClient,
    /// Kept alive for the test (dropped: the database is removed).
    _db: Option<TestDb>,
}

async fn shop_with(settings: &[(&str, Value)]) -> Shop {
    let db = TestDb::migrated(keel_db::all_migrations(&models(), migrations())).await;
    let mut app = App::new("shop")
        .environment(keel_core::Environment::Test)
        .set("database.url", db.url())
        .set("session.store", "database")
        .set("mail.backend", "memory")
        .plugin(keel_db::plugin(models(), migrations))
        .plugin(|app: &mut App| keel_http::session::plugin(app))
        .plugin(keel_view::plugin::<Templates>())
        .plugin(keel_mail::plugin)
        .plugin(keel_auth::with_permissions(&[(
            "shop.publish_note",
            "Can publish notes",
        )]))
        .routes(
            Router::new()
                .route("/", get(home).name("home"))
                .route("/notes/{id}/edit", get(edit_note).name("edit_note"))
                .route("/private", get(private).name("private"))
                .route("/whoami", get(whoami).name("whoami"))
                .merge(keel_auth::login_required(
                    Router::new().route("/account/settings", get(|| async { "settings" })),
                )),
        );
    for (k, v) in settings {
        app = app.set(k, v);
    }
    Shop {
        client: TestClient::new(app).await,
        _db: Some(db),
    }
}

async fn shop() -> Shop {
    shop_with(&[]).await
}

const PASSWORD: &str = "a long pass phrase 42";

impl Shop {
    fn state(&self) -> &AppState {
        self.client.state()
    }

    fn auth(&self) -> Auth {
        Auth::of(self.state()).unwrap()
    }

    fn dbh(&self) -> Db {
        self.state().get::<Db>().cloned().unwrap()
    }

    /// The mails sent since the last call (they go out in the background: wait a little
    /// for them).
    async fn outbox(&self) -> Vec<keel_core::mail::Email> {
        let outbox = self.state().get::<keel_mail::Outbox>().unwrap();
        for _ in 0..50 {
            if !outbox.messages().is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        outbox.take()
    }

    async fn no_mail(&self) -> bool {
        tokio::time::sleep(Duration::from_millis(200)).await;
        self.state()
            .get::<keel_mail::Outbox>()
            .unwrap()
            .take()
            .is_empty()
    }

    async fn csrf(&self) -> String {
        let page = self.client.get("/auth/login").send().await.text();
        let at = page.find(r#"name="_csrf" value=""#).expect("a CSRF field")
            + r#"name="_csrf" value=""#.len();
        page[at..].chars().take_while(|c| *c != '"').collect()
    }

    async fn user(&self, email: &str) -> user::Model {
        let auth = self.auth();
        match auth.find_by_email(&self.dbh(), email).await.unwrap() {
            Some(u) => u,
            None => auth
                .create_user(&self.dbh(), email, PASSWORD)
                .await
                .unwrap(),
        }
    }

    async fn login_form(&self, email: &str, password: &str, next: &str) -> keel_test::TestResponse {
        let token = self.csrf().await;
        self.client
            .post("/auth/login")
            .form(&[
                ("_csrf", token.as_str()),
                ("email", email),
                ("password", password),
                ("next", next),
            ])
            .send()
            .await
    }

    async fn login_json(&self, email: &str, password: &str) -> keel_test::TestResponse {
        let token = self.csrf().await;
        self.client
            .post("/auth/login")
            .header("x-csrf-token", &token)
            .json(&json!({ "email": email, "password": password }))
            .send()
            .await
    }
}

fn link_in(mail: &keel_core::mail::Email, marker: &str) -> String {
    let at = mail.text.find(marker).expect("the link in the mail");
    let start = mail.text[..at].rfind("http").unwrap();
    let url: String = mail.text[start..]
        .chars()
        .take_while(|c| !c.is_whitespace())
        .collect();
    url.trim_start_matches("http://")
        .split_once('/')
        .map(|(_, path)| format!("/{path}"))
        .unwrap()
}

#[tokio::test]
async fn sign_up_verify_log_in_and_out() {
    let s = shop().await;
    // Sign-up (HTML form): a weak password is explained, nothing is created.
    let token = s.csrf().await;
    let res = s
        .client
        .post("/auth/signup")
        .form(&[
            ("_csrf", token.as_str()),
            ("email", "ann@example.com"),
            ("password", "short"),
            ("password2", "short"),
        ])
        .send()
        .await;
    res.assert_status(422);
    assert!(res.text().contains("too short"), "{}", res.text());
    assert!(
        !res.text().contains("value=\"short\""),
        "passwords are not sent back"
    );
    // A good one: "check your inbox", and a verification mail.
    let res = s
        .client
        .post("/auth/signup")
        .form(&[
            ("_csrf", token.as_str()),
            ("email", "Ann@Example.com"),
            ("password", PASSWORD),
            ("password2", PASSWORD),
        ])
        .send()
        .await;
    res.assert_status(202);
    assert!(res.text().contains("Check your inbox"));
    let mails = s.outbox().await;
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].to, vec!["ann@example.com".to_owned()]);
    let verify = link_in(&mails[0], "/auth/verify/");
    // Signing up again with the same address answers the same, and mails the owner.
    let again = s
        .client
        .post("/auth/signup")
        .form(&[
            ("_csrf", token.as_str()),
            ("email", "ann@example.com"),
            ("password", PASSWORD),
            ("password2", PASSWORD),
        ])
        .send()
        .await;
    again.assert_status(202);
    assert_eq!(
        again.text(),
        res.text(),
        "the response does not reveal the account"
    );
    let mails = s.outbox().await;
    assert!(mails[0].text.contains("already has an account"));
    // Verification: works once the address is confirmed; a forged link does not.
    s.client.get(&verify).send().await.assert_status(200);
    assert!(s.user("ann@example.com").await.email_verified);
    let forged = format!("{verify}x");
    s.client.get(&forged).send().await.assert_status(400);
    // Login: the session id changes; `user` reaches templates.
    let before = s
        .client
        .cookie("keel_session")
        .expect("a session before login");
    let res = s.login_form("ann@example.com", PASSWORD, "/private").await;
    res.assert_status(303).assert_header("location", "/private");
    let after = s.client.cookie("keel_session").unwrap();
    assert_ne!(before, after, "the session id is rotated on login");
    // Without "remember me", the cookie ends with the browser.
    let set_cookie = res.header("set-cookie").unwrap().to_owned();
    assert!(!set_cookie.contains("Max-Age"), "{set_cookie}");
    s.client
        .get("/private")
        .send()
        .await
        .assert_status(200)
        .assert_text("private to ann@example.com");
    s.client
        .get("/")
        .accept_html()
        .send()
        .await
        .assert_status(200);
    assert!(
        s.client
            .get("/")
            .accept_html()
            .send()
            .await
            .text()
            .contains("Hello ann@example.com")
    );
    // Logout deletes the session server-side: the old cookie no longer works.
    let token = s.csrf().await;
    s.client
        .post("/auth/logout")
        .form(&[("_csrf", token.as_str())])
        .send()
        .await
        .assert_status(303);
    s.client.get("/whoami").send().await.assert_text("nobody");
    s.client.set_cookie("keel_session", &after);
    s.client.get("/whoami").send().await.assert_text("nobody");
    s.client
        .get("/private")
        .send()
        .await
        .assert_problem(401, "login_required");
}

#[tokio::test]
async fn remember_me_keeps_the_cookie_and_json_login_works() {
    let s = shop().await;
    s.user("bo@example.com").await;
    let token = s.csrf().await;
    let res = s
        .client
        .post("/auth/login")
        .form(&[
            ("_csrf", token.as_str()),
            ("email", "bo@example.com"),
            ("password", PASSWORD),
            ("remember", "on"),
        ])
        .send()
        .await;
    res.assert_status(303);
    assert!(res.header("set-cookie").unwrap().contains("Max-Age="));
    s.client.clear_cookies();
    let res = s.login_json("BO@example.com", PASSWORD).await;
    res.assert_status(200);
    let body: Value = res.json();
    assert_eq!(body["user"]["email"], "bo@example.com");
    assert_eq!(body["token"], Value::Null, "no JWT unless JWT mode is on");
    let wrong = s.login_json("bo@example.com", "not the password").await;
    let p = wrong.assert_problem(401, "invalid_credentials");
    let unknown = s.login_json("nobody@example.com", "not the password").await;
    assert_eq!(
        unknown.assert_problem(401, "invalid_credentials").detail,
        p.detail,
        "unknown and wrong look alike"
    );
}

#[tokio::test]
async fn password_reset_links_work_once_and_expire() {
    let s = shop_with(&[("auth.reset_token_ttl", json!("2s"))]).await;
    s.user("cy@example.com").await;
    let token = s.csrf().await;
    let ask = |email: &'static str| {
        let token = token.clone();
        let client = &s.client;
        async move {
            client
                .post("/auth/password/reset")
                .form(&[("_csrf", token.as_str()), ("email", email)])
                .send()
                .await
        }
    };
    let unknown = ask("nobody@example.com").await;
    unknown.assert_status(202);
    assert!(s.no_mail().await);
    let known = ask("cy@example.com").await;
    known.assert_status(202);
    assert_eq!(
        known.text(),
        unknown.text(),
        "the answer does not reveal the account"
    );
    let link = link_in(&s.outbox().await[0], "/auth/password/reset/");
    s.client.get(&link).send().await.assert_status(200);
    let new_password = "another long phrase 7";
    s.client
        .post(&link)
        .form(&[
            ("_csrf", token.as_str()),
            ("password", new_password),
            ("password2", new_password),
        ])
        .send()
        .await
        .assert_status(303);
    // Single use: the same link is refused now.
    s.client
        .post(&link)
        .form(&[
            ("_csrf", token.as_str()),
            ("password", "a third long phrase"),
            ("password2", "a third long phrase"),
        ])
        .send()
        .await
        .assert_status(400);
    s.login_json("cy@example.com", new_password)
        .await
        .assert_status(200);
    // Expiry: a fresh link older than its TTL is refused.
    s.client.clear_cookies();
    let token = s.csrf().await;
    s.client
        .post("/auth/password/reset")
        .form(&[("_csrf", token.as_str()), ("email", "cy@example.com")])
        .send()
        .await
        .assert_status(202);
    let link = link_in(&s.outbox().await[0], "/auth/password/reset/");
    tokio::time::sleep(Duration::from_millis(3100)).await;
    s.client.get(&link).send().await.assert_status(400);
}

#[tokio::test]
async fn password_change_keeps_this_session_and_ends_the_others() {
    let s = shop().await;
    s.user("di@example.com").await;
    s.login_json("di@example.com", PASSWORD)
        .await
        .assert_status(200);
    let first = s.client.cookie("keel_session").unwrap();
    s.client.clear_cookies();
    s.login_json("di@example.com", PASSWORD)
        .await
        .assert_status(200);
    let token = s.csrf().await;
    let res = s
        .client
        .post("/auth/password")
        .header("x-csrf-token", &token)
        .json(&json!({ "old_password": "wrong", "new_password": "x" }))
        .send()
        .await;
    let p = res.assert_problem(422, "validation_failed");
    assert!(
        p.errors.iter().any(|e| e.pointer() == "/old_password"),
        "{p:?}"
    );
    assert!(
        p.errors.iter().any(|e| e.pointer() == "/new_password"),
        "{p:?}"
    );
    let new_password = "a brand new phrase 99";
    s.client
        .post("/auth/password")
        .header("x-csrf-token", &token)
        .json(&json!({ "old_password": PASSWORD, "new_password": new_password }))
        .send()
        .await
        .assert_status(204);
    s.client
        .get("/whoami")
        .send()
        .await
        .assert_text("di@example.com");
    s.client.set_cookie("keel_session", &first);
    s.client.get("/whoami").send().await.assert_text("nobody");
}

#[tokio::test]
async fn failed_logins_are_throttled_per_account_then_the_window_lifts() {
    let s = shop_with(&[
        ("auth.throttle.max_failures", json!(3)),
        ("auth.throttle.window", json!("2s")),
    ])
    .await;
    s.user("ed@example.com").await;
    for _ in 0..3 {
        s.login_json("ed@example.com", "wrong password!")
            .await
            .assert_problem(401, "invalid_credentials");
    }
    // Now even the right password is refused, with how long to wait.
    let res = s.login_json("ed@example.com", PASSWORD).await;
    let p = res.assert_problem(429, "login_throttled");
    assert!(p.detail.unwrap().contains("Try again in"));
    assert!(res.header("retry-after").is_some());
    // The HTML form says the same.
    let page = s.login_form("ed@example.com", PASSWORD, "").await;
    page.assert_status(429);
    assert!(page.text().contains("Try again in"));
    tokio::time::sleep(Duration::from_millis(2600)).await;
    s.login_json("ed@example.com", PASSWORD)
        .await
        .assert_status(200);
}

#[tokio::test]
async fn inactive_users_are_refused_and_next_only_goes_to_this_site() {
    let s = shop().await;
    let u = s.user("fay@example.com").await;
    for evil in [
        "https://evil.example/",
        "//evil.example/x",
        "/\\evil.example",
        "javascript:alert(1)",
    ] {
        s.client.clear_cookies();
        s.login_form("fay@example.com", PASSWORD, evil)
            .await
            .assert_status(303)
            .assert_header("location", "/");
    }
    s.client.clear_cookies();
    s.login_form("fay@example.com", PASSWORD, "/notes/1/edit?x=1")
        .await
        .assert_header("location", "/notes/1/edit?x=1");
    // A browser sent to log in keeps where it was going.
    s.client.clear_cookies();
    s.client
        .get("/private?tab=2")
        .accept_html()
        .send()
        .await
        .assert_status(303)
        .assert_header("location", "/auth/login?next=%2Fprivate%3Ftab%3D2");
    s.client
        .get("/account/settings")
        .send()
        .await
        .assert_problem(401, "login_required");
    let mut active: user::ActiveModel = u.into();
    active.is_active = Set(false);
    active.update(&*s.dbh()).await.unwrap();
    s.login_json("fay@example.com", PASSWORD)
        .await
        .assert_problem(403, "inactive_account");
}

#[tokio::test]
async fn hashes_made_with_old_parameters_are_upgraded_on_login() {
    let s = shop().await;
    let u = s.user("gus@example.com").await;
    assert!(
        u.password.starts_with("$argon2id$v=19$m=64,t=1,p=1$"),
        "{}",
        u.password
    );
    let old = keel_auth::Hasher::new(keel_auth::HasherSettings {
        memory_kib: 256,
        iterations: 2,
        parallelism: 1,
    })
    .unwrap()
    .hash(PASSWORD)
    .unwrap();
    let mut active: user::ActiveModel = u.into();
    active.password = Set(old.clone());
    active.update(&*s.dbh()).await.unwrap();
    s.login_json("gus@example.com", PASSWORD)
        .await
        .assert_status(200);
    let now = s.user("gus@example.com").await.password;
    assert_ne!(now, old);
    assert!(now.starts_with("$argon2id$v=19$m=64,t=1,p=1$"), "{now}");
}

#[tokio::test]
async fn permissions_direct_or_through_a_group() {
    let s = shop().await;
    let db = s.dbh();
    // The per-model and custom permissions exist.
    let codes: Vec<String> = keel_auth::models::permission::Entity::find()
        .all(&*db)
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.codename)
        .collect();
    for c in [
        "shop.add_note",
        "shop.change_note",
        "shop.delete_note",
        "shop.view_note",
        "shop.publish_note",
    ] {
        assert!(codes.contains(&c.to_owned()), "{c} in {codes:?}");
    }
    assert!(
        !codes.iter().any(|c| c.contains("keel_")),
        "none for Keel's own tables"
    );
    let hal = s.user("hal@example.com").await;
    s.login_json("hal@example.com", PASSWORD)
        .await
        .assert_status(200);
    s.client
        .get("/notes/1/edit")
        .send()
        .await
        .assert_problem(403, "permission_denied");
    assert!(!s.client.get("/").send().await.text().contains("editor"));
    // Through a group.
    keel_auth::perms::ensure_group(&db, "editors", &["shop.change_note"])
        .await
        .unwrap();
    keel_auth::perms::add_to_group(&db, hal.id, "editors")
        .await
        .unwrap();
    s.client
        .get("/notes/1/edit")
        .send()
        .await
        .assert_status(200)
        .assert_text("hal@example.com may edit");
    assert!(
        s.client
            .get("/")
            .send()
            .await
            .text()
            .contains("Hello hal@example.com, editor")
    );
    // Directly.
    let ivy = s.user("ivy@example.com").await;
    s.client.clear_cookies();
    s.login_json("ivy@example.com", PASSWORD)
        .await
        .assert_status(200);
    s.client
        .get("/notes/1/edit")
        .send()
        .await
        .assert_status(403);
    keel_auth::perms::grant(&db, ivy.id, "shop.change_note")
        .await
        .unwrap();
    s.client
        .get("/notes/1/edit")
        .send()
        .await
        .assert_status(200);
    keel_auth::perms::revoke(&db, ivy.id, "shop.change_note")
        .await
        .unwrap();
    s.client
        .get("/notes/1/edit")
        .send()
        .await
        .assert_status(403);
}

#[tokio::test]
async fn api_tokens_are_hashed_scoped_revocable_and_expire() {
    let s = shop().await;
    let jo = s.user("jo@example.com").await;
    s.login_json("jo@example.com", PASSWORD)
        .await
        .assert_status(200);
    let csrf = s.csrf().await;
    let res = s
        .client
        .post("/auth/tokens")
        .header("x-csrf-token", &csrf)
        .json(&json!({ "name": "ci", "scopes": "read write" }))
        .send()
        .await;
    res.assert_status(201);
    let created: Value = res.json();
    let token = created["token"].as_str().unwrap().to_owned();
    assert!(token.starts_with("keel_"), "{token}");
    assert!(
        created["record"].get("hash").is_none(),
        "the hash is not shown"
    );
    // Only a hash is stored.
    let stored = keel_auth::models::api_token::Entity::find()
        .all(&*s.dbh())
        .await
        .unwrap();
    assert_eq!(stored.len(), 1);
    let secret = token.rsplit_once('_').unwrap().1;
    assert!(!stored[0].hash.contains(secret) && stored[0].hash != token);
    assert_eq!(stored[0].last_used_at, None);
    // Used without the session cookie.
    s.client.clear_cookies();
    let me: Value = s
        .client
        .get("/auth/me")
        .bearer(&token)
        .send()
        .await
        .assert_status(200)
        .json();
    assert_eq!(me["email"], "jo@example.com");
    assert_eq!(me["method"]["scopes"], json!(["read", "write"]));
    let used = keel_auth::models::api_token::Entity::find_by_id(stored[0].id)
        .one(&*s.dbh())
        .await
        .unwrap()
        .unwrap();
    assert!(used.last_used_at.is_some(), "last use recorded");
    // A wrong secret, then a revoked token: 401 problems.
    s.client
        .get("/auth/me")
        .bearer(&format!("{token}x"))
        .send()
        .await
        .assert_problem(401, "invalid_token");
    keel_auth::tokens::revoke_token(&*s.dbh(), jo.id, stored[0].id)
        .await
        .unwrap();
    let p = s
        .client
        .get("/auth/me")
        .bearer(&token)
        .send()
        .await
        .assert_problem(401, "invalid_token");
    assert!(p.detail.unwrap().contains("revoked"));
    // A malformed id is a problem, not plain text (a token that does not expire, so
    // that a slow machine cannot turn this into a 401).
    let lasting =
        keel_auth::tokens::create_token(&*s.dbh(), "keel_", jo.id, "lasting", &["*"], None)
            .await
            .unwrap();
    s.client
        .delete("/auth/tokens/abc")
        .bearer(&lasting.token)
        .send()
        .await
        .assert_status(400)
        .assert_header("content-type", "application/problem+json");
    // Expired. Three seconds leave room for a loaded CI machine before the first use.
    let short = keel_auth::tokens::create_token(
        &*s.dbh(),
        "keel_",
        jo.id,
        "short",
        &["*"],
        Some(Duration::from_secs(3)),
    )
    .await
    .unwrap();
    s.client
        .get("/auth/me")
        .bearer(&short.token)
        .send()
        .await
        .assert_status(200);
    tokio::time::sleep(Duration::from_millis(3100)).await;
    let p = s
        .client
        .get("/auth/me")
        .bearer(&short.token)
        .send()
        .await
        .assert_problem(401, "invalid_token");
    assert!(p.detail.unwrap().contains("expired"));
}

#[tokio::test]
async fn jwt_mode_with_a_custom_scheme() {
    let s = shop_with(&[
        ("auth.jwt.enabled", json!(true)),
        ("auth.jwt.ttl", json!("2s")),
        ("auth.jwt.leeway", json!(0)),
        ("auth.token_scheme", json!("Token")),
    ])
    .await;
    s.user("kim@example.com").await;
    let body: Value = s
        .login_json("kim@example.com", PASSWORD)
        .await
        .assert_status(200)
        .json();
    let jwt = body["token"].as_str().unwrap().to_owned();
    s.client.clear_cookies();
    s.client
        .get("/auth/me")
        .header("authorization", format!("Token {jwt}"))
        .send()
        .await
        .assert_status(200);
    // The Bearer scheme is not this app's.
    s.client
        .get("/auth/me")
        .bearer(&jwt)
        .send()
        .await
        .assert_problem(401, "login_required");
    // A token signed with another key.
    let other = keel_auth::Jwt::new(
        &keel_auth::JwtSettings {
            enabled: true,
            secret: Some("another key".into()),
            ..Default::default()
        },
        "",
    )
    .unwrap()
    .issue(1)
    .unwrap();
    s.client
        .get("/auth/me")
        .header("authorization", format!("Token {other}"))
        .send()
        .await
        .assert_problem(401, "invalid_token");
    tokio::time::sleep(Duration::from_millis(3100)).await;
    let p = s
        .client
        .get("/auth/me")
        .header("authorization", format!("Token {jwt}"))
        .send()
        .await
        .assert_problem(401, "invalid_token");
    assert!(p.detail.unwrap().contains("expired"));
}

#[test]
fn jwt_with_eddsa_keys() {
    use base64::Engine as _;
    let rng = ring::rand::SystemRandom::new();
    let pkcs8 = ring::signature::Ed25519KeyPair::generate_pkcs8(&rng).unwrap();
    let pair = ring::signature::Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap();
    let b64 = base64::engine::general_purpose::STANDARD;
    let private = format!(
        "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
        b64.encode(pkcs8.as_ref())
    );
    use ring::signature::KeyPair as _;
    let mut spki = vec![
        0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
    ];
    spki.extend_from_slice(pair.public_key().as_ref());
    let public = format!(
        "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
        b64.encode(&spki)
    );
    let settings = keel_auth::JwtSettings {
        enabled: true,
        algorithm: "EdDSA".into(),
        private_key: Some(private),
        public_key: Some(public),
        ..Default::default()
    };
    let jwt = keel_auth::Jwt::new(&settings, "").unwrap();
    let token = jwt.issue(42).unwrap();
    assert_eq!(jwt.check(&token), Ok(42));
    // A verifier with only the public key accepts it and cannot issue.
    let verifier = keel_auth::Jwt::new(
        &keel_auth::JwtSettings {
            private_key: None,
            ..settings
        },
        "",
    )
    .unwrap();
    assert_eq!(verifier.check(&token), Ok(42));
    assert!(verifier.issue(1).is_err());
    assert_eq!(
        verifier.check("a.b.c"),
        Err(keel_auth::TokenRefusal::Invalid)
    );
}

#[tokio::test]
async fn createsuperuser_from_the_environment() {
    let db = TestDb::migrated(keel_db::all_migrations(&models(), migrations())).await;
    let app = || {
        App::new("shop")
            .environment(keel_core::Environment::Test)
            .set("database.url", db.url())
            .plugin(keel_db::plugin(models(), migrations))
            .plugin(|app: &mut App| keel_http::session::plugin(app))
            .plugin(keel_auth::plugin)
    };
    // The run with the variables set is in the blog's tests (a child process).
    let res = app()
        .run_with_args([
            "shop",
            "createsuperuser",
            "--no-input",
            "--email",
            "root@example.com",
        ])
        .await;
    let err = res.unwrap_err();
    assert!(
        err.internal_message()
            .unwrap()
            .contains("KEEL_SUPERUSER_PASSWORD"),
        "{err}"
    );
    let conn = keel_db::Db::new(db.conn().clone());
    let client = TestClient::new(app()).await;
    let auth = Auth::of(client.state()).unwrap();
    let root = keel_auth::commands::create_superuser(&auth, &conn, "Root@Example.com", PASSWORD)
        .await
        .unwrap();
    assert!(root.is_superuser && root.is_staff && root.email_verified);
    let again =
        keel_auth::commands::create_superuser(&auth, &conn, "root@example.com", PASSWORD).await;
    assert_eq!(again.unwrap_err().status(), 409);
    let weak = keel_auth::commands::create_superuser(&auth, &conn, "x@example.com", "123").await;
    assert!(
        weak.unwrap_err()
            .internal_message()
            .unwrap()
            .contains("too short")
    );
}

#[tokio::test]
async fn the_user_row_is_a_plain_seaorm_model() {
    let s = shop().await;
    let u = s.user("lee@example.com").await;
    let found = user::Entity::find_by_id(u.id)
        .one(&*s.dbh())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.email, "lee@example.com");
    let json = serde_json::to_value(&found).unwrap();
    assert!(
        json.get("password").is_none(),
        "the hash is never serialized"
    );
}

#[test]
fn the_shipped_migration_matches_the_models() {
    keel_test::db::assert_migrations_current(
        keel_auth::auth_migrations(),
        &keel_auth::models(),
        concat!(env!("CARGO_MANIFEST_DIR"), "/src/migrations"),
    );
}

#[tokio::test]
async fn failed_logins_are_throttled_per_client_address_across_accounts() {
    let s = shop_with(&[
        ("auth.throttle.max_failures_per_ip", json!(3)),
        ("auth.throttle.window", json!("60s")),
    ])
    .await;
    s.user("mo@example.com").await;
    // Three accounts, one failure each, from the same address.
    for who in ["a@example.com", "b@example.com", "c@example.com"] {
        s.login_json(who, "wrong password!")
            .await
            .assert_status(401);
    }
    // The address is locked, whichever account it tries next.
    s.login_json("mo@example.com", PASSWORD)
        .await
        .assert_problem(429, "login_throttled");
}

/// Two app nodes sharing a Redis cache see the same failure counts.
#[cfg(feature = "redis")]
#[tokio::test]
async fn the_throttle_holds_across_nodes_sharing_redis() {
    let prefix = format!(
        "keel-test-auth:{}:{}:",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    );
    let settings = [
        ("cache.backend", json!("redis")),
        ("cache.redis_url", json!("redis://127.0.0.1:6379/")),
        ("cache.prefix", json!(prefix)),
        ("auth.throttle.max_failures", json!(3)),
    ];
    let db = TestDb::migrated(keel_db::all_migrations(&models(), migrations())).await;
    let node = || {
        let mut app = App::new("shop")
            .environment(keel_core::Environment::Test)
            .set("database.url", db.url())
            .set("mail.backend", "memory")
            .plugin(keel_db::plugin(models(), migrations))
            .plugin(keel_cache::plugin)
            .plugin(|app: &mut App| keel_http::session::plugin(app))
            .plugin(keel_view::plugin::<Templates>())
            .plugin(keel_mail::plugin)
            .plugin(keel_auth::plugin);
        for (k, v) in &settings {
            app = app.set(k, v);
        }
        app
    };
    let a = Shop {
        client: TestClient::new(node()).await,
        _db: None,
    };
    let b = Shop {
        client: TestClient::new(node()).await,
        _db: None,
    };
    a.user("node@example.com").await;
    a.login_json("node@example.com", "wrong password!")
        .await
        .assert_status(401);
    b.login_json("node@example.com", "wrong password!")
        .await
        .assert_status(401);
    a.login_json("node@example.com", "wrong password!")
        .await
        .assert_status(401);
    // Locked on both nodes, though neither saw three failures itself.
    b.login_json("node@example.com", PASSWORD)
        .await
        .assert_problem(429, "login_throttled");
    a.login_json("node@example.com", PASSWORD)
        .await
        .assert_problem(429, "login_throttled");
}
