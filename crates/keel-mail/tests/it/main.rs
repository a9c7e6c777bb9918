//! keel-mail: backends, templated messages, sending off the request path, and SMTP
//! against a sink server started by the test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    missing_docs,
    unreachable_pub
)]

#[cfg(feature = "smtp")]
use std::sync::Arc;

use keel_core::mail::Email;
use keel_core::{App, Router, routing::get};
use keel_mail::{Mail, Outbox};
use keel_test::TestClient;
#[cfg(feature = "smtp")]
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
#[cfg(feature = "smtp")]
use tokio::net::TcpListener;
#[cfg(feature = "smtp")]
use tokio::sync::{Notify, mpsc};

#[derive(rust_embed::RustEmbed)]
#[folder = "tests/it/templates/"]
struct Templates;

async fn contact(mail: Mail) -> keel_core::Result<&'static str> {
    let mut email = mail.templated(
        "team@example.com",
        "Contact form",
        "mail/contact",
        serde_json::json!({ "name": "Ada <script>", "email": "ada@example.com", "message": "Hello!" }),
    )?;
    email.reply_to = Some("ada@example.com".into());
    email.cc = vec!["archive@example.com".into()];
    mail.send_later(email);
    Ok("thanks")
}

fn app() -> App {
    App::new("mail")
        .plugin(keel_mail::plugin)
        .plugin(keel_http::session::plugin)
        .plugin(keel_view::plugin::<Templates>())
        .routes(Router::new().route("/contact", get(contact)))
}

#[tokio::test]
async fn contact_form_puts_one_templated_message_in_the_outbox() {
    let client = TestClient::new(app()).await;
    client
        .get("/contact")
        .await
        .assert_status(200)
        .assert_text("thanks");
    let outbox = client
        .state()
        .get::<Outbox>()
        .expect("memory backend in tests")
        .clone();
    let mut messages = Vec::new();
    for _ in 0..100 {
        messages = outbox.messages();
        if !messages.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(messages.len(), 1);
    let m = &messages[0];
    assert_eq!(m.to, ["team@example.com"]);
    assert_eq!(m.cc, ["archive@example.com"]);
    assert_eq!(m.reply_to.as_deref(), Some("ada@example.com"));
    assert!(
        m.text
            .contains("Message from Ada <script> <ada@example.com>:"),
        "text part unescaped: {}",
        m.text
    );
    let html = m.html.as_deref().expect("an HTML part");
    assert!(
        html.contains("<strong>Ada &lt;script&gt;</strong>"),
        "HTML part escaped: {html}"
    );
}

#[cfg(feature = "smtp")]
/// A tiny SMTP server: records each message's envelope and data. The greeting waits
/// for `gate` when one is given.
async fn smtp_sink(
    gate: Option<Arc<Notify>>,
) -> (u16, mpsc::UnboundedReceiver<(Vec<String>, String)>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            let Ok((sock, _)) = listener.accept().await else {
                return;
            };
            let tx = tx.clone();
            let gate = gate.clone();
            tokio::spawn(async move {
                if let Some(g) = gate {
                    g.notified().await;
                }
                let (r, mut w) = sock.into_split();
                let mut lines = BufReader::new(r).lines();
                w.write_all(b"220 sink ESMTP\r\n").await.unwrap();
                let mut envelope = Vec::new();
                while let Ok(Some(line)) = lines.next_line().await {
                    let upper = line.to_ascii_uppercase();
                    if upper.starts_with("EHLO") || upper.starts_with("HELO") {
                        w.write_all(b"250-sink\r\n250 8BITMIME\r\n").await.unwrap();
                    } else if upper.starts_with("MAIL FROM") || upper.starts_with("RCPT TO") {
                        envelope.push(line.clone());
                        w.write_all(b"250 OK\r\n").await.unwrap();
                    } else if upper == "DATA" {
                        w.write_all(b"354 go ahead\r\n").await.unwrap();
                        let mut data = String::new();
                        while let Ok(Some(l)) = lines.next_line().await {
                            if l == "." {
                                break;
                            }
                            data.push_str(&l);
                            data.push('\n');
                        }
                        tx.send((std::mem::take(&mut envelope), data)).unwrap();
                        w.write_all(b"250 queued\r\n").await.unwrap();
                    } else if upper == "QUIT" {
                        w.write_all(b"221 bye\r\n").await.unwrap();
                        return;
                    } else if upper == "RSET" || upper == "NOOP" {
                        w.write_all(b"250 OK\r\n").await.unwrap();
                    } else {
                        w.write_all(b"502 no\r\n").await.unwrap();
                    }
                }
            });
        }
    });
    (port, rx)
}

