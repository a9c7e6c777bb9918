//! A `per-core` worker's own connections to PostgreSQL or MySQL, lent to one
//! statement at a time without a pool's bookkeeping.
//!
//! sqlx's pool, on every release, spawns a task that pings the connection (a
//! `Sync` round trip on PostgreSQL, a `COM_PING` on MySQL) before the next
//! statement may use it; SeaORM checks a connection out of the pool for every
//! statement. Under load that is one extra round trip, one extra task and two extra
//! system calls per statement. Lanes keep a worker's connections in a plain list
//! instead:
//!
//! - a statement takes a connection (waiting for one when all are busy, up to
//!   `database.acquire_timeout`), runs, and puts it back, all on the worker's thread;
//! - a connection whose statement was cancelled half-way (its future dropped), or
//!   that failed with an I/O or protocol error, is closed rather than put back, so
//!   no connection with unread replies is ever lent again;
//! - a connection idle longer than `database.ping_after_idle` is pinged before use,
//!   and replaced if the ping fails.
//!
//! Transactions keep the worker's sqlx pool: SeaORM's `DatabaseTransaction` can
//! only be made from one.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use sea_orm::sqlx::{self, ConnectOptions as _, Connection as _};
use sea_orm::{ConnAcquireErr, DbBackend, DbErr, ExecResult, QueryResult, Statement};
use sea_query_sqlx::SqlxValues;
use tokio::sync::Semaphore;

use crate::settings::DbSettings;

/// One open connection of either server kind.
enum Raw {
    #[cfg(feature = "postgres")]
    Pg(sqlx::PgConnection),
    #[cfg(feature = "mysql")]
    My(sqlx::MySqlConnection),
}

/// How to open a new connection.
enum Spec {
    #[cfg(feature = "postgres")]
    Pg(sqlx::postgres::PgConnectOptions),
    #[cfg(feature = "mysql")]
    My(sqlx::mysql::MySqlConnectOptions),
}

/// A connection waiting in the list, and since when.
struct Idle {
    raw: Raw,
    since: Instant,
}

/// A worker's connections.
pub(crate) struct Lanes {
    idle: Mutex<Vec<Idle>>,
    permits: Semaphore,
    spec: Spec,
    backend: DbBackend,
    acquire_timeout: Duration,
    connect_timeout: Duration,
    ping_after_idle: Duration,
}

impl std::fmt::Debug for Lanes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lanes")
            .field("backend", &self.backend)
            .field("available", &self.permits.available_permits())
            .finish_non_exhaustive()
    }
}

/// A connection lent to one statement. Dropped without [`Lease::finish`] (the
/// statement's future was cancelled), it closes the connection.
struct Lease<'a> {
    raw: Option<Raw>,
    lanes: &'a Lanes,
    _permit: tokio::sync::SemaphorePermit<'a>,
}

impl Lease<'_> {
    fn raw(&mut self) -> &mut Raw {
        self.raw
            .as_mut()
            .expect("a lease holds its connection until finished")
    }

    /// Puts the connection back, unless `error` says it can no longer be trusted.
    fn finish(mut self, error: Option<&sqlx::Error>) {
        let broken = error.is_some_and(|e| {
            matches!(
                e,
                sqlx::Error::Io(_)
                    | sqlx::Error::Tls(_)
                    | sqlx::Error::Protocol(_)
                    | sqlx::Error::WorkerCrashed
            )
        });
        if let Some(raw) = self.raw.take()
            && !broken
        {
            let idle = Idle {
                raw,
                since: Instant::now(),
            };
            self.lanes
                .idle
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(idle);
        }
    }
}

