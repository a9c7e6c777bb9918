//! The schema model: tables, columns, indexes and foreign keys as plain data.
//!
//! Migrations are lists of operations on this model. Replaying them in memory gives the
//! schema the migrations produce; reading the registered entities gives the schema the
//! code wants; `makemigrations` writes the difference. The same model renders to SQL for
//! each backend (see [`sql`](super::sql)).

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// A column type, portable across SQLite, Postgres and MySQL/MariaDB.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum ColType {
    /// 8-bit integer (`smallint` on Postgres).
    TinyInteger,
    /// 16-bit integer.
    SmallInteger,
    /// 32-bit integer.
    Integer,
    /// 64-bit integer.
    BigInteger,
    /// Unsigned 8-bit integer (MySQL `tinyint unsigned`; a wider signed type elsewhere).
    TinyUnsigned,
    /// Unsigned 16-bit integer.
    SmallUnsigned,
    /// Unsigned 32-bit integer.
    Unsigned,
    /// Unsigned 64-bit integer.
    BigUnsigned,
    /// 32-bit float.
    Float,
    /// 64-bit float.
    Double,
    /// Exact decimal with optional (precision, scale).
    Decimal(Option<(u32, u32)>),
    /// Boolean.
    Boolean,
    /// Variable-length string with an optional maximum length.
    String(Option<u32>),
    /// Fixed-length string.
    Char(Option<u32>),
    /// Unbounded text.
    Text,
    /// Calendar date.
    Date,
    /// Time of day.
    Time,
    /// Date and time without time zone.
    DateTime,
    /// Date and time with time zone.
    TimestampTz,
    /// JSON document.
    Json,
    /// Binary JSON (`jsonb` on Postgres).
    JsonBinary,
    /// UUID.
    Uuid,
    /// Binary data.
    Blob,
}

impl ColType {
    /// Whether this is an integer type (auto-increment is allowed on these).
    pub fn is_integer(&self) -> bool {
        matches!(
            self,
            ColType::TinyInteger
                | ColType::SmallInteger
                | ColType::Integer
                | ColType::BigInteger
                | ColType::TinyUnsigned
                | ColType::SmallUnsigned
                | ColType::Unsigned
                | ColType::BigUnsigned
        )
    }

    /// A value every row can take when a NOT NULL column without a default is added to
    /// a table that has rows (the migration's one-off backfill).
    pub fn zero_value(&self) -> DefaultValue {
        match self {
            t if t.is_integer() => DefaultValue::Int(0),
            ColType::Float | ColType::Double | ColType::Decimal(_) => {
                DefaultValue::Number("0".into())
            }
            ColType::Boolean => DefaultValue::Bool(false),
            ColType::Date => DefaultValue::Str("1970-01-01".into()),
            ColType::Time => DefaultValue::Str("00:00:00".into()),
            ColType::DateTime | ColType::TimestampTz => {
                DefaultValue::Str("1970-01-01 00:00:00".into())
            }
            ColType::Json | ColType::JsonBinary => DefaultValue::Str("{}".into()),
            ColType::Uuid => DefaultValue::Str("00000000-0000-0000-0000-000000000000".into()),
            _ => DefaultValue::Str(String::new()),
        }
    }
}

/// A column default.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum DefaultValue {
    /// A boolean literal.
    Bool(bool),
    /// An integer literal.
    Int(i64),
    /// A decimal literal, as written (`"1.5"`).
    Number(String),
    /// A string literal.
    Str(String),
    /// The current timestamp (`CURRENT_TIMESTAMP`).
    CurrentTimestamp,
    /// A raw SQL expression, used as written on every backend.
    Expr(String),
}

/// How a foreign key reacts when the referenced row is deleted or updated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum FkAction {
    /// Refuse.
    Restrict,
    /// Delete or update the referencing rows too.
    Cascade,
    /// Set the referencing columns to NULL.
    SetNull,
    /// Refuse at the end of the statement (the SQL default).
    NoAction,
    /// Set the referencing columns to their default.
    SetDefault,
}

impl FkAction {
    /// The SQL words.
    pub fn sql(self) -> &'static str {
        match self {
            FkAction::Restrict => "RESTRICT",
            FkAction::Cascade => "CASCADE",
            FkAction::SetNull => "SET NULL",
            FkAction::NoAction => "NO ACTION",
            FkAction::SetDefault => "SET DEFAULT",
        }
    }
}

