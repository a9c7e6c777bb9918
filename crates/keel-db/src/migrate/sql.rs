//! Operations rendered as SQL for SQLite, Postgres and MySQL/MariaDB.
//!
//! SQLite cannot alter a column or add and drop foreign keys in place; for those the
//! table is rebuilt (create the new shape, copy the rows, drop, rename), which the
//! runner does with foreign-key enforcement off and `PRAGMA foreign_key_check` before
//! commit, as SQLite's documentation prescribes.

use super::Backend as DbBackend;

use super::ops::Op;
use super::schema::{ColType, Column, DefaultValue, ForeignKey, Index, Schema, Table};

/// The SQL statements that apply `op` to a database whose schema is `before`.
pub fn op_statements(op: &Op, before: &Schema, backend: DbBackend) -> Result<Vec<String>, String> {
    let mut after = before.clone();
    op.apply(&mut after)?;
    let b = backend;
    Ok(match op {
        Op::CreateTable(t) => create_table(t, b),
        Op::DropTable(t) => vec![format!("DROP TABLE {}", q(&t.name, b))],
        Op::RenameTable { from, to } => {
            vec![format!("ALTER TABLE {} RENAME TO {}", q(from, b), q(to, b))]
        }
        Op::AddColumn {
            table,
            column,
            backfill,
        } => {
            let new = after.tables.get(table).ok_or("table vanished")?;
            match b {
                DbBackend::Sqlite => {
                    let constant_default = matches!(
                        column.default,
                        None | Some(
                            DefaultValue::Bool(_)
                                | DefaultValue::Int(_)
                                | DefaultValue::Number(_)
                                | DefaultValue::Str(_)
                        )
                    );
                    if backfill.is_none() && constant_default {
                        vec![format!(
                            "ALTER TABLE {} ADD COLUMN {}",
                            q(table, b),
                            column_sql(column, b, false)
                        )]
                    } else {
                        let old = before.tables.get(table).ok_or("no such table")?;
                        let fill = backfill
                            .as_ref()
                            .map(|v| literal(v, b))
                            .or_else(|| column.default.as_ref().map(|v| literal(v, b)))
                            .unwrap_or_else(|| "NULL".into());
                        sqlite_rebuild(old, new, &[(column.name.as_str(), fill)])
                    }
                }
                _ => match backfill {
                    None => vec![format!(
                        "ALTER TABLE {} ADD COLUMN {}",
                        q(table, b),
                        column_sql(column, b, false)
                    )],
                    Some(value) => {
                        let with_default = Column {
                            default: Some(value.clone()),
                            ..column.clone()
                        };
                        vec![
                            format!(
                                "ALTER TABLE {} ADD COLUMN {}",
                                q(table, b),
                                column_sql(&with_default, b, false)
                            ),
                            format!(
                                "ALTER TABLE {} ALTER COLUMN {} DROP DEFAULT",
                                q(table, b),
                                q(&column.name, b)
                            ),
                        ]
                    }
                },
            }
        }
        Op::DropColumn { table, column } => vec![format!(
            "ALTER TABLE {} DROP COLUMN {}",
            q(table, b),
            q(&column.name, b)
        )],
        Op::AlterColumn { table, from, to } => {
            if from.auto_increment != to.auto_increment {
                return Err(format!(
                    "changing auto-increment of `{table}.{}` is not supported; write this \
                     migration by hand with Op::sql",
                    to.name
                ));
            }
            match b {
                DbBackend::Sqlite => {
                    let old = before.tables.get(table).ok_or("no such table")?;
                    let new = after.tables.get(table).ok_or("table vanished")?;
                    sqlite_rebuild(old, new, &[])
                }
                DbBackend::MySql => vec![format!(
                    "ALTER TABLE {} MODIFY COLUMN {}",
                    q(table, b),
                    column_sql(to, b, false)
                )],
                DbBackend::Postgres => postgres_alter(table, from, to),
            }
        }
        Op::RenameColumn { table, from, to } => vec![format!(
            "ALTER TABLE {} RENAME COLUMN {} TO {}",
            q(table, b),
            q(from, b),
            q(to, b)
        )],
        Op::CreateIndex { table, index } => vec![create_index(table, index, after.table(table), b)],
        Op::DropIndex { table, index } => vec![match b {
            DbBackend::MySql => format!("DROP INDEX {} ON {}", q(&index.name, b), q(table, b)),
            _ => format!("DROP INDEX {}", q(&index.name, b)),
        }],
        Op::AddForeignKey { table, foreign_key } => match b {
            DbBackend::Sqlite => {
                let old = before.tables.get(table).ok_or("no such table")?;
                let new = after.tables.get(table).ok_or("table vanished")?;
                sqlite_rebuild(old, new, &[])
            }
            _ => vec![format!(
                "ALTER TABLE {} ADD {}",
                q(table, b),
                foreign_key_sql(foreign_key, b)
            )],
        },
        Op::DropForeignKey { table, foreign_key } => match b {
            DbBackend::Sqlite => {
                let old = before.tables.get(table).ok_or("no such table")?;
                let new = after.tables.get(table).ok_or("table vanished")?;
                sqlite_rebuild(old, new, &[])
            }
            DbBackend::MySql => vec![
                format!(
                    "ALTER TABLE {} DROP FOREIGN KEY {}",
                    q(table, b),
                    q(&foreign_key.name, b)
                ),
                // MySQL created an index named after the key when the key needed one;
                // it outlives the key unless dropped (MariaDB syntax).
                format!(
                    "DROP INDEX IF EXISTS {} ON {}",
                    q(&foreign_key.name, b),
                    q(table, b)
                ),
            ],
            DbBackend::Postgres => vec![format!(
                "ALTER TABLE {} DROP CONSTRAINT {}",
                q(table, b),
                q(&foreign_key.name, b)
            )],
        },
        Op::Sql { up, .. } => vec![up.clone()],
    })
}