impl Lanes {
    /// Lanes for `url` sized `size`, with `warm` connections opened now. `None` for
    /// a server kind lanes do not serve (SQLite).
    pub(crate) async fn open(
        settings: &DbSettings,
        url: &str,
        size: u32,
        warm: u32,
    ) -> Result<Option<Self>, DbErr> {
        let Some((spec, backend)) = Spec::parse(settings, url)? else {
            return Ok(None);
        };
        let size = size.max(1) as usize;
        let lanes = Self {
            idle: Mutex::new(Vec::with_capacity(size)),
            permits: Semaphore::new(size),
            spec,
            backend,
            acquire_timeout: settings.acquire_timeout,
            connect_timeout: settings.connect_timeout,
            ping_after_idle: settings.ping_after_idle,
        };
        for _ in 0..(warm as usize).min(size) {
            let raw = lanes.connect().await?;
            lanes
                .idle
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(Idle {
                    raw,
                    since: Instant::now(),
                });
        }
        Ok(Some(lanes))
    }

    /// The server kind.
    pub(crate) fn backend(&self) -> DbBackend {
        self.backend
    }

    async fn connect(&self) -> Result<Raw, DbErr> {
        let opened = tokio::time::timeout(self.connect_timeout, async {
            match &self.spec {
                #[cfg(feature = "postgres")]
                Spec::Pg(o) => sqlx::PgConnection::connect_with(o).await.map(Raw::Pg),
                #[cfg(feature = "mysql")]
                Spec::My(o) => sqlx::MySqlConnection::connect_with(o).await.map(Raw::My),
            }
        })
        .await
        .map_err(|_| DbErr::ConnectionAcquire(ConnAcquireErr::Timeout))?;
        opened.map_err(|e| DbErr::Conn(sqlx_err(e)))
    }

    async fn lease(&self) -> Result<Lease<'_>, DbErr> {
        let permit = tokio::time::timeout(self.acquire_timeout, self.permits.acquire())
            .await
            .map_err(|_| DbErr::ConnectionAcquire(ConnAcquireErr::Timeout))?
            .map_err(|_| DbErr::ConnectionAcquire(ConnAcquireErr::ConnectionClosed))?;
        let idle = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let raw = match idle {
            Some(Idle { mut raw, since })
                if !self.ping_after_idle.is_zero() && since.elapsed() >= self.ping_after_idle =>
            {
                if raw.ping().await.is_ok() {
                    raw
                } else {
                    self.connect().await?
                }
            }
            Some(Idle { raw, .. }) => raw,
            None => self.connect().await?,
        };
        Ok(Lease {
            raw: Some(raw),
            lanes: self,
            _permit: permit,
        })
    }

    /// Runs a statement that returns no rows.
    pub(crate) async fn execute(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
        let mut lease = self.lease().await?;
        let (sql, values) = parts(stmt);
        let sql = sqlx::AssertSqlSafe(sql);
        let result: Result<ExecResult, sqlx::Error> = match lease.raw() {
            #[cfg(feature = "postgres")]
            Raw::Pg(c) => sqlx::query_with(sql, values)
                .execute(c)
                .await
                .map(Into::into),
            #[cfg(feature = "mysql")]
            Raw::My(c) => sqlx::query_with(sql, values)
                .execute(c)
                .await
                .map(Into::into),
        };
        lease.finish(result.as_ref().err());
        result.map_err(|e| DbErr::Exec(sqlx_err(e)))
    }

    /// Runs SQL text as it is, without parameters (the simple query protocol).
    pub(crate) async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        use sqlx::Executor as _;
        let mut lease = self.lease().await?;
        let sql = sqlx::AssertSqlSafe(sql.to_owned());
        let result: Result<ExecResult, sqlx::Error> = match lease.raw() {
            #[cfg(feature = "postgres")]
            Raw::Pg(c) => c.execute(sql).await.map(Into::into),
            #[cfg(feature = "mysql")]
            Raw::My(c) => c.execute(sql).await.map(Into::into),
        };
        lease.finish(result.as_ref().err());
        result.map_err(|e| DbErr::Exec(sqlx_err(e)))
    }

    /// Runs a query and returns its first row, if any.
    pub(crate) async fn query_one(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
        let mut lease = self.lease().await?;
        let (sql, values) = parts(stmt);
        let sql = sqlx::AssertSqlSafe(sql);
        let result: Result<Option<QueryResult>, sqlx::Error> = match lease.raw() {
            #[cfg(feature = "postgres")]
            Raw::Pg(c) => sqlx::query_with(sql, values)
                .fetch_optional(c)
                .await
                .map(|r| r.map(Into::into)),
            #[cfg(feature = "mysql")]
            Raw::My(c) => sqlx::query_with(sql, values)
                .fetch_optional(c)
                .await
                .map(|r| r.map(Into::into)),
        };
        lease.finish(result.as_ref().err());
        result.map_err(|e| DbErr::Query(sqlx_err(e)))
    }

    /// Runs a query and returns all its rows.
    pub(crate) async fn query_all(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        let mut lease = self.lease().await?;
        let (sql, values) = parts(stmt);
        let sql = sqlx::AssertSqlSafe(sql);
        let result: Result<Vec<QueryResult>, sqlx::Error> = match lease.raw() {
            #[cfg(feature = "postgres")]
            Raw::Pg(c) => sqlx::query_with(sql, values)
                .fetch_all(c)
                .await
                .map(|rows| rows.into_iter().map(Into::into).collect()),
            #[cfg(feature = "mysql")]
            Raw::My(c) => sqlx::query_with(sql, values)
                .fetch_all(c)
                .await
                .map(|rows| rows.into_iter().map(Into::into).collect()),
        };
        lease.finish(result.as_ref().err());
        result.map_err(|e| DbErr::Query(sqlx_err(e)))
    }
}