/// A column.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Column {
    /// Its name.
    pub name: String,
    /// Its type.
    pub ty: ColType,
    /// Whether it accepts NULL.
    pub nullable: bool,
    /// Its default, if any.
    pub default: Option<DefaultValue>,
    /// Whether the database numbers it (a single integer primary key).
    pub auto_increment: bool,
}

impl Column {
    /// A NOT NULL column without default.
    pub fn new(name: impl Into<String>, ty: ColType) -> Self {
        Self {
            name: name.into(),
            ty,
            nullable: false,
            default: None,
            auto_increment: false,
        }
    }

    /// Accepts NULL.
    #[must_use]
    pub fn nullable(mut self) -> Self {
        self.nullable = true;
        self
    }

    /// Sets the default.
    #[must_use]
    pub fn default(mut self, value: DefaultValue) -> Self {
        self.default = Some(value);
        self
    }

    /// Numbered by the database.
    #[must_use]
    pub fn auto_increment(mut self) -> Self {
        self.auto_increment = true;
        self
    }

    /// The same column under another name.
    #[must_use]
    pub fn renamed(&self, name: &str) -> Self {
        Self {
            name: name.to_owned(),
            ..self.clone()
        }
    }

    /// Equal but for the name.
    pub fn same_definition(&self, other: &Column) -> bool {
        self.ty == other.ty
            && self.nullable == other.nullable
            && self.default == other.default
            && self.auto_increment == other.auto_increment
    }
}

/// An index (unique constraints are unique indexes).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Index {
    /// Its name, unique in the database.
    pub name: String,
    /// The indexed columns, in order.
    pub columns: Vec<String>,
    /// Whether it enforces uniqueness.
    pub unique: bool,
}

impl Index {
    /// A non-unique index.
    pub fn new<I, S>(name: impl Into<String>, columns: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            name: name.into(),
            columns: columns.into_iter().map(Into::into).collect(),
            unique: false,
        }
    }

    /// Enforces uniqueness.
    #[must_use]
    pub fn unique(mut self) -> Self {
        self.unique = true;
        self
    }
}

/// A foreign key.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ForeignKey {
    /// The constraint name.
    pub name: String,
    /// The referencing columns.
    pub columns: Vec<String>,
    /// The referenced table.
    pub ref_table: String,
    /// The referenced columns.
    pub ref_columns: Vec<String>,
    /// `ON DELETE`.
    pub on_delete: Option<FkAction>,
    /// `ON UPDATE`.
    pub on_update: Option<FkAction>,
}

impl ForeignKey {
    /// A foreign key from `columns` to `ref_table(ref_columns)`.
    pub fn new<I, S, J, T>(
        name: impl Into<String>,
        columns: I,
        ref_table: impl Into<String>,
        ref_columns: J,
    ) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
        J: IntoIterator<Item = T>,
        T: Into<String>,
    {
        Self {
            name: name.into(),
            columns: columns.into_iter().map(Into::into).collect(),
            ref_table: ref_table.into(),
            ref_columns: ref_columns.into_iter().map(Into::into).collect(),
            on_delete: None,
            on_update: None,
        }
    }

    /// Sets `ON DELETE`.
    #[must_use]
    pub fn on_delete(mut self, action: FkAction) -> Self {
        self.on_delete = Some(action);
        self
    }

    /// Sets `ON UPDATE`.
    #[must_use]
    pub fn on_update(mut self, action: FkAction) -> Self {
        self.on_update = Some(action);
        self
    }
}

/// A table.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Table {
    /// Its name.
    pub name: String,
    /// Its columns, in creation order.
    pub columns: Vec<Column>,
    /// The primary key columns.
    pub primary_key: Vec<String>,
    /// Its indexes.
    pub indexes: Vec<Index>,
    /// Its foreign keys.
    pub foreign_keys: Vec<ForeignKey>,
}

