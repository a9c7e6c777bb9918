//! A todo item.

use keel::db::sea_orm;
use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// One thing to do.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "todo")]
pub struct Model {
    /// Its id.
    #[sea_orm(primary_key)]
    pub id: i32,
    /// The list it belongs to.
    #[sea_orm(indexed)]
    pub list_id: i32,
    /// What to do.
    pub title: String,
    /// Whether it is done.
    #[sea_orm(default_value = false)]
    pub done: bool,
    /// Free-form notes.
    pub notes: Option<String>,
    /// Higher comes first; 0 when not given.
    #[sea_orm(default_value = 0)]
    pub priority: i32,
}

/// A todo belongs to a list; deleting the list deletes its todos.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    /// Its list.
    #[sea_orm(
        belongs_to = "super::list::Entity",
        from = "Column::ListId",
        to = "super::list::Column::Id",
        on_delete = "Cascade"
    )]
    List,
}

impl Related<super::list::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::List.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
