//! Pipelined PostgreSQL statements for a `per-core` worker (feature `pg-pipeline`).
//!
//! sqlx answers one statement per connection at a time, so every statement is one
//! `write` that wakes a server process, and on a small machine each wake-up is a
//! context switch on both sides. tokio-postgres sends a statement while earlier ones
//! are still in flight on the same connection: under load the statements of many
//! requests leave in one `write` and PostgreSQL answers them in one pass.
//!
//! A worker keeps `pipeline_connections` such clients and hands statements round
//! the list. A statement goes through the pipeline only when the answer can be
//! given to SeaORM exactly as sqlx would give it; otherwise it is *declined* and
//! runs on the worker's sqlx lanes:
//!
//! - every bound value has a PostgreSQL type here ([`param_type`]);
//! - every result column has a type whose SeaORM value is unambiguous ([`Kind`]);
//!   `timestamptz` is not (a model may read it as `DateTime<Utc>` or
//!   `DateTime<FixedOffset>`, and a row of values must pick one);
//! - the result's column names are unique and in ascending order: SeaORM's
//!   `ProxyRow` is a map by name, so reading by position (`into_tuple`) sees the
//!   columns in name order, which is then the select order.
//!
//! The verdict is cached with the prepared statement, per connection.
//!
//! Server errors come back as sqlx database errors with the SQLSTATE, so error
//! mapping (409 for unique and foreign-key violations) works as on the lanes; lost
//! connections as `DbErr::Conn` (503). A connection found closed is replaced on
//! the next statement. A statement whose future is dropped leaves the connection
//! usable: tokio-postgres reads and discards the answer.
//!
//! tokio-postgres is built without TLS: the pipeline serves URLs whose hosts are
//! all loopback addresses or Unix sockets (unless `sslmode=require`), or that say
//! `sslmode=disable`. Anything else keeps the sqlx lanes, which speak TLS.

use std::collections::{BTreeMap, HashMap};
use std::error::Error as StdError;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use bytes::BytesMut;
use futures_util::TryStreamExt as _;
use sea_orm::sea_query::{ArrayType, Value};
use sea_orm::{DbErr, ExecResult, ProxyExecResult, ProxyRow, QueryResult, RuntimeErr, Statement};
use tokio_postgres::config::{Host, SslMode};
use tokio_postgres::types::{IsNull, ToSql, Type, to_sql_checked};
use tokio_postgres::{Client, NoTls, Row};

use crate::settings::DbSettings;

/// Prepared statements kept per connection before the cache starts over.
const STATEMENT_CACHE: usize = 512;

/// A worker's pipelined clients.
pub(crate) struct Pipe {
    config: tokio_postgres::Config,
    links: Vec<Mutex<Option<Arc<Link>>>>,
    next: AtomicUsize,
    log: Log,
}

/// One open client and what it has prepared.
struct Link {
    client: Client,
    prepared: Mutex<Cache>,
}

/// SQL → each set of parameter types it was prepared with, and the verdict. Hashed
/// with foldhash: SipHash over the SQL was a visible part of every statement, and the
/// SQL is the app's own, not a client's.
type Cache = HashMap<String, Vec<(Vec<Type>, Prepared)>, foldhash::fast::RandomState>;

#[derive(Clone)]
enum Prepared {
    /// Rows can be read: the statement, each column's name and kind.
    Rows(tokio_postgres::Statement, Arc<[(String, Kind)]>),
    /// Only `execute` may use it (its columns, if any, cannot be read here).
    ExecOnly(tokio_postgres::Statement),
}

/// What the statement's answer should be.
#[derive(Clone, Copy, PartialEq)]
enum Want {
    Rows,
    Count,
}

/// Statement logging as configured for sqlx.
struct Log {
    level: Option<log::Level>,
    slow: std::time::Duration,
}

impl std::fmt::Debug for Pipe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pipe")
            .field("connections", &self.links.len())
            .finish_non_exhaustive()
    }
}

