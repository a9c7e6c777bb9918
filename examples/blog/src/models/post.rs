//! A blog post.

use keel::db::sea_orm;
use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// A post.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "post")]
pub struct Model {
    /// Its id.
    #[sea_orm(primary_key)]
    pub id: i32,
    /// The title.
    pub title: String,
    /// The text.
    #[sea_orm(column_type = "Text")]
    pub body: String,
    /// The URL of its image, if it has one.
    pub image_url: Option<String>,
    /// Who wrote it (none for the demo posts); deleting the account keeps the post.
    #[sea_orm(indexed)]
    pub author_id: Option<i64>,
}

/// A post belongs to its author, a Keel user.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    /// The author.
    #[sea_orm(
        belongs_to = "keel::auth::models::user::Entity",
        from = "Column::AuthorId",
        to = "keel::auth::models::user::Column::Id",
        on_delete = "SetNull"
    )]
    Author,
}

impl ActiveModelBehavior for ActiveModel {}
