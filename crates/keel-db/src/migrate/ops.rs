//! Migration operations and the [`Migration`] they make up.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::schema::{Column, DefaultValue, ForeignKey, Index, Schema, Table};

/// One schema change. Every operation carries what it needs to be reversed (a dropped
/// column keeps its definition), so `down` can always be derived from `up`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Op {
    /// `CREATE TABLE`, with its indexes.
    CreateTable(Table),
    /// `DROP TABLE`.
    DropTable(Table),
    /// Rename a table.
    RenameTable {
        /// Old name.
        from: String,
        /// New name.
        to: String,
    },
    /// Add a column. A NOT NULL column without default is filled with `backfill` in
    /// existing rows.
    AddColumn {
        /// The table.
        table: String,
        /// The new column.
        column: Column,
        /// The one-off value for existing rows.
        backfill: Option<DefaultValue>,
    },
    /// Drop a column.
    DropColumn {
        /// The table.
        table: String,
        /// The dropped column, as it was.
        column: Column,
    },
    /// Change a column's type, nullability or default.
    AlterColumn {
        /// The table.
        table: String,
        /// The column before.
        from: Column,
        /// The column after (same name).
        to: Column,
    },
    /// Rename a column (indexes and foreign keys follow).
    RenameColumn {
        /// The table.
        table: String,
        /// Old name.
        from: String,
        /// New name.
        to: String,
    },
    /// `CREATE [UNIQUE] INDEX`.
    CreateIndex {
        /// The table.
        table: String,
        /// The index.
        index: Index,
    },
    /// `DROP INDEX`.
    DropIndex {
        /// The table.
        table: String,
        /// The index, as it was.
        index: Index,
    },
    /// Add a foreign key.
    AddForeignKey {
        /// The referencing table.
        table: String,
        /// The key.
        foreign_key: ForeignKey,
    },
    /// Drop a foreign key.
    DropForeignKey {
        /// The referencing table.
        table: String,
        /// The key, as it was.
        foreign_key: ForeignKey,
    },
    /// Raw SQL (data migrations); not seen by the schema model.
    Sql {
        /// Run when applying.
        up: String,
        /// Run when rolling back (`None`: irreversible).
        down: Option<String>,
    },
}

impl Op {
    /// Creates a table.
    pub fn create_table(table: Table) -> Self {
        Op::CreateTable(table)
    }

    /// Drops a table (its definition is kept for rollback).
    pub fn drop_table(table: Table) -> Self {
        Op::DropTable(table)
    }

    /// Renames a table.
    pub fn rename_table(from: &str, to: &str) -> Self {
        Op::RenameTable {
            from: from.into(),
            to: to.into(),
        }
    }

    /// Adds a column.
    pub fn add_column(table: &str, column: Column) -> Self {
        Op::AddColumn {
            table: table.into(),
            column,
            backfill: None,
        }
    }

    /// Adds a NOT NULL column, filling existing rows with `backfill`.
    pub fn add_column_backfill(table: &str, column: Column, backfill: DefaultValue) -> Self {
        Op::AddColumn {
            table: table.into(),
            column,
            backfill: Some(backfill),
        }
    }

    /// Drops a column.
    pub fn drop_column(table: &str, column: Column) -> Self {
        Op::DropColumn {
            table: table.into(),
            column,
        }
    }

    /// Alters a column.
    pub fn alter_column(table: &str, from: Column, to: Column) -> Self {
        Op::AlterColumn {
            table: table.into(),
            from,
            to,
        }
    }

    /// Renames a column.
    pub fn rename_column(table: &str, from: &str, to: &str) -> Self {
        Op::RenameColumn {
            table: table.into(),
            from: from.into(),
            to: to.into(),
        }
    }

    /// Creates an index.
    pub fn create_index(table: &str, index: Index) -> Self {
        Op::CreateIndex {
            table: table.into(),
            index,
        }
    }