impl Pipe {
    /// A pipeline for `url`, or `None` (with the reason logged) when it cannot serve
    /// it. With `min_connections` set, its connections are opened now.
    pub(crate) async fn open(settings: &DbSettings, url: &str) -> Result<Option<Self>, DbErr> {
        if !settings.pipeline || settings.pipeline_connections == 0 {
            return Ok(None);
        }
        let mut config: tokio_postgres::Config = match url.parse() {
            Ok(c) => c,
            Err(e) => {
                tracing::info!(target: "keel::db", error = %e,
                    "statements stay on sqlx: the pipeline cannot read this database URL");
                return Ok(None);
            }
        };
        if !plain_text_allowed(&config) {
            tracing::info!(target: "keel::db",
                "statements stay on sqlx: the pipeline has no TLS and the database is not on loopback");
            return Ok(None);
        }
        if config.get_application_name().is_none() {
            // So `pg_stat_activity` tells the pipeline's sessions from sqlx's.
            config.application_name("keel-pipeline");
        }
        let pipe = Self {
            config,
            links: (0..settings.pipeline_connections)
                .map(|_| Mutex::new(None))
                .collect(),
            next: AtomicUsize::new(0),
            log: Log {
                level: settings.log_statements.filter().to_level(),
                slow: settings.slow_statement,
            },
        };
        if settings.min_connections > 0 {
            for i in 0..pipe.links.len() {
                pipe.link(i).await?;
            }
        }
        Ok(Some(pipe))
    }

    /// The open client in slot `i`, connecting it first if it is missing or closed.
    async fn link(&self, i: usize) -> Result<Arc<Link>, DbErr> {
        let slot = &self.links[i];
        if let Some(link) = lock(slot).as_ref()
            && !link.client.is_closed()
        {
            return Ok(link.clone());
        }
        // Boxed, as is preparing: both are rare, and their futures would otherwise
        // be part of every statement's.
        let (client, connection) = Box::pin(self.config.connect(NoTls))
            .await
            .map_err(|e| DbErr::Conn(RuntimeErr::Internal(format!("PostgreSQL: {e}"))))?;
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::warn!(target: "keel::db", error = %e, "pipelined PostgreSQL connection lost");
            }
        });
        let link = Arc::new(Link {
            client,
            prepared: Mutex::new(Cache::default()),
        });
        *lock(slot) = Some(link.clone());
        Ok(link)
    }

    /// Runs a statement and returns its rows; `None` when the pipeline declines it.
    pub(crate) async fn query(&self, stmt: &Statement) -> Option<Result<Vec<QueryResult>, DbErr>> {
        let (link, prepared) = match self.prepare(stmt, Want::Rows).await {
            Ok(found) => found?,
            Err(e) => return Some(Err(e)),
        };
        let Prepared::Rows(st, columns) = prepared else {
            return None;
        };
        let started = self.log.start();
        // Each row becomes SeaORM's as it arrives (no vector of driver rows between).
        let rows = async {
            let stream = link.client.query_raw(&st, params(stmt)).await?;
            let mut stream = std::pin::pin!(stream);
            let mut rows = Vec::new();
            while let Some(row) = stream.try_next().await? {
                rows.push(read_row(&row, &columns)?);
            }
            Ok(rows)
        }
        .await;
        self.log.record(&stmt.sql, started);
        Some(rows.map_err(|e| db_err(&e, Want::Rows)))
    }

    /// Runs a statement for its row count; `None` when the pipeline declines it.
    pub(crate) async fn execute(&self, stmt: &Statement) -> Option<Result<ExecResult, DbErr>> {
        let (link, prepared) = match self.prepare(stmt, Want::Count).await {
            Ok(found) => found?,
            Err(e) => return Some(Err(e)),
        };
        let (Prepared::Rows(st, _) | Prepared::ExecOnly(st)) = prepared;
        let started = self.log.start();
        let count = link.client.execute_raw(&st, params(stmt)).await;
        self.log.record(&stmt.sql, started);
        Some(
            count
                .map(|rows_affected| {
                    ExecResult::from(ProxyExecResult {
                        last_insert_id: 0,
                        rows_affected,
                    })
                })
                .map_err(|e| db_err(&e, Want::Count)),
        )
    }

    /// The statement prepared on the next connection, or `None` when a value cannot
    /// be bound here.
    async fn prepare(
        &self,
        stmt: &Statement,
        want: Want,
    ) -> Result<Option<(Arc<Link>, Prepared)>, DbErr> {
        let values = values(stmt);
        if !values.iter().all(|v| param_type(v).is_some()) {
            return Ok(None);
        }
        let i = self.next.fetch_add(1, Ordering::Relaxed) % self.links.len();
        let link = self.link(i).await?;
        let prepared = link
            .prepare(&stmt.sql, values)
            .await
            .map_err(|e| db_err(&e, want))?;
        Ok(Some((link, prepared)))
    }
}

fn values(stmt: &Statement) -> &[Value] {
    stmt.values.as_ref().map_or(&[], |v| v.0.as_slice())
}

