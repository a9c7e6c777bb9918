//! The plugin inside an app: the Db extractor, errors as problems, pagination,
//! transactions, readiness, and recovery when the database comes back.

use axum::extract::State;
use keel_core::{App, AppState, Router, routing::get};
use keel_db::migrate::{Migration, Schema, UnambiguousRenames, diff};
use keel_db::sea_orm::{ActiveModelTrait, EntityTrait, QueryOrder, Set};
use keel_db::{Db, Models, Page, PageParams, paginate};
use keel_http::extract::{Json, Path};
use keel_test::TestClient;
use keel_test::db::{TestDb, test_backend};
use serde::Deserialize;

pub mod author {
    use keel_db::sea_orm;
    use sea_orm::entity::prelude::*;
    use serde::{Deserialize, Serialize};

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
    #[sea_orm(table_name = "author")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i32,
        #[sea_orm(unique)]
        pub email: String,
        pub name: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

fn models() -> Models {
    Models::new().seedable::<author::Entity>()
}

fn migrations() -> Vec<Migration> {
    let ops = diff(
        &Schema::new(),
        &models().schema().expect("models"),
        &mut UnambiguousRenames,
    )
    .expect("diff")
    .ops;
    vec![Migration::new("0001_initial").up(ops)]
}

#[derive(Deserialize, garde::Validate)]
#[garde(allow_unvalidated)]
struct NewAuthor {
    email: String,
    name: String,
}

async fn create(db: Db, Json(new): Json<NewAuthor>) -> keel_core::Result<Json<author::Model>> {
    let model = author::ActiveModel {
        email: Set(new.email),
        name: Set(new.name),
        ..Default::default()
    }
    .insert(&*db)
    .await?;
    Ok(Json(model))
}

async fn show(db: Db, Path(id): Path<i32>) -> keel_core::Result<Json<author::Model>> {
    author::Entity::find_by_id(id)
        .one(&*db)
        .await?
        .map(Json)
        .ok_or_else(|| keel_core::Error::not_found(format!("No author {id}.")))
}

async fn list(db: Db, params: PageParams) -> keel_core::Result<Json<Page<author::Model>>> {
    let select = author::Entity::find().order_by_asc(author::Column::Id);
    Ok(Json(paginate(&*db, select, params).await?))
}

/// Inserts both authors in one transaction: all or nothing.
async fn pair(db: Db, Json(both): Json<Vec<NewAuthor>>) -> keel_core::Result<Json<usize>> {
    let n = both.len();
    db.atomic(|tx| async move {
        for a in both {
            author::ActiveModel {
                email: Set(a.email),
                name: Set(a.name),
                ..Default::default()
            }
            .insert(&*tx)
            .await?;
        }
        Ok(n)
    })
    .await
    .map(Json)
}

async fn count(State(state): State<AppState>) -> keel_core::Result<String> {
    let db = state.get::<Db>().expect("pool").clone();
    Ok(author::Entity::find().all(&*db).await?.len().to_string())
}

async fn client(db: &TestDb) -> TestClient {
    let app = App::new("dbtest")
        .set("database.url", db.url())
        .set("database.max_per_page", 50)
        .plugin(keel_db::plugin(models(), migrations))
        .routes(
            Router::new()
                .route("/authors", get(list).post(create).name("authors"))
                .route("/authors/{id}", get(show).name("author"))
                .route("/pair", keel_core::routing::post(pair))
                .route("/count", get(count)),
        );
    TestClient::new(app).await
}

fn ada(email: &str) -> serde_json::Value {
    serde_json::json!({ "email": email, "name": "Ada" })
}

#[tokio::test]
async fn crud_through_handlers_and_unique_violation_is_409_naming_the_field() {
    let db = TestDb::migrated(migrations()).await;
    let client = client(&db).await;
    let created: author::Model = client
        .post("/authors")
        .json(&ada("ada@example.com"))
        .await
        .assert_status(200)
        .json();
    client
        .get(&format!("/authors/{}", created.id))
        .await
        .assert_status(200);
    client
        .get("/authors/9999")
        .await
        .assert_problem(404, "not_found");

    let res = client.post("/authors").json(&ada("ada@example.com")).await;
    let problem = res.assert_problem(409, "unique_violation");
    let body = res.text();
    assert!(
        problem
            .detail
            .as_deref()
            .unwrap_or_default()
            .contains("email"),
        "the problem names the field: {body}"
    );
    assert!(
        body.contains("\"/email\""),
        "field errors point at /email: {body}"
    );
    for leak in [
        "INSERT",
        "duplicate key",
        "UNIQUE constraint",
        "Duplicate entry",
        "sqlx",
    ] {
        assert!(
            !body.contains(leak),
            "no SQL or driver text leaks ({leak}): {body}"
        );
    }
}

#[tokio::test]
async fn pagination_validates_and_caps() {
    let db = TestDb::migrated(migrations()).await;
    let client = client(&db).await;
    for i in 0..5 {
        client
            .post("/authors")
            .json(&ada(&format!("a{i}@example.com")))
            .await
            .assert_status(200);
    }
    let page: serde_json::Value = client
        .get("/authors?page=2&per_page=2")
        .await
        .assert_status(200)
        .json();
    assert_eq!(page["items"].as_array().map(Vec::len), Some(2));
    assert_eq!(page["total_items"], 5);
    assert_eq!(page["total_pages"], 3);
    assert_eq!(page["page"], 2);
    assert_eq!(
        page["links"],
        serde_json::json!({
            "first": "?page=1&per_page=2",
            "prev": "?page=1&per_page=2",
            "next": "?page=3&per_page=2",
            "last": "?page=3&per_page=2",
        })
    );
    // Other query parameters are kept; the last page has no next.
    let last: serde_json::Value = client
        .get("/authors?sort=name&page=3&per_page=2")
        .await
        .assert_status(200)
        .json();
    assert_eq!(last["links"]["next"], serde_json::Value::Null);
    assert_eq!(last["links"]["prev"], "?sort=name&page=2&per_page=2");
    let capped: serde_json::Value = client
        .get("/authors?per_page=1000")
        .await
        .assert_status(200)
        .json();
    assert_eq!(capped["per_page"], 50, "capped at database.max_per_page");
    for bad in [
        "per_page=0",
        "per_page=-1",
        "per_page=99999999999999",
        "page=0",
        "page=abc",
        "per_page=1.5",
    ] {
        let res = client.get(&format!("/authors?{bad}")).await;
        res.assert_problem(400, "invalid_page_parameter");
    }
}

#[tokio::test]
async fn atomic_commits_on_ok_and_rolls_back_on_err() {
    let db = TestDb::migrated(migrations()).await;
    let client = client(&db).await;
    client
        .post("/pair")
        .json(&[ada("x@example.com"), ada("y@example.com")])
        .await
        .assert_status(200);
    assert_eq!(client.get("/count").await.text(), "2");
    // The second insert violates the unique email: the first is rolled back too.
    client
        .post("/pair")
        .json(&[ada("z@example.com"), ada("x@example.com")])
        .await
        .assert_problem(409, "unique_violation");
    assert_eq!(client.get("/count").await.text(), "2");
}

#[tokio::test]
async fn readiness_includes_the_database() {
    let db = TestDb::migrated(migrations()).await;
    let client = client(&db).await;
    let res = client.get("/_ready").await;
    res.assert_status(200);
    assert!(res.text().contains("database"), "{}", res.text());
}

#[tokio::test]
async fn fixtures_load_idempotently() {
    let db = TestDb::migrated(migrations()).await;
    let doc = r#"{"author": [{"id": 1, "email": "a@example.com", "name": "A"},
                             {"id": 2, "email": "b@example.com", "name": "B"}]}"#;
    let first = models().seeders().load(db.conn(), doc).await.expect("load");
    assert_eq!(first, [("author".to_owned(), 2, 0)]);
    let again = models()
        .seeders()
        .load(db.conn(), doc)
        .await
        .expect("load again");
    assert_eq!(again, [("author".to_owned(), 0, 2)]);
    let err = models()
        .seeders()
        .load(db.conn(), r#"{"nope": []}"#)
        .await
        .unwrap_err();
    assert!(err.contains("no model for table `nope`"), "{err}");

    // The progress hook (a bar on a terminal) sees every row.
    let mut seen = Vec::new();
    let doc3 = serde_json::json!({"author": [{"id": 3, "email": "c@example.com", "name": "C"},
                                             {"id": 4, "email": "d@example.com", "name": "D"}]});
    models()
        .seeders()
        .load_value_reporting(db.conn(), doc3, &mut |t, done, of| {
            seen.push((t.to_owned(), done, of));
        })
        .await
        .expect("load with progress");
    assert_eq!(
        seen,
        [("author".to_owned(), 1, 2), ("author".to_owned(), 2, 2)]
    );
}

