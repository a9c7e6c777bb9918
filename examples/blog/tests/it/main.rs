//! The blog end to end through the full stack: forms with CSRF, validation that keeps
//! the user's input, escaping, image uploads, flash messages, the contact mail.

use keel_test::TestClient;
use keel_test::db::TestDb;

struct Blog {
    client: TestClient,
    media: tempfile::TempDir,
    _db: TestDb,
}

const PASSWORD: &str = "a long pass phrase 42";

/// The blog, with a user logged in (`writer@example.com`).
async fn blog() -> Blog {
    let b = anonymous().await;
    b.sign_in("writer@example.com").await;
    b
}

/// The blog, nobody logged in.
async fn anonymous() -> Blog {
    let db = TestDb::migrated(keel::db::all_migrations(
        &blog::models::registry(),
        blog::migrations::all(),
    ))
    .await;
    let media = tempfile::tempdir().expect("media dir");
    let app = blog::app()
        .set("database.url", db.url())
        .set("session.store", "database")
        .set("uploads.dir", media.path().display().to_string());
    Blog {
        client: TestClient::new(app).await,
        media,
        _db: db,
    }
}

impl Blog {
    fn db(&self) -> keel::db::Db {
        self.client
            .state()
            .get::<keel::db::Db>()
            .cloned()
            .expect("db")
    }

    /// Makes the account if needed and logs in with it (through the login form).
    async fn sign_in(&self, email: &str) -> i64 {
        let auth = keel::auth::Auth::of(self.client.state()).expect("auth");
        let user = match auth.find_by_email(&self.db(), email).await.expect("lookup") {
            Some(u) => u,
            None => auth
                .create_user(&self.db(), email, PASSWORD)
                .await
                .expect("a user"),
        };
        self.client.clear_cookies();
        let token = token_in(&self.client.get("/auth/login").await.text());
        self.client
            .post("/auth/login")
            .form(&[
                ("_csrf", token.as_str()),
                ("email", email),
                ("password", PASSWORD),
            ])
            .await
            .assert_status(303);
        user.id
    }

    /// Writes a post as the logged-in user; its URL.
    async fn write(&self, title: &str) -> String {
        let token = token_in(&self.client.get("/posts/new").await.text());
        let (body, ct) =
            keel_test::multipart(&[("title", None, title.as_bytes()), ("body", None, b"Text")]);
        self.client
            .post(&format!("/posts?_csrf={token}"))
            .body(body, &ct)
            .await
            .assert_status(303)
            .header("location")
            .expect("location")
            .to_owned()
    }
}

