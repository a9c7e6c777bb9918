//! The blog end to end through the full stack: forms with CSRF, validation that keeps
//! the user's input, escaping, image uploads, flash messages, the contact mail.

use keel_test::TestClient;
use keel_test::db::TestDb;

struct Blog {
    client: TestClient,
    media: tempfile::TempDir,
    _db: TestDb,
}

async fn blog() -> Blog {
    let db = TestDb::migrated(keel::db::with_keel_migrations(blog::migrations::all())).await;
    let media = tempfile::tempdir().expect("media dir");
    let app = blog::app()
        .set("database.url", db.url())
        .set("uploads.dir", media.path().display().to_string());
    Blog {
        client: TestClient::new(app).await,
        media,
        _db: db,
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
