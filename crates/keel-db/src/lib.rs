//! # keel-db
//!
//! Keel's data layer on SeaORM 2: a connection pool from config, the [`Db`]
//! extractor, transactions, pagination, database errors as problems, and versioned
//! migrations written for you from the model diff (`db makemigrations`).
//!
//! ```no_run
//! use keel_db::{Db, Models};
//! # mod migrations { pub fn all() -> Vec<keel_db::migrate::Migration> { vec![] } }
//!
//! let app = keel_core::App::new("todo").plugin(keel_db::plugin(Models::new(), migrations::all));
//! ```
//!
//! | Piece | What it gives |
//! |---|---|
//! | [`plugin`] | pool at startup, `/_ready` probe, error mapping, the `db` commands |
//! | [`Db`] | the database in handlers (a SeaORM [`Connection`]); [`Db::atomic`] commits on `Ok`, rolls back otherwise |
//! | [`paginate`](mod@paginate) | `PageParams` / `CursorParams` extractors, `Page`, `CursorPage` |
//! | [`migrate`] | schema model, `Migrator`, the autodetector, the file writer |
//! | [`seed`] | JSON fixtures loaded into entities, idempotent by primary key |
//! | [`error`] | `DbErr` → 404 / 409 / 503, never the SQL |
//! | [`sessions`] | `[session] store = "database"`: sessions in the app's database |
//! | [`batch`] | [`update_column`]: many rows' column in one statement |
//! | [`find`](mod@find) | [`find_by_id`]: one row by key, its statement written once |
//!
//! ## Configuration
//!
//! `[database]` ([`DbSettings`]); `DATABASE_URL` sets `database.url`. Unset, the app
//! uses a SQLite file under `data/`, created on first use, in WAL mode with foreign
//! keys on. Postgres and MySQL/MariaDB are the `postgres` and `mysql` features;
//! `pg-pipeline` pipelines a `per-core` worker's PostgreSQL statements (builds
//! without `sqlite`; see `docs/data.md`).

pub mod batch;
pub mod commands;
pub mod error;
pub mod find;
mod lanes;
pub mod migrate;
pub mod paginate;
#[cfg(feature = "pg-pipeline")]
mod pipe;
pub mod pool;
pub mod seed;
pub mod sessions;
pub mod settings;

use std::collections::BTreeMap;
use std::future::Future;
use std::ops::Deref;
use std::pin::Pin;
use std::sync::Arc;

use axum_core::extract::FromRequestParts;
use http::request::Parts;
use keel_core::{App, AppState, Error};
use sea_orm::{ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbErr, TransactionTrait};

pub use batch::update_column;
pub use error::DbErrorClassifier;
pub use find::{find_by_id, find_by_id_statement};
pub use migrate::entities::Models;
pub use migrate::{Migration, Migrator};
pub use paginate::{CursorPage, CursorParams, Page, PageParams, keyset, paginate};
pub use settings::{DbSettings, LogLevel};

/// SeaORM, re-exported so that an app uses the version Keel was built with.
pub use sea_orm;

/// The app's migrations, as the `migrations::all` function of the app lists them.
pub type MigrationsFn = fn() -> Vec<Migration>;

/// A transaction handed to [`Db::atomic`]'s closure: use it as `&*tx` wherever
/// SeaORM takes a connection.
pub type Tx = Arc<DatabaseTransaction>;

/// The database, as a handler argument: use `&*db` wherever SeaORM takes a
/// connection.
///
/// ```
/// use keel_db::Db;
/// use keel_db::sea_orm::{ConnectionTrait, Statement};
///
/// async fn count(db: Db) -> keel_core::Result<String> {
///     let row = db
///         .query_one_raw(Statement::from_string(db.get_database_backend(), "SELECT 1"))
///         .await?;
///     Ok(format!("{}", row.is_some()))
/// }
/// ```
#[derive(Debug, Clone)]
pub struct Db(Connection);

impl Deref for Db {
    type Target = Connection;

    fn deref(&self) -> &Connection {
        &self.0
    }
}

impl From<DatabaseConnection> for Db {
    fn from(pool: DatabaseConnection) -> Self {
        Db::new(pool)
    }
}

/// A connection to the app's database for SeaORM: what [`Db`] dereferences to.
///
/// Statements run on the pool, except inside a `per-core` server worker on
/// PostgreSQL or MySQL, where they run on the worker's own connections without the
/// pool's per-statement checkout and release ping (see `docs/data.md`, "Per-worker
/// connections"). Transactions always run on the pool.
#[derive(Debug, Clone)]
pub struct Connection {
    pool: DatabaseConnection,
    lanes: Option<Arc<lanes::Lanes>>,
}

