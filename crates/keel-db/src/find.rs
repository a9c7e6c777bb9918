//! Reading one row by primary key with its statement built once.
//!
//! `Entity::find_by_id(id).one(db)` builds a query tree and writes its SQL on every
//! call: for a two-column table that is most of the framework's work per row read
//! (the statement itself is prepared once per connection either way). Rails keeps
//! the statement of `Model.find(id)` in a statement cache and binds the new id;
//! [`find_by_id`] does the same for a SeaORM entity. The statement is SeaORM's own
//! (`find_by_id` with `LIMIT 1`, as `one` builds it), written once per entity,
//! backend and thread, then reused with the new key values in the key's places.

use std::any::TypeId;
use std::cell::RefCell;

use sea_orm::sea_query::{FromValueTuple, IntoValueTuple, ValueTuple, Values};
use sea_orm::{
    ConnectionTrait, DbBackend, DbErr, EntityTrait, FromQueryResult, PrimaryKeyTrait, QuerySelect,
    QueryTrait, Statement, Value,
};

/// The key type of entity `E`.
pub type KeyOf<E> = <<E as EntityTrait>::PrimaryKey as PrimaryKeyTrait>::ValueType;

/// A statement SeaORM wrote for one entity and backend.
struct Written {
    entity: TypeId,
    backend: DbBackend,
    /// `None` when the key's values were not the statement's first values, so the
    /// statement is written afresh every time (never seen; kept as the safe answer).
    shape: Option<Shape>,
}

struct Shape {
    sql: String,
    /// How many values the key binds (the statement's first ones).
    keys: usize,
    /// The values after the key's (`LIMIT 1`).
    rest: Vec<Value>,
}

thread_local! {
    /// Per thread, so reading a statement takes no lock; an app has few entities.
    static WRITTEN: RefCell<Vec<Written>> = const { RefCell::new(Vec::new()) };
}

/// The row of `E` whose primary key is `id`, or `None`: what
/// `E::find_by_id(id).one(db)` returns, without writing the SQL again on each call.
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
/// let found: Option<world::Model> = keel_db::find_by_id::<world::Entity>(db, 7).await?;
/// # Ok(()) }
/// ```
pub async fn find_by_id<E>(
    db: &impl ConnectionTrait,
    id: impl Into<KeyOf<E>>,
) -> Result<Option<E::Model>, DbErr>
where
    E: EntityTrait,
{
    let stmt = find_by_id_statement::<E>(db.get_database_backend(), id);
    match db.query_one_raw(stmt).await? {
        Some(row) => Ok(Some(E::Model::from_query_result(&row, "")?)),
        None => Ok(None),
    }
}

/// The statement [`find_by_id`] runs: SeaORM's `E::find_by_id(id)` with `LIMIT 1`
/// for `backend`, its SQL written on this thread's first call for `E` and `backend`
/// and copied after that.
///
/// ```
/// # mod world {
/// #     use keel_db::sea_orm::{self, entity::prelude::*};
/// #     #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
/// #     #[sea_orm(table_name = "world")]
/// #     pub struct Model { #[sea_orm(primary_key)] pub id: i32, pub randomnumber: i32 }
/// #     #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
/// #     pub enum Relation {}
/// #     impl ActiveModelBehavior for ActiveModel {}
/// # }
/// use keel_db::sea_orm::DbBackend;
/// let st = keel_db::find_by_id_statement::<world::Entity>(DbBackend::Postgres, 7);
/// assert_eq!(
///     st.sql,
///     r#"SELECT "world"."id", "world"."randomnumber" FROM "world" WHERE "world"."id" = $1 LIMIT $2"#
/// );
/// ```
pub fn find_by_id_statement<E>(backend: DbBackend, id: impl Into<KeyOf<E>>) -> Statement
where
    E: EntityTrait,
{
    let entity = TypeId::of::<E>();
    let key = id.into().into_value_tuple();
    let key = match WRITTEN.with_borrow(move |written| {
        let shape = written
            .iter()
            .find(|w| w.entity == entity && w.backend == backend)
            .and_then(|w| w.shape.as_ref());
        match shape {
            Some(shape) if shape.keys == key.arity() => {
                let mut values = Vec::with_capacity(shape.keys + shape.rest.len());
                push_key(&mut values, key);
                values.extend(shape.rest.iter().cloned());
                Ok(Statement {
                    sql: shape.sql.clone(),
                    values: Some(Values(values)),
                    db_backend: backend,
                })
            }
            _ => Err(key),
        }
    }) {
        Ok(copied) => return copied,
        Err(key) => key,
    };
    // This thread's first call for `E` and `backend`: SeaORM writes it.
    let mut keys = Vec::with_capacity(key.arity());
    push_key(&mut keys, key.clone());
    let stmt = E::find_by_id(KeyOf::<E>::from_value_tuple(key))
        .limit(1)
        .build(backend);
    WRITTEN.with_borrow_mut(|written| {
        if written
            .iter()
            .any(|w| w.entity == entity && w.backend == backend)
        {
            return;
        }
        let values = stmt.values.as_ref().map_or(&[][..], |v| v.0.as_slice());
        // The key's values must be the statement's first ones for the copies to bind
        // the new key in their place; otherwise every call writes the statement.
        let shape = values.starts_with(&keys).then(|| Shape {
            sql: stmt.sql.clone(),
            keys: keys.len(),
            rest: values[keys.len()..].to_vec(),
        });
        written.push(Written {
            entity,
            backend,
            shape,
        });
    });
    stmt
}

/// Appends a key's values (without the vector `ValueTuple::into_iter` allocates).
fn push_key(values: &mut Vec<Value>, key: ValueTuple) {
    match key {
        ValueTuple::One(a) => values.push(a),
        ValueTuple::Two(a, b) => values.extend([a, b]),
        ValueTuple::Three(a, b, c) => values.extend([a, b, c]),
        ValueTuple::Many(all) => values.extend(all),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[allow(unreachable_pub)]
    mod pair {
        use sea_orm::entity::prelude::*;

        #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
        #[sea_orm(table_name = "pair")]
        pub struct Model {
            #[sea_orm(primary_key, auto_increment = false)]
            pub owner: String,
            #[sea_orm(primary_key, auto_increment = false)]
            pub slot: i64,
            pub label: String,
        }

        #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
        pub enum Relation {}

        impl ActiveModelBehavior for ActiveModel {}
    }

    #[test]
    fn copies_are_what_sea_orm_writes_for_each_key_and_backend() {
        for backend in [DbBackend::Postgres, DbBackend::MySql, DbBackend::Sqlite] {
            for key in [("ada".to_owned(), 1_i64), ("grace".to_owned(), -7)] {
                let ours = find_by_id_statement::<pair::Entity>(backend, key.clone());
                let theirs = pair::Entity::find_by_id(key).limit(1).build(backend);
                assert_eq!(ours.sql, theirs.sql);
                assert_eq!(ours.values, theirs.values);
                assert_eq!(ours.db_backend, backend);
            }
        }
        // The second key was a copy of the first call's statement.
        WRITTEN.with_borrow(|w| {
            assert_eq!(
                w.iter()
                    .filter(|w| w.entity == TypeId::of::<pair::Entity>())
                    .count(),
                3
            );
            assert!(w.iter().all(|w| w.shape.is_some()));
        });
    }
}