/// Quotes an identifier.
pub fn q(name: &str, backend: DbBackend) -> String {
    match backend {
        DbBackend::MySql => format!("`{}`", name.replace('`', "``")),
        _ => format!("\"{}\"", name.replace('"', "\"\"")),
    }
}

/// The column type as the backend spells it.
pub fn type_sql(ty: &ColType, backend: DbBackend) -> String {
    use super::Backend::{MySql, Postgres, Sqlite};
    let s = match (ty, backend) {
        (ColType::TinyInteger, Postgres) => "smallint",
        (ColType::TinyInteger, _) => "tinyint",
        (ColType::SmallInteger, _) => "smallint",
        (ColType::Integer, MySql) => "int",
        (ColType::Integer, _) => "integer",
        (ColType::BigInteger, _) => "bigint",
        (ColType::TinyUnsigned, Postgres) => "smallint",
        (ColType::TinyUnsigned, MySql) => "tinyint unsigned",
        (ColType::TinyUnsigned, Sqlite) => "tinyint",
        (ColType::SmallUnsigned, Postgres) => "integer",
        (ColType::SmallUnsigned, MySql) => "smallint unsigned",
        (ColType::SmallUnsigned, Sqlite) => "smallint",
        (ColType::Unsigned, Postgres) => "bigint",
        (ColType::Unsigned, MySql) => "int unsigned",
        (ColType::Unsigned, Sqlite) => "integer",
        (ColType::BigUnsigned, MySql) => "bigint unsigned",
        (ColType::BigUnsigned, _) => "bigint",
        (ColType::Float, MySql) => "float",
        (ColType::Float, _) => "real",
        (ColType::Double, Postgres) => "double precision",
        (ColType::Double, _) => "double",
        (ColType::Decimal(Some((p, s))), _) => return format!("decimal({p}, {s})"),
        (ColType::Decimal(None), _) => "decimal",
        (ColType::Boolean, MySql) => "bool",
        (ColType::Boolean, _) => "boolean",
        (ColType::String(Some(n)), _) => return format!("varchar({n})"),
        (ColType::String(None), MySql) => "varchar(255)",
        (ColType::String(None), _) => "varchar",
        (ColType::Char(Some(n)), _) => return format!("char({n})"),
        (ColType::Char(None), _) => "char(1)",
        (ColType::Text, _) => "text",
        (ColType::Date, Sqlite) => "date_text",
        (ColType::Date, _) => "date",
        (ColType::Time, Sqlite) => "time_text",
        (ColType::Time, _) => "time",
        (ColType::DateTime, Postgres) => "timestamp",
        (ColType::DateTime, MySql) => "datetime",
        (ColType::DateTime, Sqlite) => "datetime_text",
        (ColType::TimestampTz, Postgres) => "timestamp with time zone",
        (ColType::TimestampTz, MySql) => "timestamp",
        (ColType::TimestampTz, Sqlite) => "timestamp_with_timezone_text",
        (ColType::Json, Sqlite) => "json_text",
        (ColType::Json, _) => "json",
        (ColType::JsonBinary, Postgres) => "jsonb",
        (ColType::JsonBinary, MySql) => "json",
        (ColType::JsonBinary, Sqlite) => "jsonb_text",
        (ColType::Uuid, Postgres) => "uuid",
        (ColType::Uuid, MySql) => "binary(16)",
        (ColType::Uuid, Sqlite) => "uuid_text",
        (ColType::Blob, Postgres) => "bytea",
        (ColType::Blob, _) => "blob",
    };
    s.to_owned()
}