#[cfg(feature = "smtp")]
fn smtp_app(port: u16) -> App {
    App::new("smtp")
        .set("mail.backend", "smtp")
        .set("mail.from", "Blog <blog@example.com>")
        .set("mail.smtp.host", "127.0.0.1")
        .set("mail.smtp.port", port)
        .set("mail.smtp.security", "none")
        .plugin(keel_mail::plugin)
        .routes(Router::new().route(
            "/send",
            get(|mail: Mail| async move {
                mail.send_later(
                    Email::new("reader@example.com", "Welcome", "Hello, reader.")
                        .html("<p>Hello, reader.</p>"),
                );
                "queued"
            }),
        ))
}

#[cfg(feature = "smtp")]
#[tokio::test]
async fn smtp_delivers_both_parts_to_a_real_server() {
    let (port, mut received) = smtp_sink(None).await;
    let client = TestClient::new(smtp_app(port)).await;
    client.get("/send").await.assert_text("queued");
    let (envelope, data) =
        tokio::time::timeout(std::time::Duration::from_secs(10), received.recv())
            .await
            .expect("the sink received a message")
            .unwrap();
    assert!(
        envelope.iter().any(|l| l.contains("<blog@example.com>")),
        "{envelope:?}"
    );
    assert!(
        envelope.iter().any(|l| l.contains("<reader@example.com>")),
        "{envelope:?}"
    );
    assert!(data.contains("Subject: Welcome"), "{data}");
    assert!(data.contains("multipart/alternative"), "{data}");
    assert!(
        data.contains("text/plain") && data.contains("text/html"),
        "{data}"
    );
    assert!(data.contains("Hello, reader."), "{data}");
}

#[cfg(feature = "smtp")]
#[tokio::test]
async fn the_response_does_not_wait_for_the_mail_server() {
    let gate = Arc::new(Notify::new());
    let (port, mut received) = smtp_sink(Some(Arc::clone(&gate))).await;
    let client = TestClient::new(smtp_app(port)).await;
    // The server has not even greeted yet, and the response is already here.
    client.get("/send").await.assert_text("queued");
    assert!(
        received.try_recv().is_err(),
        "nothing delivered before the server answers"
    );
    gate.notify_waiters();
    gate.notify_one();
    let delivered = tokio::time::timeout(std::time::Duration::from_secs(10), received.recv()).await;
    assert!(delivered.is_ok(), "delivered once the server answered");
}

#[tokio::test]
async fn file_backend_writes_eml_files() {
    let dir = tempfile::tempdir().unwrap();
    let app = App::new("files")
        .set("mail.backend", "file")
        .set("mail.dir", dir.path().display().to_string())
        .plugin(keel_mail::plugin)
        .routes(Router::new().route(
            "/send",
            get(|mail: Mail| async move {
                mail.send(&Email::new("x@example.com", "Saved", "On disk"))
                    .await
                    .map(|()| "ok")
            }),
        ));
    let client = TestClient::new(app).await;
    client.get("/send").await.assert_status(200);
    let files: Vec<_> = std::fs::read_dir(dir.path()).unwrap().flatten().collect();
    assert_eq!(files.len(), 1);
    let text = std::fs::read_to_string(files[0].path()).unwrap();
    assert!(
        text.contains("Subject: Saved") && text.contains("On disk"),
        "{text}"
    );
}

#[tokio::test]
async fn production_without_smtp_host_fails_the_deploy_check() {
    let app = App::new("prod").plugin(keel_mail::plugin);
    let built = app.build().unwrap();
    let diagnostics = built.run_checks(true);
    assert!(
        diagnostics.iter().any(|d| d.id == "keel.M001"),
        "{diagnostics:?}"
    );
}
