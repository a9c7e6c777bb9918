//! The benchmark's tables (created by `../shared/bench/db/setup.sh`, not migrated here).

use keel::db::sea_orm;

/// `world`: 10 000 rows of random numbers.
pub mod world {
    use super::sea_orm;
    use sea_orm::entity::prelude::*;
    use serde::{Deserialize, Serialize};

    /// A row.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
    #[sea_orm(table_name = "world")]
    pub struct Model {
        /// 1 to 10 000.
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: i32,
        /// 1 to 10 000.
        #[sea_orm(column_name = "randomnumber")]
        #[serde(rename = "randomNumber")]
        pub random_number: i32,
    }

    /// No relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// `fortune`: twelve messages.
pub mod fortune {
    use super::sea_orm;
    use sea_orm::entity::prelude::*;
    use serde::{Deserialize, Serialize};

    /// A row.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
    #[sea_orm(table_name = "fortune")]
    pub struct Model {
        /// Its id.
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: i32,
        /// The text (may contain markup, which must be escaped).
        pub message: String,
    }

    /// No relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// Both models.
pub fn registry() -> keel::db::Models {
    keel::db::Models::new()
        .register::<world::Entity>()
        .register::<fortune::Entity>()
}
