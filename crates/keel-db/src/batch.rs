//! Writing many rows in one statement.

use sea_orm::sea_query::{CaseStatement, Expr};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, Value};

/// Sets `column` of many rows, each found by `key`, in one statement (one round trip
/// instead of one per row). Returns the number of rows changed.
///
/// - On PostgreSQL the keys and the values travel as two arrays: `UPDATE … SET
///   column = v.value FROM (SELECT unnest($1::int4[]) AS key, unnest($2::int4[]) AS
///   value) v WHERE key = v.key`. Two parameters whatever the number of rows, so the
///   statement is prepared once and bound cheaply. Values without an array type
///   here, and NULLs, take the next form.
/// - Elsewhere: `UPDATE … SET column = CASE key WHEN … END WHERE key IN (…)`.
///
/// The rows are written in key order (a key given twice keeps its last value), so
/// that concurrent batches take row locks in the same order and do not deadlock.
///
/// ```
/// # use keel_db::sea_orm::{self, entity::prelude::*};
/// # mod world {
/// #     use keel_db::sea_orm::{self, entity::prelude::*};
/// #     #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
/// #     #[sea_orm(table_name = "world")]
/// #     pub struct Model { #[sea_orm(primary_key)] pub id: i32, pub randomnumber: i32 }
/// #     #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
/// #     pub enum Relation {}
/// #     impl ActiveModelBehavior for ActiveModel {}
/// # }
/// # async fn demo(db: &keel_db::sea_orm::DatabaseConnection) -> Result<(), keel_db::sea_orm::DbErr> {
/// let changed = keel_db::update_column::<world::Entity, _, _>(
///     db,
///     world::Column::Id,
///     world::Column::Randomnumber,
///     &[(1, 42), (7, 9)],
/// )
/// .await?;
/// # Ok(()) }
/// ```
pub async fn update_column<E, K, V>(
    db: &impl ConnectionTrait,
    key: E::Column,
    column: E::Column,
    rows: &[(K, V)],
) -> Result<u64, DbErr>
where
    E: EntityTrait,
    K: Into<Value> + Clone + Ord,
    V: Into<Value> + Clone,
{
    if rows.is_empty() {
        return Ok(0);
    }
    let mut sorted: Vec<&(K, V)> = rows.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    // A key given twice keeps its last value.
    sorted.dedup_by(|later, earlier| {
        if later.0 == earlier.0 {
            std::mem::swap(later, earlier);
            true
        } else {
            false
        }
    });
    #[cfg(feature = "postgres")]
    if db.get_database_backend() == sea_orm::DbBackend::Postgres
        && let Some(stmt) = unnest::statement::<E, K, V>(key, column, &sorted)
    {
        return Ok(db.execute_raw(stmt).await?.rows_affected());
    }
    let mut case = CaseStatement::new();
    for (k, v) in &sorted {
        case = case.case(key.eq(k.clone()), Expr::val(v.clone()));
    }
    let keys: Vec<Value> = sorted.iter().map(|(k, _)| k.clone().into()).collect();
    let result = E::update_many()
        .col_expr(column, case.into())
        .filter(key.is_in(keys))
        .exec(db)
        .await?;
    Ok(result.rows_affected)
}

/// The PostgreSQL form: keys and values as two arrays, joined with `unnest`.
#[cfg(feature = "postgres")]
mod unnest {
    use sea_orm::sea_query::ArrayType;
    use sea_orm::{DbBackend, EntityTrait, IdenStatic, Statement, Value, Values};

    use crate::migrate::sql::q;

    /// The statement for `rows` (sorted, keys unique), or `None` when a key or a value
    /// has no array form here (or is NULL: arrays are bound without NULLs).
    pub(super) fn statement<E, K, V>(
        key: E::Column,
        column: E::Column,
        rows: &[&(K, V)],
    ) -> Option<Statement>
    where
        E: EntityTrait,
        K: Into<Value> + Clone,
        V: Into<Value> + Clone,
    {
        let keys = array(rows.iter().map(|(k, _)| k.clone().into()))?;
        let values = array(rows.iter().map(|(_, v)| v.clone().into()))?;
        let pg = crate::migrate::Backend::Postgres;
        let entity = E::default();
        let table = match entity.schema_name() {
            Some(schema) => format!("{}.{}", q(schema, pg), q(entity.table_name(), pg)),
            None => q(entity.table_name(), pg),
        };
        let sql = format!(
            "UPDATE {table} SET {column} = \"keel_rows\".\"value\" \
             FROM (SELECT unnest($1::{k}[]) AS \"key\", unnest($2::{v}[]) AS \"value\") \
             AS \"keel_rows\" WHERE {table}.{key} = \"keel_rows\".\"key\"",
            column = q(column.as_str(), pg),
            key = q(key.as_str(), pg),
            k = keys.1,
            v = values.1,
        );
        Some(Statement {
            sql,
            values: Some(Values(vec![keys.0, values.0])),
            db_backend: DbBackend::Postgres,
        })
    }

    /// The values as one array value and its SQL element type.
    fn array(values: impl ExactSizeIterator<Item = Value>) -> Option<(Value, &'static str)> {
        let mut all = Vec::with_capacity(values.len());
        let mut of: Option<(ArrayType, &'static str)> = None;
        for v in values {
            if !v.is_some() {
                return None;
            }
            let (ty, name) = element(&v)?;
            match &of {
                None => of = Some((ty, name)),
                Some((_, seen)) if *seen == name => {}
                Some(_) => return None,
            }
            all.push(v);
        }
        let (ty, name) = of?;
        Some((Value::Array(ty, Some(Box::new(all))), name))
    }

    /// The array element type a value travels as: the types sqlx and the pipeline
    /// both bind as arrays, as the same PostgreSQL types as the scalars.
    fn element(v: &Value) -> Option<(ArrayType, &'static str)> {
        Some(match v {
            Value::Bool(_) => (ArrayType::Bool, "bool"),
            Value::SmallInt(_) => (ArrayType::SmallInt, "int2"),
            Value::Int(_) => (ArrayType::Int, "int4"),
            Value::BigInt(_) => (ArrayType::BigInt, "int8"),
            Value::Float(_) => (ArrayType::Float, "float4"),
            Value::Double(_) => (ArrayType::Double, "float8"),
            Value::String(_) => (ArrayType::String, "text"),
            Value::Uuid(_) => (ArrayType::Uuid, "uuid"),
            Value::ChronoDate(_) => (ArrayType::ChronoDate, "date"),
            Value::ChronoDateTime(_) => (ArrayType::ChronoDateTime, "timestamp"),
            _ => return None,
        })
    }
}