/// A default value as an SQL literal.
pub fn literal(value: &DefaultValue, backend: DbBackend) -> String {
    match value {
        DefaultValue::Bool(v) => match backend {
            DbBackend::Postgres => if *v { "TRUE" } else { "FALSE" }.into(),
            _ => if *v { "1" } else { "0" }.into(),
        },
        DefaultValue::Int(v) => v.to_string(),
        DefaultValue::Number(v) => v.clone(),
        DefaultValue::Str(v) => format!("'{}'", v.replace('\'', "''")),
        DefaultValue::CurrentTimestamp => "CURRENT_TIMESTAMP".into(),
        DefaultValue::Expr(e) => e.clone(),
    }
}

fn default_sql(value: &DefaultValue, backend: DbBackend) -> String {
    let lit = literal(value, backend);
    // SQLite takes expressions as defaults only in parentheses.
    match (value, backend) {
        (DefaultValue::Expr(_), DbBackend::Sqlite | DbBackend::MySql) => format!("({lit})"),
        _ => lit,
    }
}

/// A column definition. `inline_pk` makes an auto-increment column its table's primary key.
pub fn column_sql(c: &Column, backend: DbBackend, inline_pk: bool) -> String {
    // SQLite numbers rows only through `INTEGER PRIMARY KEY` (64-bit whatever the
    // declared width), so an auto-increment key of any integer type is spelt so.
    let ty = if backend == DbBackend::Sqlite && c.auto_increment && inline_pk {
        "integer".to_owned()
    } else {
        type_sql(&c.ty, backend)
    };
    let mut s = format!("{} {ty}", q(&c.name, backend));
    if !c.nullable {
        s.push_str(" NOT NULL");
    }
    if let Some(d) = &c.default {
        s.push_str(" DEFAULT ");
        s.push_str(&default_sql(d, backend));
    }
    if c.auto_increment {
        match backend {
            DbBackend::Postgres => s.push_str(" GENERATED BY DEFAULT AS IDENTITY"),
            DbBackend::MySql => s.push_str(" AUTO_INCREMENT"),
            DbBackend::Sqlite => {}
        }
        if inline_pk {
            s.push_str(" PRIMARY KEY");
            if backend == DbBackend::Sqlite {
                s.push_str(" AUTOINCREMENT");
            }
        }
    }
    s
}

fn foreign_key_sql(fk: &ForeignKey, b: DbBackend) -> String {
    let mut s = format!(
        "CONSTRAINT {} FOREIGN KEY ({}) REFERENCES {} ({})",
        q(&fk.name, b),
        cols(&fk.columns, b),
        q(&fk.ref_table, b),
        cols(&fk.ref_columns, b)
    );
    if let Some(a) = fk.on_delete {
        s.push_str(" ON DELETE ");
        s.push_str(a.sql());
    }
    if let Some(a) = fk.on_update {
        s.push_str(" ON UPDATE ");
        s.push_str(a.sql());
    }
    s
}

fn cols(names: &[String], b: DbBackend) -> String {
    names.iter().map(|n| q(n, b)).collect::<Vec<_>>().join(", ")
}

