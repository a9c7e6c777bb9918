//! One conformance suite for session stores: every store (cookie, memory, database,
//! Redis) must pass it.

use std::time::Duration;

use keel_core::{App, Router, routing::get, routing::post};
use keel_http::session::Session;

use crate::TestClient;

async fn put(
    session: Session,
    axum::extract::Path(v): axum::extract::Path<String>,
) -> &'static str {
    session.insert("value", v);
    "ok"
}

async fn read(session: Session) -> String {
    session.get::<String>("value").unwrap_or_else(|| "-".into())
}

async fn id(session: Session) -> String {
    session.id().unwrap_or_else(|| "-".into())
}

async fn rotate(session: Session) -> &'static str {
    session.rotate();
    "rotated"
}

async fn token(session: Session) -> String {
    keel_http::csrf::token(&session)
}

async fn logout(session: Session) -> &'static str {
    session.destroy();
    "bye"
}

async fn flash(session: Session) -> &'static str {
    session.flash("success", "Saved.");
    "flashed"
}

async fn messages(session: Session) -> String {
    session
        .take_messages()
        .into_iter()
        .map(|m| format!("{}:{}", m.level, m.text))
        .collect::<Vec<_>>()
        .join(",")
}

/// The routes the suite drives.
pub fn routes() -> Router {
    Router::new()
        .route("/s/put/{v}", get(put))
        .route("/s/read", get(read))
        .route("/s/id", get(id))
        .route("/s/rotate", get(rotate))
        .route("/s/logout", post(logout))
        .route("/s/token", get(token))
        .route("/s/flash", get(flash))
        .route("/s/messages", get(messages))
}

/// Runs the suite on the app `make` returns (it must install the sessions plugin with
/// the store under test, and [`routes`]); `make` is called with an `idle_timeout` to
/// configure. `server_side` says whether the store can end a session on its side
/// (the cookie store cannot: a replayed cookie is valid until it expires).
pub async fn conformance<F, Fut>(make: F, server_side: bool)
where
    F: Fn(Duration) -> Fut,
    Fut: std::future::Future<Output = App>,
{
    let cookie = "keel_session";
    let client = TestClient::new(make(Duration::from_secs(3600)).await).await;

    // Values persist across requests; nothing is stored until something is written.
    client
        .get("/s/read")
        .await
        .assert_status(200)
        .assert_text("-");
    assert!(
        client.cookie(cookie).is_none(),
        "an untouched session sets no cookie"
    );
    client.get("/s/put/alpha").await.assert_status(200);
    client.get("/s/read").await.assert_text("alpha");

    // Rotation: a new id, same values; the old id no longer works server-side.
    let before_id = client.get("/s/id").await.text();
    let before_cookie = client.cookie(cookie).expect("session cookie");
    client.get("/s/rotate").await.assert_text("rotated");
    let after_id = client.get("/s/id").await.text();
    assert_ne!(before_id, after_id, "rotate gives a new id");
    client.get("/s/read").await.assert_text("alpha");
    if server_side {
        let current = client.cookie(cookie).expect("cookie");
        client.set_cookie(cookie, &before_cookie);
        client.get("/s/read").await.assert_text("-");
        client.set_cookie(cookie, &current);
        client.get("/s/read").await.assert_text("alpha");
    }

    // Flash messages are shown once.
    let client = TestClient::new(make(Duration::from_secs(3600)).await).await;
    client.get("/s/flash").await.assert_text("flashed");
    client
        .get("/s/messages")
        .await
        .assert_text("success:Saved.");
    client.get("/s/messages").await.assert_text("");

    // A tampered cookie is a new, empty session.
    client.get("/s/put/beta").await;
    let good = client.cookie(cookie).expect("cookie");
    let mut bad = good.clone().into_bytes();
    let last = bad.len() - 1;
    bad[last] = if bad[last] == b'A' { b'B' } else { b'A' };
    client.set_cookie(cookie, &String::from_utf8(bad).expect("ascii"));
    client.get("/s/read").await.assert_text("-");

    // Logout ends the session; a server-side store forgets it even if the old cookie
    // is replayed.
    client.set_cookie(cookie, &good);
    client.get("/s/read").await.assert_text("beta");
    let token = client.get("/s/token").await.text();
    client
        .post("/s/logout")
        .header("x-csrf-token", &token)
        .await
        .assert_text("bye");
    client.get("/s/read").await.assert_text("-");
    if server_side {
        client.set_cookie(cookie, &good);
        client.get("/s/read").await.assert_text("-");
    }

    // Idle expiry.
    let short = TestClient::new(make(Duration::from_secs(1)).await).await;
    short.get("/s/put/gamma").await;
    short.get("/s/read").await.assert_text("gamma");
    tokio::time::sleep(Duration::from_millis(2100)).await;
    short.get("/s/read").await.assert_text("-");
}
