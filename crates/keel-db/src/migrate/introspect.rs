//! Reads the live schema of a database in a normalised form, so that two databases can
//! be compared: the one a chain of migrations produced and one created fresh.

use std::collections::{BTreeMap, BTreeSet};

use sea_orm::{ConnectionTrait, DbErr, QueryResult, Statement};

use super::Backend;

use super::runner::MIGRATIONS_TABLE;

/// A live column: the type as the database reports it, nullability and default.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct LiveColumn {
    /// The type, as reported.
    pub ty: String,
    /// Whether it accepts NULL.
    pub nullable: bool,
    /// The default, as reported.
    pub default: Option<String>,
}

/// A live table.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LiveTable {
    /// Columns by name.
    pub columns: BTreeMap<String, LiveColumn>,
    /// Primary key columns, in order.
    pub primary_key: Vec<String>,
    /// `(name, columns, unique)` of each index (primary key excluded).
    pub indexes: BTreeSet<(String, Vec<String>, bool)>,
    /// `(columns, referenced table, referenced columns, on delete)` of each foreign key.
    pub foreign_keys: BTreeSet<LiveForeignKey>,
}

/// A foreign key as compared: columns, referenced table and columns, on-delete rule.
type LiveForeignKey = (Vec<String>, String, Vec<String>, String);

/// Every table of the database (Keel's bookkeeping table excluded).
pub async fn live_schema<C: ConnectionTrait>(db: &C) -> Result<BTreeMap<String, LiveTable>, DbErr> {
    match Backend::from(db.get_database_backend()) {
        Backend::Sqlite => sqlite(db).await,
        Backend::Postgres => postgres(db).await,
        Backend::MySql => mysql(db).await,
    }
}

async fn rows<C: ConnectionTrait>(db: &C, sql: &str) -> Result<Vec<QueryResult>, DbErr> {
    db.query_all_raw(Statement::from_string(
        db.get_database_backend(),
        sql.to_owned(),
    ))
    .await
}

fn text(row: &QueryResult, i: usize) -> Result<String, DbErr> {
    row.try_get_by_index::<Option<String>>(i)
        .map(Option::unwrap_or_default)
}

fn esc(s: &str) -> String {
    s.replace('\'', "''")
}

async fn sqlite<C: ConnectionTrait>(db: &C) -> Result<BTreeMap<String, LiveTable>, DbErr> {
    let mut out = BTreeMap::new();
    let tables = rows(
        db,
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
    )
    .await?;
    for t in tables {
        let name = text(&t, 0)?;
        if name == MIGRATIONS_TABLE {
            continue;
        }
        let mut table = LiveTable::default();
        let mut pk: Vec<(i64, String)> = Vec::new();
        for c in rows(
            db,
            &format!(
                "SELECT name, type, \"notnull\", dflt_value, pk FROM pragma_table_info('{}')",
                esc(&name)
            ),
        )
        .await?
        {
            let col = text(&c, 0)?;
            let notnull: i64 = c.try_get_by_index(2)?;
            let pk_pos: i64 = c.try_get_by_index(4)?;
            if pk_pos > 0 {
                pk.push((pk_pos, col.clone()));
            }
            let default = c.try_get_by_index::<Option<String>>(3)?;
            table.columns.insert(
                col,
                LiveColumn {
                    ty: text(&c, 1)?.to_lowercase(),
                    nullable: notnull == 0,
                    default,
                },
            );
        }
        pk.sort();
        table.primary_key = pk.into_iter().map(|(_, c)| c).collect();
        for i in rows(
            db,
            &format!(
                "SELECT name, \"unique\", origin FROM pragma_index_list('{}')",
                esc(&name)
            ),
        )
        .await?
        {
            let origin = text(&i, 2)?;
            if origin == "pk" {
                continue;
            }
            let idx = text(&i, 0)?;
            let unique: i64 = i.try_get_by_index(1)?;
            let mut cols: Vec<(i64, String)> = Vec::new();
            for c in rows(
                db,
                &format!("SELECT seqno, name FROM pragma_index_info('{}')", esc(&idx)),
            )
            .await?
            {
                cols.push((c.try_get_by_index(0)?, text(&c, 1)?));
            }
            cols.sort();
            table
                .indexes
                .insert((idx, cols.into_iter().map(|(_, c)| c).collect(), unique != 0));
        }
        let mut fks: BTreeMap<i64, LiveForeignKey> = BTreeMap::new();
        for f in rows(db, &format!("SELECT id, seq, \"table\", \"from\", \"to\", on_delete FROM pragma_foreign_key_list('{}') ORDER BY id, seq", esc(&name))).await? {
            let id: i64 = f.try_get_by_index(0)?;
            let e = fks.entry(id).or_insert_with(|| (Vec::new(), String::new(), Vec::new(), String::new()));
            e.0.push(text(&f, 3)?);
            e.1 = text(&f, 2)?;
            e.2.push(text(&f, 4)?);
            e.3 = text(&f, 5)?;
        }
        table.foreign_keys = fks.into_values().collect();
        out.insert(name, table);
    }
    Ok(out)
}

