//! Fixtures: JSON files of rows loaded into entities, idempotent by primary key.
//!
//! A fixture file maps table names to lists of rows, loaded in the file's order:
//!
//! ```json
//! { "author": [{ "id": 1, "name": "Ada" }],
//!   "post":   [{ "id": 1, "author_id": 1, "title": "Hello" }] }
//! ```
//!
//! A row whose primary key already exists is left alone, so `db seed` can run again.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use futures_util::future::BoxFuture;
use sea_orm::{
    ActiveModelTrait, DatabaseConnection, DbErr, EntityTrait, IntoActiveModel, TryInsertResult,
    TryIntoModel,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

type LoadFn = Arc<
    dyn for<'a> Fn(&'a DatabaseConnection, serde_json::Value) -> BoxFuture<'a, Result<bool, DbErr>>
        + Send
        + Sync,
>;

/// The entities fixtures can fill, by table name.
#[derive(Clone, Default)]
pub struct Seeders {
    loaders: BTreeMap<String, LoadFn>,
}

impl fmt::Debug for Seeders {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.loaders.keys()).finish()
    }
}

impl Seeders {
    /// Lets fixtures fill entity `E`.
    pub fn add<E>(&mut self)
    where
        E: EntityTrait + Default,
        E::Model: Serialize + DeserializeOwned + IntoActiveModel<E::ActiveModel> + Send + Sync,
        E::ActiveModel: ActiveModelTrait<Entity = E> + TryIntoModel<E::Model> + Send + Sync,
    {
        let name = sea_orm::EntityName::table_name(&E::default()).to_owned();
        let load: LoadFn = Arc::new(|db, row| {
            Box::pin(async move {
                let model = <E::ActiveModel as ActiveModelTrait>::from_json(row)?;
                let result = E::insert(model).on_conflict_do_nothing().exec(db).await?;
                Ok(matches!(result, TryInsertResult::Inserted(_)))
            })
        });
        self.loaders.insert(name, load);
    }

    /// Loads a fixture document; returns `(table, inserted, already present)` per table.
    pub async fn load(
        &self,
        db: &DatabaseConnection,
        document: &str,
    ) -> Result<Vec<(String, usize, usize)>, String> {
        let doc: serde_json::Value =
            serde_json::from_str(document).map_err(|e| format!("not a fixture file: {e}"))?;
        let serde_json::Value::Object(tables) = doc else {
            return Err("a fixture file is an object of table name → list of rows".into());
        };
        let mut out = Vec::new();
        for (table, rows) in tables {
            let load = self.loaders.get(&table).ok_or_else(|| {
                format!("no model for table `{table}` (register it with Models::seedable)")
            })?;
            let serde_json::Value::Array(rows) = rows else {
                return Err(format!("`{table}`: expected a list of rows"));
            };
            let (mut inserted, mut present) = (0, 0);
            for (i, row) in rows.into_iter().enumerate() {
                if load(db, row)
                    .await
                    .map_err(|e| format!("`{table}` row {}: {e}", i + 1))?
                {
                    inserted += 1;
                } else {
                    present += 1;
                }
            }
            out.push((table, inserted, present));
        }
        Ok(out)
    }
}
