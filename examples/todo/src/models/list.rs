//! A todo list.

use keel::db::sea_orm;
use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// A list of todos.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "list")]
pub struct Model {
    /// Its id.
    #[sea_orm(primary_key)]
    pub id: i32,
    /// Its name, unique.
    #[sea_orm(unique)]
    pub name: String,
}

/// A list has todos.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    /// Its todos.
    #[sea_orm(has_many = "super::todo::Entity")]
    Todos,
}

impl Related<super::todo::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Todos.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
