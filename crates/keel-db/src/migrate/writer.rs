//! Writes migrations as Rust source the app owns, and keeps `migrations/mod.rs` listing
//! them.

use std::fmt::Write as _;
use std::path::Path;

use super::ops::Op;
use super::schema::{ColType, Column, DefaultValue, FkAction, ForeignKey, Index, Table};

/// The Rust source of a migration module called `name` with these operations.
pub fn migration_source(name: &str, up: &[Op], down: &[Op], summary: &[String]) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "//! Migration `{name}`, written by `db makemigrations`.");
    if !summary.is_empty() {
        s.push_str("//!\n");
        for line in summary {
            let _ = writeln!(s, "//! - {line}");
        }
    }
    s.push_str(
        "//!\n//! Review it, edit it if needed (the `down` list undoes `up`), and commit it.\n\n",
    );
    s.push_str("use keel::db::migrate::*;\n\n");
    s.push_str("/// The migration.\npub(super) fn migration() -> Migration {\n");
    let _ = writeln!(s, "    Migration::new({name:?})");
    write_ops(&mut s, "up", up);
    write_ops(&mut s, "down", down);
    s.push_str("}\n");
    s
}

fn write_ops(s: &mut String, which: &str, ops: &[Op]) {
    let _ = writeln!(s, "        .{which}([");
    for op in ops {
        let _ = writeln!(s, "            {},", op_rust(op, 12));
    }
    s.push_str("        ])\n");
}

fn str_lit(v: &str) -> String {
    format!("{v:?}")
}

fn list(items: &[String]) -> String {
    format!(
        "[{}]",
        items
            .iter()
            .map(|i| str_lit(i))
            .collect::<Vec<_>>()
            .join(", ")
    )
}

/// An operation as a Rust expression.
pub fn op_rust(op: &Op, indent: usize) -> String {
    match op {
        Op::CreateTable(t) => format!("Op::create_table({})", table_rust(t, indent)),
        Op::DropTable(t) => format!("Op::drop_table({})", table_rust(t, indent)),
        Op::RenameTable { from, to } => {
            format!("Op::rename_table({}, {})", str_lit(from), str_lit(to))
        }
        Op::AddColumn {
            table,
            column,
            backfill: None,
        } => format!(
            "Op::add_column({}, {})",
            str_lit(table),
            column_rust(column)
        ),
        Op::AddColumn {
            table,
            column,
            backfill: Some(v),
        } => format!(
            "Op::add_column_backfill({}, {}, {})",
            str_lit(table),
            column_rust(column),
            default_rust(v)
        ),
        Op::DropColumn { table, column } => {
            format!(
                "Op::drop_column({}, {})",
                str_lit(table),
                column_rust(column)
            )
        }
        Op::AlterColumn { table, from, to } => format!(
            "Op::alter_column(\n{pad}    {},\n{pad}    {},\n{pad}    {},\n{pad})",
            str_lit(table),
            column_rust(from),
            column_rust(to),
            pad = " ".repeat(indent)
        ),
        Op::RenameColumn { table, from, to } => format!(
            "Op::rename_column({}, {}, {})",
            str_lit(table),
            str_lit(from),
            str_lit(to)
        ),
        Op::CreateIndex { table, index } => {
            format!(
                "Op::create_index({}, {})",
                str_lit(table),
                index_rust(index)
            )
        }
        Op::DropIndex { table, index } => {
            format!("Op::drop_index({}, {})", str_lit(table), index_rust(index))
        }
        Op::AddForeignKey { table, foreign_key } => format!(
            "Op::add_foreign_key({}, {})",
            str_lit(table),
            fk_rust(foreign_key)
        ),
        Op::DropForeignKey { table, foreign_key } => format!(
            "Op::drop_foreign_key({}, {})",
            str_lit(table),
            fk_rust(foreign_key)
        ),
        Op::Sql { up, down } => format!(
            "Op::sql({}, {})",
            str_lit(up),
            down.as_ref()
                .map_or_else(|| "None".to_owned(), |d| format!("Some({})", str_lit(d)))
        ),
    }
}

fn table_rust(t: &Table, indent: usize) -> String {
    let pad = " ".repeat(indent + 4);
    let mut s = format!("\n{pad}Table::new({})", str_lit(&t.name));
    for c in &t.columns {
        let _ = write!(s, "\n{pad}    .column({})", column_rust(c));
    }
    if !t.primary_key.is_empty() {
        let _ = write!(s, "\n{pad}    .primary_key({})", list(&t.primary_key));
    }
    for i in &t.indexes {
        let _ = write!(s, "\n{pad}    .index({})", index_rust(i));
    }
    for f in &t.foreign_keys {
        let _ = write!(s, "\n{pad}    .foreign_key({})", fk_rust(f));
    }
    let _ = write!(s, ",\n{}", " ".repeat(indent));
    s
}

