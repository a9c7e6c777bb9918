//! Database errors as public errors: 404, 409, 503 — never the SQL or the driver's words.

use std::collections::BTreeMap;
use std::sync::Arc;

use keel_core::{Error, ErrorClassifier, FieldError};
use sea_orm::{DbErr, RuntimeErr, SqlErr};

/// Maps [`DbErr`] found in an error's source chain to the public error. Registered by
/// the database plugin; handlers use `?` on SeaORM calls.
///
/// | database error | answer |
/// |---|---|
/// | `RecordNotFound` | 404 |
/// | unique violation | 409, naming the field when the index is known |
/// | foreign-key violation | 409 `reference_conflict` |
/// | pool timeout, connection refused or lost | 503 with `Retry-After` |
#[derive(Debug, Clone, Default)]
pub struct DbErrorClassifier {
    /// Index or constraint name → (table, columns), from the registered models.
    unique: Arc<BTreeMap<String, (String, Vec<String>)>>,
    retry_after: u64,
}

impl DbErrorClassifier {
    /// A classifier that knows the unique indexes `unique` (name → table, columns) and
    /// answers 503 with `Retry-After: retry_after`.
    pub fn new(unique: BTreeMap<String, (String, Vec<String>)>, retry_after: u64) -> Self {
        Self {
            unique: Arc::new(unique),
            retry_after,
        }
    }

    /// The public error for `err`, if it is a database error Keel knows.
    pub fn classify_db(&self, err: &DbErr) -> Option<Error> {
        if let DbErr::RecordNotFound(_) = err {
            return Some(Error::not_found("The requested record does not exist."));
        }
        match err.sql_err().or_else(|| violation_by_kind(err)) {
            Some(SqlErr::UniqueConstraintViolation(message)) => {
                let fields = self.unique_fields(&message);
                let mut e = Error::conflict(match fields.as_slice() {
                    [] => "A record with these values already exists.".to_owned(),
                    [f] => format!("A record with this {f} already exists."),
                    many => format!("A record with this {} already exists.", many.join(" and ")),
                })
                .with_code("unique_violation");
                for f in fields {
                    e = e.with_field(FieldError::new(&f, "unique", "is already taken"));
                }
                return Some(e);
            }
            Some(SqlErr::ForeignKeyConstraintViolation(_)) => {
                return Some(
                    Error::conflict("The record refers to, or is referred to by, another record.")
                        .with_code("reference_conflict"),
                );
            }
            _ => {}
        }
        if is_unavailable(err) {
            return Some(
                Error::unavailable(
                    "The database is unavailable; try again shortly.",
                    Some(self.retry_after),
                )
                .with_code("database_unavailable"),
            );
        }
        None
    }

    /// The columns named by a unique-violation message: SQLite names `table.column`,
    /// Postgres and MySQL name the index.
    fn unique_fields(&self, message: &str) -> Vec<String> {
        if let Some(rest) = message.split("UNIQUE constraint failed: ").nth(1) {
            return rest
                .split(", ")
                .filter_map(|tc| tc.split('.').nth(1))
                .map(|c| c.trim().to_owned())
                .collect();
        }
        for (name, (table, columns)) in self.unique.iter() {
            let quoted = [
                format!("\"{name}\""),
                format!("'{name}'"),
                format!("'{table}.{name}'"),
            ];
            if quoted.iter().any(|q| message.contains(q.as_str())) {
                return columns.clone();
            }
        }
        Vec::new()
    }
}

/// A constraint violation told by the driver's error kind, for database errors SeaORM
/// does not recognise by type (keel-db's pipelined PostgreSQL statements).
fn violation_by_kind(err: &DbErr) -> Option<SqlErr> {
    use sea_orm::sqlx::error::ErrorKind;
    let (DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e))) = err
    else {
        return None;
    };
    let sea_orm::sqlx::Error::Database(d) = &**e else {
        return None;
    };
    match d.kind() {
        ErrorKind::UniqueViolation => Some(SqlErr::UniqueConstraintViolation(d.message().into())),
        ErrorKind::ForeignKeyViolation => {
            Some(SqlErr::ForeignKeyConstraintViolation(d.message().into()))
        }
        _ => None,
    }
}

/// Whether a server error ended the session: PostgreSQL's connection-exception
/// class (08) and operator intervention (57P: shutdown, crash, cannot connect now,
/// database dropped, idle-session timeout). Such a connection is not reused, and the
/// request gets a 503.
pub(crate) fn ends_session(d: &dyn sea_orm::sqlx::error::DatabaseError) -> bool {
    let code = d.code().unwrap_or_default();
    code.starts_with("08") || code.starts_with("57P")
}

fn is_unavailable(err: &DbErr) -> bool {
    match err {
        DbErr::ConnectionAcquire(_) => true,
        DbErr::Conn(_) => true,
        DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e)) => {
            use sea_orm::sqlx::Error as X;
            match &**e {
                X::Io(_) | X::PoolTimedOut | X::PoolClosed | X::Tls(_) | X::WorkerCrashed => true,
                X::Protocol(_) => true,
                X::Database(d) => ends_session(d.as_ref()),
                _ => false,
            }
        }
        _ => false,
    }
}

impl ErrorClassifier for DbErrorClassifier {
    fn classify(&self, cause: &(dyn std::error::Error + 'static)) -> Option<Error> {
        let err = cause.downcast_ref::<DbErr>()?;
        let public = self.classify_db(err)?;
        if public.kind().is_server_error() {
            tracing::warn!(target: "keel::db", error = %err, "database unavailable");
        }
        Some(public)
    }
}