    /// Drops an index.
    pub fn drop_index(table: &str, index: Index) -> Self {
        Op::DropIndex {
            table: table.into(),
            index,
        }
    }

    /// Adds a foreign key.
    pub fn add_foreign_key(table: &str, foreign_key: ForeignKey) -> Self {
        Op::AddForeignKey {
            table: table.into(),
            foreign_key,
        }
    }

    /// Drops a foreign key.
    pub fn drop_foreign_key(table: &str, foreign_key: ForeignKey) -> Self {
        Op::DropForeignKey {
            table: table.into(),
            foreign_key,
        }
    }

    /// Raw SQL, with the SQL that undoes it (`None` makes the migration irreversible).
    pub fn sql(up: impl Into<String>, down: Option<&str>) -> Self {
        Op::Sql {
            up: up.into(),
            down: down.map(str::to_owned),
        }
    }

    /// The operation that undoes this one, or `None` for irreversible raw SQL.
    pub fn reverse(&self) -> Option<Op> {
        Some(match self {
            Op::CreateTable(t) => Op::DropTable(t.clone()),
            Op::DropTable(t) => Op::CreateTable(t.clone()),
            Op::RenameTable { from, to } => Op::rename_table(to, from),
            Op::AddColumn { table, column, .. } => Op::drop_column(table, column.clone()),
            Op::DropColumn { table, column } => Op::AddColumn {
                table: table.clone(),
                column: column.clone(),
                backfill: needs_backfill(column).then(|| column.ty.zero_value()),
            },
            Op::AlterColumn { table, from, to } => {
                Op::alter_column(table, to.clone(), from.clone())
            }
            Op::RenameColumn { table, from, to } => Op::rename_column(table, to, from),
            Op::CreateIndex { table, index } => Op::drop_index(table, index.clone()),
            Op::DropIndex { table, index } => Op::create_index(table, index.clone()),
            Op::AddForeignKey { table, foreign_key } => {
                Op::drop_foreign_key(table, foreign_key.clone())
            }
            Op::DropForeignKey { table, foreign_key } => {
                Op::add_foreign_key(table, foreign_key.clone())
            }
            Op::Sql { up, down } => Op::Sql {
                up: down.clone()?,
                down: Some(up.clone()),
            },
        })
    }

