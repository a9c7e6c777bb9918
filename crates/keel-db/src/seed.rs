//! Fixtures: JSON files of rows loaded into entities, idempotent by primary key.
//!
//! A fixture file maps table names to lists of rows, loaded in the file's order:
//!
//! ```json
//! { "author": [{ "id": 1, "name": "Ada" }],
//!   "post":   [{ "id": 1, "author_id": 1, "title": "Hello" }] }
//! ```
//!
//! YAML files (`.yaml`, `.yml`) have the same shape. A row whose primary key already
//! exists is left alone, so `db seed` can run again.

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
    /// Tables whose single primary key is numbered by the database.
    numbered: BTreeMap<String, String>,
}

impl fmt::Debug for Seeders {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.loaders.keys()).finish()
    }
}

impl Seeders {
    /// Adds every loader of `other`.
    pub fn extend(&mut self, other: &Seeders) {
        self.loaders
            .extend(other.loaders.iter().map(|(k, v)| (k.clone(), v.clone())));
        self.numbered
            .extend(other.numbered.iter().map(|(k, v)| (k.clone(), v.clone())));
    }

    /// Rows inserted with explicit keys leave Postgres' identity sequence behind; the
    /// next insert without a key would collide. Move it past the largest key (as
    /// Django's loaddata does). MySQL and SQLite track the largest key themselves.
    async fn advance_sequence(&self, db: &DatabaseConnection, table: &str) -> Result<(), String> {
        use sea_orm::ConnectionTrait;
        let Some(key) = self.numbered.get(table) else {
            return Ok(());
        };
        if db.get_database_backend() != sea_orm::DbBackend::Postgres {
            return Ok(());
        }
        let t = table.replace('"', "\"\"");
        let k = key.replace('"', "\"\"");
        let sql = format!(
            "SELECT setval(pg_get_serial_sequence('\"{t}\"', '{k}'), \
             COALESCE((SELECT MAX(\"{k}\") FROM \"{t}\"), 0) + 1, false)"
        );
        db.execute_unprepared(&sql)
            .await
            .map(|_| ())
            .map_err(|e| format!("`{table}`: cannot advance the key sequence: {e}"))
    }

    /// Lets fixtures fill entity `E`.
    pub fn add<E>(&mut self)
    where
        E: EntityTrait + Default,
        E::Model: Serialize + DeserializeOwned + IntoActiveModel<E::ActiveModel> + Send + Sync,
        E::ActiveModel: ActiveModelTrait<Entity = E> + TryIntoModel<E::Model> + Send + Sync,
    {
        let name = sea_orm::EntityName::table_name(&E::default()).to_owned();
        let keys: Vec<String> = <E::PrimaryKey as sea_orm::Iterable>::iter()
            .map(|k| {
                sea_orm::IdenStatic::as_str(&sea_orm::PrimaryKeyToColumn::into_column(k)).to_owned()
            })
            .collect();
        if let [key] = keys.as_slice()
            && <E::PrimaryKey as sea_orm::PrimaryKeyTrait>::auto_increment()
        {
            self.numbered.insert(name.clone(), key.clone());
        }
        let load: LoadFn = Arc::new(|db, row| {
            Box::pin(async move {
                let model = <E::ActiveModel as ActiveModelTrait>::from_json(row)?;
                let result = E::insert(model).on_conflict_do_nothing().exec(db).await?;
                Ok(matches!(result, TryInsertResult::Inserted(_)))
            })
        });
        self.loaders.insert(name, load);
    }

    /// Loads a JSON fixture document; returns `(table, inserted, already present)` per
    /// table.
    pub async fn load(
        &self,
        db: &DatabaseConnection,
        document: &str,
    ) -> Result<Vec<(String, usize, usize)>, String> {
        let doc: serde_json::Value =
            serde_json::from_str(document).map_err(|e| format!("not a JSON fixture file: {e}"))?;
        self.load_value(db, doc).await
    }

    /// Loads a YAML fixture document (the same shape as the JSON one).
    pub async fn load_yaml(
        &self,
        db: &DatabaseConnection,
        document: &str,
    ) -> Result<Vec<(String, usize, usize)>, String> {
        let doc: serde_json::Value = serde_yaml_ng::from_str(document)
            .map_err(|e| format!("not a YAML fixture file: {e}"))?;
        self.load_value(db, doc).await
    }

    /// Loads the fixture file at `path`: YAML for `.yaml` / `.yml`, JSON otherwise.
    /// Errors name the file.
    pub async fn load_file(
        &self,
        db: &DatabaseConnection,
        path: &std::path::Path,
    ) -> Result<Vec<(String, usize, usize)>, String> {
        self.load_file_reporting(db, path, &mut |_, _, _| {}).await
    }

    /// Like [`load_file`](Self::load_file), calling `on_row(table, done, of)` after each
    /// row (for a progress bar).
    pub async fn load_file_reporting(
        &self,
        db: &DatabaseConnection,
        path: &std::path::Path,
        on_row: &mut (dyn FnMut(&str, usize, usize) + Send),
    ) -> Result<Vec<(String, usize, usize)>, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let yaml = path.extension().is_some_and(|e| e == "yaml" || e == "yml");
        let doc: Result<serde_json::Value, String> = if yaml {
            serde_yaml_ng::from_str(&text).map_err(|e| format!("not a YAML fixture file: {e}"))
        } else {
            serde_json::from_str(&text).map_err(|e| format!("not a JSON fixture file: {e}"))
        };
        let loaded = match doc {
            Ok(doc) => self.load_value_reporting(db, doc, on_row).await,
            Err(e) => Err(e),
        };
        loaded.map_err(|e| format!("{}: {e}", path.display()))
    }

    /// Loads a fixture document already parsed.
    pub async fn load_value(
        &self,
        db: &DatabaseConnection,
        doc: serde_json::Value,
    ) -> Result<Vec<(String, usize, usize)>, String> {
        self.load_value_reporting(db, doc, &mut |_, _, _| {}).await
    }

    /// Like [`load_value`](Self::load_value), calling `on_row(table, done, of)` after
    /// each row.
    pub async fn load_value_reporting(
        &self,
        db: &DatabaseConnection,
        doc: serde_json::Value,
        on_row: &mut (dyn FnMut(&str, usize, usize) + Send),
    ) -> Result<Vec<(String, usize, usize)>, String> {
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
            let of = rows.len();
            for (i, row) in rows.into_iter().enumerate() {
                if load(db, row)
                    .await
                    .map_err(|e| format!("`{table}` row {}: {e}", i + 1))?
                {
                    inserted += 1;
                } else {
                    present += 1;
                }
                on_row(&table, i + 1, of);
            }
            if inserted > 0 {
                self.advance_sequence(db, &table).await?;
            }
            out.push((table, inserted, present));
        }
        Ok(out)
    }
}