impl Raw {
    async fn ping(&mut self) -> Result<(), sqlx::Error> {
        match self {
            #[cfg(feature = "postgres")]
            Raw::Pg(c) => c.ping().await,
            #[cfg(feature = "mysql")]
            Raw::My(c) => c.ping().await,
        }
    }
}

impl Spec {
    /// The connect options for `url` with the section's statement logging; `None`
    /// for SQLite.
    fn parse(settings: &DbSettings, url: &str) -> Result<Option<(Self, DbBackend)>, DbErr> {
        let level = settings.log_statements.filter();
        let slow = if settings.slow_statement.is_zero() {
            log::LevelFilter::Off
        } else {
            log::LevelFilter::Warn
        };
        let bad = |e: sqlx::Error| DbErr::Conn(sea_orm::RuntimeErr::Internal(e.to_string()));
        #[cfg(feature = "postgres")]
        if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            let o: sqlx::postgres::PgConnectOptions = url.parse().map_err(bad)?;
            let o = o
                .log_statements(level)
                .log_slow_statements(slow, settings.slow_statement);
            return Ok(Some((Spec::Pg(o), DbBackend::Postgres)));
        }
        #[cfg(feature = "mysql")]
        if url.starts_with("mysql:") {
            let o: sqlx::mysql::MySqlConnectOptions = url.parse().map_err(bad)?;
            let o = o
                .log_statements(level)
                .log_slow_statements(slow, settings.slow_statement);
            return Ok(Some((Spec::My(o), DbBackend::MySql)));
        }
        Ok(None)
    }
}

/// A statement's SQL and its values, bound the way SeaORM binds them.
fn parts(stmt: Statement) -> (String, SqlxValues) {
    let values = stmt
        .values
        .unwrap_or(sea_orm::sea_query::Values(Vec::new()));
    (stmt.sql, SqlxValues(values))
}

/// An sqlx error as SeaORM's pool path wraps it, so that error mapping (unique
/// violations to 409, and so on) sees the same thing on either path.
fn sqlx_err(e: sqlx::Error) -> sea_orm::RuntimeErr {
    sea_orm::RuntimeErr::SqlxError(std::sync::Arc::new(e))
}
