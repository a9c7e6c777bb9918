//! The autodetector: the operations that take one schema to another.

use std::collections::BTreeSet;

use super::ops::{Op, needs_backfill};
use super::schema::{Column, Schema, Table};

/// A rename the autodetector could make: `(table, from, to)`; `table` is empty for a
/// table rename.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenameCandidate {
    /// The table of a column rename; empty for a table rename.
    pub table: String,
    /// The old name.
    pub from: String,
    /// The new name.
    pub to: String,
}

/// How renames are decided.
pub trait RenamePolicy {
    /// Whether `candidate` is a rename. `unambiguous` says that it is the only pairing
    /// of that old and new name.
    fn is_rename(&mut self, candidate: &RenameCandidate, unambiguous: bool) -> bool;
}

/// Renames when unambiguous; drop + add otherwise (the non-interactive default).
#[derive(Debug, Default, Clone, Copy)]
pub struct UnambiguousRenames;

impl RenamePolicy for UnambiguousRenames {
    fn is_rename(&mut self, _: &RenameCandidate, unambiguous: bool) -> bool {
        unambiguous
    }
}

/// Never renames.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoRenames;

impl RenamePolicy for NoRenames {
    fn is_rename(&mut self, _: &RenameCandidate, _: bool) -> bool {
        false
    }
}

/// What the autodetector found.
#[derive(Debug, Default, Clone)]
pub struct Changes {
    /// The operations, in an order the database accepts.
    pub ops: Vec<Op>,
    /// Things the author should look at (one-off backfill values, ambiguous renames).
    pub warnings: Vec<String>,
}

