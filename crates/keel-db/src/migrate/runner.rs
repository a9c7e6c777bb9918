//! Applying and rolling back migrations against a live database.
//!
//! The runner works on one connection (`Migrator::connect` opens it) so that the
//! session-level settings it needs stay in force: SQLite's foreign-key switch (off while
//! a migration rebuilds tables, checked before commit), MySQL's named lock. Two
//! processes migrating at once take turns: Postgres uses a transaction-level advisory
//! lock, MySQL/MariaDB `GET_LOCK`, SQLite an immediate (write) transaction; each
//! re-reads what is applied after it holds the lock, so nothing is applied twice.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection, Statement};

use super::Backend as DbBackend;

use super::ops::{Migration, Op, replay};
use super::schema::Schema;
use super::sql::op_statements;

/// The table that records applied migrations.
pub const MIGRATIONS_TABLE: &str = "keel_migrations";

/// Postgres advisory lock key: "keel" in ASCII.
const PG_LOCK_KEY: i64 = 0x6b65_656c;

/// A migration error (message meant for the person running the command).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrateError(pub String);

impl std::fmt::Display for MigrateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for MigrateError {}

impl From<sea_orm::DbErr> for MigrateError {
    fn from(e: sea_orm::DbErr) -> Self {
        MigrateError(e.to_string())
    }
}

impl From<String> for MigrateError {
    fn from(e: String) -> Self {
        MigrateError(e)
    }
}

type Result<T, E = MigrateError> = std::result::Result<T, E>;

/// One migration's state in a database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationStatus {
    /// The migration's name.
    pub name: String,
    /// When it was applied (seconds since the epoch), if it was.
    pub applied_at: Option<i64>,
    /// The checksum recorded when it was applied.
    pub applied_checksum: Option<String>,
    /// The checksum of the migration in the code now.
    pub checksum: Option<String>,
}

impl MigrationStatus {
    /// Applied and edited since: the code no longer matches what ran.
    pub fn changed(&self) -> bool {
        matches!((&self.applied_checksum, &self.checksum), (Some(a), Some(b)) if a != b)
    }

    /// Recorded as applied but no longer in the code.
    pub fn missing_from_code(&self) -> bool {
        self.checksum.is_none()
    }
}

/// Applies, rolls back and reports the app's migrations.
#[derive(Debug, Clone)]
pub struct Migrator {
    migrations: Vec<Migration>,
}

impl Migrator {
    /// A migrator for `migrations`, applied in the order listed. Refuses duplicate
    /// names and migrations that do not replay cleanly.
    pub fn new(migrations: Vec<Migration>) -> Result<Self> {
        let mut seen = std::collections::BTreeSet::new();
        for m in &migrations {
            if !seen.insert(m.name()) {
                return Err(MigrateError(format!(
                    "migration `{}` is listed twice",
                    m.name()
                )));
            }
        }
        for m in &migrations {
            if !m
                .name()
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_')
            {
                return Err(MigrateError(format!(
                    "migration name `{}` may only hold letters, digits and `_`",
                    m.name()
                )));
            }
        }
        replay(&migrations)?;
        Ok(Self { migrations })
    }

    /// The migrations.
    pub fn migrations(&self) -> &[Migration] {
        &self.migrations
    }

    /// The schema all migrations produce.
    pub fn schema(&self) -> Schema {
        replay(&self.migrations).unwrap_or_default()
    }

    /// Opens the single connection the runner works on.
    pub async fn connect(url: &str) -> Result<DatabaseConnection> {
        let mut opts = ConnectOptions::new(url.to_owned());
        opts.max_connections(1)
            .min_connections(1)
            .acquire_timeout(Duration::from_secs(600))
            .sqlx_logging(false);
        #[cfg(feature = "sqlite")]
        opts.map_sqlx_sqlite_opts(|o| {
            o.busy_timeout(Duration::from_secs(60))
                .create_if_missing(true)
        });
        Ok(Database::connect(opts).await?)
    }