impl Connection {
    /// The SeaORM pool underneath.
    pub fn pool(&self) -> &DatabaseConnection {
        &self.pool
    }

    /// Whether statements bypass the pool (a `per-core` worker's own connections).
    pub fn is_worker_local(&self) -> bool {
        self.lanes.is_some()
    }

    fn lanes(&self) -> Option<&lanes::Lanes> {
        self.lanes.as_deref()
    }
}

#[async_trait::async_trait]
impl ConnectionTrait for Connection {
    fn get_database_backend(&self) -> sea_orm::DbBackend {
        match self.lanes() {
            Some(l) => l.backend(),
            None => self.pool.get_database_backend(),
        }
    }

    async fn execute_raw(&self, stmt: sea_orm::Statement) -> Result<sea_orm::ExecResult, DbErr> {
        match self.lanes() {
            Some(l) => l.execute(stmt).await,
            None => self.pool.execute_raw(stmt).await,
        }
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<sea_orm::ExecResult, DbErr> {
        match self.lanes() {
            Some(l) => l.execute_unprepared(sql).await,
            None => self.pool.execute_unprepared(sql).await,
        }
    }

    async fn query_one_raw(
        &self,
        stmt: sea_orm::Statement,
    ) -> Result<Option<sea_orm::QueryResult>, DbErr> {
        match self.lanes() {
            Some(l) => l.query_one(stmt).await,
            None => self.pool.query_one_raw(stmt).await,
        }
    }

    async fn query_all_raw(
        &self,
        stmt: sea_orm::Statement,
    ) -> Result<Vec<sea_orm::QueryResult>, DbErr> {
        match self.lanes() {
            Some(l) => l.query_all(stmt).await,
            None => self.pool.query_all_raw(stmt).await,
        }
    }
}

#[async_trait::async_trait]
impl TransactionTrait for Connection {
    type Transaction = DatabaseTransaction;

    async fn begin(&self) -> Result<DatabaseTransaction, DbErr> {
        self.pool.begin().await
    }

    async fn begin_with_config(
        &self,
        isolation_level: Option<sea_orm::IsolationLevel>,
        access_mode: Option<sea_orm::AccessMode>,
    ) -> Result<DatabaseTransaction, DbErr> {
        self.pool
            .begin_with_config(isolation_level, access_mode)
            .await
    }

    async fn begin_with_options(
        &self,
        options: sea_orm::TransactionOptions,
    ) -> Result<DatabaseTransaction, DbErr> {
        self.pool.begin_with_options(options).await
    }

    async fn transaction<F, T, E>(&self, callback: F) -> Result<T, sea_orm::TransactionError<E>>
    where
        F: for<'c> FnOnce(
                &'c DatabaseTransaction,
            ) -> Pin<Box<dyn Future<Output = Result<T, E>> + Send + 'c>>
            + Send,
        T: Send,
        E: std::fmt::Display + std::fmt::Debug + Send,
    {
        self.pool.transaction(callback).await
    }

    async fn transaction_with_config<F, T, E>(
        &self,
        callback: F,
        isolation_level: Option<sea_orm::IsolationLevel>,
        access_mode: Option<sea_orm::AccessMode>,
    ) -> Result<T, sea_orm::TransactionError<E>>
    where
        F: for<'c> FnOnce(
                &'c DatabaseTransaction,
            ) -> Pin<Box<dyn Future<Output = Result<T, E>> + Send + 'c>>
            + Send,
        T: Send,
        E: std::fmt::Display + std::fmt::Debug + Send,
    {
        self.pool
            .transaction_with_config(callback, isolation_level, access_mode)
            .await
    }
}

impl Db {
    /// Opens `size` connections of the caller's own, what each `per-core` server
    /// worker does as it starts: statements run on them (PostgreSQL, MySQL) without
    /// the pool's per-statement checkout and release ping, `min_connections` of them
    /// opened now; transactions run on a pool of up to `size` more, opened as needed.
    /// On SQLite statements run on that pool too.
    pub async fn open_local(settings: &DbSettings, url: &str, size: u32) -> Result<Db, DbErr> {
        let size = size.max(1);
        let warm = settings.min_connections.min(size);
        let lanes = lanes::Lanes::open(settings, url, size, warm)
            .await?
            .map(Arc::new);
        let local = DbSettings {
            max_connections: size,
            min_connections: if lanes.is_some() { 0 } else { warm },
            ..settings.clone()
        };
        let pool = pool::connect(&local, url).await?;
        Ok(Db(Connection { pool, lanes }))
    }