fn column_rust(c: &Column) -> String {
    let mut s = format!("Column::new({}, {})", str_lit(&c.name), type_rust(&c.ty));
    if c.nullable {
        s.push_str(".nullable()");
    }
    if let Some(d) = &c.default {
        let _ = write!(s, ".default({})", default_rust(d));
    }
    if c.auto_increment {
        s.push_str(".auto_increment()");
    }
    s
}

fn type_rust(t: &ColType) -> String {
    match t {
        ColType::Decimal(Some((p, s))) => format!("ColType::Decimal(Some(({p}, {s})))"),
        ColType::Decimal(None) => "ColType::Decimal(None)".into(),
        ColType::String(Some(n)) => format!("ColType::String(Some({n}))"),
        ColType::String(None) => "ColType::String(None)".into(),
        ColType::Char(Some(n)) => format!("ColType::Char(Some({n}))"),
        ColType::Char(None) => "ColType::Char(None)".into(),
        other => format!("ColType::{other:?}"),
    }
}

fn default_rust(d: &DefaultValue) -> String {
    match d {
        DefaultValue::Bool(b) => format!("DefaultValue::Bool({b})"),
        DefaultValue::Int(n) => format!("DefaultValue::Int({n})"),
        DefaultValue::Number(n) => format!("DefaultValue::Number({}.into())", str_lit(n)),
        DefaultValue::Str(v) => format!("DefaultValue::Str({}.into())", str_lit(v)),
        DefaultValue::CurrentTimestamp => "DefaultValue::CurrentTimestamp".into(),
        DefaultValue::Expr(e) => format!("DefaultValue::Expr({}.into())", str_lit(e)),
    }
}

fn index_rust(i: &Index) -> String {
    format!(
        "Index::new({}, {}){}",
        str_lit(&i.name),
        list(&i.columns),
        if i.unique { ".unique()" } else { "" }
    )
}

fn fk_action_rust(a: FkAction) -> String {
    format!("FkAction::{a:?}")
}

fn fk_rust(f: &ForeignKey) -> String {
    let mut s = format!(
        "ForeignKey::new({}, {}, {}, {})",
        str_lit(&f.name),
        list(&f.columns),
        str_lit(&f.ref_table),
        list(&f.ref_columns)
    );
    if let Some(a) = f.on_delete {
        let _ = write!(s, ".on_delete({})", fk_action_rust(a));
    }
    if let Some(a) = f.on_update {
        let _ = write!(s, ".on_update({})", fk_action_rust(a));
    }
    s
}

/// The module name of migration `name` (`0002_add_slug` → `m0002_add_slug`).
pub fn module_name(name: &str) -> String {
    format!("m{name}")
}

/// The source of `migrations/mod.rs` listing `names` in order.
pub fn mod_source(names: &[String]) -> String {
    let mut s = String::from(
        "//! The app's migrations, oldest first. `db makemigrations` keeps this file up to date.\n\n",
    );
    for n in names {
        let _ = writeln!(s, "mod {};", module_name(n));
    }
    s.push_str("\n/// Every migration, in order.\npub fn all() -> Vec<keel::db::migrate::Migration> {\n    vec![\n");
    for n in names {
        let _ = writeln!(s, "        {}::migration(),", module_name(n));
    }
    s.push_str("    ]\n}\n");
    s
}

/// The migration names listed in an existing `mod.rs` (its `mod m…;` lines).
pub fn names_in_mod(dir: &Path) -> Vec<String> {
    let Ok(text) = std::fs::read_to_string(dir.join("mod.rs")) else {
        return Vec::new();
    };
    text.lines()
        .filter_map(|l| {
            l.trim()
                .strip_prefix("mod m")?
                .strip_suffix(';')
                .map(str::to_owned)
        })
        .collect()
}

/// A migration name from a number and a description (`2`, `add post slug` →
/// `0002_add_post_slug`).
pub fn migration_name(number: usize, description: &str) -> String {
    let slug: String = description
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    let slug = slug
        .split('_')
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join("_");
    let slug = if slug.is_empty() {
        "auto".to_owned()
    } else {
        slug
    };
    let slug: String = slug.chars().take(60).collect();
    format!("{number:04}_{slug}")
}

/// A short automatic description of `ops` for a migration name.
pub fn auto_description(ops: &[Op]) -> String {
    match ops {
        [] => "empty".into(),
        [Op::CreateTable(t), ..] if ops.iter().all(|o| matches!(o, Op::CreateTable(_))) => {
            if ops.len() == 1 {
                format!("create_{}", t.name)
            } else {
                "initial".into()
            }
        }
        [Op::AddColumn { table, column, .. }] => format!("add_{table}_{}", column.name),
        [Op::DropColumn { table, column }] => format!("remove_{table}_{}", column.name),
        [Op::AlterColumn { table, to, .. }] => format!("alter_{table}_{}", to.name),
        [Op::RenameColumn { table, to, .. }] => format!("rename_{table}_{to}"),
        [Op::DropTable(t)] => format!("delete_{}", t.name),
        _ => "auto".into(),
    }
}
