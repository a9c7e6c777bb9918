//! Forms: validation with values kept, uploads streamed to disk with limits.

use garde::Validate;
use keel_core::{App, Router, routing::post};
use keel_http::form::{FormData, UploadForm};
use keel_test::TestClient;
use serde::Deserialize;

#[derive(Debug, Deserialize, Validate)]
struct NewPost {
    #[garde(length(min = 3, max = 20))]
    title: String,
    #[garde(range(min = 1, max = 5))]
    stars: u8,
    #[garde(email)]
    contact: String,
    #[garde(skip)]
    note: Option<String>,
}

async fn create(form: FormData) -> axum::Json<serde_json::Value> {
    axum::Json(match form.validate::<NewPost>() {
        Ok(p) => serde_json::json!({ "ok": p.title, "note": p.note }),
        Err(invalid) => serde_json::to_value(invalid).unwrap(),
    })
}

async fn upload(mut form: UploadForm) -> keel_core::Result<axum::Json<serde_json::Value>> {
    let title = form.fields.get("title").unwrap_or_default().to_owned();
    let stored = match form.take_file("image") {
        Some(f) => Some(f.persist("posts").await?),
        None => None,
    };
    Ok(axum::Json(
        serde_json::json!({ "title": title, "image": stored }),
    ))
}

fn app(dir: &std::path::Path) -> App {
    App::new("forms")
        .set("uploads.dir", dir.display().to_string())
        .set("uploads.max_file_size", "1KiB")
        .routes(
            Router::new()
                .route("/posts", post(create))
                .route("/upload", post(upload)),
        )
}

#[tokio::test]
async fn invalid_forms_come_back_with_values_and_errors_by_field() {
    let dir = tempfile::tempdir().unwrap();
    let client = TestClient::new(app(dir.path())).await;
    let body: serde_json::Value = client
        .post("/posts")
        .form(&[
            ("title", "ab"),
            ("stars", "9"),
            ("contact", "not-an-email"),
            ("note", ""),
        ])
        .await
        .assert_status(200)
        .json();
    assert_eq!(
        body["values"]["title"], "ab",
        "the user's input is kept: {body}"
    );
    assert_eq!(body["values"]["contact"], "not-an-email");
    for field in ["title", "stars", "contact"] {
        assert!(
            body["errors"][field]
                .as_array()
                .is_some_and(|e| !e.is_empty()),
            "{field}: {body}"
        );
    }
    assert!(body["errors"].get("note").is_none(), "{body}");

    let body: serde_json::Value = client
        .post("/posts")
        .form(&[
            ("title", "Hello"),
            ("stars", "many"),
            ("contact", "a@b.example"),
        ])
        .await
        .json();
    assert!(
        body["errors"]["stars"][0]
            .as_str()
            .unwrap()
            .starts_with("Not a valid value"),
        "{body}"
    );

    let body: serde_json::Value = client
        .post("/posts")
        .form(&[("title", "Hello")])
        .await
        .json();
    assert_eq!(
        body["errors"]["stars"][0], "This field is required.",
        "{body}"
    );

    let body: serde_json::Value = client
        .post("/posts")
        .form(&[
            ("title", "Hello"),
            ("stars", "4"),
            ("contact", "a@b.example"),
            ("note", ""),
        ])
        .await
        .json();
    assert_eq!(body, serde_json::json!({ "ok": "Hello", "note": null }));
}

fn files_under(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out
}

#[tokio::test]
async fn uploads_are_stored_and_served_back() {
    let dir = tempfile::tempdir().unwrap();
    let client = TestClient::new(app(dir.path())).await;
    let png = b"\x89PNG\r\n\x1a\n-not-really-an-image-but-small";
    let (body, ct) = keel_test::multipart(&[
        ("title", None, b"Hi"),
        ("image", Some(("../../evil.png", "image/png")), png),
    ]);
    let res: serde_json::Value = client
        .post("/upload")
        .body(body, &ct)
        .await
        .assert_status(200)
        .json();
    assert_eq!(res["title"], "Hi");
    let url = res["image"]["url"].as_str().expect("stored url").to_owned();
    assert!(
        url.starts_with("/media/posts/") && url.ends_with(".png"),
        "{url}"
    );
    assert!(
        !url.contains("evil"),
        "the browser's file name is never a path: {url}"
    );
    let served = client.get(&url).await;
    served.assert_status(200);
    assert_eq!(served.bytes().as_ref(), png);
    assert_eq!(
        files_under(dir.path()).len(),
        1,
        "only the persisted file remains"
    );
}

#[tokio::test]
async fn oversized_or_disallowed_uploads_are_refused_and_leave_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let client = TestClient::new(app(dir.path())).await;
    let big = vec![b'x'; 4096];
    let (body, ct) = keel_test::multipart(&[
        ("title", None, b"Hi"),
        ("image", Some(("big.png", "image/png")), &big),
    ]);
    let res = client.post("/upload").body(body, &ct).await;
    let problem = res.assert_problem(413, "upload_too_large");
    assert!(
        problem.detail.unwrap_or_default().contains("image"),
        "names the field"
    );
    assert!(
        files_under(dir.path()).is_empty(),
        "no partial file left: {:?}",
        files_under(dir.path())
    );

    let (body, ct) =
        keel_test::multipart(&[("image", Some(("x.exe", "application/x-msdownload")), b"MZ")]);
    client
        .post("/upload")
        .body(body, &ct)
        .await
        .assert_problem(415, "upload_type_not_allowed");
    assert!(files_under(dir.path()).is_empty());

    // No file chosen: the form still goes through.
    let (body, ct) = keel_test::multipart(&[
        ("title", None, b"Only text"),
        ("image", Some(("", "application/octet-stream")), b""),
    ]);
    let res: serde_json::Value = client
        .post("/upload")
        .body(body, &ct)
        .await
        .assert_status(200)
        .json();
    assert!(res["image"].is_null());
}