/// The statement's values, each bound as [`param_type`] says.
fn params(stmt: &Statement) -> impl ExactSizeIterator<Item = Param<'_>> {
    values(stmt).iter().map(Param)
}

impl Link {
    /// The statement for `sql` with parameters bound as `values`, prepared on first
    /// use (the types of a statement already prepared are compared without a copy).
    async fn prepare(
        &self,
        sql: &str,
        values: &[Value],
    ) -> Result<Prepared, tokio_postgres::Error> {
        if let Some(found) = lock(&self.prepared)
            .get(sql)
            .and_then(|v| v.iter().find(|(t, _)| bound_as(t, values)))
        {
            return Ok(found.1.clone());
        }
        let types: Vec<Type> = values.iter().filter_map(param_type).collect();
        let st = Box::pin(self.client.prepare_typed(sql, &types)).await?;
        let prepared = match readable_columns(&st) {
            Some(columns) => Prepared::Rows(st, columns),
            None => Prepared::ExecOnly(st),
        };
        let mut cache = lock(&self.prepared);
        if cache.len() >= STATEMENT_CACHE {
            cache.clear();
        }
        cache
            .entry(sql.to_owned())
            .or_default()
            .push((types, prepared.clone()));
        Ok(prepared)
    }
}

impl Log {
    /// When a statement starts, if anything is to be logged of it (reading the clock
    /// twice per statement otherwise buys nothing).
    fn start(&self) -> Option<Instant> {
        (self.level.is_some() || !self.slow.is_zero()).then(Instant::now)
    }

    fn record(&self, sql: &str, started: Option<Instant>) {
        let Some(started) = started else {
            return;
        };
        let elapsed = started.elapsed();
        if !self.slow.is_zero() && elapsed >= self.slow {
            log::warn!(target: "keel::db::pipeline", "slow statement ({elapsed:?}): {sql}");
        } else if let Some(level) = self.level {
            log::log!(target: "keel::db::pipeline", level, "{sql} ({elapsed:?})");
        }
    }
}

/// Whether a connection without TLS is what the URL allows: `sslmode=disable`, or
/// the default `prefer` with every host on this machine.
fn plain_text_allowed(config: &tokio_postgres::Config) -> bool {
    match config.get_ssl_mode() {
        SslMode::Disable => true,
        SslMode::Prefer => {
            !config.get_hosts().is_empty()
                && config.get_hosts().iter().all(|h| match h {
                    Host::Tcp(name) => {
                        name == "localhost"
                            || name
                                .trim_matches(['[', ']'])
                                .parse::<std::net::IpAddr>()
                                .is_ok_and(|ip| ip.is_loopback())
                    }
                    #[cfg(unix)]
                    Host::Unix(_) => true,
                })
        }
        _ => false,
    }
}

/// How a result column becomes a SeaORM value.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    Bool,
    Char,
    I16,
    I32,
    I64,
    F32,
    F64,
    Text,
    Bytes,
    Json,
    Date,
    Time,
    DateTime,
    Uuid,
}

impl Kind {
    fn of(t: &Type) -> Option<Kind> {
        Some(match *t {
            Type::BOOL => Kind::Bool,
            Type::CHAR => Kind::Char,
            Type::INT2 => Kind::I16,
            Type::INT4 => Kind::I32,
            Type::INT8 => Kind::I64,
            Type::FLOAT4 => Kind::F32,
            Type::FLOAT8 => Kind::F64,
            Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME => Kind::Text,
            Type::BYTEA => Kind::Bytes,
            Type::JSON | Type::JSONB => Kind::Json,
            Type::DATE => Kind::Date,
            Type::TIME => Kind::Time,
            Type::TIMESTAMP => Kind::DateTime,
            Type::UUID => Kind::Uuid,
            _ => return None,
        })
    }

    fn read(self, row: &Row, i: usize) -> Result<Value, tokio_postgres::Error> {
        Ok(match self {
            Kind::Bool => Value::Bool(row.try_get(i)?),
            Kind::Char => Value::TinyInt(row.try_get(i)?),
            Kind::I16 => Value::SmallInt(row.try_get(i)?),
            Kind::I32 => Value::Int(row.try_get(i)?),
            Kind::I64 => Value::BigInt(row.try_get(i)?),
            Kind::F32 => Value::Float(row.try_get(i)?),
            Kind::F64 => Value::Double(row.try_get(i)?),
            Kind::Text => Value::String(row.try_get(i)?),
            Kind::Bytes => Value::Bytes(row.try_get(i)?),
            Kind::Json => Value::Json(
                row.try_get::<_, Option<serde_json::Value>>(i)?
                    .map(Box::new),
            ),
            Kind::Date => Value::ChronoDate(row.try_get(i)?),
            Kind::Time => Value::ChronoTime(row.try_get(i)?),
            Kind::DateTime => Value::ChronoDateTime(row.try_get(i)?),
            Kind::Uuid => Value::Uuid(row.try_get(i)?),
        })
    }
}

