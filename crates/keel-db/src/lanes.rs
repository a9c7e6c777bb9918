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

#[cfg(any(feature = "postgres", feature = "mysql"))]
pub(crate) use with_servers::Lanes;

#[cfg(not(any(feature = "postgres", feature = "mysql")))]
pub(crate) use without_servers::Lanes;

#[cfg(any(feature = "postgres", feature = "mysql"))]
mod with_servers {
    use std::sync::Mutex;
    use std::time::{Duration, Instant};

    use sea_orm::sqlx::{self, ConnectOptions as _, Connection as _};
    use sea_orm::{ConnAcquireErr, DbBackend, DbErr, ExecResult, QueryResult, Statement};
    use sea_query_sqlx::SqlxValues;
    use tokio::sync::Semaphore;

    use crate::migrate::Backend;
    use crate::settings::DbSettings;

    /// One open connection of either server kind.
    enum Raw {
        #[cfg(feature = "postgres")]
        Pg(sqlx::PgConnection),
        #[cfg(feature = "mysql")]
        My(sqlx::MySqlConnection),
    }

    /// Runs `$body` with `$c` bound to the connection inside `$raw`, whatever its kind.
    macro_rules! on_raw {
        ($raw:expr, $c:ident => $body:expr) => {
            match $raw {
                #[cfg(feature = "postgres")]
                Raw::Pg($c) => $body,
                #[cfg(feature = "mysql")]
                Raw::My($c) => $body,
            }
        };
    }

    /// Awaits a statement on the lanes. With a pipeline in the build the lanes are its
    /// fallback, so their future (sqlx's, large) is boxed: otherwise its size is part
    /// of every pipelined statement's future, copied whole into SeaORM's boxed future.
    #[cfg(feature = "pg-pipeline")]
    macro_rules! on_lane {
        ($f:expr) => {
            Box::pin($f).await
        };
    }
    #[cfg(not(feature = "pg-pipeline"))]
    macro_rules! on_lane {
        ($f:expr) => {
            $f.await
        };
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
        acquire_timeout: Duration,
        connect_timeout: Duration,
        ping_after_idle: Duration,
        /// Pipelining clients that take what they can of the statements first.
        #[cfg(feature = "pg-pipeline")]
        pipe: Option<crate::pipe::Pipe>,
    }