fn create_table_sql(t: &Table, name: &str, b: DbBackend) -> String {
    let inline_pk = t.primary_key.len() == 1
        && t.get_column(&t.primary_key[0])
            .is_some_and(|c| c.auto_increment);
    let mut parts: Vec<String> = t
        .columns
        .iter()
        .map(|c| column_sql(c, b, inline_pk && c.name == t.primary_key[0]))
        .collect();
    if !inline_pk && !t.primary_key.is_empty() {
        parts.push(format!("PRIMARY KEY ({})", cols(&t.primary_key, b)));
    }
    for fk in &t.foreign_keys {
        parts.push(foreign_key_sql(fk, b));
    }
    format!(
        "CREATE TABLE {} (\n  {}\n)",
        q(name, b),
        parts.join(",\n  ")
    )
}

fn create_index(table: &str, index: &Index, t: Option<&Table>, b: DbBackend) -> String {
    let columns: Vec<String> = index
        .columns
        .iter()
        .map(|c| {
            let long = t
                .and_then(|t| t.get_column(c))
                .is_some_and(|c| matches!(c.ty, ColType::Text | ColType::Blob | ColType::Json));
            // MySQL indexes only a prefix of text and blob columns.
            if b == DbBackend::MySql && long {
                format!("{}(255)", q(c, b))
            } else {
                q(c, b)
            }
        })
        .collect();
    format!(
        "CREATE {}INDEX {} ON {} ({})",
        if index.unique { "UNIQUE " } else { "" },
        q(&index.name, b),
        q(table, b),
        columns.join(", ")
    )
}

fn create_table(t: &Table, b: DbBackend) -> Vec<String> {
    let mut out = vec![create_table_sql(t, &t.name, b)];
    out.extend(
        t.indexes
            .iter()
            .map(|i| create_index(&t.name, i, Some(t), b)),
    );
    out
}

fn postgres_alter(table: &str, from: &Column, to: &Column) -> Vec<String> {
    let b = DbBackend::Postgres;
    let prefix = format!(
        "ALTER TABLE {} ALTER COLUMN {}",
        q(table, b),
        q(&to.name, b)
    );
    let mut out = Vec::new();
    let default_changed = from.default != to.default;
    if default_changed && from.default.is_some() {
        out.push(format!("{prefix} DROP DEFAULT"));
    }
    if from.ty != to.ty {
        let ty = type_sql(&to.ty, b);
        out.push(format!("{prefix} TYPE {ty} USING {}::{ty}", q(&to.name, b)));
    }
    if from.nullable != to.nullable {
        out.push(format!(
            "{prefix} {} NOT NULL",
            if to.nullable { "DROP" } else { "SET" }
        ));
    }
    if default_changed && let Some(d) = &to.default {
        out.push(format!("{prefix} SET DEFAULT {}", default_sql(d, b)));
    }
    out
}

/// SQLite's table rebuild: `fill` gives values for new columns of `new`.
fn sqlite_rebuild(old: &Table, new: &Table, fill: &[(&str, String)]) -> Vec<String> {
    let b = DbBackend::Sqlite;
    let tmp = format!("_keel_new_{}", new.name);
    let mut targets = Vec::new();
    let mut sources = Vec::new();
    for c in &new.columns {
        if old.get_column(&c.name).is_some() {
            targets.push(q(&c.name, b));
            sources.push(q(&c.name, b));
        } else if let Some((_, value)) = fill.iter().find(|(n, _)| *n == c.name) {
            targets.push(q(&c.name, b));
            sources.push(value.clone());
        }
    }
    let mut out = vec![
        create_table_sql(new, &tmp, b),
        format!(
            "INSERT INTO {} ({}) SELECT {} FROM {}",
            q(&tmp, b),
            targets.join(", "),
            sources.join(", "),
            q(&old.name, b)
        ),
        format!("DROP TABLE {}", q(&old.name, b)),
        format!("ALTER TABLE {} RENAME TO {}", q(&tmp, b), q(&new.name, b)),
    ];
    out.extend(
        new.indexes
            .iter()
            .map(|i| create_index(&new.name, i, Some(new), b)),
    );
    out
}
