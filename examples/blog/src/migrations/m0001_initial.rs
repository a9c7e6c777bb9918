//! Migration `0001_initial`, written by `db makemigrations`.
//!
//! - create table post
//!
//! Review it, edit it if needed (the `down` list undoes `up`), and commit it.

use keel::db::migrate::*;

/// The migration.
pub(super) fn migration() -> Migration {
    Migration::new("0001_initial")
        .up([Op::create_table(
            Table::new("post")
                .column(Column::new("id", ColType::Integer).auto_increment())
                .column(Column::new("title", ColType::String(None)))
                .column(Column::new("body", ColType::Text))
                .column(Column::new("image_url", ColType::String(None)).nullable())
                .primary_key(["id"]),
        )])
        .down([Op::drop_table(
            Table::new("post")
                .column(Column::new("id", ColType::Integer).auto_increment())
                .column(Column::new("title", ColType::String(None)))
                .column(Column::new("body", ColType::Text))
                .column(Column::new("image_url", ColType::String(None)).nullable())
                .primary_key(["id"]),
        )])
}