/// The columns of `st` if its rows can be handed to SeaORM as they are: names
/// unique and ascending, every type readable.
fn readable_columns(st: &tokio_postgres::Statement) -> Option<Arc<[(String, Kind)]>> {
    let columns = st.columns();
    if columns.windows(2).any(|w| w[0].name() >= w[1].name()) {
        return None;
    }
    columns
        .iter()
        .map(|c| Some((c.name().to_owned(), Kind::of(c.type_())?)))
        .collect()
}

fn read_row(row: &Row, columns: &[(String, Kind)]) -> Result<QueryResult, tokio_postgres::Error> {
    let mut values = BTreeMap::new();
    for (i, (name, kind)) in columns.iter().enumerate() {
        values.insert(name.clone(), kind.read(row, i)?);
    }
    Ok(QueryResult::from(ProxyRow::new(values)))
}

/// The PostgreSQL type a value is bound as: what sqlx binds it as, so a statement
/// means the same on both paths. `None` for values the pipeline does not bind.
fn param_type(v: &Value) -> Option<Type> {
    Some(match v {
        Value::Bool(_) => Type::BOOL,
        Value::TinyInt(_) => Type::CHAR,
        Value::SmallInt(_) | Value::TinyUnsigned(_) => Type::INT2,
        Value::Int(_) | Value::SmallUnsigned(_) => Type::INT4,
        Value::BigInt(_) | Value::Unsigned(_) => Type::INT8,
        Value::BigUnsigned(v) if v.is_none_or(|n| i64::try_from(n).is_ok()) => Type::INT8,
        Value::Float(_) => Type::FLOAT4,
        Value::Double(_) => Type::FLOAT8,
        Value::String(_) | Value::Char(_) => Type::TEXT,
        Value::Bytes(_) => Type::BYTEA,
        Value::Json(_) => Type::JSONB,
        Value::ChronoDate(_) => Type::DATE,
        Value::ChronoTime(_) => Type::TIME,
        Value::ChronoDateTime(_) => Type::TIMESTAMP,
        Value::ChronoDateTimeUtc(_)
        | Value::ChronoDateTimeLocal(_)
        | Value::ChronoDateTimeWithTimeZone(_) => Type::TIMESTAMPTZ,
        Value::Uuid(_) => Type::UUID,
        // The arrays `update_column` binds on PostgreSQL, as sqlx binds them.
        Value::Array(element, _) => match element {
            ArrayType::Bool => Type::BOOL_ARRAY,
            ArrayType::SmallInt => Type::INT2_ARRAY,
            ArrayType::Int => Type::INT4_ARRAY,
            ArrayType::BigInt => Type::INT8_ARRAY,
            ArrayType::Float => Type::FLOAT4_ARRAY,
            ArrayType::Double => Type::FLOAT8_ARRAY,
            ArrayType::String => Type::TEXT_ARRAY,
            ArrayType::Uuid => Type::UUID_ARRAY,
            ArrayType::ChronoDate => Type::DATE_ARRAY,
            ArrayType::ChronoDateTime => Type::TIMESTAMP_ARRAY,
            _ => return None,
        },
        _ => return None,
    })
}

/// Whether `values` bind as `types`, the types a statement was prepared with.
fn bound_as(types: &[Type], values: &[Value]) -> bool {
    types.len() == values.len()
        && types
            .iter()
            .zip(values)
            .all(|(t, v)| param_type(v).as_ref() == Some(t))
}

/// A SeaORM value bound as the type [`param_type`] gave it.
#[derive(Debug)]
struct Param<'a>(&'a Value);