    /// Applied and pending migrations, with checksums.
    pub async fn status(&self, db: &DatabaseConnection) -> Result<Vec<MigrationStatus>> {
        ensure_table(db).await?;
        let applied = applied(db).await?;
        let mut out: Vec<MigrationStatus> = self
            .migrations
            .iter()
            .map(|m| MigrationStatus {
                name: m.name().to_owned(),
                applied_at: applied.get(m.name()).map(|(_, at)| *at),
                applied_checksum: applied.get(m.name()).map(|(c, _)| c.clone()),
                checksum: Some(m.checksum()),
            })
            .collect();
        for (name, (checksum, at)) in &applied {
            if !self.migrations.iter().any(|m| m.name() == name) {
                out.push(MigrationStatus {
                    name: name.clone(),
                    applied_at: Some(*at),
                    applied_checksum: Some(checksum.clone()),
                    checksum: None,
                });
            }
        }
        Ok(out)
    }

    /// Applies every pending migration; returns the names applied by this call.
    pub async fn migrate(&self, db: &DatabaseConnection) -> Result<Vec<String>> {
        self.migrate_reporting(db, &mut |_, _, _| {}).await
    }

    /// Like [`migrate`](Self::migrate), calling `on_step(name, done, of)` after each
    /// migration is checked or applied (for a progress bar).
    pub async fn migrate_reporting(
        &self,
        db: &DatabaseConnection,
        on_step: &mut (dyn FnMut(&str, usize, usize) + Send),
    ) -> Result<Vec<String>> {
        ensure_table(db).await?;
        let backend = DbBackend::from(db.get_database_backend());
        let mut done = Vec::new();
        for (i, m) in self.migrations.iter().enumerate() {
            let before = replay(&self.migrations[..i])?;
            let mut statements = Vec::new();
            let mut state = before.clone();
            for op in m.up_ops() {
                statements.extend(
                    op_statements(op, &state, backend)
                        .map_err(|e| MigrateError(format!("migration {}: {e}", m.name())))?,
                );
                op.apply(&mut state)?;
            }
            let record = format!(
                "INSERT INTO {} (name, checksum, applied_at) VALUES ('{}', '{}', {})",
                MIGRATIONS_TABLE,
                m.name(),
                m.checksum(),
                now()
            );
            if self
                .run_locked(db, m.name(), true, &statements, &record)
                .await?
            {
                tracing::info!(target: "keel::db::migrate", migration = m.name(), "applied");
                done.push(m.name().to_owned());
            }
            on_step(m.name(), i + 1, self.migrations.len());
        }
        Ok(done)
    }

    /// Rolls back the last `steps` applied migrations; returns their names.
    pub async fn rollback(&self, db: &DatabaseConnection, steps: usize) -> Result<Vec<String>> {
        ensure_table(db).await?;
        let backend = DbBackend::from(db.get_database_backend());
        let applied = applied(db).await?;
        let mut done = Vec::new();
        for (i, m) in self.migrations.iter().enumerate().rev() {
            if done.len() == steps {
                break;
            }
            if !applied.contains_key(m.name()) {
                continue;
            }
            let mut state = replay(&self.migrations[..=i])?;
            let mut statements = Vec::new();
            for op in m.down_ops()? {
                statements.extend(
                    op_statements(&op, &state, backend)
                        .map_err(|e| MigrateError(format!("rolling back {}: {e}", m.name())))?,
                );
                if !matches!(op, Op::Sql { .. }) {
                    op.apply(&mut state)?;
                }
            }
            let record = format!("DELETE FROM {MIGRATIONS_TABLE} WHERE name = '{}'", m.name());
            if self
                .run_locked(db, m.name(), false, &statements, &record)
                .await?
            {
                tracing::info!(target: "keel::db::migrate", migration = m.name(), "rolled back");
                done.push(m.name().to_owned());
            }
        }
        Ok(done)
    }

    /// The SQL that applying migration `name` runs on `backend`.
    pub fn sql_for(&self, name: &str, backend: DbBackend) -> Result<Vec<String>> {
        let i = self
            .migrations
            .iter()
            .position(|m| m.name() == name || m.name().starts_with(&format!("{name}_")))
            .ok_or_else(|| MigrateError(format!("no migration called `{name}`")))?;
        let mut state = replay(&self.migrations[..i])?;
        let mut out = Vec::new();
        for op in self.migrations[i].up_ops() {
            out.extend(op_statements(op, &state, backend)?);
            op.apply(&mut state)?;
        }
        Ok(out)
    }

