//! Registered SeaORM entities read as the schema model.

use std::fmt;
use std::sync::Arc;

use sea_orm::sea_query::{self, ColumnType, Expr, Keyword, StringLen, Value};
use sea_orm::{DbBackend, EntityTrait};

use super::schema::{ColType, Column, DefaultValue, FkAction, ForeignKey, Index, Schema, Table};

type TableFn = Arc<dyn Fn() -> Result<Table, String> + Send + Sync>;

/// The app's models: the SeaORM entities that the schema is made from.
///
/// ```
/// # mod post {
/// #     use sea_orm::entity::prelude::*;
/// #     #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
/// #     #[sea_orm(table_name = "post")]
/// #     pub struct Model {
/// #         #[sea_orm(primary_key)]
/// #         pub id: i32,
/// #         pub title: String,
/// #     }
/// #     #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
/// #     pub enum Relation {}
/// #     impl ActiveModelBehavior for ActiveModel {}
/// # }
/// let models = keel_db::Models::new().register::<post::Entity>();
/// let schema = models.schema().unwrap();
/// assert!(schema.table("post").is_some());
/// ```
#[derive(Clone, Default)]
pub struct Models {
    tables: Vec<(String, TableFn)>,
    seeders: crate::seed::Seeders,
    /// Migrations that create the models of included components (Keel's auth tables),
    /// applied before the app's own.
    components: Vec<crate::MigrationsFn>,
    own_migrations: Option<crate::MigrationsFn>,
}

impl fmt::Debug for Models {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.tables.iter().map(|(n, _)| n))
            .finish()
    }
}

impl Models {
    /// No models.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers entity `E`.
    #[must_use]
    pub fn register<E: EntityTrait + Default>(mut self) -> Self {
        let name = E::default().table_name().to_owned();
        self.tables.push((name, Arc::new(table_of::<E>)));
        self
    }

    /// Registers entity `E` and lets `db seed` fixtures fill it (the model must be
    /// `Serialize + Deserialize`).
    #[must_use]
    pub fn seedable<E>(mut self) -> Self
    where
        E: EntityTrait + Default,
        E::Model: serde::Serialize
            + serde::de::DeserializeOwned
            + sea_orm::IntoActiveModel<E::ActiveModel>
            + Send
            + Sync,
        E::ActiveModel:
            sea_orm::ActiveModelTrait<Entity = E> + sea_orm::TryIntoModel<E::Model> + Send + Sync,
    {
        self.seeders.add::<E>();
        self.register::<E>()
    }

    /// Says that `migrations` create these models: for a component (a crate with its
    /// own tables, like Keel's auth) whose models an app [`include`](Self::include)s.
    #[must_use]
    pub fn with_migrations(mut self, migrations: crate::MigrationsFn) -> Self {
        self.own_migrations = Some(migrations);
        self
    }

    /// Adds a component's models (and its migrations, applied before the app's). The
    /// app's `db makemigrations` then sees the component's tables as already created,
    /// so the app's models can refer to them by foreign key.
    #[must_use]
    pub fn include(mut self, component: Models) -> Self {
        self.tables.extend(component.tables);
        self.seeders.extend(&component.seeders);
        for m in component
            .components
            .into_iter()
            .chain(component.own_migrations)
        {
            if !self
                .components
                .iter()
                .any(|known| *known as usize == m as usize)
            {
                self.components.push(m);
            }
        }
        self
    }

    /// The migrations of the included components, in inclusion order.
    pub fn component_migrations(&self) -> Vec<crate::Migration> {
        self.components.iter().flat_map(|m| m()).collect()
    }

    /// The fixture loaders of the seedable models.
    pub fn seeders(&self) -> &crate::seed::Seeders {
        &self.seeders
    }

