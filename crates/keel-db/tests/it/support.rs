//! Shared helpers.

use keel_db::migrate::introspect::{LiveTable, live_schema};
use keel_db::migrate::{Migration, Migrator};
use keel_db::sea_orm::{
    ConnectionTrait, DatabaseConnection, FromQueryResult, JsonValue, Statement,
};
use keel_test::db::TestDb;
use std::collections::BTreeMap;

/// Applies `migrations` to `db` on the runner's own connection.
pub async fn migrate(db: &TestDb, migrations: Vec<Migration>) -> Vec<String> {
    let migrator = Migrator::new(migrations).expect("valid migrations");
    let conn = Migrator::connect(db.url()).await.expect("connect");
    let applied = migrator.migrate(&conn).await.expect("migrate");
    let _ = conn.close().await;
    applied
}

/// Rolls back `steps` migrations.
pub async fn rollback(db: &TestDb, migrations: Vec<Migration>, steps: usize) -> Vec<String> {
    let migrator = Migrator::new(migrations).expect("valid migrations");
    let conn = Migrator::connect(db.url()).await.expect("connect");
    let done = migrator.rollback(&conn, steps).await.expect("rollback");
    let _ = conn.close().await;
    done
}

/// The live schema, read on a fresh connection (pooled connections may cache).
pub async fn live(db: &TestDb) -> BTreeMap<String, LiveTable> {
    let conn = Migrator::connect(db.url()).await.expect("connect");
    let schema = live_schema(&conn).await.expect("introspect");
    let _ = conn.close().await;
    schema
}

/// Rows of `sql` as JSON objects, read on a fresh connection (a pooled one may hold
/// a statement prepared against the old schema).
pub async fn rows(url: &str, sql: &str) -> Vec<JsonValue> {
    let conn = Migrator::connect(url).await.expect("connect");
    let out = JsonValue::find_by_statement(Statement::from_string(
        conn.get_database_backend(),
        sql.to_owned(),
    ))
    .all(&conn)
    .await
    .unwrap_or_else(|e| panic!("{sql}: {e}"));
    let _ = conn.close().await;
    out
}

/// Runs statements.
pub async fn exec(db: &DatabaseConnection, sql: &str) {
    db.execute_unprepared(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}
