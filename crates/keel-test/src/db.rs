//! A database of its own for each test, on the backend named by
//! `KEEL_TEST_DATABASE_URL` (unset: SQLite), with the app's migrations applied and the
//! database removed afterwards — so one suite runs against SQLite, Postgres and
//! MariaDB, and its tests run in parallel.
//!
//! ```no_run
//! # async fn demo() {
//! use keel_test::db::TestDb;
//!
//! let db = TestDb::migrated(Vec::new()).await;
//! // db.url() for App::set("database.url", …); db.conn() for direct queries.
//! # }
//! ```

use std::sync::atomic::{AtomicU32, Ordering};

use keel_db::migrate::{Migration, Migrator};
use keel_db::sea_orm::{ConnectionTrait, Database, DatabaseConnection, DbBackend};

/// The variable that picks the test backend: a server URL whose user may create
/// databases (`postgres://postgres@127.0.0.1/test`, `mysql://root@127.0.0.1/test`).
pub const TEST_DATABASE_VAR: &str = "KEEL_TEST_DATABASE_URL";

static COUNTER: AtomicU32 = AtomicU32::new(0);

enum Cleanup {
    /// Removed with the value.
    Dir { _dir: tempfile::TempDir },
    Drop {
        admin_url: String,
        name: String,
        backend: DbBackend,
    },
}

/// A fresh database for one test. Dropped with the value.
pub struct TestDb {
    url: String,
    conn: DatabaseConnection,
    cleanup: Option<Cleanup>,
}

impl std::fmt::Debug for TestDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestDb")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

/// The backend the tests run on.
pub fn test_backend() -> DbBackend {
    match std::env::var(TEST_DATABASE_VAR) {
        Ok(u) if u.starts_with("postgres") => DbBackend::Postgres,
        Ok(u) if u.starts_with("mysql") || u.starts_with("mariadb") => DbBackend::MySql,
        _ => DbBackend::Sqlite,
    }
}

fn replace_database(url: &str, name: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let path_start = base[scheme_end..]
        .find('/')
        .map_or(base.len(), |i| i + scheme_end);
    let mut out = format!("{}/{name}", &base[..path_start]);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

impl TestDb {
    /// An empty database.
    pub async fn new() -> Self {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let name = format!("keel_test_{}_{n}_{}", std::process::id(), fastrand::u32(..));
        match std::env::var(TEST_DATABASE_VAR)
            .ok()
            .filter(|u| !u.is_empty())
        {
            None => {
                let dir = tempfile::tempdir().expect("temp dir for the test database");
                let url = format!("sqlite://{}/{name}.sqlite3?mode=rwc", dir.path().display());
                let conn = connect(&url).await;
                Self {
                    url,
                    conn,
                    cleanup: Some(Cleanup::Dir { _dir: dir }),
                }
            }
            Some(admin_url) => {
                let backend = test_backend();
                let admin = Database::connect(&admin_url).await.unwrap_or_else(|e| {
                    panic!("cannot reach {TEST_DATABASE_VAR}={admin_url}: {e}")
                });
                admin
                    .execute_unprepared(&format!("CREATE DATABASE {name}"))
                    .await
                    .unwrap_or_else(|e| panic!("cannot create test database {name}: {e}"));
                let _ = admin.close().await;
                let url = replace_database(&admin_url, &name);
                let conn = connect(&url).await;
                Self {
                    url,
                    conn,
                    cleanup: Some(Cleanup::Drop {
                        admin_url,
                        name,
                        backend,
                    }),
                }
            }
        }
    }

    /// A database with `migrations` applied.
    pub async fn migrated(migrations: Vec<Migration>) -> Self {
        let db = Self::new().await;
        let migrator = Migrator::new(migrations).expect("valid migrations");
        let conn = Migrator::connect(&db.url)
            .await
            .expect("migration connection");
        migrator.migrate(&conn).await.expect("migrations apply");
        let _ = conn.close().await;
        db
    }

    /// Its URL (for `App::set("database.url", …)`).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// A pooled connection to it.
    pub fn conn(&self) -> &DatabaseConnection {
        &self.conn
    }

    /// The backend.
    pub fn backend(&self) -> DbBackend {
        self.conn.get_database_backend()
    }
}

async fn connect(url: &str) -> DatabaseConnection {
    let settings = keel_db::DbSettings {
        max_connections: 5,
        ..Default::default()
    };
    keel_db::pool::connect(&settings, url)
        .await
        .unwrap_or_else(|e| panic!("cannot open test database {url}: {e}"))
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some(Cleanup::Drop {
            admin_url,
            name,
            backend,
        }) = self.cleanup.take()
        else {
            return;
        };
        // Dropping needs async I/O; a value may be dropped inside or outside a runtime,
        // so a thread with a runtime of its own does it. It must not touch the test's
        // pool: that pool's sockets belong to the test's runtime, which is blocked here.
        // Postgres' FORCE ends the pool's sessions; MySQL drops with idle sessions open.
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async move {
                let Ok(admin) = Database::connect(&admin_url).await else {
                    return;
                };
                let sql = match backend {
                    DbBackend::Postgres => format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
                    _ => format!("DROP DATABASE IF EXISTS {name}"),
                };
                let _ = admin.execute_unprepared(&sql).await;
                let _ = admin.close().await;
            });
        })
        .join();
    }
}