/// The CSRF token the page's form carries (`_csrf=` in the action, or the hidden input).
fn token_in(html: &str) -> String {
    let at = html
        .find("_csrf=")
        .map(|i| i + "_csrf=".len())
        .or_else(|| {
            html.find(r#"name="_csrf" value=""#)
                .map(|i| i + r#"name="_csrf" value=""#.len())
        })
        .expect("a CSRF token in the page");
    html[at..]
        .chars()
        .take_while(|c| !matches!(c, '"' | '&'))
        .collect()
}

#[tokio::test]
async fn writing_a_post_escapes_it_and_confirms_with_a_flash() {
    let b = blog().await;
    let page = b.client.get("/posts/new").await.assert_status(200).text();
    let token = token_in(&page);
    let (body, ct) = keel_test::multipart(&[
        ("title", None, b"<script>alert(1)</script>"),
        ("body", None, b"First line\nSecond <b>line</b>"),
    ]);
    let res = b
        .client
        .post(&format!("/posts?_csrf={token}"))
        .body(body, &ct)
        .await;
    res.assert_status(303);
    let location = res
        .header("location")
        .expect("redirect to the post")
        .to_owned();
    let html = b.client.get(&location).await.assert_status(200).text();
    assert!(
        html.contains("<h1>&lt;script&gt;alert(1)&lt;&#x2f;script&gt;</h1>"),
        "the title is text, not markup: {html}"
    );
    assert!(!html.contains("<script>alert(1)"), "{html}");
    assert!(
        html.contains("<p>Second &lt;b&gt;line&lt;&#x2f;b&gt;</p>"),
        "{html}"
    );
    assert!(
        html.contains(r#"<p class="flash success">Post published.</p>"#),
        "{html}"
    );
    let again = b.client.get(&location).await.text();
    assert!(!again.contains("Post published."), "the flash shows once");
}

#[tokio::test]
async fn a_form_with_mistakes_comes_back_with_input_and_errors() {
    let b = blog().await;
    let token = token_in(&b.client.get("/posts/new").await.text());
    let (body, ct) = keel_test::multipart(&[("title", None, b""), ("body", None, b"Kept text")]);
    let res = b
        .client
        .post(&format!("/posts?_csrf={token}"))
        .body(body, &ct)
        .await;
    res.assert_status(422);
    let html = res.text();
    assert!(
        html.contains(r#"<textarea id="body" name="body">Kept text</textarea>"#),
        "{html}"
    );
    assert!(html.contains(r#"<p class="error">"#), "{html}");
}

#[tokio::test]
async fn posting_without_a_csrf_token_is_refused() {
    let b = blog().await;
    b.client.get("/posts/new").await;
    let (body, ct) = keel_test::multipart(&[("title", None, b"x"), ("body", None, b"y")]);
    b.client
        .post("/posts")
        .body(body, &ct)
        .await
        .assert_problem(403, "csrf_token_missing");
    let page = b
        .client
        .post("/contact")
        .form(&[("name", "x")])
        .accept_html()
        .await;
    page.assert_status(403);
}

#[tokio::test]
async fn images_upload_and_oversized_ones_are_refused_leaving_nothing() {
    let b = blog().await;
    let token = token_in(&b.client.get("/posts/new").await.text());
    let png = b"\x89PNG\r\n\x1a\nsmall";
    let (body, ct) = keel_test::multipart(&[
        ("title", None, b"With a picture"),
        ("body", None, b"Look."),
        ("image", Some(("photo.png", "image/png")), png),
    ]);
    let res = b
        .client
        .post(&format!("/posts?_csrf={token}"))
        .body(body, &ct)
        .await;
    let html = b
        .client
        .get(res.assert_status(303).header("location").expect("location"))
        .await
        .text();
    let at = html.find(r#"<img src=""#).expect("the image is shown") + r#"<img src=""#.len();
    // The attribute is HTML-escaped (`/` as `&#x2f;`), as a browser reads it.
    let src: String = html[at..]
        .chars()
        .take_while(|c| *c != '"')
        .collect::<String>()
        .replace("&#x2f;", "/");
    let img = b.client.get(&src).await;
    img.assert_status(200);
    assert_eq!(img.bytes().as_ref(), png);

    let big = vec![0u8; 5 * 1024 * 1024 + 1];
    let (body, ct) = keel_test::multipart(&[
        ("title", None, b"Too big"),
        ("body", None, b"x"),
        ("image", Some(("huge.png", "image/png")), &big),
    ]);
    b.client
        .post(&format!("/posts?_csrf={token}"))
        .body(body, &ct)
        .await
        .assert_problem(413, "upload_too_large");
    let incoming = b.media.path().join(".incoming");
    let left: Vec<_> = std::fs::read_dir(&incoming)
        .into_iter()
        .flatten()
        .flatten()
        .collect();
    assert!(left.is_empty(), "no partial upload left: {left:?}");
    let stored: Vec<_> = std::fs::read_dir(b.media.path().join("posts"))
        .unwrap()
        .flatten()
        .collect();
    assert_eq!(stored.len(), 1, "only the accepted image is stored");
}

#[tokio::test]
async fn the_contact_form_sends_one_mail_with_both_parts() {
    let b = blog().await;
    let token = token_in(&b.client.get("/contact").await.text());
    b.client
        .post("/contact")
        .form(&[
            ("name", "Ada"),
            ("email", "bad"),
            ("message", "short"),
            ("_csrf", token.as_str()),
        ])
        .await
        .assert_status(422);
    let res = b
        .client
        .post("/contact")
        .form(&[
            ("name", "Ada <Lovelace>"),
            ("email", "ada@example.com"),
            ("message", "I enjoyed the post about engines."),
            ("_csrf", token.as_str()),
        ])
        .await;
    res.assert_status(303);
    let outbox = b
        .client
        .state()
        .get::<keel::mail::Outbox>()
        .expect("memory mail in tests")
        .clone();
    let mut sent = Vec::new();
    for _ in 0..200 {
        sent = outbox.messages();
        if !sent.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(sent.len(), 1);
    let m = &sent[0];
    assert_eq!(m.to, ["editors@localhost"]);
    assert_eq!(m.reply_to.as_deref(), Some("ada@example.com"));
    assert_eq!(m.subject, "Contact form: Ada <Lovelace>");
    assert!(
        m.text.contains("Ada <Lovelace> <ada@example.com> wrote"),
        "{}",
        m.text
    );
    let html = m.html.as_deref().expect("an HTML part");
    assert!(
        html.contains("<strong>Ada &lt;Lovelace&gt;</strong>"),
        "{html}"
    );
    let home = b.client.get("/").await.text();
    assert!(
        home.contains("Thanks! Your message is on its way."),
        "{home}"
    );
}

#[tokio::test]
async fn only_the_author_or_an_editor_may_change_a_post() {
    let b = blog().await;
    let post = b.write("Mine").await;
    let edit = format!("{post}/edit");
    b.client.get(&edit).await.assert_status(200);
    // Someone else: 403 on the form, the update and the delete; no buttons shown.
    let other = b.sign_in("reader@example.com").await;
    b.client.get(&edit).await.assert_status(403);
    let page = b.client.get(&post).await.text();
    assert!(
        !page.contains(">Edit<") && !page.contains(">Delete<"),
        "{page}"
    );
    let token = token_in(&b.client.get("/posts/new").await.text());
    let (body, ct) = keel_test::multipart(&[("title", None, b"Hijack"), ("body", None, b"x")]);
    b.client
        .post(&format!("{post}?_csrf={token}"))
        .body(body, &ct)
        .await
        .assert_problem(403, "forbidden");
    b.client
        .post(&format!("{post}/delete"))
        .form(&[("_csrf", token.as_str())])
        .await
        .assert_problem(403, "forbidden");
    // Through the editors group: may change, still may not delete.
    let db = b.db();
    keel::auth::perms::ensure_group(&db, "editors", &["blog.change_post"])
        .await
        .expect("group");
    keel::auth::perms::add_to_group(&db, other, "editors")
        .await
        .expect("member");
    b.client.get(&edit).await.assert_status(200);
    let page = b.client.get(&post).await.text();
    assert!(
        page.contains(">Edit<") && !page.contains(">Delete<"),
        "{page}"
    );
    b.client
        .post(&format!("{post}/delete"))
        .form(&[("_csrf", token.as_str())])
        .await
        .assert_status(403);
    // Granted directly.
    keel::auth::perms::grant(&db, other, "blog.delete_post")
        .await
        .expect("grant");
    b.client
        .post(&format!("{post}/delete"))
        .form(&[("_csrf", token.as_str())])
        .await
        .assert_status(303);
}

#[tokio::test]
async fn visitors_read_but_are_sent_to_log_in_to_write() {
    let b = anonymous().await;
    b.client.get("/").await.assert_status(200);
    b.client
        .get("/posts/new")
        .accept_html()
        .await
        .assert_status(303)
        .assert_header("location", "/auth/login?next=%2Fposts%2Fnew");
    let login = b.client.get("/auth/login?next=/posts/new").await.text();
    assert!(
        login.contains("Keel Blog"),
        "the blog's own layout: {login}"
    );
    assert!(
        login.contains(r#"name="next" value="&#x2f;posts&#x2f;new""#),
        "{login}"
    );
}

#[test]
fn createsuperuser_runs_from_the_environment() {
    let dir = tempfile::tempdir().expect("dir");
    let url = format!("sqlite://{}/su.db?mode=rwc", dir.path().display());
    let run = |extra: &[(&str, &str)]| {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_blog"));
        cmd.current_dir(env!("CARGO_MANIFEST_DIR"))
            .args(["createsuperuser", "--no-input"])
            .env("KEEL_ENV", "test")
            .env("DATABASE_URL", &url)
            .env("KEEL__DATABASE__AUTO_MIGRATE", "true")
            .env("KEEL__DATABASE__AUTO_SEED", "[]");
        for (k, v) in extra {
            cmd.env(k, v);
        }
        cmd.output().expect("the blog binary runs")
    };
    let missing = run(&[]);
    assert!(!missing.status.success());
    let ok = run(&[
        ("KEEL_SUPERUSER_EMAIL", "admin@example.com"),
        ("KEEL_SUPERUSER_PASSWORD", PASSWORD),
    ]);
    let out = String::from_utf8_lossy(&ok.stdout);
    assert!(
        ok.status.success(),
        "{out}{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert!(out.contains("Superuser admin@example.com created"), "{out}");
    let again = run(&[
        ("KEEL_SUPERUSER_EMAIL", "admin@example.com"),
        ("KEEL_SUPERUSER_PASSWORD", PASSWORD),
    ]);
    assert!(
        !again.status.success(),
        "a second one with the same address is refused"
    );
}

#[test]
fn migrations_are_up_to_date_with_the_models() {
    keel_test::db::assert_migrations_current(
        blog::migrations::all(),
        &blog::models::registry(),
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/migrations"),
    );
}

#[tokio::test]
async fn posts_can_be_edited_and_deleted() {
    let b = blog().await;
    let token = token_in(&b.client.get("/posts/new").await.text());
    let (body, ct) = keel_test::multipart(&[("title", None, b"Draft"), ("body", None, b"Text")]);
    let res = b
        .client
        .post(&format!("/posts?_csrf={token}"))
        .body(body, &ct)
        .await;
    let location = res
        .assert_status(303)
        .header("location")
        .expect("location")
        .to_owned();

    let form = b
        .client
        .get(&format!("{location}/edit"))
        .await
        .assert_status(200)
        .text();
    assert!(
        form.contains(r#"value="Draft""#),
        "the edit form is filled in: {form}"
    );
    let token = token_in(&form);
    let (body, ct) =
        keel_test::multipart(&[("title", None, b"Final"), ("body", None, b"Better text")]);
    b.client
        .post(&format!("{location}?_csrf={token}"))
        .body(body, &ct)
        .await
        .assert_status(303);
    let shown = b.client.get(&location).await.text();
    assert!(
        shown.contains("<h1>Final</h1>") && shown.contains("Post updated."),
        "{shown}"
    );

    let token = token_in(&shown);
    b.client
        .post(&format!("{location}/delete"))
        .form(&[("_csrf", token.as_str())])
        .await
        .assert_status(303);
    b.client.get(&location).await.assert_status(404);
    let home = b.client.get("/").await.text();
    assert!(home.contains("Post deleted."), "{home}");
}