impl Table {
    /// An empty table called `name`.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            columns: Vec::new(),
            primary_key: Vec::new(),
            indexes: Vec::new(),
            foreign_keys: Vec::new(),
        }
    }

    /// Adds a column.
    #[must_use]
    pub fn column(mut self, column: Column) -> Self {
        self.columns.push(column);
        self
    }

    /// Sets the primary key.
    #[must_use]
    pub fn primary_key<I, S>(mut self, columns: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.primary_key = columns.into_iter().map(Into::into).collect();
        self
    }

    /// Adds an index.
    #[must_use]
    pub fn index(mut self, index: Index) -> Self {
        self.indexes.push(index);
        self
    }

    /// Adds a foreign key.
    #[must_use]
    pub fn foreign_key(mut self, fk: ForeignKey) -> Self {
        self.foreign_keys.push(fk);
        self
    }

    /// The column called `name`.
    pub fn get_column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// Whether any index, foreign key or the primary key uses column `name`.
    pub fn column_is_referenced(&self, name: &str) -> Option<String> {
        if self.primary_key.iter().any(|c| c == name) {
            return Some("the primary key".into());
        }
        if let Some(i) = self
            .indexes
            .iter()
            .find(|i| i.columns.iter().any(|c| c == name))
        {
            return Some(format!("index `{}`", i.name));
        }
        if let Some(f) = self
            .foreign_keys
            .iter()
            .find(|f| f.columns.iter().any(|c| c == name))
        {
            return Some(format!("foreign key `{}`", f.name));
        }
        None
    }

    /// The table with its columns, indexes and foreign keys in a canonical order, for
    /// comparing two tables whose columns were added in a different order.
    pub fn canonical(&self) -> Table {
        let mut t = self.clone();
        t.columns.sort_by(|a, b| a.name.cmp(&b.name));
        t.indexes.sort_by(|a, b| a.name.cmp(&b.name));
        t.foreign_keys.sort_by(|a, b| a.name.cmp(&b.name));
        t
    }
}

/// A whole schema: tables by name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Schema {
    /// The tables.
    pub tables: BTreeMap<String, Table>,
}

impl Schema {
    /// An empty schema.
    pub fn new() -> Self {
        Self::default()
    }

    /// The table called `name`.
    pub fn table(&self, name: &str) -> Option<&Table> {
        self.tables.get(name)
    }

    /// Whether two schemas describe the same tables, ignoring column order.
    pub fn same_as(&self, other: &Schema) -> bool {
        self.tables.len() == other.tables.len()
            && self.tables.iter().all(|(name, t)| {
                other
                    .tables
                    .get(name)
                    .is_some_and(|o| o.canonical() == t.canonical())
            })
    }

    /// Tables in an order where every table comes after the tables it references
    /// (self-references and cycles are left in name order).
    pub fn creation_order(&self) -> Vec<&Table> {
        let mut done: Vec<&str> = Vec::new();
        let mut pending: Vec<&Table> = self.tables.values().collect();
        while !pending.is_empty() {
            let before = pending.len();
            pending.retain(|t| {
                let ready = t.foreign_keys.iter().all(|fk| {
                    fk.ref_table == t.name
                        || done.contains(&fk.ref_table.as_str())
                        || !self.tables.contains_key(&fk.ref_table)
                });
                if ready {
                    done.push(&t.name);
                }
                !ready
            });
            if pending.len() == before {
                // A cycle: take them in name order.
                done.extend(pending.iter().map(|t| t.name.as_str()));
                break;
            }
        }
        done.iter().filter_map(|n| self.tables.get(*n)).collect()
    }
}

impl fmt::Display for Schema {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for t in self.tables.values() {
            writeln!(f, "table {}", t.name)?;
            for c in &t.columns {
                writeln!(
                    f,
                    "  {} {:?}{}{}{}",
                    c.name,
                    c.ty,
                    if c.nullable { " NULL" } else { " NOT NULL" },
                    c.default
                        .as_ref()
                        .map(|d| format!(" DEFAULT {d:?}"))
                        .unwrap_or_default(),
                    if c.auto_increment { " AUTO" } else { "" }
                )?;
            }
            writeln!(f, "  primary key ({})", t.primary_key.join(", "))?;
            for i in &t.indexes {
                writeln!(
                    f,
                    "  {}index {} ({})",
                    if i.unique { "unique " } else { "" },
                    i.name,
                    i.columns.join(", ")
                )?;
            }
            for k in &t.foreign_keys {
                writeln!(
                    f,
                    "  foreign key {} ({}) -> {} ({})",
                    k.name,
                    k.columns.join(", "),
                    k.ref_table,
                    k.ref_columns.join(", ")
                )?;
            }
        }
        Ok(())
    }
}
