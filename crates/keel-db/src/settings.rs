//! The `[database]` config section.

use std::path::PathBuf;
use std::time::Duration;

use keel_core::config::duration;
use serde::{Deserialize, Serialize};

/// The `[database]` section. `DATABASE_URL` sets `url`.
///
/// ```toml
/// [database]
/// url = "postgres://app@localhost/app"   # unset: SQLite file under data_dir
/// max_connections = 10
/// acquire_timeout = "5s"
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DbSettings {
    /// Connection URL (`sqlite://…`, `postgres://…`, `mysql://…`). Unset: a SQLite file
    /// `{data_dir}/{app name}.sqlite3`, created on first use.
    pub url: Option<String>,
    /// Folder for the default SQLite file.
    pub data_dir: PathBuf,
    /// Largest number of pooled connections.
    pub max_connections: u32,
    /// Connections kept open when idle.
    pub min_connections: u32,
    /// In the `per-core` server runtime, each worker opens its own pool for the
    /// requests it serves (PostgreSQL and MySQL; SQLite shares one pool), so that a
    /// query's I/O stays on the worker's thread. This is that pool's size; `0` (the
    /// default) divides `max_connections` among the workers (at least 1 each). The
    /// app-wide pool stays for the rest: startup, jobs, commands.
    pub worker_connections: u32,
    /// Whether `per-core` workers open their own pools (`false`: every worker shares
    /// the app-wide pool).
    pub worker_pools: bool,
    /// With the `pg-pipeline` feature on PostgreSQL, `per-core` workers send
    /// statements outside transactions through pipelining connections, many in
    /// flight at once (see `docs/data.md`); `false` keeps them on sqlx. Without the
    /// feature this does nothing.
    pub pipeline: bool,
    /// How many pipelining connections each `per-core` worker opens.
    pub pipeline_connections: u32,
    /// How long opening a connection may take.
    #[serde(with = "duration")]
    pub connect_timeout: Duration,
    /// How long a request may wait for a pooled connection before a 503.
    #[serde(with = "duration")]
    pub acquire_timeout: Duration,
    /// A pooled connection idle for this long is pinged before it is handed out (it may
    /// have been closed by the server or a firewall meanwhile); a busy one is not, which
    /// saves a round trip per query (`"0s"`: ping on every checkout).
    #[serde(with = "duration")]
    pub ping_after_idle: Duration,
    /// The level at which every SQL statement is logged (`"off"`, `"error"`, `"warn"`,
    /// `"info"`, `"debug"`, `"trace"`; tracing target `sqlx::query`).
    pub log_statements: LogLevel,
    /// Statements slower than this are logged at `warn` even when `log_statements` is
    /// off (`"0s"` turns it off).
    #[serde(with = "duration")]
    pub slow_statement: Duration,
    /// `Retry-After` seconds sent with a 503 when the database is unreachable.
    pub retry_after: u64,
    /// Where `db makemigrations` writes migration modules.
    pub migrations_dir: PathBuf,
    /// Apply pending migrations when the app starts (a development convenience; off by
    /// default: production runs `db migrate` as a deploy step).
    pub auto_migrate: bool,
    /// Fixture files loaded when the app starts (idempotent; development demos).
    pub auto_seed: Vec<PathBuf>,
    /// Items per page when a request does not say.
    pub per_page: u64,
    /// The most items a request may ask for per page.
    pub max_per_page: u64,
}

impl Default for DbSettings {
    fn default() -> Self {
        Self {
            url: None,
            data_dir: PathBuf::from("data"),
            max_connections: 10,
            min_connections: 0,
            worker_connections: 0,
            worker_pools: true,
            pipeline: true,
            pipeline_connections: 1,
            connect_timeout: Duration::from_secs(5),
            acquire_timeout: Duration::from_secs(5),
            ping_after_idle: Duration::from_secs(30),
            log_statements: LogLevel::Off,
            slow_statement: Duration::from_secs(1),
            retry_after: 5,
            migrations_dir: PathBuf::from("src/migrations"),
            auto_migrate: false,
            auto_seed: Vec::new(),
            per_page: 20,
            max_per_page: 100,
        }
    }
}

impl DbSettings {
    /// The URL to connect to: `url`, or the default SQLite file for app `app_name`.
    pub fn resolved_url(&self, app_name: &str) -> String {
        match &self.url {
            Some(url) if !url.is_empty() => url.clone(),
            _ => format!(
                "sqlite://{}/{app_name}.sqlite3?mode=rwc",
                self.data_dir.display()
            ),
        }
    }
}

/// A log level for `database.log_statements`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    /// Not logged.
    #[default]
    Off,
    /// `error`.
    Error,
    /// `warn`.
    Warn,
    /// `info`.
    Info,
    /// `debug`.
    Debug,
    /// `trace`.
    Trace,
}

impl LogLevel {
    /// The `log` crate's filter (what SeaORM's options take).
    pub fn filter(self) -> log::LevelFilter {
        match self {
            LogLevel::Off => log::LevelFilter::Off,
            LogLevel::Error => log::LevelFilter::Error,
            LogLevel::Warn => log::LevelFilter::Warn,
            LogLevel::Info => log::LevelFilter::Info,
            LogLevel::Debug => log::LevelFilter::Debug,
            LogLevel::Trace => log::LevelFilter::Trace,
        }
    }
}
