//! Opening the connection pool.

use sea_orm::{ConnectOptions, Database, DatabaseConnection, DbErr};

use crate::settings::{DbSettings, LogLevel};

/// Opens the pool for `url` with the section's limits. A SQLite file's folder is
/// created; SQLite connections use WAL, foreign keys and a busy timeout.
pub async fn connect(settings: &DbSettings, url: &str) -> Result<DatabaseConnection, DbErr> {
    ensure_sqlite_dir(url).map_err(DbErr::Custom)?;
    let mut opts = ConnectOptions::new(url.to_owned());
    opts.max_connections(settings.max_connections)
        .min_connections(settings.min_connections)
        .connect_timeout(settings.connect_timeout)
        .acquire_timeout(settings.acquire_timeout)
        .sqlx_logging(
            settings.log_statements != LogLevel::Off || !settings.slow_statement.is_zero(),
        )
        .sqlx_logging_level(settings.log_statements.filter())
        .sqlx_slow_statements_logging_settings(
            if settings.slow_statement.is_zero() {
                log::LevelFilter::Off
            } else {
                log::LevelFilter::Warn
            },
            settings.slow_statement,
        );
    // SeaORM (like sqlx) pings a connection on every checkout by default: one extra
    // round trip per query. Ping only connections that sat idle.
    if settings.ping_after_idle.is_zero() {
        opts.test_before_acquire(true);
    } else {
        opts.test_before_acquire_if_idle_for(settings.ping_after_idle);
    }
    #[cfg(feature = "sqlite")]
    opts.map_sqlx_sqlite_opts(|o| {
        use sea_orm::sqlx::sqlite::SqliteJournalMode;
        let o = o
            .foreign_keys(true)
            .busy_timeout(std::time::Duration::from_secs(5))
            .create_if_missing(true);
        // WAL is for files; an in-memory database keeps its own journal.
        if o.get_filename().to_string_lossy().contains(":memory:") {
            o
        } else {
            o.journal_mode(SqliteJournalMode::Wal)
        }
    });
    Database::connect(opts).await
}

/// Creates the folder of a SQLite file URL (SQLite creates the file, not its folder).
pub fn ensure_sqlite_dir(url: &str) -> Result<(), String> {
    if let Some(path) = sqlite_path(url)
        && let Some(dir) = std::path::Path::new(&path).parent()
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    Ok(())
}

/// The file behind a `sqlite:` URL, if it names one.
pub fn sqlite_path(url: &str) -> Option<String> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or_default();
    (!path.is_empty() && !path.contains(":memory:")).then(|| path.to_owned())
}