    impl std::fmt::Debug for Lanes {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("Lanes")
                .field("backend", &self.backend())
                .field("available", &self.permits.available_permits())
                .finish_non_exhaustive()
        }
    }

    /// A connection lent to one statement. Dropped without [`Lease::finish`] (the
    /// statement's future was cancelled), it closes the connection.
    struct Lease<'a> {
        raw: Raw,
        lanes: &'a Lanes,
        _permit: tokio::sync::SemaphorePermit<'a>,
    }

    impl Lease<'_> {
        /// Puts the connection back unless the statement's error says it can no
        /// longer be trusted, and returns the statement's result as SeaORM's.
        fn finish<T>(
            self,
            result: Result<T, sqlx::Error>,
            as_db_err: fn(sea_orm::RuntimeErr) -> DbErr,
        ) -> Result<T, DbErr> {
            let broken = result.as_ref().is_err_and(|e| match e {
                sqlx::Error::Io(_)
                | sqlx::Error::Tls(_)
                | sqlx::Error::Protocol(_)
                | sqlx::Error::WorkerCrashed => true,
                // The server ended the session: the next read would hit EOF.
                sqlx::Error::Database(d) => crate::error::ends_session(d.as_ref()),
                _ => false,
            });
            if !broken {
                let idle = Idle {
                    raw: self.raw,
                    since: Instant::now(),
                };
                self.lanes.put_back(idle);
            }
            // An sqlx error wrapped as SeaORM's pool path wraps it, so that error
            // mapping (unique violations to 409, and so on) sees the same thing.
            result.map_err(|e| as_db_err(sea_orm::RuntimeErr::SqlxError(std::sync::Arc::new(e))))
        }
    }

    impl Lanes {
        /// Lanes for `url` sized `size`, with `warm` connections opened now. `None`
        /// for a server kind lanes do not serve (SQLite).
        pub(crate) async fn open(
            settings: &DbSettings,
            url: &str,
            size: u32,
            warm: u32,
        ) -> Result<Option<Self>, DbErr> {
            let Some(spec) = Spec::parse(settings, url)? else {
                return Ok(None);
            };
            let size = size.max(1) as usize;
            #[cfg(feature = "pg-pipeline")]
            let pipe = match spec {
                Spec::Pg(_) => crate::pipe::Pipe::open(settings, url).await?,
                #[allow(unreachable_patterns)]
                _ => None,
            };
            // With a pipeline, the lanes serve only what it hands on: opened on demand.
            #[cfg(feature = "pg-pipeline")]
            let warm = if pipe.is_some() { 0 } else { warm };
            let lanes = Self {
                idle: Mutex::new(Vec::with_capacity(size)),
                permits: Semaphore::new(size),
                spec,
                acquire_timeout: settings.acquire_timeout,
                connect_timeout: settings.connect_timeout,
                ping_after_idle: settings.ping_after_idle,
                #[cfg(feature = "pg-pipeline")]
                pipe,
            };
            for _ in 0..(warm as usize).min(size) {
                let raw = lanes.connect().await?;
                lanes.put_back(Idle {
                    raw,
                    since: Instant::now(),
                });
            }
            Ok(Some(lanes))
        }

        /// The server kind.
        pub(crate) fn backend(&self) -> DbBackend {
            match self.spec {
                #[cfg(feature = "postgres")]
                Spec::Pg(_) => DbBackend::Postgres,
                #[cfg(feature = "mysql")]
                Spec::My(_) => DbBackend::MySql,
            }
        }

        fn put_back(&self, idle: Idle) {
            self.idle
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(idle);
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
            opened.map_err(|e| DbErr::Conn(sea_orm::RuntimeErr::SqlxError(std::sync::Arc::new(e))))
        }

        async fn lease(&self) -> Result<Lease<'_>, DbErr> {
            let permit = tokio::time::timeout(self.acquire_timeout, self.permits.acquire())
                .await
                .map_err(|_| DbErr::ConnectionAcquire(ConnAcquireErr::Timeout))?
                .map_err(|_| DbErr::ConnectionAcquire(ConnAcquireErr::ConnectionClosed))?;
            let idle = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
            let raw = match idle {
                Some(Idle { mut raw, since })
                    if !self.ping_after_idle.is_zero()
                        && since.elapsed() >= self.ping_after_idle =>
                {
                    if on_raw!(&mut raw, c => c.ping().await).is_ok() {
                        raw
                    } else {
                        self.connect().await?
                    }
                }
                Some(Idle { raw, .. }) => raw,
                None => self.connect().await?,
            };
            Ok(Lease {
                raw,
                lanes: self,
                _permit: permit,
            })
        }

        /// Runs a statement that returns no rows.
        pub(crate) async fn execute(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
            #[cfg(feature = "pg-pipeline")]
            if let Some(pipe) = &self.pipe
                && let Some(r) = pipe.execute(&stmt).await
            {
                return r;
            }
            on_lane!(self.execute_on_lane(stmt))
        }

        async fn execute_on_lane(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
            let mut lease = self.lease().await?;
            let (sql, values) = parts(stmt);
            let result = on_raw!(&mut lease.raw, c => sqlx::query_with(sql, values)
                .execute(c)
                .await
                .map(ExecResult::from));
            lease.finish(result, DbErr::Exec)
        }

        /// Runs SQL text as it is, without parameters (the simple query protocol).
        pub(crate) async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
            use sqlx::Executor as _;
            let mut lease = self.lease().await?;
            let sql = sqlx::AssertSqlSafe(sql.to_owned());
            let result = on_raw!(&mut lease.raw, c => c.execute(sql).await.map(ExecResult::from));
            lease.finish(result, DbErr::Exec)
        }

        /// Runs a query and returns its first row, if any.
        pub(crate) async fn query_one(
            &self,
            stmt: Statement,
        ) -> Result<Option<QueryResult>, DbErr> {
            #[cfg(feature = "pg-pipeline")]
            if let Some(pipe) = &self.pipe
                && let Some(r) = pipe.query(&stmt).await
            {
                return r.map(|rows| rows.into_iter().next());
            }
            on_lane!(self.query_one_on_lane(stmt))
        }

        async fn query_one_on_lane(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
            let mut lease = self.lease().await?;
            let (sql, values) = parts(stmt);
            let result = on_raw!(&mut lease.raw, c => sqlx::query_with(sql, values)
                .fetch_optional(c)
                .await
                .map(|r| r.map(QueryResult::from)));
            lease.finish(result, DbErr::Query)
        }

        /// Runs a query and returns all its rows.
        pub(crate) async fn query_all(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
            #[cfg(feature = "pg-pipeline")]
            if let Some(pipe) = &self.pipe
                && let Some(r) = pipe.query(&stmt).await
            {
                return r;
            }
            on_lane!(self.query_all_on_lane(stmt))
        }

        async fn query_all_on_lane(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
            let mut lease = self.lease().await?;
            let (sql, values) = parts(stmt);
            let result = on_raw!(&mut lease.raw, c => sqlx::query_with(sql, values)
                .fetch_all(c)
                .await
                .map(|rows| rows.into_iter().map(QueryResult::from).collect()));
            lease.finish(result, DbErr::Query)
        }
    }

    impl Spec {
        /// The connect options for `url` with the section's statement logging;
        /// `None` for SQLite.
        fn parse(settings: &DbSettings, url: &str) -> Result<Option<Self>, DbErr> {
            let level = settings.log_statements.filter();
            let slow = if settings.slow_statement.is_zero() {
                log::LevelFilter::Off
            } else {
                log::LevelFilter::Warn
            };
            let bad = |e: sqlx::Error| DbErr::Conn(sea_orm::RuntimeErr::Internal(e.to_string()));
            Ok(Some(match crate::commands::backend_of(url) {
                #[cfg(feature = "postgres")]
                Backend::Postgres => {
                    let o: sqlx::postgres::PgConnectOptions = url.parse().map_err(bad)?;
                    Spec::Pg(
                        o.log_statements(level)
                            .log_slow_statements(slow, settings.slow_statement),
                    )
                }
                #[cfg(feature = "mysql")]
                Backend::MySql => {
                    let o: sqlx::mysql::MySqlConnectOptions = url.parse().map_err(bad)?;
                    Spec::My(
                        o.log_statements(level)
                            .log_slow_statements(slow, settings.slow_statement),
                    )
                }
                _ => return Ok(None),
            }))
        }
    }

    /// A statement's SQL and its values, bound the way SeaORM binds them.
    fn parts(stmt: Statement) -> (sqlx::AssertSqlSafe<String>, SqlxValues) {
        let values = stmt
            .values
            .unwrap_or(sea_orm::sea_query::Values(Vec::new()));
        (sqlx::AssertSqlSafe(stmt.sql), SqlxValues(values))
    }
}

/// Without PostgreSQL or MySQL built in there are no lanes: this type has no values,
/// so `Connection` always takes the pool.
#[cfg(not(any(feature = "postgres", feature = "mysql")))]
mod without_servers {
    use sea_orm::{DbBackend, DbErr, ExecResult, QueryResult, Statement};

    use crate::settings::DbSettings;

    #[derive(Debug)]
    pub(crate) enum Lanes {}

    impl Lanes {
        pub(crate) async fn open(
            _: &DbSettings,
            _: &str,
            _: u32,
            _: u32,
        ) -> Result<Option<Self>, DbErr> {
            Ok(None)
        }
        pub(crate) fn backend(&self) -> DbBackend {
            match *self {}
        }
        pub(crate) async fn execute(&self, _: Statement) -> Result<ExecResult, DbErr> {
            match *self {}
        }
        pub(crate) async fn execute_unprepared(&self, _: &str) -> Result<ExecResult, DbErr> {
            match *self {}
        }
        pub(crate) async fn query_one(&self, _: Statement) -> Result<Option<QueryResult>, DbErr> {
            match *self {}
        }
        pub(crate) async fn query_all(&self, _: Statement) -> Result<Vec<QueryResult>, DbErr> {
            match *self {}
        }
    }
}