/// Postgres only: the server drops the app's connections and refuses new ones for a
/// while. Requests answer 503 with Retry-After meanwhile, and succeed again once the
/// database is back — the app is not restarted.
#[tokio::test]
async fn lost_database_is_503_and_the_app_recovers() {
    if test_backend() != keel_db::sea_orm::DbBackend::Postgres {
        return;
    }
    use keel_db::sea_orm::{ConnectionTrait, Database};
    let db = TestDb::migrated(migrations()).await;
    let client = client(&db).await;
    client.get("/count").await.assert_status(200);
    let name = db.url().rsplit('/').next().expect("db name").to_owned();
    let admin_url = std::env::var(keel_test::db::TEST_DATABASE_VAR).expect("admin url");
    let admin = Database::connect(&admin_url).await.expect("admin");
    admin
        .execute_unprepared(&format!("ALTER DATABASE {name} ALLOW_CONNECTIONS false"))
        .await
        .expect("disallow");
    admin
        .execute_unprepared(&format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"
        ))
        .await
        .expect("terminate");
    let res = client.get("/count").await;
    res.assert_problem(503, "database_unavailable");
    assert!(
        res.header("retry-after").is_some(),
        "503 says when to retry"
    );
    let body = res.text();
    assert!(!body.contains("pg_") && !body.contains("sqlx"), "{body}");

    admin
        .execute_unprepared(&format!("ALTER DATABASE {name} ALLOW_CONNECTIONS true"))
        .await
        .expect("allow");
    let mut ok = false;
    for _ in 0..50 {
        if client.get("/count").await.status() == 200 {
            ok = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(
        ok,
        "the app recovers without a restart once the database is back"
    );
    let _ = admin.close().await;
}

/// The database connection a request ran on, and the thread that served it.
async fn connection_id(db: Db) -> keel_core::Result<String> {
    let id = backend_id(&db).await?;
    let thread = std::thread::current().name().unwrap_or("").to_owned();
    Ok(format!("{id}|{thread}"))
}

/// One HTTP/1.1 GET over a fresh connection; the body.
fn fetch(addr: std::net::SocketAddr, path: &str) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).expect("connect");
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .expect("write");
    let mut out = String::new();
    s.read_to_string(&mut out).expect("read");
    assert!(out.starts_with("HTTP/1.1 200"), "{out}");
    out.split_once("\r\n\r\n").expect("body").1.to_owned()
}

