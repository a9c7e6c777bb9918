//! Sessions in the app's database: `[session] store = "database"`.
//!
//! The table `keel_sessions` comes with Keel (migration `keel_sessions_0001`, applied
//! by `db migrate` with the app's own); expired rows are removed by the sessions
//! plugin's periodic cleanup.

use std::sync::{Arc, OnceLock};

use futures_util::future::BoxFuture;
use keel_core::Error;
use keel_core::session::{SessionRecord, SessionStore, unix_now};
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement, Value};

use crate::migrate::{ColType, Column, Index, Migration, Op, Table};

/// The migrations Keel's database features need, applied before the app's.
pub fn migrations() -> Vec<Migration> {
    vec![
        Migration::new("keel_sessions_0001").up([Op::create_table(
            Table::new("keel_sessions")
                .column(Column::new("id", ColType::String(Some(64))))
                .column(Column::new("data", ColType::Text))
                .column(Column::new("created", ColType::BigInteger))
                .column(Column::new("expires", ColType::BigInteger))
                .primary_key(["id"])
                .index(Index::new("idx-keel_sessions-expires", ["expires"])),
        )]),
    ]
}

/// A [`SessionStore`] on the app's pool (set when the app starts).
#[derive(Debug, Clone, Default)]
pub struct DbSessionStore {
    db: Arc<OnceLock<DatabaseConnection>>,
}

impl DbSessionStore {
    /// A store whose pool is set later (by the database plugin at startup).
    pub fn new() -> Self {
        Self::default()
    }

    /// A store on `db`.
    pub fn on(db: DatabaseConnection) -> Self {
        let store = Self::new();
        store.set_pool(db);
        store
    }

    /// Sets the pool (once).
    pub fn set_pool(&self, db: DatabaseConnection) {
        let _ = self.db.set(db);
    }

    fn conn(&self) -> Result<&DatabaseConnection, Error> {
        self.db
            .get()
            .ok_or_else(|| Error::internal_msg("the database session store has no pool yet"))
    }

    fn stmt(db: &DatabaseConnection, sql: &str, values: Vec<Value>) -> Statement {
        crate::statement(db.get_database_backend(), sql, values)
    }
}

impl SessionStore for DbSessionStore {
    fn load<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Option<SessionRecord>, Error>> {
        Box::pin(async move {
            let db = self.conn()?;
            let row = db
                .query_one_raw(Self::stmt(
                    db,
                    "SELECT data, created, expires FROM keel_sessions WHERE id = ? AND expires > ?",
                    vec![
                        id.into(),
                        i64::try_from(unix_now()).unwrap_or(i64::MAX).into(),
                    ],
                ))
                .await?;
            let Some(row) = row else { return Ok(None) };
            let data: String = row.try_get_by_index(0)?;
            let created: i64 = row.try_get_by_index(1)?;
            let expires: i64 = row.try_get_by_index(2)?;
            let data = serde_json::from_str(&data).unwrap_or_default();
            Ok(Some(SessionRecord {
                data,
                created: u64::try_from(created).unwrap_or(0),
                expires: u64::try_from(expires).unwrap_or(0),
            }))
        })
    }

    fn save<'a>(
        &'a self,
        id: &'a str,
        record: &'a SessionRecord,
    ) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(async move {
            let db = self.conn()?;
            let data = serde_json::to_string(&record.data).map_err(Error::internal)?;
            let created = i64::try_from(record.created).unwrap_or(i64::MAX);
            let expires = i64::try_from(record.expires).unwrap_or(i64::MAX);
            let sql = match db.get_database_backend() {
                sea_orm::DbBackend::MySql => {
                    "INSERT INTO keel_sessions (id, data, created, expires) VALUES (?, ?, ?, ?) \
                     ON DUPLICATE KEY UPDATE data = VALUES(data), expires = VALUES(expires)"
                }
                _ => {
                    "INSERT INTO keel_sessions (id, data, created, expires) VALUES (?, ?, ?, ?) \
                     ON CONFLICT (id) DO UPDATE SET data = excluded.data, expires = excluded.expires"
                }
            };
            db.execute_raw(Self::stmt(
                db,
                sql,
                vec![id.into(), data.into(), created.into(), expires.into()],
            ))
            .await?;
            Ok(())
        })
    }

    fn delete<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(async move {
            let db = self.conn()?;
            db.execute_raw(Self::stmt(
                db,
                "DELETE FROM keel_sessions WHERE id = ?",
                vec![id.into()],
            ))
            .await?;
            Ok(())
        })
    }

    fn cleanup(&self) -> BoxFuture<'_, Result<u64, Error>> {
        Box::pin(async move {
            let db = self.conn()?;
            let res = db
                .execute_raw(Self::stmt(
                    db,
                    "DELETE FROM keel_sessions WHERE expires <= ?",
                    vec![i64::try_from(unix_now()).unwrap_or(i64::MAX).into()],
                ))
                .await?;
            Ok(res.rows_affected())
        })
    }
}