async fn postgres<C: ConnectionTrait>(db: &C) -> Result<BTreeMap<String, LiveTable>, DbErr> {
    let mut out: BTreeMap<String, LiveTable> = BTreeMap::new();
    for c in rows(
        db,
        "SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull, \
         pg_get_expr(d.adbin, d.adrelid), a.attidentity::text \
         FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid \
         JOIN pg_namespace n ON n.oid = c.relnamespace \
         LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum \
         WHERE n.nspname = current_schema() AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped",
    )
    .await?
    {
        let table = text(&c, 0)?;
        if table == MIGRATIONS_TABLE {
            continue;
        }
        let notnull: bool = c.try_get_by_index(3)?;
        let identity = text(&c, 5)?;
        let mut ty = text(&c, 2)?;
        if !identity.is_empty() {
            ty.push_str(" identity");
        }
        out.entry(table).or_default().columns.insert(
            text(&c, 1)?,
            LiveColumn {
                ty,
                nullable: !notnull,
                default: c.try_get_by_index::<Option<String>>(4)?,
            },
        );
    }
    for i in rows(
        db,
        "SELECT t.relname, ic.relname, ix.indisunique, ix.indisprimary, \
         array_to_string(ARRAY(SELECT a.attname FROM unnest(ix.indkey) WITH ORDINALITY k(attnum, ord) \
           JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum ORDER BY k.ord), ',') \
         FROM pg_index ix JOIN pg_class t ON t.oid = ix.indrelid JOIN pg_class ic ON ic.oid = ix.indexrelid \
         JOIN pg_namespace n ON n.oid = t.relnamespace WHERE n.nspname = current_schema()",
    )
    .await?
    {
        let table = text(&i, 0)?;
        let Some(t) = out.get_mut(&table) else { continue };
        let primary: bool = i.try_get_by_index(3)?;
        let cols: Vec<String> = text(&i, 4)?.split(',').map(str::to_owned).collect();
        if primary {
            t.primary_key = cols;
        } else {
            let unique: bool = i.try_get_by_index(2)?;
            t.indexes.insert((text(&i, 1)?, cols, unique));
        }
    }
    for f in rows(
        db,
        "SELECT t.relname, \
         array_to_string(ARRAY(SELECT a.attname FROM unnest(c.conkey) WITH ORDINALITY k(attnum, ord) \
           JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum ORDER BY k.ord), ','), \
         r.relname, \
         array_to_string(ARRAY(SELECT a.attname FROM unnest(c.confkey) WITH ORDINALITY k(attnum, ord) \
           JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.attnum ORDER BY k.ord), ','), \
         c.confdeltype::text \
         FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid JOIN pg_class r ON r.oid = c.confrelid \
         JOIN pg_namespace n ON n.oid = t.relnamespace WHERE c.contype = 'f' AND n.nspname = current_schema()",
    )
    .await?
    {
        let table = text(&f, 0)?;
        let Some(t) = out.get_mut(&table) else { continue };
        t.foreign_keys.insert((
            text(&f, 1)?.split(',').map(str::to_owned).collect(),
            text(&f, 2)?,
            text(&f, 3)?.split(',').map(str::to_owned).collect(),
            text(&f, 4)?,
        ));
    }
    Ok(out)
}