    /// Applies the operation to the in-memory schema, refusing what the database would
    /// refuse (a missing table, a duplicate column, dropping an indexed column…).
    pub fn apply(&self, schema: &mut Schema) -> Result<(), String> {
        match self {
            Op::CreateTable(t) => {
                if schema.tables.contains_key(&t.name) {
                    return Err(format!("table `{}` already exists", t.name));
                }
                schema.tables.insert(t.name.clone(), t.clone());
            }
            Op::DropTable(t) => {
                if schema.tables.remove(&t.name).is_none() {
                    return Err(format!("table `{}` does not exist", t.name));
                }
                for other in schema.tables.values() {
                    if let Some(fk) = other.foreign_keys.iter().find(|f| f.ref_table == t.name) {
                        return Err(format!(
                            "table `{}` is referenced by foreign key `{}` of `{}`",
                            t.name, fk.name, other.name
                        ));
                    }
                }
            }
            Op::RenameTable { from, to } => {
                if schema.tables.contains_key(to) {
                    return Err(format!("table `{to}` already exists"));
                }
                let mut t = schema
                    .tables
                    .remove(from)
                    .ok_or_else(|| format!("table `{from}` does not exist"))?;
                t.name.clone_from(to);
                for fk in &mut t.foreign_keys {
                    if fk.ref_table == *from {
                        fk.ref_table.clone_from(to);
                    }
                }
                schema.tables.insert(to.clone(), t);
                for other in schema.tables.values_mut() {
                    for fk in &mut other.foreign_keys {
                        if fk.ref_table == *from {
                            fk.ref_table.clone_from(to);
                        }
                    }
                }
            }
            Op::AddColumn { table, column, .. } => {
                let t = table_mut(schema, table)?;
                if t.get_column(&column.name).is_some() {
                    return Err(format!("column `{table}.{}` already exists", column.name));
                }
                t.columns.push(column.clone());
            }
            Op::DropColumn { table, column } => {
                let t = table_mut(schema, table)?;
                if t.get_column(&column.name).is_none() {
                    return Err(format!("column `{table}.{}` does not exist", column.name));
                }
                if let Some(user) = t.column_is_referenced(&column.name) {
                    return Err(format!(
                        "column `{table}.{}` is used by {user}; drop that first",
                        column.name
                    ));
                }
                t.columns.retain(|c| c.name != column.name);
            }
            Op::AlterColumn { table, from, to } => {
                if from.name != to.name {
                    return Err("alter_column cannot rename; use rename_column".into());
                }
                let t = table_mut(schema, table)?;
                let c = t
                    .columns
                    .iter_mut()
                    .find(|c| c.name == from.name)
                    .ok_or_else(|| format!("column `{table}.{}` does not exist", from.name))?;
                *c = to.clone();
            }
            Op::RenameColumn { table, from, to } => {
                let t = table_mut(schema, table)?;
                if t.get_column(to).is_some() {
                    return Err(format!("column `{table}.{to}` already exists"));
                }
                let c = t
                    .columns
                    .iter_mut()
                    .find(|c| c.name == *from)
                    .ok_or_else(|| format!("column `{table}.{from}` does not exist"))?;
                c.name.clone_from(to);
                let rename = |cols: &mut Vec<String>| {
                    for c in cols.iter_mut() {
                        if c == from {
                            c.clone_from(to);
                        }
                    }
                };
                rename(&mut t.primary_key);
                for i in &mut t.indexes {
                    rename(&mut i.columns);
                }
                for f in &mut t.foreign_keys {
                    rename(&mut f.columns);
                }
                let table_name = t.name.clone();
                for other in schema.tables.values_mut() {
                    for f in &mut other.foreign_keys {
                        if f.ref_table == table_name {
                            rename(&mut f.ref_columns);
                        }
                    }
                }
            }
            Op::CreateIndex { table, index } => {
                if schema
                    .tables
                    .values()
                    .any(|t| t.indexes.iter().any(|i| i.name == index.name))
                {
                    return Err(format!("index `{}` already exists", index.name));
                }
                let t = table_mut(schema, table)?;
                for c in &index.columns {
                    if t.get_column(c).is_none() {
                        return Err(format!("index `{}`: no column `{table}.{c}`", index.name));
                    }
                }
                t.indexes.push(index.clone());
            }
            Op::DropIndex { table, index } => {
                let t = table_mut(schema, table)?;
                let before = t.indexes.len();
                t.indexes.retain(|i| i.name != index.name);
                if t.indexes.len() == before {
                    return Err(format!(
                        "index `{}` does not exist on `{table}`",
                        index.name
                    ));
                }
            }
            Op::AddForeignKey { table, foreign_key } => {
                if !schema.tables.contains_key(&foreign_key.ref_table) {
                    return Err(format!(
                        "foreign key `{}` references missing table `{}`",
                        foreign_key.name, foreign_key.ref_table
                    ));
                }
                let t = table_mut(schema, table)?;
                if t.foreign_keys.iter().any(|f| f.name == foreign_key.name) {
                    return Err(format!("foreign key `{}` already exists", foreign_key.name));
                }
                t.foreign_keys.push(foreign_key.clone());
            }
            Op::DropForeignKey { table, foreign_key } => {
                let t = table_mut(schema, table)?;
                let before = t.foreign_keys.len();
                t.foreign_keys.retain(|f| f.name != foreign_key.name);
                if t.foreign_keys.len() == before {
                    return Err(format!(
                        "foreign key `{}` does not exist on `{table}`",
                        foreign_key.name
                    ));
                }
            }
            Op::Sql { .. } => {}
        }
        Ok(())
    }

