//! Migration `0002_add_todo_priority`, written by `db makemigrations`.
//!
//! - add column todo.priority
//!
//! Review it, edit it if needed (the `down` list undoes `up`), and commit it.

use keel::db::migrate::*;

/// The migration.
pub(super) fn migration() -> Migration {
    Migration::new("0002_add_todo_priority")
        .up([Op::add_column(
            "todo",
            Column::new("priority", ColType::Integer).default(DefaultValue::Int(0)),
        )])
        .down([Op::drop_column(
            "todo",
            Column::new("priority", ColType::Integer).default(DefaultValue::Int(0)),
        )])
}