/// Computes the operations that take `from` to `to`.
pub fn diff(from: &Schema, to: &Schema, renames: &mut dyn RenamePolicy) -> Result<Changes, String> {
    let mut state = from.clone();
    let mut out = Changes::default();

    // Table renames: a dropped and a created table with the same columns.
    let removed: Vec<&Table> = from
        .tables
        .values()
        .filter(|t| !to.tables.contains_key(&t.name))
        .collect();
    let added: Vec<&Table> = to
        .tables
        .values()
        .filter(|t| !from.tables.contains_key(&t.name))
        .collect();
    let same_columns = |a: &Table, b: &Table| {
        a.columns.len() == b.columns.len()
            && a.columns
                .iter()
                .all(|c| b.get_column(&c.name).is_some_and(|d| d.same_definition(c)))
    };
    let mut renamed_tables: Vec<(String, String)> = Vec::new();
    for r in &removed {
        let matches: Vec<&&Table> = added.iter().filter(|a| same_columns(r, a)).collect();
        for a in &matches {
            let reverse = removed.iter().filter(|x| same_columns(x, a)).count();
            let candidate = RenameCandidate {
                table: String::new(),
                from: r.name.clone(),
                to: a.name.clone(),
            };
            let taken = renamed_tables
                .iter()
                .any(|(f, t)| *f == r.name || *t == a.name);
            if !taken && renames.is_rename(&candidate, matches.len() == 1 && reverse == 1) {
                renamed_tables.push((r.name.clone(), a.name.clone()));
            } else if !taken && matches.len() > 1 {
                out.warnings.push(format!(
                    "table `{}` may have been renamed to `{}` (ambiguous): generated drop + create",
                    r.name, a.name
                ));
            }
        }
    }

    // Column renames, decided before anything is dropped so that indexes and keys on a
    // renamed column are kept.
    let mut column_renames: Vec<(String, Vec<(String, String)>)> = Vec::new();
    for t in from.tables.values() {
        let Some(target) = target_table(t, to, &renamed_tables) else {
            continue;
        };
        let (gone, new) = column_changes(t, target);
        let mut pairs: Vec<(String, String)> = Vec::new();
        for g in &gone {
            let matches: Vec<&&Column> = new.iter().filter(|n| n.same_definition(g)).collect();
            for n in &matches {
                if pairs.iter().any(|(f, t)| *f == g.name || *t == n.name) {
                    continue;
                }
                let reverse = gone.iter().filter(|x| x.same_definition(n)).count();
                let unambiguous = matches.len() == 1 && reverse == 1;
                let candidate = RenameCandidate {
                    table: target.name.clone(),
                    from: g.name.clone(),
                    to: n.name.clone(),
                };
                if renames.is_rename(&candidate, unambiguous) {
                    pairs.push((g.name.clone(), n.name.clone()));
                } else if !unambiguous {
                    out.warnings.push(format!(
                        "`{}.{}` may have been renamed to `{}` (ambiguous): generated drop + add; \
                         run with --interactive to choose",
                        target.name, g.name, n.name
                    ));
                }
            }
        }
        column_renames.push((target.name.clone(), pairs));
    }
    let renames_of = |table: &str| -> Vec<(String, String)> {
        column_renames
            .iter()
            .find(|(t, _)| t == table)
            .map(|(_, p)| p.clone())
            .unwrap_or_default()
    };

    // 1. Drop foreign keys and indexes that go away or change (tables that stay).
    for t in from.tables.values() {
        let Some(target) = target_table(t, to, &renamed_tables) else {
            continue;
        };
        let pairs = renames_of(&target.name);
        for fk in &t.foreign_keys {
            let mut mapped = fk.clone();
            mapped.columns = map_cols(&fk.columns, &pairs);
            mapped.ref_table = renamed_name(&fk.ref_table, &renamed_tables);
            mapped.ref_columns = map_cols(&fk.ref_columns, &renames_of(&mapped.ref_table));
            if !target.foreign_keys.contains(&mapped) {
                push(
                    Op::drop_foreign_key(&t.name, fk.clone()),
                    &mut state,
                    &mut out,
                )?;
            }
        }
        for idx in &t.indexes {
            let mut mapped = idx.clone();
            mapped.columns = map_cols(&idx.columns, &pairs);
            if !target.indexes.contains(&mapped) {
                push(Op::drop_index(&t.name, idx.clone()), &mut state, &mut out)?;
            }
        }
    }
    // Foreign keys of remaining tables that point at dropped tables were dropped above
    // (their target cannot reference a missing table). Drop tables, children first.
    let dropped: Vec<&Table> = removed
        .iter()
        .filter(|t| !renamed_tables.iter().any(|(f, _)| *f == t.name))
        .copied()
        .collect();
    let mut drop_schema = Schema::new();
    for t in &dropped {
        drop_schema.tables.insert(t.name.clone(), (*t).clone());
    }
    let mut order: Vec<Table> = drop_schema.creation_order().into_iter().cloned().collect();
    order.reverse();
    for t in order {
        let current = state.tables.get(&t.name).cloned().unwrap_or(t);
        push(Op::drop_table(current), &mut state, &mut out)?;
    }
    // 2. Rename tables.
    for (f, t) in &renamed_tables {
        push(Op::rename_table(f, t), &mut state, &mut out)?;
    }
    // 3. Columns of tables that stay: renames, adds, alters, drops.
    let mut later_drops: Vec<Op> = Vec::new();
    for target in to.tables.values() {
        let Some(current) = state.tables.get(&target.name).cloned() else {
            continue;
        };
        let (gone, new) = column_changes(&current, target);
        let pairs = renames_of(&target.name);
        let renamed_cols: BTreeSet<String> = pairs.iter().map(|(_, t)| t.clone()).collect();
        let renamed_from: BTreeSet<String> = pairs.iter().map(|(f, _)| f.clone()).collect();
        for (f, t) in &pairs {
            push(Op::rename_column(&target.name, f, t), &mut state, &mut out)?;
        }
        for n in new.iter().filter(|n| !renamed_cols.contains(&n.name)) {
            let op = if needs_backfill(n) {
                let value = n.ty.zero_value();
                out.warnings.push(format!(
                    "`{}.{}` is NOT NULL without a default: existing rows get {value:?} \
                     (edit the migration to choose another value)",
                    target.name, n.name
                ));
                Op::add_column_backfill(&target.name, (*n).clone(), value)
            } else {
                Op::add_column(&target.name, (*n).clone())
            };
            push(op, &mut state, &mut out)?;
        }
        for c in &target.columns {
            if let Some(old) = current.get_column(&c.name)
                && old != c
            {
                if old.auto_increment != c.auto_increment {
                    return Err(format!(
                        "`{}.{}`: changing auto-increment is not supported by makemigrations",
                        target.name, c.name
                    ));
                }
                push(
                    Op::alter_column(&target.name, old.clone(), c.clone()),
                    &mut state,
                    &mut out,
                )?;
            }
        }
        for g in gone.iter().filter(|g| !renamed_from.contains(&g.name)) {
            later_drops.push(Op::drop_column(&target.name, (*g).clone()));
        }
        if current.primary_key.len() == target.primary_key.len() {
            let now = &state.tables[&target.name].primary_key;
            if *now != target.primary_key {
                return Err(format!(
                    "`{}`: changing the primary key is not supported by makemigrations; \
                     write this migration by hand",
                    target.name
                ));
            }
        } else {
            return Err(format!(
                "`{}`: changing the primary key is not supported by makemigrations; \
                 write this migration by hand",
                target.name
            ));
        }
    }
    for op in later_drops {
        push(op, &mut state, &mut out)?;
    }
    // 4. Create tables, parents first.
    let mut create_schema = Schema::new();
    for t in to.tables.values() {
        if !state.tables.contains_key(&t.name) {
            create_schema.tables.insert(t.name.clone(), t.clone());
        }
    }
    let creation: Vec<Table> = create_schema
        .creation_order()
        .into_iter()
        .cloned()
        .collect();
    let mut deferred_fks = Vec::new();
    for t in creation {
        // A key to a table not created yet (a cycle) is added afterwards.
        let mut t = t;
        let (now, later): (Vec<_>, Vec<_>) = t
            .foreign_keys
            .drain(..)
            .partition(|fk| fk.ref_table == t.name || state.tables.contains_key(&fk.ref_table));
        t.foreign_keys = now;
        deferred_fks.extend(later.into_iter().map(|fk| (t.name.clone(), fk)));
        push(Op::create_table(t), &mut state, &mut out)?;
    }
    for (table, fk) in deferred_fks {
        push(Op::add_foreign_key(&table, fk), &mut state, &mut out)?;
    }
    // 5. Indexes and foreign keys of tables that stay.
    for target in to.tables.values() {
        let current = state.tables[&target.name].clone();
        for idx in &target.indexes {
            if !current.indexes.iter().any(|i| i == idx) {
                push(
                    Op::create_index(&target.name, idx.clone()),
                    &mut state,
                    &mut out,
                )?;
            }
        }
        for fk in &target.foreign_keys {
            if !current.foreign_keys.iter().any(|f| f == fk) {
                push(
                    Op::add_foreign_key(&target.name, fk.clone()),
                    &mut state,
                    &mut out,
                )?;
            }
        }
    }
    if !state.same_as(to) {
        return Err(format!(
            "makemigrations could not reach the models' schema; the difference needs a \
             hand-written migration.\nreached:\n{state}\nwanted:\n{to}"
        ));
    }
    Ok(out)
}