    /// The registered table names.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.tables.iter().map(|(n, _)| n.as_str())
    }

    /// The schema the models describe.
    pub fn schema(&self) -> Result<Schema, String> {
        let mut schema = Schema::new();
        for (name, make) in &self.tables {
            let table = make()?;
            if schema.tables.insert(name.clone(), table).is_some() {
                return Err(format!("table `{name}` is registered twice"));
            }
        }
        for t in schema.tables.values() {
            for fk in &t.foreign_keys {
                if !schema.tables.contains_key(&fk.ref_table) {
                    return Err(format!(
                        "`{}` has a foreign key to `{}`, which is not a registered model",
                        t.name, fk.ref_table
                    ));
                }
            }
        }
        Ok(schema)
    }
}

/// The table entity `E` describes.
pub fn table_of<E: EntityTrait + Default>() -> Result<Table, String> {
    let entity = E::default();
    let name = entity.table_name().to_owned();
    // The Postgres flavour keeps enums as named types; Keel stores them as strings.
    let schema = sea_orm::Schema::new(DbBackend::Sqlite);
    let stmt = schema.create_table_from_entity(entity);
    let mut table = Table::new(&name);
    for def in stmt.get_columns() {
        let col_name = def.get_column_name();
        let spec = def.get_column_spec();
        let ty = def
            .get_column_type()
            .ok_or_else(|| format!("`{name}.{col_name}` has no type"))
            .and_then(|t| col_type(t).map_err(|e| format!("`{name}.{col_name}`: {e}")))?;
        let mut column = Column::new(&col_name, ty);
        column.nullable = spec.nullable != Some(false) && !spec.primary_key;
        column.auto_increment = spec.auto_increment;
        if let Some(d) = &spec.default {
            column.default =
                Some(default_value(d).map_err(|e| format!("`{name}.{col_name}`: {e}"))?);
        }
        if spec.primary_key {
            table.primary_key.push(col_name.clone());
        }
        if spec.unique {
            table
                .indexes
                .push(Index::new(format!("uq-{name}-{col_name}"), [col_name.clone()]).unique());
        }
        table.columns.push(column);
    }
    for idx in stmt.get_indexes() {
        if idx.is_primary_key() {
            table.primary_key = idx.get_index_spec().get_column_names();
        }
    }
    for idx in schema.create_index_from_entity(entity) {
        let spec = idx.get_index_spec();
        let columns = spec.get_column_names();
        let idx_name = spec.get_name().map_or_else(
            || format!("idx-{name}-{}", columns.join("-")),
            str::to_owned,
        );
        let mut index = Index::new(idx_name, columns);
        index.unique = idx.is_unique_key();
        table.indexes.push(index);
    }
    for fk in stmt.get_foreign_key_create_stmts() {
        let fk = fk.get_foreign_key();
        let ref_table = fk
            .get_ref_table()
            .map(|t| t.sea_orm_table().to_string())
            .ok_or_else(|| format!("a foreign key of `{name}` has no referenced table"))?;
        let columns = fk.get_columns();
        let fk_name = fk
            .get_name()
            .map_or_else(|| format!("fk-{name}-{}", columns.join("-")), str::to_owned);
        let mut key = ForeignKey::new(fk_name, columns, ref_table, fk.get_ref_columns());
        key.on_delete = fk.get_on_delete().map(fk_action);
        key.on_update = fk.get_on_update().map(fk_action);
        table.foreign_keys.push(key);
    }
    Ok(table)
}

fn fk_action(a: sea_query::ForeignKeyAction) -> FkAction {
    match a {
        sea_query::ForeignKeyAction::Restrict => FkAction::Restrict,
        sea_query::ForeignKeyAction::Cascade => FkAction::Cascade,
        sea_query::ForeignKeyAction::SetNull => FkAction::SetNull,
        sea_query::ForeignKeyAction::NoAction => FkAction::NoAction,
        sea_query::ForeignKeyAction::SetDefault => FkAction::SetDefault,
        #[allow(unreachable_patterns)]
        _ => FkAction::NoAction,
    }
}