    /// The database behind `pool`: every statement runs on the pool.
    pub fn new(pool: DatabaseConnection) -> Self {
        Db(Connection { pool, lanes: None })
    }
}

impl Db {
    /// Runs `work` in a transaction: committed when it returns `Ok`, rolled back when it
    /// returns `Err` or panics.
    ///
    /// ```
    /// # async fn demo(db: keel_db::Db) -> keel_core::Result<()> {
    /// use keel_db::sea_orm::ConnectionTrait;
    /// let n = db
    ///     .atomic(|tx| async move {
    ///         tx.execute_unprepared("UPDATE todo SET done = 1").await?;
    ///         Ok(1)
    ///     })
    ///     .await?;
    /// # let _: i32 = n; Ok(()) }
    /// ```
    pub async fn atomic<T, F, Fut>(&self, work: F) -> keel_core::Result<T>
    where
        F: FnOnce(Tx) -> Fut,
        Fut: Future<Output = keel_core::Result<T>>,
    {
        let tx = Arc::new(self.0.begin().await?);
        let result = work(Arc::clone(&tx)).await;
        let tx = Arc::try_unwrap(tx)
            .map_err(|_| Error::internal_msg("a transaction outlived its Db::atomic closure"))?;
        match result {
            Ok(value) => {
                tx.commit().await?;
                Ok(value)
            }
            Err(e) => {
                tx.rollback().await?;
                Err(e)
            }
        }
    }
}

impl Db {
    /// The pool for work on the current thread: inside a `per-core` server worker,
    /// that worker's own pool (see `database.worker_connections`); anywhere else, the
    /// app's. This is what the `Db` extractor hands to handlers; use it where a
    /// handler reaches the state directly.
    pub fn current(state: &AppState) -> keel_core::Result<Self> {
        if let Some(WorkerDb(db)) = keel_core::worker::get::<WorkerDb>() {
            return Ok(db);
        }
        state.get::<Db>().cloned().ok_or_else(|| {
            Error::internal_msg("the database plugin is not installed (keel::db::plugin)")
        })
    }
}

/// A worker's own pool (kept per thread by `keel_core::worker`).
#[derive(Clone)]
struct WorkerDb(Db);

impl FromRequestParts<AppState> for Db {
    type Rejection = Error;

    async fn from_request_parts(_: &mut Parts, state: &AppState) -> Result<Self, Error> {
        Db::current(state)
    }
}

/// Opens a `per-core` worker's own connections (`worker_connections`, or its share
/// of `max_connections`): lanes for statements and a pool for transactions.
async fn open_worker_pool(
    settings: &DbSettings,
    url: &str,
    info: keel_core::worker::WorkerInfo,
) -> keel_core::Result<()> {
    let workers = u32::try_from(info.count.max(1)).unwrap_or(u32::MAX);
    let size = if settings.worker_connections > 0 {
        settings.worker_connections
    } else {
        (settings.max_connections / workers).max(1)
    };
    let local = DbSettings {
        min_connections: (settings.min_connections / workers).min(size),
        ..settings.clone()
    };
    let db = Db::open_local(&local, url, size).await.map_err(|e| {
        Error::unavailable(format!("cannot open the database: {e}"), None).with_source(e)
    })?;
    keel_core::worker::provide(WorkerDb(db));
    Ok(())
}

/// What the plugin knows about the app's data: models and migrations.
#[derive(Debug, Clone)]
pub struct DataConfig {
    /// The registered models.
    pub models: Models,
    /// The app's migrations.
    pub migrations: MigrationsFn,
}

