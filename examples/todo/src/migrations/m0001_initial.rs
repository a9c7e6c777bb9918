//! Migration `0001_initial`, written by `db makemigrations`.
//!
//! - create table list
//! - create table todo
//!
//! Review it, edit it if needed (the `down` list undoes `up`), and commit it.

use keel::db::migrate::*;

/// The migration.
pub(super) fn migration() -> Migration {
    Migration::new("0001_initial")
        .up([
            Op::create_table(
                Table::new("list")
                    .column(Column::new("id", ColType::Integer).auto_increment())
                    .column(Column::new("name", ColType::String(None)))
                    .primary_key(["id"])
                    .index(Index::new("uq-list-name", ["name"]).unique()),
            ),
            Op::create_table(
                Table::new("todo")
                    .column(Column::new("id", ColType::Integer).auto_increment())
                    .column(Column::new("list_id", ColType::Integer))
                    .column(Column::new("title", ColType::String(None)))
                    .column(
                        Column::new("done", ColType::Boolean).default(DefaultValue::Bool(false)),
                    )
                    .column(Column::new("notes", ColType::String(None)).nullable())
                    .primary_key(["id"])
                    .index(Index::new("idx-todo-list_id", ["list_id"]))
                    .foreign_key(
                        ForeignKey::new("fk-todo-list_id", ["list_id"], "list", ["id"])
                            .on_delete(FkAction::Cascade),
                    ),
            ),
        ])
        .down([
            Op::drop_table(
                Table::new("todo")
                    .column(Column::new("id", ColType::Integer).auto_increment())
                    .column(Column::new("list_id", ColType::Integer))
                    .column(Column::new("title", ColType::String(None)))
                    .column(
                        Column::new("done", ColType::Boolean).default(DefaultValue::Bool(false)),
                    )
                    .column(Column::new("notes", ColType::String(None)).nullable())
                    .primary_key(["id"])
                    .index(Index::new("idx-todo-list_id", ["list_id"]))
                    .foreign_key(
                        ForeignKey::new("fk-todo-list_id", ["list_id"], "list", ["id"])
                            .on_delete(FkAction::Cascade),
                    ),
            ),
            Op::drop_table(
                Table::new("list")
                    .column(Column::new("id", ColType::Integer).auto_increment())
                    .column(Column::new("name", ColType::String(None)))
                    .primary_key(["id"])
                    .index(Index::new("uq-list-name", ["name"]).unique()),
            ),
        ])
}