/// Makes rows for tests: a function from a sequence number to an active model, so
/// each row differs where it must (unique emails, say).
///
/// ```no_run
/// # mod author {
/// #     use keel_db::sea_orm;
/// #     use sea_orm::entity::prelude::*;
/// #     #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
/// #     #[sea_orm(table_name = "author")]
/// #     pub struct Model { #[sea_orm(primary_key)] pub id: i32, pub email: String }
/// #     #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
/// #     pub enum Relation {}
/// #     impl ActiveModelBehavior for ActiveModel {}
/// # }
/// # async fn demo(db: &keel_test::db::TestDb) {
/// use keel_db::sea_orm::Set;
/// use keel_test::db::Factory;
///
/// let authors = Factory::new(|n| author::ActiveModel {
///     email: Set(format!("author{n}@example.com")),
///     ..Default::default()
/// });
/// let one = authors.create(db.conn()).await;
/// let more = authors.create_many(db.conn(), 3).await;
/// # }
/// ```
pub struct Factory<A> {
    make: Box<dyn Fn(u32) -> A + Send + Sync>,
    next: AtomicU32,
}

impl<A> std::fmt::Debug for Factory<A> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Factory")
            .field("next", &self.next)
            .finish_non_exhaustive()
    }
}

impl<A> Factory<A>
where
    A: keel_db::sea_orm::ActiveModelTrait + keel_db::sea_orm::ActiveModelBehavior + Send + 'static,
    <A::Entity as keel_db::sea_orm::EntityTrait>::Model: keel_db::sea_orm::IntoActiveModel<A>,
{
    /// A factory calling `make` with 1, 2, 3, …
    pub fn new(make: impl Fn(u32) -> A + Send + Sync + 'static) -> Self {
        Self {
            make: Box::new(make),
            next: AtomicU32::new(1),
        }
    }

    /// The next active model, not saved.
    pub fn build(&self) -> A {
        (self.make)(self.next.fetch_add(1, Ordering::Relaxed))
    }

    /// Inserts the next row and returns it.
    pub async fn create<C: keel_db::sea_orm::ConnectionTrait>(
        &self,
        db: &C,
    ) -> <A::Entity as keel_db::sea_orm::EntityTrait>::Model {
        self.build()
            .insert(db)
            .await
            .unwrap_or_else(|e| panic!("factory insert failed: {e}"))
    }

    /// Inserts `count` rows.
    pub async fn create_many<C: keel_db::sea_orm::ConnectionTrait>(
        &self,
        db: &C,
        count: usize,
    ) -> Vec<<A::Entity as keel_db::sea_orm::EntityTrait>::Model> {
        let mut out = Vec::with_capacity(count);
        for _ in 0..count {
            out.push(self.create(db).await);
        }
        out
    }
}

/// Asserts that `migrations` are up to date with `models` (what
/// `db makemigrations --check` does), for an app's own test suite.
///
/// ```no_run
/// # fn models() -> keel_db::Models { keel_db::Models::new() }
/// # fn migrations() -> Vec<keel_db::Migration> { vec![] }
/// keel_test::db::assert_migrations_current(migrations(), &models(), "src/migrations");
/// ```
pub fn assert_migrations_current(
    migrations: Vec<Migration>,
    models: &keel_db::Models,
    dir: impl AsRef<std::path::Path>,
) {
    use keel_db::commands::{MakeOutcome, makemigrations};
    use keel_db::migrate::UnambiguousRenames;
    let mut all = models.component_migrations();
    all.extend(migrations);
    let migrator = Migrator::new(all).expect("valid migrations");
    let outcome = makemigrations(
        &migrator,
        models,
        dir.as_ref(),
        None,
        true,
        &mut UnambiguousRenames,
    )
    .unwrap_or_else(|e| panic!("models and migrations disagree: {e}"));
    assert_eq!(outcome, MakeOutcome::NoChanges);
}