/// The database plugin: reads `[database]`, opens the pool at startup (provided to
/// handlers as [`Db`]), registers the `/_ready` probe, the error classifier and the
/// `db` commands (`migrate`, `rollback`, `status`, `reset`, `makemigrations`,
/// `sqlmigrate`, `seed`).
pub fn plugin(models: Models, migrations: MigrationsFn) -> impl FnOnce(&mut App) + Send + 'static {
    move |app: &mut App| {
        if !app.mark_installed("keel-db") {
            return;
        }
        let settings: DbSettings = app.section("database");
        let mut unique = BTreeMap::new();
        if let Ok(schema) = models.schema() {
            for t in schema.tables.values() {
                for i in t.indexes.iter().filter(|i| i.unique) {
                    unique.insert(i.name.clone(), (t.name.clone(), i.columns.clone()));
                }
            }
        }
        app.error_classifier(DbErrorClassifier::new(unique, settings.retry_after));
        let url = settings.resolved_url(app.name());
        let worker_url = url.clone();
        app.extensions().insert(settings.clone());
        app.extensions().insert(DataConfig {
            models: models.clone(),
            migrations,
        });
        let session_store = sessions::DbSessionStore::new();
        keel_core::session::register_store(app, "database", Arc::new(session_store.clone()));
        let pool_settings = settings.clone();
        let seeders = models.seeders().clone();
        let all_models = models.clone();
        app.provide_with(move |_config| async move {
            if pool_settings.auto_migrate {
                auto_migrate(&url, &all_models, migrations).await?;
            }
            let db = pool::connect(&pool_settings, &url).await.map_err(|e| {
                Error::unavailable(format!("cannot open the database: {e}"), None).with_source(e)
            })?;
            for file in &pool_settings.auto_seed {
                let loaded = seeders
                    .load_file(&db, file)
                    .await
                    .map_err(|e| Error::config(format!("database.auto_seed: {e}")))?;
                for (table, inserted, _) in loaded {
                    if inserted > 0 {
                        tracing::info!(target: "keel::db", table, inserted, file = %file.display(), "seeded");
                    }
                }
            }
            session_store.set_pool(db.clone());
            Ok(Db::new(db))
        });
        // SQLite's connections do their I/O on their own threads (and `:memory:` is
        // one database per pool): one pool serves every worker.
        if settings.worker_pools && commands::backend_of(&worker_url) != migrate::Backend::Sqlite {
            let worker_settings = settings.clone();
            app.on_worker_start(move |_state, info| {
                let (settings, url) = (worker_settings.clone(), worker_url.clone());
                async move { open_worker_pool(&settings, &url, info).await }
            });
        }
        app.readiness_check("database", |state: AppState| async move {
            let Some(db) = state.get::<Db>().cloned() else {
                return Err("no pool".to_owned());
            };
            db.execute_unprepared("SELECT 1")
                .await
                .map(|_| ())
                .map_err(|e| {
                    tracing::warn!(target: "keel::db", error = %e, "readiness probe failed");
                    "the database does not answer".to_owned()
                })
        });
        commands::register(app, settings, models, migrations);
    }
}

/// What `db migrate` applies: Keel's own migrations (the sessions table) first, then
/// the app's `migrations`.
pub fn with_keel_migrations(migrations: Vec<Migration>) -> Vec<Migration> {
    let mut all = sessions::migrations();
    all.extend(migrations);
    all
}

/// A raw statement written with `?` placeholders, numbered (`$1`, `$2`…) for Postgres:
/// one SQL text for every backend.
///
/// ```
/// use keel_db::sea_orm::DbBackend;
/// let st = keel_db::statement(DbBackend::Postgres, "SELECT 1 WHERE ? = ?", vec![1.into(), 1.into()]);
/// assert_eq!(st.sql, "SELECT 1 WHERE $1 = $2");
/// ```
pub fn statement(
    backend: sea_orm::DbBackend,
    sql: &str,
    values: Vec<sea_orm::Value>,
) -> sea_orm::Statement {
    let sql = if backend == sea_orm::DbBackend::Postgres {
        let mut out = String::with_capacity(sql.len() + 8);
        let mut n = 0;
        for c in sql.chars() {
            if c == '?' {
                n += 1;
                out.push('$');
                out.push_str(&n.to_string());
            } else {
                out.push(c);
            }
        }
        out
    } else {
        sql.to_owned()
    };
    sea_orm::Statement::from_sql_and_values(backend, sql, values)
}

/// Every migration an app applies, in order: Keel's own (sessions), those of the
/// components its models include (auth), then the app's.
pub fn all_migrations(models: &Models, migrations: Vec<Migration>) -> Vec<Migration> {
    let mut all = models.component_migrations();
    all.extend(migrations);
    with_keel_migrations(all)
}

/// Applies Keel's and the app's pending migrations (`database.auto_migrate`).
async fn auto_migrate(
    url: &str,
    models: &Models,
    migrations: MigrationsFn,
) -> keel_core::Result<()> {
    pool::ensure_sqlite_dir(url).map_err(Error::config)?;
    let migrator = Migrator::new(all_migrations(models, migrations()))
        .map_err(|e| Error::config(e.to_string()))?;
    let conn = Migrator::connect(url)
        .await
        .map_err(|e| Error::unavailable(format!("cannot open the database: {e}"), None))?;
    let applied = migrator
        .migrate(&conn)
        .await
        .map_err(|e| Error::config(format!("database.auto_migrate: {e}")))?;
    let _ = conn.close().await;
    for m in applied {
        tracing::info!(target: "keel::db", migration = %m, "applied (auto_migrate)");
    }
    Ok(())
}

#[cfg(not(any(feature = "sqlite", feature = "postgres", feature = "mysql")))]
compile_error!("keel-db needs at least one of its features: sqlite, postgres, mysql");
