//! Writing many rows in one statement.

use sea_orm::sea_query::{CaseStatement, Expr};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, Value};

/// Sets `column` of many rows, each found by `key`, in one `UPDATE … SET column = CASE
/// key WHEN … END WHERE key IN (…)` (one round trip instead of one per row). The rows
/// are written in key order, so that concurrent batches take row locks in the same
/// order and cannot deadlock. Returns the number of rows changed.
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