async fn mysql<C: ConnectionTrait>(db: &C) -> Result<BTreeMap<String, LiveTable>, DbErr> {
    let mut out: BTreeMap<String, LiveTable> = BTreeMap::new();
    for c in rows(
        db,
        "SELECT CAST(TABLE_NAME AS CHAR), CAST(COLUMN_NAME AS CHAR), CAST(COLUMN_TYPE AS CHAR), \
         CAST(IS_NULLABLE AS CHAR), CAST(COLUMN_DEFAULT AS CHAR), CAST(EXTRA AS CHAR) \
         FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE()",
    )
    .await?
    {
        let table = text(&c, 0)?;
        if table == MIGRATIONS_TABLE {
            continue;
        }
        let mut ty = text(&c, 2)?;
        let extra = text(&c, 5)?;
        if !extra.is_empty() {
            ty.push(' ');
            ty.push_str(&extra);
        }
        out.entry(table).or_default().columns.insert(
            text(&c, 1)?,
            LiveColumn {
                ty,
                nullable: text(&c, 3)? == "YES",
                default: c
                    .try_get_by_index::<Option<String>>(4)?
                    .filter(|d| d != "NULL"),
            },
        );
    }
    let mut fk_names: BTreeSet<(String, String)> = BTreeSet::new();
    let mut fks: BTreeMap<(String, String), LiveForeignKey> = BTreeMap::new();
    for f in rows(
        db,
        "SELECT CAST(k.TABLE_NAME AS CHAR), CAST(k.CONSTRAINT_NAME AS CHAR), CAST(k.COLUMN_NAME AS CHAR), \
         CAST(k.REFERENCED_TABLE_NAME AS CHAR), CAST(k.REFERENCED_COLUMN_NAME AS CHAR), CAST(r.DELETE_RULE AS CHAR) \
         FROM information_schema.KEY_COLUMN_USAGE k JOIN information_schema.REFERENTIAL_CONSTRAINTS r \
         ON r.CONSTRAINT_SCHEMA = k.CONSTRAINT_SCHEMA AND r.CONSTRAINT_NAME = k.CONSTRAINT_NAME \
         WHERE k.TABLE_SCHEMA = DATABASE() ORDER BY k.TABLE_NAME, k.CONSTRAINT_NAME, k.ORDINAL_POSITION",
    )
    .await?
    {
        let key = (text(&f, 0)?, text(&f, 1)?);
        fk_names.insert(key.clone());
        let e = fks
            .entry(key)
            .or_insert_with(|| (Vec::new(), String::new(), Vec::new(), String::new()));
        e.0.push(text(&f, 2)?);
        e.1 = text(&f, 3)?;
        e.2.push(text(&f, 4)?);
        e.3 = text(&f, 5)?;
    }
    for ((table, _), fk) in fks {
        if let Some(t) = out.get_mut(&table) {
            t.foreign_keys.insert(fk);
        }
    }
    let mut idx: BTreeMap<(String, String), (Vec<String>, bool)> = BTreeMap::new();
    for i in rows(
        db,
        "SELECT CAST(TABLE_NAME AS CHAR), CAST(INDEX_NAME AS CHAR), CAST(COLUMN_NAME AS CHAR), NON_UNIQUE \
         FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() \
         ORDER BY TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX",
    )
    .await?
    {
        let key = (text(&i, 0)?, text(&i, 1)?);
        let non_unique: i64 = i.try_get_by_index(3)?;
        let e = idx.entry(key).or_insert_with(|| (Vec::new(), non_unique == 0));
        e.0.push(text(&i, 2)?);
    }
    for ((table, name), (cols, unique)) in idx {
        let Some(t) = out.get_mut(&table) else {
            continue;
        };
        if name == "PRIMARY" {
            t.primary_key = cols;
        } else if !fk_names.contains(&(table.clone(), name.clone())) {
            // An index named after a foreign key is the one MySQL made for the key.
            t.indexes.insert((name, cols, unique));
        }
    }
    Ok(out)
}