    /// Runs `statements` and `record` under the migration lock, if migration `name` is
    /// still pending (`apply`) or still applied (rollback). Returns whether it ran.
    async fn run_locked(
        &self,
        db: &DatabaseConnection,
        name: &str,
        apply: bool,
        statements: &[String],
        record: &str,
    ) -> Result<bool> {
        let backend = DbBackend::from(db.get_database_backend());
        match backend {
            DbBackend::Sqlite => {
                db.execute_unprepared("PRAGMA foreign_keys = OFF").await?;
                db.execute_unprepared("BEGIN IMMEDIATE").await?;
            }
            DbBackend::Postgres => {
                db.execute_unprepared("BEGIN").await?;
                db.execute_unprepared(&format!("SELECT pg_advisory_xact_lock({PG_LOCK_KEY})"))
                    .await?;
            }
            DbBackend::MySql => {
                // DDL commits implicitly on MySQL: a named lock serialises runners.
                db.execute_unprepared("SELECT GET_LOCK('keel_migrate', 600)")
                    .await?;
            }
        }
        let result = async {
            let is_applied = applied(db).await?.contains_key(name);
            if is_applied != apply {
                for sql in statements {
                    db.execute_unprepared(sql).await.map_err(|e| {
                        MigrateError(format!("{name}: {e}\n  while running: {sql}"))
                    })?;
                }
                if backend == DbBackend::Sqlite {
                    let violations = db
                        .query_all_raw(Statement::from_string(
                            db.get_database_backend(),
                            "PRAGMA foreign_key_check",
                        ))
                        .await?;
                    if !violations.is_empty() {
                        return Err(MigrateError(format!(
                            "{name}: {} row(s) would break a foreign key",
                            violations.len()
                        )));
                    }
                }
                db.execute_unprepared(record).await?;
                Ok(true)
            } else {
                Ok(false)
            }
        }
        .await;
        let finish = match (&result, backend) {
            (Ok(_), DbBackend::Sqlite | DbBackend::Postgres) => "COMMIT",
            (Err(_), DbBackend::Sqlite | DbBackend::Postgres) => "ROLLBACK",
            (_, DbBackend::MySql) => "SELECT RELEASE_LOCK('keel_migrate')",
        };
        let finished = db.execute_unprepared(finish).await;
        if backend == DbBackend::Sqlite {
            db.execute_unprepared("PRAGMA foreign_keys = ON").await?;
        }
        let ran = result?;
        finished?;
        Ok(ran)
    }
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

async fn ensure_table(db: &DatabaseConnection) -> Result<()> {
    let sql = format!(
        "CREATE TABLE IF NOT EXISTS {MIGRATIONS_TABLE} (name varchar(255) NOT NULL PRIMARY KEY, \
         checksum varchar(64) NOT NULL, applied_at bigint NOT NULL)"
    );
    if DbBackend::from(db.get_database_backend()) == DbBackend::Postgres {
        // Two runners creating the table at once would collide in the catalog.
        db.execute_unprepared("BEGIN").await?;
        db.execute_unprepared(&format!("SELECT pg_advisory_xact_lock({PG_LOCK_KEY})"))
            .await?;
        let created = db.execute_unprepared(&sql).await;
        db.execute_unprepared(if created.is_ok() {
            "COMMIT"
        } else {
            "ROLLBACK"
        })
        .await?;
        created?;
    } else {
        db.execute_unprepared(&sql).await?;
    }
    Ok(())
}

async fn applied(db: &DatabaseConnection) -> Result<BTreeMap<String, (String, i64)>> {
    let rows = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            format!("SELECT name, checksum, applied_at FROM {MIGRATIONS_TABLE}"),
        ))
        .await?;
    let mut out = BTreeMap::new();
    for row in rows {
        let name: String = row.try_get_by_index(0)?;
        let checksum: String = row.try_get_by_index(1)?;
        let at: i64 = row.try_get_by_index(2)?;
        out.insert(name, (checksum, at));
    }
    Ok(out)
}