    /// A one-line description, for `db status` and makemigrations' summary.
    pub fn describe(&self) -> String {
        match self {
            Op::CreateTable(t) => format!("create table {}", t.name),
            Op::DropTable(t) => format!("drop table {}", t.name),
            Op::RenameTable { from, to } => format!("rename table {from} to {to}"),
            Op::AddColumn { table, column, .. } => format!("add column {table}.{}", column.name),
            Op::DropColumn { table, column } => format!("drop column {table}.{}", column.name),
            Op::AlterColumn { table, to, .. } => format!("alter column {table}.{}", to.name),
            Op::RenameColumn { table, from, to } => {
                format!("rename column {table}.{from} to {to}")
            }
            Op::CreateIndex { table, index } => format!("create index {} on {table}", index.name),
            Op::DropIndex { table, index } => format!("drop index {} on {table}", index.name),
            Op::AddForeignKey { table, foreign_key } => {
                format!("add foreign key {} on {table}", foreign_key.name)
            }
            Op::DropForeignKey { table, foreign_key } => {
                format!("drop foreign key {} on {table}", foreign_key.name)
            }
            Op::Sql { .. } => "run SQL".into(),
        }
    }
}

/// Whether adding `column` to a table with rows needs a one-off value.
pub(crate) fn needs_backfill(column: &Column) -> bool {
    !column.nullable && column.default.is_none() && !column.auto_increment
}

fn table_mut<'a>(schema: &'a mut Schema, name: &str) -> Result<&'a mut Table, String> {
    schema
        .tables
        .get_mut(name)
        .ok_or_else(|| format!("table `{name}` does not exist"))
}

/// A named, versioned list of operations with the list that undoes them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Migration {
    name: String,
    up: Vec<Op>,
    down: Option<Vec<Op>>,
}

impl Migration {
    /// A migration called `name` (`0001_initial`); names are unique in an app.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            up: Vec::new(),
            down: None,
        }
    }

    /// The operations that apply it.
    #[must_use]
    pub fn up(mut self, ops: impl IntoIterator<Item = Op>) -> Self {
        self.up = ops.into_iter().collect();
        self
    }

    /// The operations that undo it. When not given, they are derived from `up`.
    #[must_use]
    pub fn down(mut self, ops: impl IntoIterator<Item = Op>) -> Self {
        self.down = Some(ops.into_iter().collect());
        self
    }

    /// Its name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The forward operations.
    pub fn up_ops(&self) -> &[Op] {
        &self.up
    }

    /// The operations that undo it, or why it cannot be undone.
    pub fn down_ops(&self) -> Result<Vec<Op>, String> {
        if let Some(down) = &self.down {
            return Ok(down.clone());
        }
        self.up
            .iter()
            .rev()
            .map(|op| {
                op.reverse().ok_or_else(|| {
                    format!(
                        "migration {} is irreversible ({})",
                        self.name,
                        op.describe()
                    )
                })
            })
            .collect()
    }

    /// A checksum of its operations: an applied migration whose checksum changed was
    /// edited after it ran.
    pub fn checksum(&self) -> String {
        let json = serde_json::to_string(&(&self.up, &self.down)).unwrap_or_default();
        let digest = Sha256::digest(json.as_bytes());
        digest.iter().take(16).map(|b| format!("{b:02x}")).collect()
    }
}

/// The schema that `migrations` produce, replayed in memory.
pub fn replay(migrations: &[Migration]) -> Result<Schema, String> {
    let mut schema = Schema::new();
    for m in migrations {
        for op in &m.up {
            op.apply(&mut schema)
                .map_err(|e| format!("migration {}: {e}", m.name))?;
        }
    }
    Ok(schema)
}