/// In the per-core runtime each worker queries on its own pool (Postgres, MariaDB):
/// with `worker_connections = 1`, every request a worker serves runs on that
/// worker's one connection, and the two workers' connections differ. SQLite keeps
/// one shared pool and serves just the same.
#[tokio::test]
async fn per_core_workers_query_on_their_own_pools() {
    use keel_http::settings::{RuntimeMode, ServerSettings};
    let db = TestDb::migrated(migrations()).await;
    let app = App::new("dbtest")
        .environment(keel_core::Environment::Test)
        .set("database.url", db.url())
        .set("database.worker_connections", 1)
        .plugin(keel_db::plugin(models(), migrations))
        .routes(Router::new().route("/conn", get(connection_id)));
    let started = keel_http::start(app).await.expect("start");
    let mut settings: ServerSettings = started.state().config().section("server").expect("server");
    settings.port = 0;
    settings.runtime = RuntimeMode::PerCore;
    settings.workers = 2;
    let server = keel_http::serve::Server::bind(&started, &settings).expect("bind");
    let addr = server.local_addr();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(server.run(async {
        let _ = stopped.await;
    }));
    let answers = tokio::task::spawn_blocking(move || {
        (0..40).map(|_| fetch(addr, "/conn")).collect::<Vec<_>>()
    })
    .await
    .expect("requests");
    let mut by_thread =
        std::collections::BTreeMap::<String, std::collections::BTreeSet<String>>::new();
    for answer in &answers {
        let (id, thread) = answer.split_once('|').expect("id|thread");
        assert!(thread.starts_with("keel-worker-"), "{answer}");
        by_thread
            .entry(thread.to_owned())
            .or_default()
            .insert(id.to_owned());
    }
    if test_backend() != keel_db::sea_orm::DbBackend::Sqlite {
        for (thread, ids) in &by_thread {
            assert_eq!(ids.len(), 1, "{thread} used {ids:?}");
        }
        let all: std::collections::BTreeSet<_> = by_thread.values().flatten().collect();
        assert_eq!(
            all.len(),
            by_thread.len(),
            "workers share no connection: {by_thread:?}"
        );
    }
    stop.send(()).expect("stop");
    running.await.expect("join").expect("server");
}

/// The backend id (`pg_backend_pid()` / `CONNECTION_ID()`) a statement ran on; 0 on
/// SQLite.
async fn backend_id(db: &Db) -> Result<i64, keel_db::sea_orm::DbErr> {
    use keel_db::sea_orm::{ConnectionTrait, DbBackend, DbErr, Statement};
    let backend = db.get_database_backend();
    let sql = match backend {
        DbBackend::Postgres => "SELECT CAST(pg_backend_pid() AS BIGINT) AS id",
        DbBackend::MySql => "SELECT CAST(CONNECTION_ID() AS SIGNED) AS id",
        _ => "SELECT 0 AS id",
    };
    let row = db
        .query_one_raw(Statement::from_string(backend, sql))
        .await?
        .ok_or_else(|| DbErr::RecordNotFound("no row".into()))?;
    row.try_get("", "id")
}

