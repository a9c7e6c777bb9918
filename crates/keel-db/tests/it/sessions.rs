//! Sessions in the database: the same conformance suite as the cookie and memory
//! stores, on SQLite, Postgres and MariaDB; and the cleanup of expired rows.

use std::sync::Arc;

use keel_core::App;
use keel_core::session::{SessionRecord, SessionStore, unix_now};
use keel_db::Models;
use keel_db::sessions::{DbSessionStore, migrations};
use keel_test::db::TestDb;

fn no_app_migrations() -> Vec<keel_db::Migration> {
    Vec::new()
}

#[tokio::test]
async fn database_store_conformance() {
    let db = Arc::new(TestDb::migrated(migrations()).await);
    keel_test::sessions::conformance(
        |idle| {
            let db = Arc::clone(&db);
            async move {
                App::new("dbsessions")
                    .set("database.url", db.url())
                    .set("session.store", "database")
                    .set("session.idle_timeout", format!("{}s", idle.as_secs()))
                    .plugin(keel_db::plugin(Models::new(), no_app_migrations))
                    .plugin(keel_http::session::plugin)
                    .routes(keel_test::sessions::routes())
            }
        },
        true,
    )
    .await;
}

#[tokio::test]
async fn cleanup_removes_expired_rows_only() {
    let db = TestDb::migrated(migrations()).await;
    let store = DbSessionStore::on(db.conn().clone());
    let now = unix_now();
    let live = SessionRecord {
        created: now,
        expires: now + 3600,
        ..Default::default()
    };
    let dead = SessionRecord {
        created: now - 7200,
        expires: now - 1,
        ..Default::default()
    };
    store.save("live", &live).await.expect("save");
    store.save("dead", &dead).await.expect("save");
    // Saving again replaces (upsert).
    store.save("live", &live).await.expect("save again");
    assert!(
        store.load("dead").await.expect("load").is_none(),
        "expired rows do not load"
    );
    assert_eq!(store.cleanup().await.expect("cleanup"), 1);
    assert!(store.load("live").await.expect("load").is_some());
    store.delete("live").await.expect("delete");
    assert!(store.load("live").await.expect("load").is_none());
}