fn string_len(len: StringLen) -> Option<u32> {
    match len {
        StringLen::N(n) => Some(n),
        _ => None,
    }
}

/// Keel's type for a SeaORM column type.
pub fn col_type(t: &ColumnType) -> Result<ColType, String> {
    Ok(match t {
        ColumnType::Char(n) => ColType::Char(*n),
        ColumnType::String(len) => ColType::String(string_len(*len)),
        ColumnType::Text => ColType::Text,
        ColumnType::Blob | ColumnType::VarBinary(_) | ColumnType::Binary(_) => ColType::Blob,
        ColumnType::TinyInteger => ColType::TinyInteger,
        ColumnType::SmallInteger => ColType::SmallInteger,
        ColumnType::Integer => ColType::Integer,
        ColumnType::BigInteger => ColType::BigInteger,
        ColumnType::TinyUnsigned => ColType::TinyUnsigned,
        ColumnType::SmallUnsigned => ColType::SmallUnsigned,
        ColumnType::Unsigned => ColType::Unsigned,
        ColumnType::BigUnsigned => ColType::BigUnsigned,
        ColumnType::Float => ColType::Float,
        ColumnType::Double => ColType::Double,
        ColumnType::Decimal(p) | ColumnType::Money(p) => ColType::Decimal(*p),
        ColumnType::DateTime | ColumnType::Timestamp => ColType::DateTime,
        ColumnType::TimestampWithTimeZone => ColType::TimestampTz,
        ColumnType::Time => ColType::Time,
        ColumnType::Date => ColType::Date,
        ColumnType::Boolean => ColType::Boolean,
        ColumnType::Json => ColType::Json,
        ColumnType::JsonBinary => ColType::JsonBinary,
        ColumnType::Uuid => ColType::Uuid,
        // Keel stores enums as their string values on every backend.
        ColumnType::Enum { .. } => ColType::String(None),
        other => {
            return Err(format!(
                "column type {other:?} is not supported by Keel's migrations"
            ));
        }
    })
}

fn default_value(e: &Expr) -> Result<DefaultValue, String> {
    Ok(match e {
        Expr::Value(v) | Expr::Constant(v) => match v {
            Value::Bool(Some(b)) => DefaultValue::Bool(*b),
            Value::TinyInt(Some(n)) => DefaultValue::Int(i64::from(*n)),
            Value::SmallInt(Some(n)) => DefaultValue::Int(i64::from(*n)),
            Value::Int(Some(n)) => DefaultValue::Int(i64::from(*n)),
            Value::BigInt(Some(n)) => DefaultValue::Int(*n),
            Value::TinyUnsigned(Some(n)) => DefaultValue::Int(i64::from(*n)),
            Value::SmallUnsigned(Some(n)) => DefaultValue::Int(i64::from(*n)),
            Value::Unsigned(Some(n)) => DefaultValue::Int(i64::from(*n)),
            Value::Float(Some(n)) => DefaultValue::Number(n.to_string()),
            Value::Double(Some(n)) => DefaultValue::Number(n.to_string()),
            Value::String(Some(s)) => DefaultValue::Str(s.clone()),
            Value::Char(Some(c)) => DefaultValue::Str(c.to_string()),
            other => {
                return Err(format!(
                    "default {other:?} is not supported; use a raw expression"
                ));
            }
        },
        Expr::Keyword(Keyword::CurrentTimestamp) => DefaultValue::CurrentTimestamp,
        Expr::Keyword(Keyword::CurrentDate) => DefaultValue::Expr("CURRENT_DATE".into()),
        Expr::Keyword(Keyword::CurrentTime) => DefaultValue::Expr("CURRENT_TIME".into()),
        Expr::Custom(s) => DefaultValue::Expr(s.to_string()),
        other => {
            return Err(format!(
                "default {other:?} is not supported; use a raw expression"
            ));
        }
    })
}