/// A statement that holds its connection for `secs` seconds (PostgreSQL, MySQL).
fn sleep_sql(backend: keel_db::sea_orm::DbBackend, secs: u32) -> String {
    match backend {
        keel_db::sea_orm::DbBackend::Postgres => format!("SELECT pg_sleep({secs})"),
        _ => format!("SELECT SLEEP({secs})"),
    }
}

/// A worker's own connections (`Db::open_local`) on PostgreSQL and MariaDB: a
/// statement cancelled half-way closes its connection instead of lending it out with
/// unread replies; a failed statement keeps it; statements beyond the connections
/// wait their turn, up to `acquire_timeout` (then 503-class `ConnectionAcquire`);
/// transactions commit through the pool beside them.
#[tokio::test]
async fn worker_local_connections_recover_from_cancelled_statements() {
    use keel_db::sea_orm::{ConnectionTrait, TransactionTrait};
    let testdb = TestDb::migrated(migrations()).await;
    let settings = keel_db::DbSettings {
        min_connections: 1,
        acquire_timeout: std::time::Duration::from_millis(300),
        ..Default::default()
    };
    let db = Db::open_local(&settings, testdb.url(), 1)
        .await
        .expect("open");
    let backend = db.get_database_backend();
    let lanes = backend != keel_db::sea_orm::DbBackend::Sqlite;
    assert_eq!(db.is_worker_local(), lanes);
    let first = backend_id(&db).await.expect("id");
    assert_eq!(
        first,
        backend_id(&db).await.expect("id"),
        "one connection, kept"
    );

    // Cancelled half-way: the connection is closed, the next statement gets a new one
    // and the right answer. (SQLite runs statements on the pool's own threads.)
    if lanes {
        worker_local_cancel_and_wait(&db, first).await;
    }

    // Transactions commit beside the worker's connections.
    let tx = db.begin().await.expect("begin");
    author::ActiveModel {
        name: Set("Ada".into()),
        email: Set("ada@example.com".into()),
        ..Default::default()
    }
    .insert(&tx)
    .await
    .expect("insert");
    tx.commit().await.expect("commit");
    let authors = author::Entity::find().all(&*db).await.expect("all");
    assert_eq!(authors.len(), 1);
}

/// The lanes-only half of the test above.
async fn worker_local_cancel_and_wait(db: &Db, first: i64) {
    use keel_db::sea_orm::{ConnectionTrait, DbErr, Statement};
    let backend = db.get_database_backend();
    let slow = Statement::from_string(backend, sleep_sql(backend, 3));
    let cancelled =
        tokio::time::timeout(std::time::Duration::from_millis(150), db.execute_raw(slow)).await;
    assert!(cancelled.is_err(), "the sleep outlasts the timeout");
    let row = db
        .query_one_raw(Statement::from_string(backend, "SELECT 41 + 1 AS n"))
        .await
        .expect("after a cancel")
        .expect("row");
    let n: i64 = row
        .try_get::<i64>("", "n")
        .or_else(|_| row.try_get::<i32>("", "n").map(i64::from))
        .expect("n");
    assert_eq!(n, 42);
    let second = backend_id(db).await.expect("id");
    assert_ne!(first, second, "the cancelled connection is not lent again");

    // A statement the server rejects leaves the connection usable and kept.
    let bad = db.execute_unprepared("SELECT * FROM no_such_table").await;
    assert!(matches!(bad, Err(DbErr::Exec(_))), "{bad:?}");
    assert_eq!(
        second,
        backend_id(db).await.expect("id"),
        "kept after a database error"
    );

    // With the one connection busy, a second statement waits, and past
    // acquire_timeout fails as an acquire timeout (503), not a hang.
    {
        let busy = db.execute_raw(Statement::from_string(backend, sleep_sql(backend, 1)));
        let waiting = async {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            backend_id(db).await
        };
        let (busy, waiting) = tokio::join!(busy, waiting);
        busy.expect("the sleep runs");
        assert!(
            matches!(
                waiting,
                Err(DbErr::ConnectionAcquire(
                    keel_db::sea_orm::ConnAcquireErr::Timeout
                ))
            ),
            "{waiting:?}"
        );
        let quick = db.execute_raw(Statement::from_string(backend, "SELECT 1"));
        let (a, b) = tokio::join!(quick, backend_id(db));
        a.expect("first of two");
        b.expect("second of two waits its turn");
    }
}