fn target_table<'a>(t: &Table, to: &'a Schema, renamed: &[(String, String)]) -> Option<&'a Table> {
    let name = renamed
        .iter()
        .find(|(f, _)| *f == t.name)
        .map_or(t.name.as_str(), |(_, to)| to.as_str());
    to.tables.get(name)
}

/// The columns of `from` missing from `to`, and the columns of `to` missing from `from`.
fn column_changes<'a>(from: &'a Table, to: &'a Table) -> (Vec<&'a Column>, Vec<&'a Column>) {
    let gone = from
        .columns
        .iter()
        .filter(|c| to.get_column(&c.name).is_none())
        .collect();
    let new = to
        .columns
        .iter()
        .filter(|c| from.get_column(&c.name).is_none())
        .collect();
    (gone, new)
}

fn push(op: Op, state: &mut Schema, out: &mut Changes) -> Result<(), String> {
    op.apply(state)?;
    out.ops.push(op);
    Ok(())
}

fn renamed_name(name: &str, renamed: &[(String, String)]) -> String {
    renamed
        .iter()
        .find(|(f, _)| f == name)
        .map_or_else(|| name.to_owned(), |(_, t)| t.clone())
}

fn map_cols(cols: &[String], pairs: &[(String, String)]) -> Vec<String> {
    cols.iter()
        .map(|c| {
            pairs
                .iter()
                .find(|(f, _)| f == c)
                .map_or_else(|| c.clone(), |(_, t)| t.clone())
        })
        .collect()
}
