//! Versioned migrations and `makemigrations`.
//!
//! A migration is a list of [`Op`]s on the [schema model](schema). The app keeps its
//! migrations as Rust modules (`src/migrations/`), embedded in the binary:
//!
//! ```
//! use keel_db::migrate::*;
//!
//! fn initial() -> Migration {
//!     Migration::new("0001_initial").up([Op::create_table(
//!         Table::new("todo")
//!             .column(Column::new("id", ColType::Integer).auto_increment())
//!             .column(Column::new("title", ColType::String(Some(200))))
//!             .primary_key(["id"]),
//!     )])
//! }
//!
//! let migrator = Migrator::new(vec![initial()]).unwrap();
//! assert!(migrator.schema().table("todo").is_some());
//! ```
//!
//! `db makemigrations` replays the migrations in memory ([`replay`]), reads the
//! registered entities ([`Models`](crate::Models)), and writes the [`diff()`] as a new
//! module with `up` and `down` lists ([`writer`]). [`Migrator`] applies them.

pub mod diff;
pub mod entities;
pub mod introspect;
pub mod ops;
pub mod runner;
pub mod schema;
pub mod sql;
pub mod writer;

pub use diff::{Changes, NoRenames, RenameCandidate, RenamePolicy, UnambiguousRenames, diff};
pub use ops::{Migration, Op, replay};
pub use runner::{MigrateError, MigrationStatus, Migrator};
pub use schema::{ColType, Column, DefaultValue, FkAction, ForeignKey, Index, Schema, Table};

/// The three database families Keel speaks (SeaORM's `DbBackend` is non-exhaustive).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Backend {
    /// SQLite.
    Sqlite,
    /// PostgreSQL.
    Postgres,
    /// MySQL and MariaDB.
    MySql,
}

impl From<sea_orm::DbBackend> for Backend {
    fn from(b: sea_orm::DbBackend) -> Self {
        match b {
            sea_orm::DbBackend::Postgres => Backend::Postgres,
            sea_orm::DbBackend::MySql => Backend::MySql,
            _ => Backend::Sqlite,
        }
    }
}

impl From<Backend> for sea_orm::DbBackend {
    fn from(b: Backend) -> Self {
        match b {
            Backend::Postgres => sea_orm::DbBackend::Postgres,
            Backend::MySql => sea_orm::DbBackend::MySql,
            Backend::Sqlite => sea_orm::DbBackend::Sqlite,
        }
    }
}