impl ToSql for Param<'_> {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn StdError + Sync + Send>> {
        match self.0 {
            Value::Bool(v) => v.to_sql(ty, out),
            Value::TinyInt(v) => v.to_sql(ty, out),
            Value::SmallInt(v) => v.to_sql(ty, out),
            Value::TinyUnsigned(v) => v.map(i16::from).to_sql(ty, out),
            Value::Int(v) => v.to_sql(ty, out),
            Value::SmallUnsigned(v) => v.map(i32::from).to_sql(ty, out),
            Value::BigInt(v) => v.to_sql(ty, out),
            Value::Unsigned(v) => v.map(i64::from).to_sql(ty, out),
            Value::BigUnsigned(v) => v.map(i64::try_from).transpose()?.to_sql(ty, out),
            Value::Float(v) => v.to_sql(ty, out),
            Value::Double(v) => v.to_sql(ty, out),
            Value::String(v) => v.as_deref().to_sql(ty, out),
            Value::Char(v) => v.map(String::from).to_sql(ty, out),
            Value::Bytes(v) => v.as_deref().to_sql(ty, out),
            Value::Json(v) => v.as_deref().to_sql(ty, out),
            Value::ChronoDate(v) => v.to_sql(ty, out),
            Value::ChronoTime(v) => v.to_sql(ty, out),
            Value::ChronoDateTime(v) => v.to_sql(ty, out),
            Value::ChronoDateTimeUtc(v) => v.to_sql(ty, out),
            Value::ChronoDateTimeLocal(v) => v.to_sql(ty, out),
            Value::ChronoDateTimeWithTimeZone(v) => v.to_sql(ty, out),
            Value::Uuid(v) => v.to_sql(ty, out),
            // Each element as its own type (`ty` is the array's).
            Value::Array(_, Some(items)) => {
                items.iter().map(Param).collect::<Vec<_>>().to_sql(ty, out)
            }
            Value::Array(_, None) => Ok(IsNull::Yes),
            other => Err(format!("the pipeline cannot bind {other:?}").into()),
        }
    }

    fn accepts(_: &Type) -> bool {
        // The statement was prepared with the types `param_type` chose.
        true
    }

    to_sql_checked!();
}

/// A tokio-postgres error as SeaORM's: server errors as sqlx database errors (so
/// unique and foreign-key violations map as on the lanes), the rest as a lost
/// connection.
fn db_err(e: &tokio_postgres::Error, want: Want) -> DbErr {
    let wrap = |e: sea_orm::sqlx::Error| {
        let e = RuntimeErr::SqlxError(Arc::new(e));
        match want {
            Want::Rows => DbErr::Query(e),
            Want::Count => DbErr::Exec(e),
        }
    };
    if let Some(db) = e.as_db_error() {
        return wrap(sea_orm::sqlx::Error::Database(Box::new(ServerError {
            code: db.code().code().to_owned(),
            message: db.message().to_owned(),
            constraint: db.constraint().map(str::to_owned),
            table: db.table().map(str::to_owned),
        })));
    }
    if e.is_closed() || e.source().is_some_and(|s| s.is::<std::io::Error>()) {
        return DbErr::Conn(RuntimeErr::Internal(format!("PostgreSQL: {e}")));
    }
    wrap(sea_orm::sqlx::Error::Protocol(e.to_string()))
}

/// An error PostgreSQL answered a pipelined statement with.
#[derive(Debug)]
pub(crate) struct ServerError {
    code: String,
    message: String,
    constraint: Option<String>,
    table: Option<String>,
}

impl std::fmt::Display for ServerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (SQLSTATE {})", self.message, self.code)
    }
}

impl StdError for ServerError {}

impl sea_orm::sqlx::error::DatabaseError for ServerError {
    fn message(&self) -> &str {
        &self.message
    }

    fn code(&self) -> Option<std::borrow::Cow<'_, str>> {
        Some(self.code.as_str().into())
    }

    fn as_error(&self) -> &(dyn StdError + Send + Sync + 'static) {
        self
    }

    fn as_error_mut(&mut self) -> &mut (dyn StdError + Send + Sync + 'static) {
        self
    }

    fn into_error(self: Box<Self>) -> Box<dyn StdError + Send + Sync + 'static> {
        self
    }

    fn constraint(&self) -> Option<&str> {
        self.constraint.as_deref()
    }

    fn table(&self) -> Option<&str> {
        self.table.as_deref()
    }

    fn kind(&self) -> sea_orm::sqlx::error::ErrorKind {
        use sea_orm::sqlx::error::ErrorKind as K;
        match self.code.as_str() {
            "23505" => K::UniqueViolation,
            "23503" => K::ForeignKeyViolation,
            "23502" => K::NotNullViolation,
            "23514" => K::CheckViolation,
            "23P01" => K::ExclusionViolation,
            _ => K::Other,
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
